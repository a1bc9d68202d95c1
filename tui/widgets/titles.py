"""Border titles set only when they change.

Textual repaints a widget every time its border_title is set, even to the same text; the panes
set theirs on every snapshot and every key, so each would repaint a pane whose content had not
changed (the boundary pane: about 4 ms a snapshot on the 2-core machine).
"""

from __future__ import annotations

from weakref import WeakKeyDictionary

from textual.widget import Widget

_shown: WeakKeyDictionary[Widget, str] = WeakKeyDictionary()
"""The title each widget was last given here."""


def set_title(widget: Widget, title: str) -> None:
    """widget.border_title = title, unless it is that already."""
    if _shown.get(widget) != title:
        _shown[widget] = title
        widget.border_title = title
