"""--ascii everywhere: a line filter that turns whatever Textual draws into ASCII.

The panes choose their own ASCII glyphs (tui/plain.py's table, the views' markers); this filter
catches the rest, drawn by Textual itself: the command palette (its search icon, its borders),
the key panel, the theme picker, scrollbars, toasts. Each character keeps its width in cells, so
the layout Textual measured still fits.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.segment import Segment
from textual.color import Color
from textual.filter import LineFilter

from .plain import ASCII_TABLE

WIDE_TABLE = str.maketrans({"🔎": "> "})
"""Wide characters Textual draws, as two ASCII characters: the palette's search icon is a prompt."""


def ascii_cells(text: str) -> str:
    """to_ascii (tui/plain.py) of each character when that keeps its width in cells, else one '?'
    per cell: an unknown wide character (an emoji) becomes '??', a combining mark nothing."""
    if text.isascii():
        return text
    return "".join(c if c.isascii() else _cells(c) for c in text)


def _cells(c: str) -> str:
    width = cell_len(c)
    plain = c.translate(ASCII_TABLE).translate(WIDE_TABLE)
    return plain if plain.isascii() and len(plain) == width else "?" * width


class AsciiFilter(LineFilter):
    """Every segment's text in ASCII, its style unchanged."""

    def apply(self, segments: list[Segment], background: Color) -> list[Segment]:
        return [s if s.text.isascii() else Segment(ascii_cells(s.text), s.style, s.control) for s in segments]
