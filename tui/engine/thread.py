"""The in-thread engine: the training loop in a daemon thread of the app's own process.

For tests: the Trainer is reachable (`engine.trainer`), fault hooks work, and nothing is pickled.
A thread cannot be killed, so `kill()` only silences it; a stuck one is abandoned.
"""

from __future__ import annotations

import threading
from typing import Callable

from ...core.config import RunConfig
from ...core.errors import InputError
from ...core.run import open_trainer
from ...core.trainer import Trainer
from . import STOP_WAIT, Engine, file_stamp
from .loop import HEARTBEAT, Inbox, TrainingLoop
from .protocol import Command, Event, Exited, Stop


class ThreadEngine(Engine):
    """The loop in a thread; give it a Trainer, or a config to build one from (in the thread)."""

    def __init__(
        self,
        emit: Callable[[Event], None],
        cfg: RunConfig,
        *,
        ui_hz: float,
        trainer: Trainer | None = None,
        paused: bool | None = None,
        after_runs: bool = False,
    ):
        super().__init__(emit, cfg.save)
        self.cfg, self.ui_hz, self.trainer, self.after_runs = cfg, ui_hz, trainer, after_runs
        self.heartbeat = HEARTBEAT
        """Seconds between the loop's heartbeats during a step; 0 plays a frozen process (tests)."""
        self.paused = cfg.paused if paused is None else paused
        self.inbox = Inbox()
        self.loop: TrainingLoop | None = None
        self._silenced = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True, name="ffnn-tui-trainer")

    @property
    def pending(self) -> int:
        """Commands sent but not yet applied."""
        return self.inbox.pending

    @property
    def loop_running(self) -> bool:
        return self.loop is not None and self.loop.running

    def _emit(self, event: Event) -> None:
        self.heard(event)
        if not self._silenced.is_set():
            self.emit(event)

    def _main(self) -> None:
        try:
            if self.trainer is None:
                self.trainer = open_trainer(self.cfg, self.after_runs)
        except InputError as e:
            self._emit(Exited(str(e), bad_input=True))
            return
        except Exception as e:
            self._emit(Exited(f"could not build the run: {type(e).__name__}: {e}"))
            return
        self.loop = TrainingLoop(
            self.trainer, self._emit, running=not self.paused, ui_hz=self.ui_hz, heartbeat=self.heartbeat
        )
        try:
            self.loop.run(self.inbox, self._silenced.is_set)
            self._emit(Exited(""))
        except Exception as e:
            self._emit(Exited(f"the training loop failed: {type(e).__name__}: {e}"))

    def start(self) -> None:
        self._thread.start()

    def send(self, command: Command) -> None:
        self.inbox.put(command)

    def stop(self, timeout: float = STOP_WAIT) -> bool:
        before = file_stamp(self.save_path) if self.save_path else None
        self.send(Stop())
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.kill()
            self.rescue(timeout, before)
            return False
        return True

    def kill(self, wait: float = 0.0) -> None:
        self._silenced.set()
        self.inbox.wake.set()
        if wait and self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(wait)
