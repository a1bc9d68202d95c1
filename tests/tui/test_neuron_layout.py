"""The neurons view's page layout: tiles as large as the pane allows, every unit of a small net,
at least a few of each wide layer, always inside the pane."""

from __future__ import annotations

import pytest

from ffnn_tui.tui.engine.snapshot import MIN_SHOWN, READABLE_ROWS, TileLayout, neuron_layout

PANES = [(56, 30), (51, 27), (36, 17), (49, 40), (78, 30), (120, 60)]
NETS = [(8, 2), (16, 16, 3), (32, 32, 2), (3, 3), (64, 64, 64, 10), (1, 2)]


def lines_of(tile: TileLayout, width: int, widths) -> int:
    """Lines the neurons pane draws for this layout (its own way of counting tiles across)."""
    across = max(1, (width + 1) // (tile.cols + 1))
    return sum(1 + -(-n // across) * (tile.rows + 1) + (n < H) for n, H in zip(tile.shown, widths))


@pytest.mark.parametrize("pane", PANES)
@pytest.mark.parametrize("widths", NETS)
def test_a_page_fits_its_pane_when_anything_can(pane, widths):
    width, height = pane
    tile = neuron_layout(width, height, widths)
    assert tile.cols <= width and 3 <= tile.rows <= 12
    assert all(1 <= n <= H for n, H in zip(tile.shown, widths))
    smallest = sum(1 + 4 + 1 for _ in widths)  # a heading, one row of 3-row tiles, a '... more' line
    if smallest <= height:
        assert lines_of(tile, width, widths) <= height


def test_at_120x36_the_tutorial_net_shows_every_unit_in_readable_tiles():
    tile = neuron_layout(56, 30, (8, 2))  # the view pane's content at 120x36
    assert tile.shown == (8, 2) and tile.rows >= READABLE_ROWS and tile.cols >= 12


def test_at_120x36_a_wide_net_gets_larger_tiles_than_before_and_a_few_units_each():
    tile = neuron_layout(56, 30, (16, 16, 3))
    assert tile.cols * tile.rows > 2 * 10 * 5 * 0.8  # the old fixed tile was 10x5
    assert tile.rows >= 6 and tile.shown[0] >= MIN_SHOWN and tile.shown[2] == 3


def test_a_larger_pane_gives_larger_tiles_or_more_units():
    small, large = neuron_layout(56, 30, (16, 16, 3)), neuron_layout(78, 47, (16, 16, 3))
    assert large.shown == (16, 16, 3) and large.rows >= READABLE_ROWS  # every unit, still readable
    assert neuron_layout(78, 47, (8, 2)).cols * neuron_layout(78, 47, (8, 2)).rows > small.cols * small.rows
