"""The step view: the step just taken, in the tutorial's notation, with live shapes and one number
per line (forward, loss, backward, then the optimizer's update)."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events

from ...core.probes import StepRow
from ..plain import math_ascii
from .neurons import fit_lines
from .view_pane import ViewPane

PART_STYLE = {"forward": "bold cyan", "loss": "bold yellow", "backward": "bold magenta", "update": "bold green"}
"""The colour of each part's equation (the text reads the same without it)."""


def _v(label: str, v: float) -> str:
    """The number of a row: its left-hand side's norm (the column heading says so), or the loss."""
    if not label:
        return ""
    number = f"{v:.4g}" if math.isfinite(v) else "?"
    return f"= {number}" if label == "loss" else number


def step_text(rows: tuple[StepRow, ...], step: int, width: int, height: int | None = None, ascii: bool = False) -> Text:
    """One line per row: equation, shapes, value; columns aligned, the shapes dropped when narrow.
    ascii: the equations spelled in ASCII (`dW1^2`, `sqrt`), before the columns are measured."""
    if not rows:
        return Text("no step yet: press n (while paused) to take one", style="dim")
    if ascii:
        rows = tuple(replace(r, text=math_ascii(r.text)) for r in rows)
    eq = max(len(r.text) for r in rows)
    val = max(len(_v(r.label, r.value)) for r in rows)
    shapes = [r.shapes for r in rows]
    if eq + 2 + max(map(len, shapes)) + 2 + val > width:  # narrow: the result's shape only
        shapes = [sh.rsplit("-> ", 1)[-1] if sh.startswith("(") else "" for sh in shapes]
    sh = max(map(len, shapes))
    with_shapes = eq + 2 + sh + 2 + val <= width
    eq = min(eq, max(8, width - 2 - val)) if not with_shapes else eq  # very narrow: long equations end in …
    roomy = height is None or len(rows) + 3 <= height  # a heading and a line before each part
    head = f"step {step}, just taken"[:eq].ljust(eq) + ("  " + "shape".ljust(sh) if with_shapes else "") + "  ‖lhs‖"
    lines = [Text(head, style="dim")] if roomy else []
    part = ""
    for r, shape in zip(rows, shapes):
        if roomy and r.part != part and r.part in ("backward", "update"):
            lines.append(Text(f"-- {r.part}", style="dim"))
        part = r.part
        text = r.text if len(r.text) <= eq else r.text[: eq - 1] + "…"
        line = Text(text.ljust(eq), style=PART_STYLE.get(r.part, "bold"))
        if with_shapes:
            line.append("  " + shape.ljust(sh), style="dim")
        line.append("  " + _v(r.label, r.value))
        lines.append(line)
    if any(r.label and not math.isfinite(r.value) for r in rows):
        lines.append(Text("? needs the weights the step started from (take one with n)", style="dim"))
    return fit_lines(lines, width, height)


class StepPane(ViewPane):
    """The last step written out."""

    DEFAULT_CSS = "StepPane { width: 1fr; height: 1fr; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("waiting for the first snapshot...", **kwargs)
        self._data: tuple[tuple[StepRow, ...], int] | None = None

    def show(self, rows: tuple[StepRow, ...], step: int) -> None:
        self._data = (rows, step)
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._data is not None:
            size = self.content_size
            ascii = getattr(self.app, "ascii", False)
            self.update(step_text(*self._data, size.width or 56, size.height or None, ascii=ascii))
