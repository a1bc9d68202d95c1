"""The training side of the dashboard: the protocol, the loop, and the two engines that run it.

`Engine` is the one interface the app holds. `ProcessEngine` (the default) runs the loop in a
child process; `ThreadEngine` runs it in a thread of the app's process, so tests can reach the
Trainer. The app never asks which one it has. Nothing here imports textual.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from typing import Callable

from ...core.files import user_path, write_atomic
from .protocol import FINAL_SAVE_FAILED, Command, Event, Heartbeat, LastCheckpoint, Note
from .snapshot import Snapshot

STOP_WAIT = 5.0
"""Seconds to wait for a loop to stop (and save) before giving up on it."""


class Engine(ABC):
    """A training loop the app talks to: send() commands; events arrive through `emit`, called
    from a background thread (the app turns each into a Textual message)."""

    def __init__(self, emit: Callable[[Event], None], save_path: str | None = None):
        self.emit = emit
        self.save_path = save_path
        """--save: where the loop saves when it stops, and where rescue() writes when it cannot."""
        self.kept: LastCheckpoint | None = None
        """The newest checkpoint bytes the loop sent (it sends them when steps may be slow)."""
        self.completed: tuple[int, int] = (-1, -1)
        """(run_id, step) of the last completed step the loop told of."""
        self.farewell = ""
        """One line for the user about a stop that did not go to plan ('' when it did)."""
        self.save_failed = False
        """The loop's last save, as it stopped, failed (the folder went, the disk is full): exit 2."""

    def heard(self, event: Event) -> None:
        """Bookkeeping on each event from the loop, before it is passed on to the app."""
        match event:
            case Snapshot(run_id=run_id, step=step) | LastCheckpoint(run_id=run_id, step=step):
                self.completed = (run_id, step)
                if isinstance(event, LastCheckpoint):
                    self.kept = event
            case Heartbeat(step=step):
                self.completed = (self.completed[0], step - 1)
            case Note(title=title, text=text) if title == FINAL_SAVE_FAILED:
                self.save_failed = True
                self.farewell = f"ffnn-tui: error: {text}"

    def rescue(self, waited: float, before: tuple | None, killed: int = 0) -> None:
        """After a stop that did not end the loop (a slow, stopped or hung step), or found it killed
        (signal `killed`: kill -9, the OOM killer): write the kept checkpoint to --save if it is of
        the last completed step, and say what happened either way.
        `before` is the file's stamp when the stop began: a file the loop wrote since is left alone."""
        path = self.save_path
        if not path or file_stamp(path) != before:
            return
        kept = self.kept
        if kept is not None and (kept.run_id, kept.step) == self.completed:
            try:
                write_atomic(lambda fh: fh.write(kept.data), path)
            except OSError as e:
                self.farewell = f"ffnn-tui: could not save {path}: {e}"
                return
            what = f"was killed (signal {killed})" if killed else f"did not stop within {waited:.0f}s"
            self.farewell = (
                f"ffnn-tui: the training process {what}; saved its last completed step ({kept.step}) to {path}"
            )
        else:
            what = f"was killed (signal {killed})" if killed else f"did not stop within {waited:.0f}s (stopped or hung)"
            self.farewell = f"ffnn-tui: could not save {path}: the training process {what}, and its last completed step was not at hand"

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
    def kill(self, wait: float = 0.0) -> None:
        """End it now, without saving, and silence its events; wait up to `wait` seconds for it to
        be gone (a thread can only be asked: it ends at its next step boundary)."""


def file_stamp(path: str) -> tuple | None:
    """What tells a rewritten file apart: (inode, mtime, size), or None when there is none."""
    try:
        st = os.stat(user_path(path))
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)
