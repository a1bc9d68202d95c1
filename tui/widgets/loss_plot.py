"""The loss pane: train (and test) loss against step, from an already-downsampled history.

Readable without colour: train is drawn in braille dots, test in `·`; the legend sits in the
border title, outside the curves. Step ticks are whole numbers (0, 5k, 10k); on the log scale the
ticks are written as losses (1e-2). Every live change (lr, activation) is a vertical line with its
label at the top, stacked a line lower when changes are close, and left out when there is no room.
"""

from __future__ import annotations

import math

from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

from ..engine.snapshot import Snapshot
from .chart import Chart, Label, Series, cells
from .titles import set_title

LAST_STEPS = 1000
"""The `x` key's 'last' mode shows this many steps."""
TRAIN_MARKER, TEST_MARKER = "braille", "·"
TRAIN_COLOR, TEST_COLOR, CHANGE_COLOR, CURSOR_COLOR = "cyan", "color(208)", "bright_black", "bright_white"
LEGEND = "── train  ·· test"


def finite_series(steps, values, log: bool, points: int) -> tuple[list[int], list[float]]:
    """At most `points` evenly spaced points without nan/inf; log10 of the values when asked (the
    log scale is a linear axis of log10(loss), its ticks written as losses)."""
    stride = max(1, len(steps) // max(points, 2))
    if stride > 1:  # keep the newest point
        steps, values = steps[::-1][::stride][::-1], values[::-1][::stride][::-1]
    xs, ys = [], []
    for s, v in zip(steps, values):
        if math.isfinite(v) and (not log or v > 0):
            xs.append(s)
            ys.append(math.log10(v) if log else v)
    return xs, ys


def compact(v: float) -> str:
    """A short axis label: 0.693, 12.5, 1.2e+33 (a diverging run must not widen the axis)."""
    return f"{v:.3g}"


def step_label(s: float) -> str:
    """A whole step count, short: 0, 500, 5k, 12.5k, 2M."""
    s = round(s)
    for unit, div in (("M", 1_000_000), ("k", 1000)):
        if abs(s) >= div:
            return f"{s / div:.3g}{unit}"
    return str(s)


def nice_step(span: float, ticks: int = 5) -> int:
    """A whole tick spacing of 1, 2 or 5 times a power of ten giving about `ticks` ticks."""
    raw = max(span / max(ticks, 1), 1.0)
    p = 10 ** math.floor(math.log10(raw))
    return int(next(m * p for m in (1, 2, 5, 10) if m * p >= raw))


def step_ticks(lo: float, hi: float, ticks: int = 5) -> list[int]:
    """Whole-number ticks covering [lo, hi]."""
    d = nice_step(hi - lo, ticks)
    first = math.ceil(lo / d) * d
    return list(range(int(first), int(hi) + 1, d)) or [int(lo)]


def loss_label(v: float) -> str:
    """A loss on a log axis, written as a loss: 1e-2, 0.1, 1, 2, 5e+03."""
    if 1e-2 < v < 1e3:
        return f"{v:.3g}"
    m, e = f"{v:.0e}".split("e")
    return f"{m}e{int(e)}"


def log_ticks(lo: float, hi: float) -> list[float]:
    """Positions (log10 of the loss) of 1, 2, 5 times each power of ten inside [lo, hi], thinned to at most 6."""
    out = [math.log10(m) + e for e in range(math.floor(lo), math.ceil(hi) + 1) for m in (1, 2, 5)]
    out = [t for t in out if lo - 1e-9 <= t <= hi + 1e-9]
    if len(out) > 6:
        out = [t for t in out if abs(t - round(t)) < 1e-9] or out[:: len(out) // 6 + 1]
    if len(out) < 2:  # less than a decade: evenly spaced, still written as losses
        out = [lo + (hi - lo) * i / 4 for i in range(5)]
    return out


LABEL_LINES = 3
"""Change labels stack on at most this many lines under the plot's top; one with no room is left out."""


def marker_labels(
    changes: list[tuple[float, str]], xlo: float, xhi: float, cols: int, lines: int = LABEL_LINES
) -> list[tuple[float, int, str]]:
    """(x, line, label) of the change labels that can be read: each centred on its x's column of a
    plot `cols` wide, on the top line (0) unless it would touch a label already there, else on the
    next line down; a label with no free line is left out (its vertical line stays)."""
    spans: list[list[tuple[float, float]]] = [[] for _ in range(lines)]
    out = []
    for x, label in changes:
        c = (x - xlo) / (xhi - xlo) * max(cols - 1, 1) if xhi > xlo else 0.0
        a, b = c - len(label) / 2, c + len(label) / 2
        for line, taken in enumerate(spans):
            if all(b + 1 <= a2 or a >= b2 + 1 for a2, b2 in taken):  # a blank column between labels
                taken.append((a, b))
                out.append((x, line, label))
                break
    return out


def curve_markers(ascii: bool) -> dict[str, str]:
    """Train and test differ by marker as well as colour (so NO_COLOR still tells them apart),
    and use ASCII markers on plain terminals."""
    return {"train": "*", "test": "+"} if ascii else {"train": TRAIN_MARKER, "test": TEST_MARKER}


class LossPlot(Widget):
    """The loss curves (tui/widgets/chart.py draws them); `l` toggles log10, `x` cycles the step axis."""

    DEFAULT_CSS = """
    LossPlot {
        width: 1fr;
        height: 1fr;
    }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.chart: Chart | None = None
        """What show() last asked to draw; None before the first snapshot (a blank pane)."""
        self._drawn: tuple[Chart | None, int, int, bool, list[Strip]] | None = None
        """(chart, width, height, ascii, its rows): a chart is drawn once per size."""
        self._base = Style()
        """The pane's own colours, under the chart's (set at each render)."""

    def strips(self) -> list[Strip]:
        """The chart at the pane's size, a Strip a row (drawn again only for a new chart or size)."""
        w, h, ascii = self.size.width, self.size.height, getattr(self.app, "ascii", False)
        d = self._drawn
        if d is not None and d[0] is self.chart and d[1:4] == (w, h, ascii):
            return d[4]
        rows = cells(self.chart, w, h, ascii).runs() if self.chart is not None else []
        strips = [Strip([Segment(chars, style) for chars, style in row], w) for row in rows]
        self._drawn = (self.chart, w, h, ascii, strips)
        return strips

    def plain_text(self) -> str:
        """The chart's characters, row by row (what a screen reader or a test sees)."""
        return "\n".join(strip.text for strip in self.strips())

    def render_lines(self, crop):
        self._base = self.rich_style  # once a render, not once a line: it walks the DOM
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        """Row y of the chart in the pane's colours (the Line API: no Text to lay out again)."""
        strips = self.strips()
        strip = strips[y] if y < len(strips) else Strip.blank(self.size.width)
        return strip.apply_style(self._base)

    _titles = ("loss", "loss")

    def _fit_title(self) -> None:
        """The border title with its legend, or without it when the pane is narrow (cropped, not
        ended in …, which is not ASCII)."""
        room = max(self.size.width - 4, 1) if self.size.width else 200
        full, short = self._titles
        set_title(self, (full if len(full) <= room else short)[:room])

    def on_resize(self, event) -> None:
        self._fit_title()

    def show(self, s: Snapshot, log: bool, x_axis: str = "all", cursor: int | None = None) -> None:
        """Draw the curves; `cursor`: the step rewound to, marked by a line (see _cursor)."""
        ascii = getattr(self.app, "ascii", False)
        axis = {"all": "", "log": ", log steps", "last": f", last {LAST_STEPS} steps"}.get(x_axis, "")
        markers = curve_markers(ascii)
        legend = "-- train  + test" if ascii else LEGEND
        self._titles = (f"{'log ' if log else ''}loss{axis}  {legend}", f"{'log ' if log else ''}loss{axis}")
        self._fit_title()
        newest = max(s.curve_steps[-1] if s.curve_steps else 0, s.curve_test_steps[-1] if s.curve_test_steps else 0)
        first = newest - LAST_STEPS if x_axis == "last" else -math.inf
        series = []
        for steps, values, marker, color in (
            (s.curve_test_steps, s.curve_test, markers["test"], TEST_COLOR),
            (s.curve_steps, s.curve_train, markers["train"], TRAIN_COLOR),
        ):  # train on top
            xs, ys = finite_series(steps, values, log, 2 * self.size.width)  # braille: 2 dots a cell
            keep = [(x, y) for x, y in zip(xs, ys) if x >= first and (x_axis != "log" or x > 0)]
            if keep:
                px = tuple(math.log10(x) if x_axis == "log" else x for x, _ in keep)
                series.append(Series(px, tuple(y for _, y in keep), color, marker))
        xlabel = "log steps" if x_axis == "log" else "step"
        if not series:
            self.chart = Chart((0.0, 1.0), (0.0, 1.0), xlabel=xlabel)
            self.refresh()
            return
        lo, hi = min(min(c.ys) for c in series), max(max(c.ys) for c in series)
        xlo, xhi = min(c.xs[0] for c in series), max(c.xs[-1] for c in series)
        if lo == hi:  # one point, or a flat curve: a band around it
            lo, hi = lo - (0.5 if log else max(abs(lo) * 0.1, 1e-9)), hi + (0.5 if log else max(abs(hi) * 0.1, 1e-9))
        ticks = log_ticks(lo, hi) if log else [lo + (hi - lo) * i / 4 for i in range(5)]
        yticks = tuple(zip(ticks, [loss_label(10**t) for t in ticks] if log else [compact(v) for v in ticks]))
        if x_axis == "log":
            xt: list[float] = [*range(math.ceil(xlo), math.floor(xhi) + 1)] or [xlo]
            xticks = tuple((t, step_label(10**t)) for t in xt)
        else:
            xticks = tuple((t, step_label(t)) for t in step_ticks(xlo, xhi, max(2, self.size.width // 12)))
        cols = self.size.width - max(len(t) for _, t in yticks) - 2  # the plot's columns inside its frame
        vlines, labels = self._changes(s, x_axis, xlo, xhi, cols)
        if cursor is not None:
            x = self._cursor_x(cursor, x_axis, xlo, xhi)
            vlines.append((x, CURSOR_COLOR))
            labels.append(Label(f"step {cursor}", x, -1, CURSOR_COLOR))
        self.chart = Chart((xlo, xhi), (lo, hi), tuple(series), xticks, yticks, xlabel, tuple(vlines), tuple(labels))
        self.refresh()

    @staticmethod
    def _cursor_x(step: int, x_axis: str, xlo: float, xhi: float) -> float:
        """The rewound moment's x: its step (step 0 on a log axis: the left edge)."""
        if step <= 0 and x_axis == "log":
            step = 1
        return min(max(math.log10(step) if x_axis == "log" else step, xlo), xhi)

    @staticmethod
    def _changes(
        s: Snapshot, x_axis: str, xlo: float, xhi: float, cols: int
    ) -> tuple[list[tuple[float, str]], list[Label]]:
        """A vertical line at the step of each live change inside the plotted steps, and its label
        where it can be read (stacked below the top when changes are close, else left out)."""
        marks = []
        for step, what in s.changes:
            if step <= 0 and x_axis == "log":
                continue
            x = math.log10(step) if x_axis == "log" else step
            if xlo <= x <= xhi:
                marks.append((x, what))
        lines = [(x, CHANGE_COLOR) for x, _ in marks]
        return lines, [Label(what, x, line, CHANGE_COLOR) for x, line, what in marker_labels(marks, xlo, xhi, cols)]
