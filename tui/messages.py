"""Messages from the training worker to the app. All carry plain data, never live tensors."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..core.trainer import Snapshot


@dataclass
class SnapshotReady(Message):
    """The newest picture of the run; a queued older one is dropped in its favour."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


@dataclass
class Notice(Message):
    """A one-off result to show the user: a gradient check, a saved checkpoint, an error."""

    text: str
    severity: str = "information"
    """'information', 'warning' or 'error' (Textual's notify severities)."""
    title: str = ""


@dataclass
class GradCheckDone(Message):
    """Per-tensor manual-vs-autograd errors: ((name, max_abs, max_rel), ...)."""

    rows: tuple[tuple[str, float, float], ...]
