"""A line chart drawn in text: braille curves (2x4 dots a cell) or one marker a cell, a frame with
ticks, vertical lines and labels. Plain data in, rows of styled runs out; it knows nothing of
losses (the loss pane, loss_plot.py, says what to draw) and nothing of Textual.

It replaced plotext for the loss pane: the same picture in about a seventh of the time, which is what
a key that redraws the plot waits for (plotext built the whole figure and then parsed its ANSI).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from rich.style import Style

BRAILLE = "braille"
"""A series' marker: a line of braille dots; any other marker is one character a cell."""
DOT_BITS = ((0x01, 0x08), (0x02, 0x10), (0x04, 0x20), (0x40, 0x80))
"""The bit of each dot of a braille cell, by (dot row, dot column)."""
BOX = {"tl": "┌", "tr": "┐", "bl": "└", "br": "┘", "h": "─", "v": "│", "ytick": "┤", "xtick": "┬"}
ASCII_BOX = {"tl": "+", "tr": "+", "bl": "+", "br": "+", "h": "-", "v": "|", "ytick": "+", "xtick": "+"}


@dataclass(frozen=True)
class Series:
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: str
    marker: str = BRAILLE


@dataclass(frozen=True)
class Label:
    """Text centred on x's column, on a row of the plot counted from its top (negative: from its bottom)."""

    text: str
    x: float
    row: int
    color: str


@dataclass(frozen=True)
class Chart:
    """What to draw, in data coordinates; series later in the tuple are drawn over earlier ones."""

    xlim: tuple[float, float]
    ylim: tuple[float, float]
    series: tuple[Series, ...] = ()
    xticks: tuple[tuple[float, str], ...] = ()
    yticks: tuple[tuple[float, str], ...] = ()
    xlabel: str = ""
    vlines: tuple[tuple[float, str], ...] = ()
    """(x, colour): under the curves."""
    labels: tuple[Label, ...] = ()
    """Over everything."""


@functools.lru_cache(maxsize=64)
def _style(color: str) -> Style:
    return Style.parse(color) if color else Style.null()


class Grid:
    """The chart's cells: a character and a colour each."""

    def __init__(self, width: int, height: int):
        self.width, self.height = width, height
        self.chars = [[" "] * width for _ in range(height)]
        self.colors = [[""] * width for _ in range(height)]

    def put(self, row: int, col: int, char: str, color: str = "") -> None:
        if 0 <= row < self.height and 0 <= col < self.width:
            self.chars[row][col] = char
            self.colors[row][col] = color

    def write(self, row: int, col: int, text: str, color: str = "") -> None:
        for i, char in enumerate(text):
            self.put(row, col + i, char, color)

    def runs(self) -> list[list[tuple[str, Style]]]:
        """Each row as runs of one colour: (characters, style)."""
        out = []
        for chars, colors in zip(self.chars, self.colors):
            row, start = [], 0
            for c in range(1, self.width + 1):
                if c == self.width or colors[c] != colors[start]:
                    row.append(("".join(chars[start:c]), _style(colors[start])))
                    start = c
            out.append(row)
        return out


def _scale(v: float, lo: float, hi: float, n: int) -> int:
    """v's index among n positions spread evenly from lo (0) to hi (n - 1)."""
    return round((v - lo) / (hi - lo) * (n - 1)) if hi > lo else 0


def _line(a: tuple[int, int], b: tuple[int, int]) -> list[tuple[int, int]]:
    """The points of a straight line from a to b on an integer grid, both ends included."""
    (x0, y0), (x1, y1) = a, b
    n = max(abs(x1 - x0), abs(y1 - y0))
    if n == 0:
        return [a]
    return [(x0 + round(i * (x1 - x0) / n), y0 + round(i * (y1 - y0) / n)) for i in range(n + 1)]


def _points(s: Series, chart: Chart, cols: int, rows: int) -> list[tuple[int, int]]:
    """The series' points as (column, row) among cols x rows positions, row 0 at the top."""
    (xlo, xhi), (ylo, yhi) = chart.xlim, chart.ylim
    return [(_scale(x, xlo, xhi, cols), rows - 1 - _scale(y, ylo, yhi, rows)) for x, y in zip(s.xs, s.ys)]


def _traced(points: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """Every position on the lines joining consecutive points."""
    out = set(points[:1])
    for a, b in zip(points, points[1:]):
        out.update(_line(a, b))
    return out


def _draw_series(g: Grid, s: Series, chart: Chart, left: int, top: int, cols: int, rows: int) -> None:
    if s.marker != BRAILLE:
        for c, r in _traced(_points(s, chart, cols, rows)):
            g.put(top + r, left + c, s.marker, s.color)
        return
    cells: dict[tuple[int, int], int] = {}
    for x, y in _traced(_points(s, chart, 2 * cols, 4 * rows)):
        cell = (y // 4, x // 2)
        cells[cell] = cells.get(cell, 0) | DOT_BITS[y % 4][x % 2]
    for (r, c), bits in cells.items():
        g.put(top + r, left + c, chr(0x2800 + bits), s.color)


def cells(chart: Chart, width: int, height: int, ascii: bool = False) -> Grid:
    """The chart in width x height cells: the y tick labels on the left, the framed plot, the x
    tick labels and the x label below it. Too small for a plot: blank."""
    g = Grid(max(width, 0), max(height, 0))
    box = ASCII_BOX if ascii else BOX
    label_w = max((len(t) for _, t in chart.yticks), default=0)
    left, top = label_w + 1, 1  # the plot's first column and row (inside the frame)
    cols, rows = width - left - 1, height - 4  # the frame's sides; the x ticks, their labels and the x label
    if cols < 2 or rows < 1:
        return g
    bottom, right = top + rows, left + cols
    (xlo, xhi), (ylo, yhi) = chart.xlim, chart.ylim
    g.write(0, left - 1, box["tl"] + box["h"] * cols + box["tr"])
    g.write(bottom, left - 1, box["bl"] + box["h"] * cols + box["br"])
    for r in range(top, bottom):
        g.put(r, left - 1, box["v"])
        g.put(r, right, box["v"])
    for v, label in chart.yticks:
        r = top + rows - 1 - _scale(v, ylo, yhi, rows)
        g.put(r, left - 1, box["ytick"])
        g.write(r, left - 1 - len(label), label)
    end = -1  # the last column a tick label took
    for v, label in chart.xticks:
        c = left + _scale(v, xlo, xhi, cols)
        g.put(bottom, c, box["xtick"])
        start = min(max(c - (len(label) - 1) // 2, 0), width - len(label))
        if start > end + 1:
            g.write(bottom + 1, start, label)
            end = start + len(label) - 1
    g.write(bottom + 2, left + max(0, (cols - len(chart.xlabel)) // 2), chart.xlabel[:cols])
    for x, color in chart.vlines:
        c = left + _scale(x, xlo, xhi, cols)
        for r in range(top, bottom):
            g.put(r, c, box["v"], color)
    for s in chart.series:
        _draw_series(g, s, chart, left, top, cols, rows)
    for lab in chart.labels:
        text = lab.text[:cols]
        c = left + _scale(lab.x, xlo, xhi, cols) - len(text) // 2
        c = min(max(c, left), right - len(text))
        r = top + (lab.row if lab.row >= 0 else rows + lab.row)
        g.write(r, c, text, lab.color)
    return g
