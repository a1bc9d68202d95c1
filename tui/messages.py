"""The one Textual message the dashboard gets from its engine: an engine event, wrapped."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message

from .engine import Engine
from .engine.protocol import Event
from .engine.snapshot import Snapshot


@dataclass
class EngineEvent(Message):
    """An event from the training loop (tui/engine/protocol.py), and the engine that sent it, so
    a replaced engine's late events are dropped. A queued snapshot gives way to a newer one."""

    event: Event
    engine: Engine | None
    """None only for an event sent while its engine is being built (FfnnApp.new_engine): none is."""

    def can_replace(self, message: Message) -> bool:
        return (
            isinstance(message, EngineEvent)
            and isinstance(message.event, Snapshot)
            and isinstance(self.event, Snapshot)
            and message.engine is self.engine
        )
