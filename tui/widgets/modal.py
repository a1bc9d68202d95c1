"""A modal screen that closes once: Textual's dismiss() pops whatever screen is on top, so two
keys that close one screen in the same moment (Enter and Escape of a paste, a laggy SSH link, a
key storm) closed it and then the screen under it, and with the main screen alone left that is
an exit-1 ScreenStackError."""

from __future__ import annotations

from typing import Any

from textual.await_complete import AwaitComplete
from textual.screen import ModalScreen, Screen


async def _nothing() -> None:
    return None


def may_close(screen: Screen[Any]) -> bool:
    """True the first time a screen asks to close, and only while it is the one on top (Textual's
    is_current is also true under a modal: a late key for the help screen under the palette popped
    the palette and left the help screen marked closed, so no key closed it)."""
    if getattr(screen, "_dismissing", False) or not screen.is_active:  # (is_current: also under a modal)
        return False
    screen._dismissing = True  # type: ignore[attr-defined]  # (not _closed: Textual's own, for a closed message pump)
    return True


def nothing() -> AwaitComplete:
    return AwaitComplete(_nothing())


class Modal(ModalScreen[Any]):
    """ModalScreen whose dismiss() acts once, and only while this screen is the one on top."""

    def dismiss(self, result: Any = None) -> AwaitComplete:
        return super().dismiss(result) if may_close(self) else nothing()
