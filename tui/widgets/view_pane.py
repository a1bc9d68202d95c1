"""The base of the views beside the loss plot: a Static that draws ASCII only on plain terminals."""

from __future__ import annotations

from rich.text import Text

from ..plain import to_ascii
from .sized_static import SizedStatic


def ascii_text(text: Text) -> Text:
    """The same text with every character ASCII (one for one, so the colour spans still fit)."""
    out = text.copy()
    out.plain = to_ascii(text.plain)
    return out


class ViewPane(SizedStatic):
    """A view's pane: `update()` turns the text into ASCII under --ascii or a plain terminal, and
    lays the screen out again only when the text's size changed."""

    def update(self, content="", *args, **kwargs) -> None:
        if getattr(self.app, "ascii", False) and isinstance(content, Text):
            content = ascii_text(content)
        super().update(content, *args, **kwargs)
