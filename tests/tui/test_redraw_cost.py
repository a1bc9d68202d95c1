"""What a snapshot costs the UI: the panes it changes are painted again, and nothing is laid out
again (a layout re-renders every widget on the screen: 40-90 ms a snapshot on a loaded 2-core
machine, and the key pressed meanwhile waited for it)."""

from __future__ import annotations

import pytest
from textual.screen import Screen

from ffnn_tui.tui.widgets.boundary import BoundaryPane
from ffnn_tui.tui.widgets.shapes import ShapesPane
from ffnn_tui.tui.widgets.status import StatusLine

from .conftest import make_app, settled


@pytest.mark.parametrize("view", ["1", "2", "3", "4", "5", "6"])
async def test_steps_repaint_the_panes_without_laying_out_the_screen(monkeypatch, view):
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press(view)
        for step in (1, 2):  # the shapes table gets its gradient columns: its size changes once
            await pilot.press("n")
            await settled(pilot, app, step)
        await pilot.pause()
        layouts: list[int] = []
        refresh_layout = Screen._refresh_layout
        monkeypatch.setattr(
            Screen, "_refresh_layout", lambda self, *a, **k: (layouts.append(1), refresh_layout(self, *a, **k))[1]
        )
        for step in range(3, 9):
            await pilot.press("n")
            await settled(pilot, app, step)
            await pilot.pause()
        await pilot.press("l")  # a key that redraws the loss plot
        await pilot.pause()
        assert layouts == []


async def test_a_key_for_the_loss_plot_paints_nothing_else(monkeypatch):
    """`l` changes the loss plot only: the boundary pane's picture is not made again (its title was
    set anew at every draw, and Textual repaints a widget whenever its title is set)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        await pilot.pause()
        painted: list[str] = []
        for pane in (BoundaryPane, ShapesPane, StatusLine):
            render_line = pane.render_line
            monkeypatch.setattr(
                pane, "render_line", lambda self, y, f=render_line, n=pane.__name__: (painted.append(n), f(self, y))[1]
            )
        await pilot.press("l")
        await pilot.pause()
        await pilot.pause()
        assert "╭─ log loss" in app.export_screenshot() or app.log_scale  # the key did its work
        assert painted == []
