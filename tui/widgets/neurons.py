"""The neurons pane: one tile per unit, its value over the input plane, grouped by layer; the tile
size and the units on a page fit the pane (tui/engine/snapshot.py, neuron_layout).

Readable without colour: glyph density grows with |value|, and negative values use a glyph set of
their own. Colour adds sign (blue negative, orange positive) and magnitude (brighter = larger).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Collection
from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events

from ...core.inside import LayerMaps, NeuronMaps, UnitMap
from .view_pane import ViewPane

POS_GLYPHS = ".:+*#@"
"""Positive values, small to large."""
NEG_GLYPHS = ",;-=%&"
"""Negative values, small to large: no glyph in common with POS_GLYPHS."""
BAD_GLYPH = "!"
"""A nan or inf value (a diverged network)."""
TILE_GAP, GAP_STYLE = "│", Style(dim=True)
"""Between two tiles, so blank (zero) cells at their edges do not run together."""
DEAD_MARK = "✝"
"""Appended to the label of a unit flagged dead or saturated."""
POSITIVE, NEGATIVE = (255, 122, 69), (78, 155, 255)
"""Orange and blue, the class-0/class-1 colours of the boundary pane."""
DIM = (60, 60, 60)
"""What the smallest magnitude fades towards."""


def signed_level(v: float, scale: float, levels: int, up: bool = False) -> int:
    """0 (blank) .. levels by |v| / scale, rounded (up=True: rounded up, so only 0 is blank)."""
    if scale <= 0:
        return 0
    x = abs(v) / scale * levels
    return min(levels, math.ceil(x) if up else int(x + 0.5))


@functools.lru_cache(maxsize=64)
def signed_style(negative: bool, level: int, levels: int) -> Style:
    """Blue or orange, blended from DIM at level 1 to full colour at the top level."""
    full = NEGATIVE if negative else POSITIVE
    t = 0.35 + 0.65 * (level / levels)
    r, g, b = (round(d + (f - d) * t) for d, f in zip(DIM, full))
    return Style(color=f"#{r:02x}{g:02x}{b:02x}", bold=level == levels)


def glyph(
    v: float, scale: float, pos: str = POS_GLYPHS, neg: str = NEG_GLYPHS, up: bool = False
) -> tuple[str, Style | None]:
    """The glyph of one value and its style (None for blank); up as in signed_level."""
    if not math.isfinite(v):
        return BAD_GLYPH, Style(color="red", bold=True)
    n = len(pos)
    level = signed_level(v, scale, n, up)
    if level == 0:
        return " ", None
    return (neg if v < 0 else pos)[level - 1], signed_style(v < 0, level, n)


def append_runs(text: Text, cells: list[tuple[str, Style | None]]) -> None:
    """Append glyphs, one span per run of equal style (cheap to redraw)."""
    run: list[str] = []
    style: Style | None = None
    for g, s in cells:
        if s != style and run:
            text.append("".join(run), style)
            run = []
        run.append(g)
        style = s
    if run:
        text.append("".join(run), style)


def fit_lines(lines: list[Text], width: int, height: int | None) -> Text:
    """Lines cropped to width (with …) and to height (the last kept line says more is below)."""
    if height is not None and len(lines) > height:
        lines = lines[: max(height - 1, 0)] + [Text("… (taller pane shows more)", style="dim")]
        lines = lines[: max(height, 0)]
    out = Text(no_wrap=True, overflow="crop")
    for i, line in enumerate(lines):
        line = line.copy()
        if line.cell_len > width:
            line.truncate(width, overflow="ellipsis")
        if i:
            out.append("\n")
        out.append_text(line)
    return out


def layer_heading(layer: LayerMaps) -> Text:
    name = "output" if layer.output else f"layer {layer.layer}"
    units = "unit" if layer.width == 1 else "units"
    head = Text(f"{name}: {layer.width} {units} ({layer.activation})", style="bold")
    if len(layer.units) < layer.width and layer.units:
        head.append(f", showing {layer.units[0].unit}-{layer.units[-1].unit}", style="dim")
    return head


def tile_rows(
    units: tuple[UnitMap, ...], cols: int, rows: int, scale: float | None, dead: Collection[str]
) -> list[Text]:
    """One row of tiles: a label line, then the grid rows, tiles one TILE_GAP apart."""
    label = Text()
    for i, u in enumerate(units):
        mark = DEAD_MARK if u.label in dead else ""
        name = (u.label[: max(cols - len(mark), 0)] + mark).ljust(cols)[:cols]  # the mark survives a narrow tile
        label.append(("" if i == 0 else " ") + name, style="bold red" if mark else "bold")
    out = [label]
    for r in range(rows):
        line = Text()
        for i, u in enumerate(units):
            s = u.scale if scale is None else scale
            cells = [glyph(v, s) for v in u.values[r]] if r < len(u.values) else []
            cells = (cells + [(" ", None)] * cols)[:cols]
            append_runs(line, ([(TILE_GAP, GAP_STYLE)] if i else []) + cells)
        out.append(line)
    return out


def neurons_text(
    maps: NeuronMaps,
    width: int,
    height: int | None = None,
    dead: Collection[str] = frozenset(),
    shared_scale: bool = False,
    page_hint: str = "key ] pages",
) -> Text:
    """Every layer's tiles, as many across as the width allows; labels in `dead` get DEAD_MARK.

    shared_scale=True shades every tile of a layer against the layer's largest value (compares
    units); the default shades each tile against its own (shows each unit's pattern).
    """
    tw, th = maps.cols, maps.rows
    across = max(1, (width + 1) // (tw + 1))
    lines: list[Text] = []
    if all(layer.output for layer in maps.layers):
        lines.append(Text("no hidden neurons: a linear model (logits = X @ W1 + b1)", style="dim"))
    for layer in maps.layers:
        lines.append(layer_heading(layer))
        for i in range(0, len(layer.units), across):
            lines += tile_rows(layer.units[i : i + across], tw, th, layer.scale if shared_scale else None, dead)
        hidden = layer.width - len(layer.units)
        if hidden:
            lines.append(Text(f"… {hidden} more ({page_hint})", style="dim"))
    return fit_lines(lines, width, height)


class NeuronsPane(ViewPane):
    """Each unit's value over the plane, one tile per unit, grouped by layer."""

    DEFAULT_CSS = "NeuronsPane { width: 1fr; height: 1fr; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("waiting for the first snapshot...", **kwargs)
        self._maps: NeuronMaps | None = None
        self._dead: Collection[str] = frozenset()

    def show(self, maps: NeuronMaps, dead: Collection[str] = frozenset()) -> None:
        self._maps, self._dead = maps, dead
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._maps is not None:
            size = self.content_size
            self.update(neurons_text(self._maps, size.width or 56, size.height or None, self._dead))
