"""The loss pane: train (and test) loss against step, from an already-downsampled history."""

from __future__ import annotations

import math

from textual_plotext import PlotextPlot

from ..engine.snapshot import Snapshot


def finite_series(steps, values, log: bool, points: int) -> tuple[list[int], list[float]]:
    """At most `points` evenly spaced points without nan/inf (plotext's build raises on them);
    log10 on a linear axis when asked, because plotext's own log scale raises on repeated builds."""
    stride = max(1, len(steps) // max(points, 2))
    if stride > 1:  # keep the newest point
        steps, values = steps[::-1][::stride][::-1], values[::-1][::stride][::-1]
    xs, ys = [], []
    for s, v in zip(steps, values):
        if math.isfinite(v) and (not log or v > 0):
            xs.append(s)
            ys.append(math.log10(v) if log else v)
    return xs, ys


def _ascii_text(text):
    from ..plain import to_ascii

    out = text.copy()
    out.plain = to_ascii(text.plain)
    return out


def compact(v: float) -> str:
    """A short axis label: 0.693, 12.5, 1.2e+33 (a diverging run must not widen the axis)."""
    return f"{v:.3g}"


def curve_markers(ascii: bool, no_color: bool) -> dict[str, str]:
    """Train and test curves differ by marker where colour cannot tell them apart (NO_COLOR), and
    use ASCII markers on plain terminals."""
    if ascii:
        return {"train": "*", "test": "+"}
    return {"train": "braille", "test": "dot" if no_color else "braille"}


class LossPlot(PlotextPlot):
    """textual-plotext curve of the loss; `l` toggles log10."""

    def render(self):
        """plotext's frame is box drawing: on plain terminals (--ascii) it is redrawn in ASCII."""
        text = super().render()
        if getattr(self.app, "ascii", False):
            text = _ascii_text(text)  # one character for one: the colour spans still fit
        return text

    def show(self, s: Snapshot, log: bool) -> None:
        plt = self.plt
        plt.clear_data()
        self.border_title = "log10 loss" if log else "loss"
        plt.xlabel("step")
        lo, hi = math.inf, -math.inf
        markers = curve_markers(getattr(self.app, "ascii", False), getattr(self.app, "no_color", False))
        for name, steps, values, color in (("test", s.curve_test_steps, s.curve_test, "orange"),
                                           ("train", s.curve_steps, s.curve_train, "cyan")):  # train on top
            xs, ys = finite_series(steps, values, log, 2 * self.size.width)  # braille: 2 dots a cell
            if xs:
                plt.plot(xs, ys, label=name, color=color, marker=markers[name])
                lo, hi = min(lo, *ys), max(hi, *ys)
        if lo < hi:
            ticks = [lo + (hi - lo) * i / 4 for i in range(5)]
            plt.yticks(ticks, [compact(v) for v in ticks])
        self.refresh()
