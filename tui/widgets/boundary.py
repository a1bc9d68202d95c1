"""The decision-boundary pane: the plane shaded by predicted class and confidence, points on top.

Each class has its own point glyph and its own background glyphs, so the picture still reads
without colour (NO_COLOR); colour per class goes on top.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip
from textual.widget import Widget

from ...core.probes import BoundaryGrid
from ..engine.snapshot import Point, Snapshot

POINT_GLYPHS = "ox+*#@%&$v"
"""Glyph of a data point of class k."""
SHADE_GLYPHS = (".:", "-=", ",;", "`'", "~^", "_|", "<>", "()", "[]", "{}")
"""Background of class k: (fairly confident, very confident); blank where the net is unsure."""
SURE, VERY_SURE = 0.35, 0.75
"""Confidence thresholds for the two shade glyphs (0 = uniform guess, 1 = certain)."""

PALETTE = ("#4e9bff", "#ff7a45", "#3ecf6a", "#d65cff", "#ffd23f", "#38d6d6", "#ff5c8a", "#a0a0ff", "#b8e05a", "#c8a070")
BG_DIM = ("#0f2340", "#3a1a0c", "#0d2e18", "#2e1038", "#3a3008", "#0a3030", "#3a0f1e", "#22224a", "#2a3410", "#302818")
BG_STRONG = (
    "#1d4a8a",
    "#7a3314",
    "#1a6634",
    "#5e2172",
    "#7a640f",
    "#146262",
    "#7a1e3e",
    "#44449a",
    "#56701e",
    "#645030",
)


def level_of(conf: float) -> int:
    """0 unsure, 1 sure, 2 very sure: the background's confidence band."""
    return 2 if conf >= VERY_SURE else 1 if conf >= SURE else 0


StyleKey = tuple[int, int, str, int]
"""(class, level, point, background) of a cell: cells with equal keys share one style. For the
background, (predicted class, level, '', -1); for a point, (its class, the level under it,
'train' or 'test', the predicted class under it)."""


@lru_cache(maxsize=1024)
def cell_style(klass: int, level: int, point: str, background: int) -> Style:
    """Background cells: the class colour, stronger where the net is surer. Points: bold glyph in
    their class colour over the shading of the cell they sit on; test points reversed. Made once
    per key (a redraw reuses the same few dozen styles)."""
    k = klass % len(PALETTE)
    shade = (background if point else klass) % len(PALETTE)
    bg = (None, BG_DIM[shade], BG_STRONG[shade])[level]
    if point == "train":
        return Style(color=PALETTE[k], bgcolor=bg, bold=True)
    if point == "test":
        return Style(color=PALETTE[k], bold=True, underline=True, reverse=True)
    return Style(color=PALETTE[k], bgcolor=bg, dim=True)


def boundary_rows(grid: BoundaryGrid, points: tuple[Point, ...], show_test: bool) -> list[list[tuple[str, Style]]]:
    """Each row of the picture as (glyphs, style) runs: the background from the grid, points
    (row, col, class, 'train'|'test') on top (test points only when show_test; the last point of a
    cell wins); consecutive cells of one style make one run."""
    on_top = {(r, c): (k, kind) for r, c, k, kind in points if show_test or kind == "train"}
    rows = []
    for r, (krow, crow) in enumerate(zip(grid.klass, grid.conf)):
        runs: list[tuple[str, Style]] = []
        glyphs: list[str] = []
        key: StyleKey | None = None
        for c, (k, conf) in enumerate(zip(krow, crow)):
            level = level_of(conf)
            point = on_top.get((r, c))
            if point is None:
                glyph, cell = SHADE_GLYPHS[k % len(SHADE_GLYPHS)][level - 1] if level else " ", (k, level, "", -1)
            else:
                glyph, cell = POINT_GLYPHS[point[0] % len(POINT_GLYPHS)], (point[0], level, point[1], k)
            if cell != key and key is not None:
                runs.append(("".join(glyphs), cell_style(*key)))
                glyphs = []
            glyphs.append(glyph)
            key = cell
        if key is not None:
            runs.append(("".join(glyphs), cell_style(*key)))
        rows.append(runs)
    return rows


def boundary_strips(grid: BoundaryGrid, points: tuple[Point, ...], show_test: bool) -> list[Strip]:
    """The picture as one Strip per row, for the pane's render_line: no Text to lay out again at
    every redraw (a Text of a few hundred spans cost more than making the picture)."""
    return [
        Strip([Segment(glyphs, style) for glyphs, style in runs], sum(len(g) for g, _ in runs))
        for runs in boundary_rows(grid, points, show_test)
    ]


CLASS_KEYS: list[BindingType] = [
    *(
        Binding(
            str(k), f"app.pick_class({k})", "Class", key_display="0-9", show=k == 0, tooltip="Draw points of class k"
        )
        for k in range(10)
    ),
    Binding("escape", "app.stop_drawing", "Done", tooltip="Stop drawing: the digit keys pick views again"),
]
"""While the boundary pane is focused (a click focuses it), 0-9 pick the class a click draws;
elsewhere 1-6 pick the view."""


class BoundaryPane(Widget):
    """Shaded plane plus points, sized to the pane (the worker evaluates the grid at this size).
    A click draws: left adds a training point, right (or shift+left) removes the nearest one."""

    DEFAULT_CSS = "BoundaryPane { width: 1fr; height: 1fr; }"
    BINDINGS = CLASS_KEYS

    @dataclass
    class Clicked(Message):
        """A click on cell (col, row) of the pane, then cols x rows cells: add a point, or erase."""

        col: int
        row: int
        cols: int
        rows: int
        erase: bool

    @dataclass
    class Resized(Message):
        """The pane's content size changed; the worker evaluates the grid at this size."""

        cols: int
        rows: int

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._strips: list[Strip] = [Strip([Segment("waiting for the first snapshot...")])]
        self._base: Style | None = None
        """The pane's own colours when the strips were made (under every cell's)."""
        self._lines: tuple[int, list[Strip]] = (-1, [])
        """(width, the picture's rows as drawn at it): a repaint of the same picture reuses them."""

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized(self.content_size.width, self.content_size.height))

    def on_click(self, event: events.Click) -> None:
        """Left click: add; right click (button 3) or shift+click: erase. The border is no cell."""
        at = event.get_content_offset(self)
        cols, rows = self.content_size
        if at is None or not (0 <= at.x < cols and 0 <= at.y < rows) or event.button not in (1, 3):
            return
        self.post_message(self.Clicked(at.x, at.y, cols, rows, erase=event.button == 3 or event.shift))

    def show(self, s: Snapshot, show_test: bool) -> None:
        if s.grid is not None:
            self._strips, self._base = boundary_strips(s.grid, s.points, show_test), self.rich_style
            self._lines = (-1, [])  # a new picture: drawn again at the next repaint
            self.refresh()

    def plain_text(self) -> str:
        """The picture's characters, row by row (what a screen reader or a test sees)."""
        return "\n".join(strip.text for strip in self._strips)

    def render_line(self, y: int) -> Strip:
        """Row y of the picture, cropped or padded to the pane (the Line API: no Text to lay out)."""
        if y < len(self._strips):
            return self._drawn_lines()[y]
        return Strip.blank(self.content_size.width, self._base or self.rich_style)  # NO_COLOR's filter needs a style

    def _drawn_lines(self) -> list[Strip]:
        """The picture's rows in the pane's colours and width, made once per picture and width: the
        pane repaints when anything over it changes (a title, a note), not only its picture."""
        width = self.content_size.width
        if self._lines[0] != width:
            base = self._base or self.rich_style
            self._lines = (width, [strip.crop_extend(0, width, base).apply_style(base) for strip in self._strips])
        return self._lines[1]
