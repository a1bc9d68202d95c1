"""The keys that steer the run: pause, step, reset, reseed, learning rate, activation, dataset,
gradient check. A mixin of FfnnApp: each key becomes a Command for the engine. Each of them
first returns a rewound dashboard to now (tui/rewind.py)."""

from __future__ import annotations

import random
import time

from ..core.state import ENDED, State
from .dashboard import Dashboard
from .engine.protocol import CheckGradients, NextActivation, NextDataset, Pause, Reset, Resume, ScaleLr, Step
from .keys import PAUSE_LABEL
from .widgets.panes import Panes


class RunKeys(Dashboard):
    """Keys that send commands to the training loop (mixed into FfnnApp)."""

    def _ended(self) -> bool:
        return bool(self.engine_failure) or (self.snapshot is not None and self.snapshot.state in ENDED)

    def check_action(self, action: str, parameters) -> bool | None:
        """None greys a key out in the footer: step while running, and stepping or running a run
        that has diverged, failed or finished (r is the way on)."""
        if action == "step" and (self.running or self._ended()):
            return None
        if action == "toggle_pause" and self._ended() and not self.running:
            return None
        return True

    def watch_running(self, running: bool) -> None:
        self.relabel({"pause": PAUSE_LABEL[running]})
        self.refresh_bindings()  # the footer redraws with the new label
        if self.snapshot is not None:
            self.query_one(Panes).status(self.snapshot, self.state())

    def action_toggle_pause(self) -> None:
        self.to_now()
        if not self.running and self._ended():
            self.notify(f"the run is {self.state()}; press r to reset", severity="warning")
            return
        self.running = not self.running
        self.heard_from = time.monotonic()
        self.send(Resume() if self.running else Pause())

    def action_step(self) -> None:
        self.to_now()
        if not self.running:
            self.send(Step())

    def action_reset(self) -> None:
        self.to_now()
        self.check = ()
        if self.state() is State.STALLED or self.engine_failure:
            self.restart_engine()
        else:
            self.send(Reset())

    def action_reseed(self) -> None:
        self.to_now()
        self.check = ()
        self.send(Reset(seed=random.randrange(2**31)))

    def action_lr(self, factor: float) -> None:
        self.to_now()
        self.send(ScaleLr(factor))

    def action_activation(self) -> None:
        self.to_now()
        self.send(NextActivation())

    def action_dataset(self) -> None:
        self.to_now()
        self.check = ()
        self.send(NextDataset())

    def action_gradcheck(self) -> None:
        self.to_now()
        self.send(CheckGradients())
