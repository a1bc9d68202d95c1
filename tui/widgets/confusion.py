"""The confusion pane: train and test confusion matrices side by side (stacked when narrow), rows
the true class, columns the predicted one, with each class's accuracy at the end of its row."""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual import events

from ...core.inside import Confusion
from .neurons import fit_lines
from .view_pane import ViewPane

SIDE_GAP = "   "
"""Between the train and test blocks when they sit side by side."""


def _pct(v: float) -> str:
    return f"{v:4.0%}" if math.isfinite(v) else "   -"


def block_lines(c: Confusion, title: str) -> list[Text]:
    """Title, header `t\\p  0  1  acc`, then one row per true class."""
    K = len(c.counts)
    most = max((v for row in c.counts for v in row), default=0)
    cw = max(len(str(most)), len(str(K - 1))) + 1  # column width, one space of padding
    lw = max(3, len(str(K - 1)))  # row-label width
    head = Text(f"{title} ", style="bold")
    head.append(f"acc {_pct(c.accuracy).strip()}  n={c.total}")
    cols = Text("t\\p".rjust(lw), style="dim")
    for k in range(K):
        cols.append(str(k).rjust(cw), style="bold")
    cols.append("  acc", style="dim")
    lines = [head, cols]
    for t, row in enumerate(c.counts):
        line = Text(str(t).rjust(lw), style="bold")
        for p, v in enumerate(row):
            style = "bold green" if p == t and v else "red" if v else "dim"
            line.append(str(v).rjust(cw), style=style)
        line.append(" " + _pct(c.per_class[t]))
        lines.append(line)
    return lines


def side_by_side(left: list[Text], right: list[Text]) -> list[Text]:
    w = max(line.cell_len for line in left)
    out = []
    for i in range(max(len(left), len(right))):
        a = left[i].copy() if i < len(left) else Text()
        a.pad_right(w - a.cell_len)
        out.append(a + Text(SIDE_GAP) + (right[i] if i < len(right) else Text()))
    return out


def confusion_text(train: Confusion, test: Confusion | None, width: int, height: int | None = None) -> Text:
    """Train (and test) blocks side by side when they fit the width, else one above the other."""
    left = block_lines(train, "train")
    if test is None:
        return fit_lines(left, width, height)
    right = block_lines(test, "test")
    both = side_by_side(left, right)
    if max(line.cell_len for line in both) <= width:
        return fit_lines(both, width, height)
    return fit_lines(left + [Text()] + right, width, height)


class ConfusionPane(ViewPane):
    """Train and test confusion matrices with per-class accuracy."""

    DEFAULT_CSS = "ConfusionPane { width: 1fr; height: auto; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("waiting for the first snapshot...", **kwargs)
        self._data: tuple[Confusion, Confusion | None] | None = None

    def show(self, train: Confusion, test: Confusion | None = None) -> None:
        self._data = (train, test)
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def _draw(self) -> None:
        if self._data is not None:
            self.update(confusion_text(*self._data, self.content_size.width or 56))
