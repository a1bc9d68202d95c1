"""The step view: the step just taken, in the tutorial's notation, with live shapes and one number
per line (forward, loss, backward, then the optimizer's update)."""

from __future__ import annotations

import math
import re
from dataclasses import replace
from typing import Any

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll

from ...core.probes import StepRow
from ..plain import math_ascii
from .neurons import fit_lines
from .view_pane import ViewPane

PART_STYLE = {
    "forward": "bold cyan",
    "loss": "bold yellow",
    "backward": "bold magenta",
    "moments": "bold green",
    "update": "bold green",
}
"""The colour of each part's equation (the text reads the same without it)."""
HEADED = ("backward", "moments", "update")
"""Parts that start under a heading line of their own (`-- backward`)."""


def _v(label: str, v: float) -> str:
    """The number of a row (its column heading says what it is), or `= loss`."""
    if not label:
        return ""
    number = f"{v:.4g}" if math.isfinite(v) else "?"
    return f"= {number}" if label == "loss" else number


def value_heading(r: StepRow) -> str:
    """What a row's number is: `‖lhs‖` (the norm of the left-hand side), else the row's own label
    without its layer (`‖ΔW‖`, the change an update made); '' for the loss and unnumbered rows."""
    if not r.label or r.label == "loss":
        return ""
    lhs = r.text.split(" ", 1)[0]
    return "‖lhs‖" if r.label == f"‖{lhs}‖" else re.sub(r"\d+", "", r.label)


def pad(s: str, n: int) -> str:
    """s padded to n terminal cells (m̂ and v̂ are two code points in one cell)."""
    return s + " " * max(n - cell_len(s), 0)


def fit_shapes(rows: tuple[StepRow, ...], room: int) -> list[str]:
    """Each row's shapes in at most `room` cells: whole (`(80, 2) @ (2, 8) + (8,) -> (80, 8)`)
    where they fit, else the result only (`(80, 8)`), else nothing."""
    out = []
    for r in rows:
        sh = r.shapes
        if cell_len(sh) > room:
            sh = sh.rsplit("-> ", 1)[-1]
        out.append(sh if cell_len(sh) <= room else "")
    return out


def step_text(rows: tuple[StepRow, ...], step: int, width: int, height: int | None = None, ascii: bool = False) -> Text:
    """One line per row: equation, shapes, value; columns aligned. A heading line starts each part
    after the forward pass and names the value column whenever its meaning changes (‖lhs‖, ‖ΔW‖).
    Shapes shrink to the result's where the whole product does not fit; long equations end in ….
    ascii: the equations spelled in ASCII (`dW1^2`, `sqrt`), before the columns are measured."""
    if not rows and step:  # the one-kernel CUDA step keeps no activations; steps keep them while this view shows
        return Text("shown from the next step on: press n (while paused) to take one", style="dim")
    if not rows:
        return Text("no step yet: press n (while paused) to take one", style="dim")
    if ascii:
        rows = tuple(replace(r, text=math_ascii(r.text)) for r in rows)
    heads = [value_heading(r) for r in rows]
    if ascii:
        heads = [h.replace("Δ", "delta ") for h in heads]
    val = max(max(cell_len(_v(r.label, r.value)) for r in rows), *(cell_len(h) for h in heads))
    results = max(cell_len(r.shapes.rsplit("-> ", 1)[-1]) for r in rows)
    for sep in ("  ", " "):  # one space between the columns when that keeps every result's shape
        eq = max(cell_len(r.text) for r in rows)
        eq = min(eq, max(8, width - len(sep) - val))  # very narrow: long equations end in …
        room = width - eq - 2 * len(sep) - val
        if room >= results:
            break
    shapes = fit_shapes(rows, room)
    sh = max(map(cell_len, shapes))
    col = (lambda s: sep + pad(s, sh)) if sh else (lambda s: "")
    first = next((h for h in heads if h), "")
    top = pad(f"step {step}, just taken"[:eq], eq) + col("shape" if sh >= 5 else "") + sep + first
    lines = [Text(top, style="dim")]
    part, head = "", first
    for r, shape, h in zip(rows, shapes, heads):
        if (r.part != part and r.part in HEADED) or (h and h != head):
            lines.append(Text(pad(f"-- {r.part}", eq) + col("") + sep + (h or head), style="dim"))
        part, head = r.part, h or head
        text = r.text if cell_len(r.text) <= eq else r.text[: eq - 1] + "…"
        line = Text(pad(text, eq), style=PART_STYLE.get(r.part, "bold"))
        line.append(col(shape), style="dim")
        line.append(sep + _v(r.label, r.value))
        lines.append(line)
    if any(r.label and not math.isfinite(r.value) for r in rows):
        lines.append(Text("? needs the weights the step started from (take one with n)", style="dim"))
    return fit_lines(lines, width, height)


class StepPane(VerticalScroll):
    """The last step written out; it scrolls (mouse wheel, or the arrow keys once clicked) when the
    rows are more than the pane's height."""

    DEFAULT_CSS = """
    StepPane { width: 1fr; height: 1fr; scrollbar-size-vertical: 1; }
    StepPane > ViewPane { width: 1fr; height: auto; }
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._data: tuple[tuple[StepRow, ...], int] | None = None

    def compose(self) -> ComposeResult:
        yield ViewPane("waiting for the first snapshot...")

    def show(self, rows: tuple[StepRow, ...], step: int) -> None:
        self._data = (rows, step)
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._data is not None:
            width = self.scrollable_content_region.width
            ascii = getattr(self.app, "ascii", False)
            self.query_one(ViewPane).update(step_text(*self._data, width or 56, ascii=ascii))  # every row: it scrolls
