"""The state words of a run, one set for the whole product (the status line shows them)."""

from __future__ import annotations

from enum import StrEnum


class State(StrEnum):
    STARTING = "STARTING"
    """The training process is building the run; no numbers yet."""
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"
    DONE = "DONE"
    """--epochs reached."""
    DIVERGED = "DIVERGED"
    """A loss or a parameter became nan or inf."""
    FAILED = "FAILED"
    """A step raised, or the training process died."""
    STALLED = "STALLED"
    """Running, but no word from the training process for a while."""


ENDED = (State.DONE, State.DIVERGED, State.FAILED)
"""States a run cannot step out of (r starts over)."""
