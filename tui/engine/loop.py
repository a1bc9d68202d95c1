"""The dashboard's training loop: the one run loop (core/run.py) plus commands and snapshots.

It runs in the training process (process.py), or in a thread (thread.py, for tests), and never
imports textual. Between chunks of steps it applies the commands waiting in its Inbox; while
running it emits a Snapshot at most `ui_hz` times a second, and at once after a command. While
paused it blocks on the Inbox, so it costs no CPU. While a step (or a command) runs, a thread of
its own sends a Heartbeat about once a second, so the app tells a slow step from a stalled one;
with --save set and steps that may be slow, it sends the run after each completed step as
LastCheckpoint bytes, which the app writes itself if the loop cannot stop in time.
"""

from __future__ import annotations

import io
import math
import queue
import threading
import time
import traceback
from dataclasses import replace
from typing import Callable

import torch

from ...core import probes
from ...core.checkpoint import checkpoint_of
from ...core.config import SPEEDS, steps_per_second
from ...core.data import DATASETS, write_csv
from ...core.errors import InputError, clip_path
from ...core.export import export_weights
from ...core.files import check_output, same_file, user_path
from ...core.network import ACTIVATIONS, Params
from ...core.run import RunLoop, save
from ...core.state import State
from ...core.trainer import Trainer
from ..film import next_frame_step
from ..paths import default_file
from .protocol import (
    FINAL_SAVE_FAILED,
    Apply,
    ChangeSpeed,
    CheckGradients,
    Command,
    Drawn,
    DrawPoint,
    ErasePoint,
    Event,
    Export,
    GradChecks,
    Heartbeat,
    LastCheckpoint,
    NextActivation,
    NextDataset,
    Note,
    Pause,
    PointsSaved,
    Reset,
    Resize,
    Resume,
    Save,
    SavePoints,
    ScaleLr,
    ShowViews,
    Step,
    Stop,
)
from .snapshot import Snapshot, SnapshotMaker

PAUSED_WAIT = 0.5
"""Seconds a paused loop sleeps between checks of cancellation (commands wake it at once)."""
LR_RANGE = (1e-12, 1e6)
"""Where + and - stop."""
HEARTBEAT = 1.0
"""Seconds between heartbeats while a step or a command runs."""
SLOW = 1.0
"""Seconds: a chunk of steps that took longer is slow, and with --save set the run is sent up
(LastCheckpoint) after each such chunk, and before the first chunk, whose time is not known yet."""
DRAW_WAIT = 0.5
"""Seconds the steps leave the UI process a core after a snapshot, if it does not say Drawn sooner."""
LOOK_SHARE = 0.03
"""While training flat out, the share of the training process's time that looking at the net may
take: a snapshot's probes (metrics, boundary, views) and the rewind frames. Cheap on small nets, so
they never wait; a big net's are spread out (see Allowance)."""
LOOK_BURST = 0.05
"""Seconds of looking that may be saved up (the first frames of a run come at once)."""
LIVE_PERIOD = 0.5
"""While training, the probes are fresh at least this often, whatever they cost: the panes stay live."""
PACED_FPS = 10.0
"""Frames a second at a set --speed (or --ui-hz, if higher): at 10 steps/s and below every step
is shown; faster paces show every k-th step, k = speed / frames, evenly."""


class Inbox:
    """Commands waiting for the loop; put() from any thread, and the loop wakes at once."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Command] = queue.SimpleQueue()
        self.wake = threading.Event()
        self._lock = threading.Lock()
        self.pending = 0
        """Commands put but not yet applied (tests wait for 0)."""

    def put(self, command: Command) -> None:
        with self._lock:
            self.pending += 1
        self._queue.put(command)
        self.wake.set()

    def take(self) -> list[Command]:
        self.wake.clear()
        out = []
        while True:
            try:
                out.append(self._queue.get_nowait())
            except queue.Empty:
                return out

    def applied(self) -> None:
        with self._lock:
            self.pending -= 1


class Pace:
    """Steps at a set rate, in frames of k steps (k a power of ten, the step counter lands on
    multiples of it), each frame due `k / rate` seconds after the last."""

    def __init__(self, rate: float, fps: float):
        self.k = max(1, 10 ** math.ceil(math.log10(rate / fps))) if rate > fps else 1
        self.period = self.k / rate
        self.due = time.perf_counter()

    def steps(self, step: int) -> int:
        """Steps in the next frame: up to the next multiple of k."""
        return self.k - step % self.k

    def wait(self) -> float:
        """Seconds until the next frame is due (0 when it is)."""
        return max(0.0, self.due - time.perf_counter())

    def took(self) -> None:
        """A frame was taken: the next is due one period later (never in a burst after a stall)."""
        self.due = max(self.due + self.period, time.perf_counter() - self.period)


class Allowance:
    """Seconds of looking (probes, frames) earned at LOOK_SHARE of the wall time, at most
    LOOK_BURST saved up; spending may go below zero, and then the next look waits longer."""

    def __init__(self, share: float = LOOK_SHARE, burst: float = LOOK_BURST):
        self.share, self.burst = share, burst
        self.saved = burst
        self.at = time.perf_counter()

    def _earn(self) -> None:
        now = time.perf_counter()
        self.saved = min(self.burst, self.saved + (now - self.at) * self.share)
        self.at = now

    def left(self) -> bool:
        self._earn()
        return self.saved > 0

    def spend(self, seconds: float) -> None:
        self._earn()
        self.saved -= seconds


def _next(items: tuple[str, ...], current: str) -> str:
    return items[(items.index(current) + 1) % len(items)] if current in items else items[0]


class TrainingLoop:
    """Trains one Trainer for the app: steps while running, applies commands, emits events."""

    def __init__(
        self,
        trainer: Trainer,
        emit: Callable[[Event], None],
        *,
        running: bool,
        ui_hz: float,
        heartbeat: float = HEARTBEAT,
    ):
        self.tr = trainer
        self.emit = emit
        self.running = running
        """Stepping flat out (else paused); the app's space key sets it."""
        self.period = 1.0 / ui_hz
        self.fps = max(ui_hz, PACED_FPS)
        self.pace: Pace | None = None
        """Frames at the set --speed (None: flat out, or not yet started)."""
        self.looker = SnapshotMaker()
        self.stopping = False
        self.heartbeat = heartbeat
        """Seconds between heartbeats during a step; 0 sends none (a test's frozen process)."""
        self.busy_since: float | None = None
        """perf_counter() when the step or command in progress began; None between them."""
        self.chunk_seconds: float | None = None
        """How long the last chunk of steps took; None until one has been timed."""
        self.kept: tuple[int, int] | None = None
        """(run_id, step) of the last LastCheckpoint sent; None once a command may have changed the run."""
        self.before: tuple[int, int, Params] | None = None
        """(run id, step, parameters) from just before the last step (or chunk) that needed them; the
        step view uses them when they are one step old."""
        self.runloop: RunLoop | None = None
        """The run loop (schedule, metrics file, saves) while run() runs."""
        self.edits_at_drawing = 0
        """How many edits the run loop had made when the last drawing's marker was set."""
        self.changes: tuple[int, list[tuple[int, str]]] = (trainer.run_id, [])
        """(run id, [(step, "points"), ...]): drawings of the current run, for the loss plot (edits: the run loop's marks)."""
        self.next_frame: tuple[int, int] = (trainer.run_id, 0)
        """(run id, step) of the film's next frame (rewind, tui/film.py): a chunk of steps ends there."""
        self.drawing_since: float | None = None
        """perf_counter() when the last snapshot went out, until the app says it is drawn (Drawn):
        meanwhile the steps run on one core fewer."""
        self.looking = Allowance()
        """What looking may cost while training flat out (LOOK_SHARE)."""
        self.fresh_at = -math.inf
        """perf_counter() of the last snapshot with fresh probes."""

    def _keep_before(self) -> None:
        """Copy the parameters before stepping, for the step view (‖dh_k‖ needs the old W_k+1)."""
        tr = self.tr
        self.before = (tr.run_id, tr.step_count, {k: v.clone() for k, v in tr.params.items()})

    def _wants_before(self) -> bool:
        return "step" in self.looker.views.views

    def _changed(self, what: str) -> None:
        run, marks = self.changes
        if run != self.tr.run_id:
            run, marks = self.tr.run_id, []
        edits = len(self.runloop.marks) if self.runloop is not None else 0  # the run loop marks the edits
        if what == "points" and marks and marks[-1][1] == what and self.edits_at_drawing == edits:
            return  # a drawing is one marker on the loss curve (at its first point), until another change
        self.edits_at_drawing = edits
        self.changes = (run, marks + [(self.tr.step_count, what)])

    # ----- the film (rewind) -----
    def _frame_step(self) -> int:
        """The step of the film's next frame in this run (0 for a run with none yet)."""
        run, step = self.next_frame
        return step if run == self.tr.run_id else 0

    def _steps_to_frame(self) -> int:
        return max(0, self._frame_step() - self.tr.step_count)

    def _film(self) -> None:
        """Capture a frame when the run has reached the film's next step (once per step); while
        training flat out, a frame the allowance cannot pay for yet is taken at a later step (but
        a run's first frame always at once: rewind has its start)."""
        tr = self.tr
        if tr.step_count < self._frame_step() or tr.outcome not in (None, State.DONE):
            return
        if self._frame_step() > 0 and self._flat_out() and not self.looking.left():
            return
        started = time.perf_counter()
        self.emit(self.looker.frame(tr))
        self.looking.spend(time.perf_counter() - started)
        self.next_frame = (tr.run_id, next_frame_step(tr.step_count))

    def _flat_out(self) -> bool:
        """Training at full speed: looking costs steps, so the allowance rules it."""
        return self.running and self.tr.cfg.speed == "max"

    # ----- drawn points -----
    def _plane_point(self, col: int, row: int, cols: int, rows: int) -> tuple[float, float]:
        ext = self.looker.plane(self.tr)
        return probes.cell_centre(ext, cols, rows, col, row)

    def _save_points(self, path: str, run: RunLoop) -> None:
        """Write every point (train, then test); the current drawing's edit replays from the file."""
        tr = self.tr
        target = user_path(path).resolve()
        try:
            self._check_written("points file", path, ("resume", "save", "export"))
            if (step := run.replays_from(str(target))) is not None:
                raise InputError(f"points file {path}: holds the drawing at step {step}; choose another name")
        except InputError as e:
            self.emit(Note(str(e), severity="error", title="points not saved"))
            return
        comment = f"ffnn-tui points at step {tr.step_count}: {tr.data.X_train.shape[0]} train rows, then test rows"
        count = write_csv(target, tr.data, comment)
        run.name_drawing(str(target))
        self.emit(PointsSaved(str(target), tr.step_count, count))
        self.emit(Note(f"{count} points saved: {target} (replay with --data {target})", title="points saved"))

    def _check_written(self, label: str, path: str, others: tuple[str, ...]) -> None:
        """A path typed in the dashboard is checked as the flags' outputs are: a file this process can
        create or replace (not a FIFO or a device, which the rename would replace), and not one of the
        run's inputs or `others` (its other outputs); raises InputError."""
        check_output(label, path, replaced=True)
        cfg = self.tr.cfg
        for name in ("data", "config", "init_params", "metrics", *others):
            if getattr(cfg, name) and same_file(path, getattr(cfg, name)):
                raise InputError(
                    f"{label} {clip_path(path)}: is the run's --{name.replace('_', '-')} file; choose another name"
                )

    def _write_checked(self, label: str, path: str, others: tuple[str, ...]) -> bool:
        """Whether path may be written; if not, a note says why."""
        try:
            self._check_written(label, path, others)
        except InputError as e:
            self.emit(Note(str(e), severity="error", title=f"{label} not written"))
            return False
        return True

    # ----- commands -----
    def apply(self, command: Command, run: RunLoop) -> None:
        """One command from the app, applied between steps."""
        tr = self.tr
        match command:
            case Pause():
                self.running = False
            case Resume():
                self.running = True
                self.pace = None  # a fresh clock: no catching up on the time spent paused
            case ChangeSpeed(delta=delta):
                i = min(max(SPEEDS.index(tr.cfg.speed) + delta, 0), len(SPEEDS) - 1)
                tr.cfg = replace(tr.cfg, speed=SPEEDS[i])
                self.pace = None
            case Step():
                self._keep_before()  # one copy per key press: the step view always has it
                self._film()  # step 0's frame, before the first step
                self._timed(run.step_once)
                self._film()
            # every change of the run is an edit the run loop records at this step (the command line replays it)
            case Reset(seed=seed):
                run.edit({"seed": tr.cfg.seed if seed is None else seed})  # the same seed: a start over all the same
            case ScaleLr(factor=factor):
                run.edit({"lr": min(max(tr.cfg.lr * factor, LR_RANGE[0]), LR_RANGE[1])})
            case NextActivation():
                run.edit({"activation": _next(ACTIVATIONS, tr.cfg.activation)})
            case NextDataset():
                run.edit({"dataset": _next(DATASETS, "" if tr.cfg.data else tr.cfg.dataset)})  # a new run
            case Apply(changes=pairs):
                changes = dict(pairs)
                if "speed" in changes:  # the dashboard's pace, not an edit of the run
                    tr.cfg = replace(tr.cfg, speed=str(changes.pop("speed")))
                    self.pace = None
                if changes:
                    run.edit(changes)
            case Resize(cols=cols, rows=rows):
                self.looker.size = (cols, rows)
            case ShowViews() as shown:
                self.looker.views = shown
                tr.needs_activations = self._wants_before()  # the step view shows the step's own activations
            case CheckGradients():
                checks = tr.gradient_check()
                self.emit(GradChecks(tuple((c.name, c.max_abs, c.max_rel) for c in checks)))
            case Save(path=path):
                if path and not self._write_checked("checkpoint", path, ("export",)):
                    return
                target = user_path(path) if path else default_file(self._file_name(".pt"))
                save(tr, target)
                self.emit(Note(f"checkpoint saved: {target.resolve()} (step {tr.step_count})", title="saved"))
            case Export(path=path):
                if path and not self._write_checked("export", path, ("resume", "save")):
                    return
                target = export_weights(
                    tr.params, tr.cfg, tr.step_count, path or default_file(self._file_name(".safetensors"))
                )
                self.emit(Note(f"weights exported: {target} (step {tr.step_count})", title="exported"))
            case DrawPoint(col=col, row=row, cols=cols, rows=rows, label=label):
                tr.add_point(*self._plane_point(col, row, cols, rows), label)
                run.drew()
                self._changed("points")
            case ErasePoint(col=col, row=row, cols=cols, rows=rows):
                ext = self.looker.plane(tr)
                if not tr.remove_nearest(*self._plane_point(col, row, cols, rows), (ext.x1 - ext.x0, ext.y1 - ext.y0)):
                    self.emit(Note("the last training point stays", severity="warning"))
                else:
                    run.drew()
                self._changed("points")
            case SavePoints(path=path):
                self._save_points(path, run)
            case Drawn():
                self._share_cores(drawing=False)
            case Stop():
                self.stopping = True

    def _file_name(self, suffix: str) -> str:
        """ffnn-tui-<dataset>-step<N><suffix>: the name of a file saved without a path."""
        tr = self.tr
        return f"ffnn-tui-{tr.cfg.data and 'data' or tr.cfg.dataset}-step{tr.step_count}{suffix}"

    def _apply_safely(self, command: Command, run: RunLoop) -> None:
        """A failing command must not end the loop; a failing step ends the run as FAILED."""
        if isinstance(command, (Reset, ScaleLr, NextActivation, NextDataset, Apply, DrawPoint, ErasePoint)):
            self.kept = None  # the run changed without a step: the kept bytes no longer describe it
        self.busy_since = time.perf_counter()
        try:
            self.apply(command, run)
        except Exception as e:
            self.emit(Note(f"{type(command).__name__} failed: {_reason(e)}", severity="error"))
            if isinstance(command, Step):
                self.tr.fail(f"{type(e).__name__} in step {self.tr.step_count + 1}: {e}")
        finally:
            self.busy_since = None

    # ----- slow steps -----
    def _timed(self, take: Callable[[], object]) -> None:
        """Take a step (or a chunk of them), marked busy for the heartbeat and timed; around a
        step that may be slow, the run as it stands is kept (sent up) for a stop that cannot wait."""
        self._keep()
        self.busy_since = started = time.perf_counter()
        try:
            take()
        finally:
            self.chunk_seconds = time.perf_counter() - started
            self.busy_since = None
        self._keep()

    def _keep(self) -> None:
        """With --save set, send the run's checkpoint bytes unless steps are known to be quick or
        these bytes were sent already."""
        tr = self.tr
        if not tr.cfg.save or (self.chunk_seconds is not None and self.chunk_seconds < SLOW):
            return
        if self.kept == (tr.run_id, tr.step_count):
            return
        try:
            buf = io.BytesIO()
            torch.save(checkpoint_of(tr), buf)
        except Exception as e:  # the final save will say what is wrong; this is only a fallback
            self.emit(Note(f"could not keep the run for a quick save: {type(e).__name__}: {e}", severity="warning"))
            self.kept = (tr.run_id, tr.step_count)
            return
        self.kept = (tr.run_id, tr.step_count)
        self.emit(LastCheckpoint(tr.run_id, tr.step_count, tr.cfg.save, buf.getvalue()))

    def _pulse(self, done: threading.Event) -> None:
        """Every `heartbeat` seconds while a step or command is under way, say the loop is alive."""
        while not done.wait(self.heartbeat):
            since = self.busy_since
            if since is not None and (seconds := time.perf_counter() - since) >= self.heartbeat / 2:
                self.emit(Heartbeat(self.tr.step_count + 1, seconds))

    # ----- the cores, shared with the UI process -----
    def _show(self, fresh: bool = True) -> None:
        """Send a snapshot (with the last probes when not `fresh`); the UI process draws it now,
        so the steps leave it a core until it says Drawn (or DRAW_WAIT has passed)."""
        started = time.perf_counter()
        self.emit(self.snapshot(fresh))
        if fresh:
            self.looking.spend(time.perf_counter() - started)
            self.fresh_at = started
        self._share_cores(drawing=True)

    def _fresh_due(self, now: float) -> bool:
        """Whether a snapshot due while training measures the probes anew: always unless flat out,
        else when the allowance pays for it or LIVE_PERIOD has passed."""
        return not self._flat_out() or self.looking.left() or now - self.fresh_at >= LIVE_PERIOD

    def _share_cores(self, drawing: bool) -> None:
        if drawing != (self.drawing_since is not None):
            self.tr.claim_threads(drawing=drawing)
        self.drawing_since = time.perf_counter() if drawing else None

    def _drawn_by_now(self) -> None:
        """An app that never says Drawn (gone, or busy) does not keep a core from the steps."""
        if self.drawing_since is not None and time.perf_counter() - self.drawing_since > DRAW_WAIT:
            self._share_cores(drawing=False)

    # ----- looking -----
    def state(self) -> State:
        return self.tr.outcome or (State.RUNNING if self.running else State.PAUSED)

    def snapshot(self, fresh: bool = True) -> Snapshot:
        """The newest snapshot (with the last probes when not `fresh`: see SnapshotMaker.make); if
        drawing it fails, the run becomes FAILED and a plainer one is sent."""
        tr, before = self.tr, None
        if self.before is not None and self.before[:2] == (tr.run_id, tr.step_count - 1):
            before = self.before[2]  # the parameters the last step started from
        run, drawn = self.changes
        edits = self.runloop.marks_of_run() if self.runloop is not None else ()
        changes = tuple(sorted((*edits, *(drawn if run == tr.run_id else ())), key=lambda mark: mark[0]))
        command = self.runloop.command_line() if self.runloop is not None else tr.cfg.to_command_line()
        try:
            return self.looker.make(tr, self.state(), before=before, changes=changes, command=command, fresh=fresh)
        except Exception as e:
            self.tr.fail(f"{type(e).__name__} while drawing step {self.tr.step_count}: {e}")
            self.running = False
            self.emit(Note(self.tr.reason, severity="error", title="snapshot failed"))
            self.looker.size = (0, 0)
            return self.looker.make(self.tr, self.state())

    # ----- the loop -----
    def run(self, inbox: Inbox, cancelled: Callable[[], bool] = lambda: False) -> None:
        """Until Stop (or cancelled): commands, steps, snapshots. Then the run loop's finish:
        metrics file closed, checkpoint saved when --save is set (a failure there is a Note)."""
        self.tr.claim_threads()
        run = self.runloop = RunLoop(self.tr)
        run.open()
        done = threading.Event()
        if self.heartbeat > 0:
            threading.Thread(target=self._pulse, args=(done,), daemon=True, name="heartbeat").start()
        try:
            self._loop(inbox, run, cancelled)
        finally:
            done.set()
            try:
                run.finish()
            except Exception as e:  # report, but let the app exit
                self.emit(Note(f"could not save {self.tr.cfg.save}: {e}", severity="error", title=FINAL_SAVE_FAILED))

    def _advance(self, run: RunLoop, limit: int | None = None) -> int:
        """A chunk of steps (at most `limit`), ending where the test curve's next point is due (on
        eager steps). Returns the steps taken."""
        tr, looker = self.tr, self.looker
        looker.measure_test(tr)
        self._film()
        n = min(run.chunk(), limit or run.chunk())
        if tr.preferred_chunk() == 1:  # a captured CUDA graph's chunk is not split: it is measured after
            n = min(n, looker.steps_to_test(tr) or n, self._steps_to_frame() or n)
        if self._wants_before():
            self._keep_before()
        taken = run.advance(n)
        looker.measure_test(tr)
        self._film()
        return taken

    def _pace(self) -> Pace:
        if self.pace is None:
            self.pace = Pace(steps_per_second(self.tr.cfg.speed) or math.inf, self.fps)  # (only paced: never max)
        return self.pace

    def _frame(self, run: RunLoop) -> None:
        """At a set --speed: the steps of one frame (up to the next multiple of its k)."""
        pace = self._pace()
        want, taken = pace.steps(self.tr.step_count), 0
        while taken < want and run.can_step and not self.stopping:
            taken += self._advance(run, want - taken) or want  # a run that cannot step ends the frame
        pace.took()

    def _loop(self, inbox: Inbox, run: RunLoop, cancelled: Callable[[], bool]) -> None:
        next_post, dirty, was_running = 0.0, True, False
        if self.running and not cancelled():
            self._show()  # step 0 on screen now, not after a first chunk that may be slow
        while not self.stopping and not cancelled():
            if inbox.wake.is_set():
                for command in inbox.take():
                    self._apply_safely(command, run)
                    inbox.applied()
                    dirty = dirty or not isinstance(command, Drawn)  # (a Drawn changes nothing to show)
            self._drawn_by_now()
            running = self.running and run.can_step and not self.stopping
            paced = running and self.tr.cfg.speed != "max"
            framed = False
            if running:
                try:
                    if paced:
                        if self._pace().wait() == 0:
                            self._timed(lambda: self._frame(run))
                            framed = True
                    else:
                        self._timed(lambda: self._advance(run))
                except Exception as e:  # an engine failure is a state with a reason, never a dead UI
                    self.tr.fail(f"{type(e).__name__} in step {self.tr.step_count + 1}: {e}")
                    traceback.clear_frames(e.__traceback__)
                    running = False
            if running != was_running:
                dirty, was_running = True, running
                if not running:
                    self.running = False  # diverged, failed or done: the app shows it paused
            now = time.perf_counter()
            due = framed if paced else running and now >= next_post  # at a set speed, every frame is shown
            if (dirty or due) and not self.stopping:
                self._show(fresh=dirty or self._fresh_due(now))
                next_post, dirty = now + self.period, False
            if not running and not self.stopping:
                inbox.wake.wait(PAUSED_WAIT)
            elif paced and not self.stopping:
                inbox.wake.wait(self._pace().wait())  # a command wakes it at once


def _reason(e: Exception) -> str:
    """Why a command failed, in one line a user can act on: an OS error names what and where
    (`No such file or directory: /proc/.local/share/ffnn-tui`), not Python's repr."""
    if isinstance(e, OSError) and e.strerror:
        return f"{e.strerror}: {clip_path(e.filename)}" if e.filename else e.strerror
    if isinstance(e, InputError):  # its one line names the path and what is wrong
        return str(e)
    return f"{type(e).__name__}: {e}"
