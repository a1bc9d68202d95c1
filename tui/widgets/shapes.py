"""The shapes pane: the tutorial's Exercise 3, live. Every parameter with its shape, its gradient's
shape, norms and update ratio; the activations of the last forward pass; the last gradient check."""

from __future__ import annotations

import math

from rich.text import Text

from ..engine.snapshot import Snapshot
from .sized_static import SizedStatic

CHECK_OK = 1e-6
"""A manual-vs-autograd relative error above this (in float64) is flagged."""


def _g(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "-"


COLUMNS = ("param", "shape", "grad", "‖param‖", "‖grad‖", "‖Δ‖/‖p‖")
ASCII_COLUMNS = ("param", "shape", "grad", "|param|", "|grad|", "|d|/|p|")
"""The same headers for plain terminals (--ascii)."""


def shapes_table(s: Snapshot, check: tuple[tuple[str, float, float], ...] = (), ascii: bool = False) -> Text:
    """A plain text table (cheap to redraw several times a second) and the activation shapes."""
    COLUMNS_ = ASCII_COLUMNS if ascii else COLUMNS
    errors = {name: (a, r) for name, a, r in check}
    rows = [
        [
            p.name,
            str(p.shape),
            str(p.grad_shape) if p.grad_shape else "-",
            _g(p.norm),
            _g(p.grad_norm),
            _g(p.update_ratio),
        ]
        for p in s.params
    ]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS_)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 3 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))
    text = Text(no_wrap=True, overflow="crop" if ascii else "ellipsis")
    text.append(line(COLUMNS_), style="bold")
    if check:
        text.append("  manual vs autograd", style="bold")
    for p, row in zip(s.params, rows):
        text.append("\n" + line(row))
        if check:
            a, r = errors.get(p.name, (math.nan, math.nan))
            text.append(f"  abs {a:.1e} rel {r:.1e}", style="green" if r <= CHECK_OK else "bold red")
    text.append("\nactivations: ", style="bold")
    text.append("  ".join(f"{name} {shape}" for name, shape in s.activations))
    return text


class ShapesPane(SizedStatic):
    """Parameter, gradient and activation shapes of the live network."""

    def show(self, s: Snapshot, check: tuple = ()) -> None:
        self.update(shapes_table(s, check, ascii=getattr(self.app, "ascii", False)))
