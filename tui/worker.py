"""The dashboard's training loop: it runs in the training process (tui/process.py), or in the
app's thread worker (tests, `engine="thread"`), and never imports textual.

The UI sends commands through `Control` (thread-safe); the loop applies them between steps,
trains while running, and emits a Snapshot at most `ui_hz` times a second (and at once after a
command). While paused it blocks on an Event, so it costs no CPU. Everything it emits is plain
picklable data: Snapshot, Note, GradChecks.
"""

from __future__ import annotations

import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Callable

from ..core.data import DATASETS
from ..core.metrics import MetricsWriter
from ..core.network import ACTIVATIONS
from ..core.trainer import Snapshot, Trainer

PAUSED_WAIT = 0.5
"""Seconds a paused loop sleeps between checks of cancellation (commands wake it at once)."""
MAX_LR = 1e6


@dataclass(frozen=True)
class Note:
    """A one-off result to show the user: a saved checkpoint, a failed command."""

    text: str
    severity: str = "information"
    """'information', 'warning' or 'error' (Textual's notify severities)."""
    title: str = ""


@dataclass(frozen=True)
class GradChecks:
    """Per-tensor manual-vs-autograd errors: ((name, max_abs, max_rel), ...)."""

    rows: tuple[tuple[str, float, float], ...]


Event = Snapshot | Note | GradChecks


class Control:
    """Commands from the UI thread to the worker: a queue plus an Event that wakes the loop."""

    def __init__(self, paused: bool):
        self.running = not paused
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self.wake = threading.Event()
        self.stopped = threading.Event()
        self.grid = (0, 0)
        """(cols, rows) of the boundary pane."""
        self._lock = threading.Lock()
        self._forward: Callable[[str, object], None] | None = None
        self.pending = 0
        """Commands sent but not yet applied (in-thread loop only; tests wait for 0)."""

    def send(self, command: str, arg=None) -> None:
        if command == "grid":
            self.grid = arg  # remembered here too, for a restart
        with self._lock:
            if self._forward is not None:  # the loop runs in a training process
                self._forward(command, arg)
                return
            self.pending += 1
            self._queue.put((command, arg))
        self.wake.set()

    def attach(self, forward: Callable[[str, object], None]) -> None:
        """From now on pass commands to forward() (the training process), queued ones first, in order."""
        with self._lock:
            for command, arg in self.drain():
                forward(command, arg)
            self._forward = forward

    def stop(self) -> None:
        self.stopped.set()
        self.wake.set()

    def drain(self) -> list[tuple[str, object]]:
        self.wake.clear()
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out


def _next(items: tuple[str, ...], current: str) -> str:
    return items[(items.index(current) + 1) % len(items)] if current in items else items[0]


def apply(trainer: Trainer, control: Control, command: str, arg, post: Callable) -> None:
    """One command from the UI, applied between steps on the worker thread."""
    if command == "pause":
        control.running = False
    elif command == "resume":
        control.running = True
    elif command == "step":
        if trainer.state == "ok" and not trainer.done:
            trainer.step()
            trainer.flush()
    elif command == "reset":
        trainer.reset()
    elif command == "reseed":
        trainer.reset(seed=arg)
    elif command == "lr":
        trainer.set_lr(min(max(trainer.cfg.lr * arg, 1e-12), MAX_LR))
    elif command == "activation":
        trainer.set_activation(_next(ACTIVATIONS, trainer.cfg.activation))
    elif command == "dataset":
        trainer.set_dataset(_next(DATASETS, "" if trainer.cfg.data else trainer.cfg.dataset))
    elif command == "grid":
        control.grid = arg
    elif command == "gradcheck":
        checks = trainer.gradient_check()
        post(GradChecks(tuple((c.name, c.max_abs, c.max_rel) for c in checks)))
    elif command == "save":
        path = arg or f"ffnn-tui-{trainer.cfg.data and 'data' or trainer.cfg.dataset}-step{trainer.step_count}.pt"
        trainer.save(path)
        post(Note(f"checkpoint saved: {path} (step {trainer.step_count})", title="saved"))


def safe_snapshot(trainer: Trainer, control: Control, post: Callable) -> Snapshot:
    """The newest snapshot; if drawing it fails, the run becomes FAILED and a plainer one is sent."""
    cols, rows = control.grid
    try:
        return trainer.snapshot(cols, rows)
    except Exception as e:
        trainer.fail(f"{type(e).__name__} while drawing step {trainer.step_count}: {e}")
        control.running = False
        post(Note(trainer.reason, severity="error", title="snapshot failed"))
        return trainer.snapshot(0, 0)


def train_loop(trainer: Trainer, control: Control, post: Callable, cancelled: Callable[[], bool], ui_hz: float) -> None:
    """Train while running, apply commands between steps, post snapshots; return when stopped."""
    trainer.claim_threads(beside_ui=True)
    save_every = trainer.cfg.save_every
    writer = None
    if trainer.cfg.metrics:  # one row per step, as headless writes them (a reset numbers from 1 again)
        writer = MetricsWriter(trainer.cfg.metrics, append=bool(trainer.cfg.resume))
        trainer.track_metrics, trainer.on_rows = True, writer.write
    try:
        _loop(trainer, control, post, cancelled, ui_hz, save_every)
    finally:
        if writer is not None:
            trainer.flush()
            writer.close()
    if trainer.cfg.save:
        try:
            trainer.save(trainer.cfg.save)
        except Exception as e:  # report, but let the app exit
            post(Note(f"could not save {trainer.cfg.save}: {e}", severity="error"))


def _loop(trainer: Trainer, control: Control, post: Callable, cancelled: Callable[[], bool], ui_hz: float,
          save_every: int) -> None:
    """The loop itself: commands, steps, snapshots, until stopped or cancelled."""
    period = 1.0 / ui_hz
    next_post = 0.0
    dirty = True
    was_running = False
    while not control.stopped.is_set() and not cancelled():
        if control.wake.is_set():
            for command, arg in control.drain():
                try:
                    apply(trainer, control, command, arg, post)
                except Exception as e:  # a failing command must not end the loop
                    post(Note(f"{command} failed: {type(e).__name__}: {e}", severity="error"))
                    if command == "step":
                        trainer.fail(f"{type(e).__name__} in step {trainer.step_count + 1}: {e}")
                        control.running = False
                finally:
                    control.pending -= 1
            dirty = True
        running = control.running and trainer.state == "ok" and not trainer.done
        if running:
            try:
                before = trainer.step_count
                trainer.advance(trainer.preferred_chunk())
                if save_every and trainer.step_count // save_every > before // save_every:
                    trainer.save(trainer.cfg.save)
            except Exception as e:  # an engine failure is a state with a reason, never a dead UI
                trainer.fail(f"{type(e).__name__} in step {trainer.step_count + 1}: {e}")
                traceback.clear_frames(e.__traceback__)
                running = False
        if running != was_running:
            dirty, was_running = True, running
            if not running:
                control.running = False  # diverged, failed or done: the UI shows it paused
        now = time.perf_counter()
        if dirty or (running and now >= next_post):
            post(safe_snapshot(trainer, control, post))
            next_post, dirty = now + period, False
        if not running:
            control.wake.wait(PAUSED_WAIT)
