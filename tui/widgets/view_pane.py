"""The base of the views beside the loss plot: a Static that draws ASCII only on plain terminals."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ..plain import to_ascii


def ascii_text(text: Text) -> Text:
    """The same text with every character ASCII (one for one, so the colour spans still fit)."""
    out = text.copy()
    out.plain = to_ascii(text.plain)
    return out


class ViewPane(Static):
    """A view's pane: `update()` turns the text into ASCII under --ascii or a plain terminal."""

    def update(self, content="", *args, **kwargs) -> None:
        if getattr(self.app, "ascii", False) and isinstance(content, Text):
            content = ascii_text(content)
        super().update(content, *args, **kwargs)
