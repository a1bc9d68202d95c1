"""Textual messages: how events from the training loop (tui/worker.py) reach the app."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from ..core.trainer import Snapshot
from .worker import Event, GradChecks, Note


@dataclass
class SnapshotReady(Message):
    """The newest picture of the run; a queued older one is dropped in its favour."""

    snapshot: Snapshot

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SnapshotReady)


@dataclass
class Notice(Message):
    """A one-off result to show the user: a saved checkpoint, an error."""

    note: Note


@dataclass
class GradCheckDone(Message):
    """Per-tensor manual-vs-autograd errors: ((name, max_abs, max_rel), ...)."""

    rows: tuple[tuple[str, float, float], ...]


@dataclass
class EngineStopped(Message):
    """The training process ended on its own (crashed or was killed): why, in one line."""

    reason: str


def message_for(event: Event) -> Message:
    """Wrap a plain event from the training loop in the app's message for it."""
    if isinstance(event, Snapshot):
        return SnapshotReady(event)
    if isinstance(event, GradChecks):
        return GradCheckDone(event.rows)
    return Notice(event)
