"""The weights pane: a Hinton diagram of every W_k and b_k (or their gradients or last updates).

One cell per entry; the glyph grows with |value| relative to the matrix's largest (only an exact
zero is blank). Positive entries are filled glyphs in orange, negative ones hollow in blue, so the
sign reads without colour too; a legend line under the first says so.
"""

from __future__ import annotations

from typing import Any

from rich.style import Style
from rich.text import Text
from textual import events

from ...core.inside import Matrix
from .neurons import append_runs, fit_lines, glyph, signed_style
from .view_pane import ViewPane

POS_GLYPHS, NEG_GLYPHS = "·▪■█", "◦▫□▣"
"""Filled (positive) and hollow (negative) squares, small to large."""
ASCII_POS, ASCII_NEG = ".oO@", ",-=#"
"""The same in ASCII, for terminals without the box glyphs."""
PREFIX = {"params": "", "grads": "∂", "updates": "Δ"}
"""Title prefix by what the matrices hold: W1, ∂W1 (gradient), ΔW1 (last update)."""
HEAD_LINES = 2
"""Lines above the matrices: the value under the mouse (or a note), then the legend."""


def legend(ascii: bool = False) -> Text:
    """`·▪■█ >0  ◦▫□▣ <0  size ∝ |v|/max`, each glyph in its colour, small to large."""
    pos, neg = (ASCII_POS, ASCII_NEG) if ascii else (POS_GLYPHS, NEG_GLYPHS)
    out = Text()
    for glyphs, negative, sign in ((pos, False, ">0"), (neg, True, "<0")):
        for level, g in enumerate(glyphs, start=1):
            out.append(g, signed_style(negative, level, len(glyphs)))
        out.append(f" {sign}  ", style="dim")
    out.append("size ~ |v|/max" if ascii else "size ∝ |v|/max", style="dim")
    return out


def max_cols_for(width: int) -> int:
    """The max_cols to ask core.inside.weight_matrices for, so entries fit spaced one apart."""
    return max(1, (width + 1) // 2)


def value_at(matrices: tuple[Matrix, ...], m: int, row: int, col: int) -> float:
    """The value shown at (matrix m, row, col); a block mean when the matrix was pooled."""
    return matrices[m].values[row][col]


def cursor_label(matrices: tuple[Matrix, ...], m: int, row: int, col: int) -> str:
    """`W1[0,3] = -0.412`, or for a pooled matrix the block: `W1[0:4,5:10] mean = -0.012`."""
    mat = matrices[m]
    name = PREFIX[mat.which] + mat.name
    v = value_at(matrices, m, row, col)
    r0, r1, c0, c1 = mat.row_edges[row], mat.row_edges[row + 1], mat.col_edges[col], mat.col_edges[col + 1]
    if len(mat.shape) == 1:  # a bias: one index
        where = f"{c0}" if c1 - c0 == 1 else f"{c0}:{c1}"
    else:
        where = f"{r0},{c0}" if (r1 - r0, c1 - c0) == (1, 1) else f"{r0}:{r1},{c0}:{c1}"
    return f"{name}[{where}] {'mean ' if mat.pooled else ''}= {v:.4g}"


def matrix_lines(mat: Matrix, width: int, cursor: tuple[int, int] | None, ascii: bool) -> list[Text]:
    pos, neg = (ASCII_POS, ASCII_NEG) if ascii else (POS_GLYPHS, NEG_GLYPHS)
    shape = str(mat.shape) if len(mat.shape) > 1 else f"({mat.shape[0]},)"
    title = Text(f"{PREFIX[mat.which]}{mat.name} {shape}", style="bold")
    title.append(f"  max {mat.scale:.3g}" if mat.scale > 0 else "  all zero", style="dim")
    lines = [title]
    R, C = len(mat.values), len(mat.values[0]) if mat.values else 0
    if mat.pooled:
        arrow = "->" if ascii else "→"
        lines.append(
            Text(f"pooled {'x'.join(map(str, mat.shape))} {arrow} {R}x{C} (block means)", style="italic yellow")
        )
    gap = " " if 2 * C - 1 <= width else ""
    for r, row in enumerate(mat.values):
        cells: list[tuple[str, Style | None]] = []
        for c, v in enumerate(row):
            g, s = glyph(v, mat.scale, pos, neg, up=True)  # every non-zero entry visible
            if cursor == (r, c):
                s = (s or Style()) + Style(reverse=True)
                g = g if g != " " else "_"
            if c and gap:
                cells.append((gap, None))
            cells.append((g, s))
        line = Text()
        append_runs(line, cells)
        lines.append(line)
    return lines


def weights_text(
    matrices: tuple[Matrix, ...],
    width: int,
    height: int | None = None,
    cursor: tuple[int, int, int] | None = None,
    ascii: bool = False,
    label: bool = True,
) -> Text:
    """Each matrix under its title (`W1 (2, 8)  max 1.2`), a note when pooled, then its entries.

    cursor=(matrix, row, col) reverses that entry and (label=True) adds a first line with its value.
    """
    if not matrices:
        return Text("no values yet (take a step)", style="dim")
    lines: list[Text] = []
    for i, mat in enumerate(matrices):
        here = cursor[1:] if cursor is not None and cursor[0] == i else None
        lines += matrix_lines(mat, width, here, ascii)
    if cursor is not None and label:
        lines.insert(0, Text(cursor_label(matrices, *cursor), style="bold"))
    return fit_lines(lines, width, height)


def entry_at(matrices: tuple[Matrix, ...], width: int, x: int, y: int) -> tuple[int, int, int] | None:
    """(matrix, row, col) under cell (x, y) of the pane: weights_text's lines below HEAD_LINES."""
    line = y - HEAD_LINES
    for m, mat in enumerate(matrices):
        R, C = len(mat.values), len(mat.values[0]) if mat.values else 0
        first = 1 + (1 if mat.pooled else 0)  # the title, the pooled note
        if line < first + R:
            if line < first:
                return None
            step = 2 if 2 * C - 1 <= width else 1
            col, off = divmod(x, step)
            return (m, line - first, col) if off == 0 and col < C else None
        line -= first + R
    return None


class WeightsPane(ViewPane):
    """Hinton diagram of the parameters, their gradients or their last updates; the entry under the
    mouse is shown on the first line."""

    DEFAULT_CSS = "WeightsPane { width: 1fr; height: 1fr; }"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__("waiting for the first snapshot...", **kwargs)
        self._matrices: tuple[Matrix, ...] | None = None
        self._cursor: tuple[int, int, int] | None = None
        self._note = ""

    def show(self, matrices: tuple[Matrix, ...], note: str = "", cursor: tuple[int, int, int] | None = None) -> None:
        """Draw `matrices`; `note` replaces the first line's hint; `cursor` marks an entry (else the
        mouse's entry stays while the shapes do)."""
        if cursor is not None:
            self._cursor = cursor
        elif self._matrices is None or [m.shape for m in matrices] != [m.shape for m in self._matrices]:
            self._cursor = None
        self._matrices, self._note = matrices, note
        self._draw()

    def on_resize(self, event: events.Resize) -> None:
        self._draw()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        if self._matrices:
            cursor = entry_at(self._matrices, self.content_size.width, event.x, event.y)
            if cursor != self._cursor:
                self._cursor = cursor
                self._draw()

    def on_leave(self, event: events.Leave) -> None:
        if self._cursor is not None:
            self._cursor = None
            self._draw()

    def _draw(self) -> None:
        if self._matrices is None:
            return
        size = self.content_size
        width, height = size.width or 56, size.height or None
        ascii = getattr(self.app, "ascii", False)
        if not self._matrices:
            self.update(Text(self._note or "no values yet (take a step)", style="dim"))
            return
        if self._cursor is None:
            head = Text(self._note or "the mouse over an entry shows its value", style="dim")
        else:
            head = Text(cursor_label(self._matrices, *self._cursor), style="bold")
        rest = height - HEAD_LINES if height else None
        body = weights_text(self._matrices, width, rest, self._cursor, ascii, label=False)
        self.update(fit_lines([head, legend(ascii)], width, HEAD_LINES) + Text("\n") + body)
