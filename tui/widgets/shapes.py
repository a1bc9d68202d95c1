"""The shapes pane: the tutorial's Exercise 3, live. Every parameter with its shape, its gradient's
shape, norms and update ratio; the activations of the last forward pass; the last gradient check."""

from __future__ import annotations

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.widgets import Static

from ...core.trainer import Snapshot

CHECK_OK = 1e-6
"""A manual-vs-autograd relative error above this (in float64) is flagged."""


def _g(v: float) -> str:
    return f"{v:.3g}" if math.isfinite(v) else "-"


def shapes_table(s: Snapshot, check: tuple[tuple[str, float, float], ...] = ()) -> Group:
    table = Table(box=None, pad_edge=False, expand=False, header_style="bold")
    for col in ("param", "shape", "grad", "‖param‖", "‖grad‖", "‖Δ‖/‖p‖"):
        table.add_column(col, justify="right" if col.startswith("‖") else "left", no_wrap=True)
    errors = {name: (a, r) for name, a, r in check}
    if check:
        table.add_column("manual vs autograd", no_wrap=True)
    for row in s.params:
        cells = [row.name, str(row.shape), str(row.grad_shape) if row.grad_shape else "-",
                 _g(row.norm), _g(row.grad_norm), _g(row.update_ratio)]
        if check:
            a, r = errors.get(row.name, (math.nan, math.nan))
            cells.append(Text(f"abs {a:.1e} rel {r:.1e}", style="green" if r <= CHECK_OK else "bold red"))
        table.add_row(*cells)
    acts = Text("activations: ", style="bold")
    acts.append("  ".join(f"{name} {shape}" for name, shape in s.activations))
    return Group(table, acts)


class ShapesPane(Static):
    """Parameter, gradient and activation shapes of the live network."""

    def show(self, s: Snapshot, check: tuple = ()) -> None:
        self.update(shapes_table(s, check))
