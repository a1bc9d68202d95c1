"""The training side of the dashboard: the protocol, the loop, and the two engines that run it.

`Engine` is the one interface the app holds. `ProcessEngine` (the default) runs the loop in a
child process; `ThreadEngine` runs it in a thread of the app's process, so tests can reach the
Trainer. The app never asks which one it has. Nothing here imports textual.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable

from .protocol import Command, Event

STOP_WAIT = 5.0
"""Seconds to wait for a loop to stop (and save) before giving up on it."""


class Engine(ABC):
    """A training loop the app talks to: send() commands; events arrive through `emit`, called
    from a background thread (the app turns each into a Textual message)."""

    def __init__(self, emit: Callable[[Event], None]):
        self.emit = emit

    @abstractmethod
    def start(self) -> None:
        """Begin building the run and training; returns at once."""

    @abstractmethod
    def send(self, command: Command) -> None:
        """Queue a command; never blocks, never raises (a dead engine says Exited instead)."""

    @abstractmethod
    def stop(self, timeout: float = STOP_WAIT) -> bool:
        """Ask the loop to stop (it saves when --save is set) and wait up to `timeout` seconds.
        Returns whether it ended; one that did not is killed (a process) or abandoned (a thread)."""

    @abstractmethod
    def kill(self) -> None:
        """End it now, without saving, and silence its events."""
