"""A Static that lays the screen out again only when its text's size changes.

Textual's `Static.update` asks for a layout by default, and a layout re-renders every widget on the
screen: for the panes a snapshot updates (new numbers in the same rows) that cost 40-90 ms a
snapshot on a loaded 2-core machine, and a key pressed meanwhile waited for it.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


def extent(content) -> tuple[int, int] | None:
    """(lines, widest line) of a Text or a string; None for anything else (its size is unknown)."""
    plain = content.plain if isinstance(content, Text) else content if isinstance(content, str) else None
    if plain is None:
        return None
    lines = plain.split("\n")
    return len(lines), max(map(len, lines))


class SizedStatic(Static):
    _extent: tuple[int, int] | None = None

    def update(self, content="", *, layout: bool | None = None) -> None:
        """As Static.update; by default with a layout only when the lines or the widest line changed."""
        size = extent(content)
        if layout is None:
            layout = size is None or size != self._extent
        self._extent = size
        super().update(content, layout=layout)
