"""The dashboard: a Textual app that shows Snapshots of the training loop and sends it commands.

The UI never calls torch. Training, snapshots (boundary grid included), resets, gradient checks
and saves all run in the training loop (`tui/worker.py`). By default that loop runs in a child
process (`tui/process.py`) that one Textual thread worker starts and relays; given a Trainer
(tests, `engine="thread"`), it runs in the thread worker itself. Keys become commands either way.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import threading
import time

from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.screen import ModalScreen
from textual.widgets import Footer, Static
from textual.worker import Worker, WorkerState, get_current_worker

from ..core.config import RunConfig
from ..core.trainer import Snapshot, Trainer
from .messages import EngineStopped, GradCheckDone, Notice, SnapshotReady, message_for
from .process import STOP_WAIT, EngineProcess, fresh, prepare
from .widgets.boundary import BoundaryPane
from .widgets.loss_plot import LossPlot
from .widgets.shapes import CHECK_OK, ShapesPane
from .widgets.status import StatusLine
from .worker import Control, train_loop

MIN_SIZE = (40, 12)
"""Below this the panes are replaced by a short 'too small' message."""
FULL_SIZE = (110, 30)
"""From this size on the shapes pane is shown too."""
QUIT_WAIT = STOP_WAIT + 2.0
"""Seconds quitting waits for the worker to stop (and save) before leaving without it."""
FORCE_EXIT_AFTER = 2.0
"""Seconds after quitting with a stuck worker before the process ends itself."""
STALL_AFTER = 3.0
"""Seconds without a snapshot while running before the status says STALLED."""

HELP = """\
[b]ffnn-tui[/b] - a from-scratch feed-forward network, learning live

  [b]space[/b]  pause / resume          [b]n[/b]  one step (while paused)
  [b]r[/b]      reset weights (same seed) [b]R[/b]  start over with a new seed
  [b]+ / -[/b]  learning rate x2 / /2    [b]a[/b]  next activation (live, no reset)
  [b]d[/b]      next dataset             [b]g[/b]  gradient check (manual vs autograd)
  [b]l[/b]      log-scale loss           [b]t[/b]  show / hide test points
  [b]c[/b]      save a checkpoint        [b]?[/b]  this help
  [b]q[/b]      quit (also ctrl+c)

Boundary pane: background = predicted class ([b].:[/b] class 0, [b]-=[/b] class 1, ...),
denser glyph = more confident, blank = unsure. Points: [b]o[/b] class 0, [b]x[/b] class 1,
[b]+[/b] 2, [b]*[/b] 3 ...; test points are underlined/reversed.

Reproduce this run:
  {command}

[dim]press any key to close[/dim]"""


class HelpScreen(ModalScreen):
    """Keys, glyph legend and the command that reproduces the run."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > Static { width: auto; max-width: 100%; height: auto; padding: 1 2; border: round $accent; background: $surface; }
    """

    def __init__(self, command: str):
        super().__init__()
        self.command = command

    def compose(self) -> ComposeResult:
        yield Static(HELP.format(command=self.command.replace("[", "\\[")))

    def on_key(self, event) -> None:
        event.stop()
        self.dismiss()


class FfnnApp(App):
    """Status line, loss plot, shapes table and decision boundary of one live training run."""

    CSS_PATH = "app.tcss"
    TITLE = "ffnn-tui"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("space", "toggle_pause", "Pause", id="pause", tooltip="Pause or resume training"),
        Binding("n", "step", "Step", id="step", tooltip="Take one training step (while paused)"),
        Binding("q", "quit", "Quit", id="quit", tooltip="Quit"),  # early: an 80-column footer cuts the end
        Binding("question_mark", "help", "Help", key_display="?", id="help", tooltip="Keys and legend"),
        Binding("r", "reset", "Reset", id="reset", tooltip="Reset the weights with the same seed"),
        Binding("R", "reseed", "Seed", id="reseed", tooltip="Start over with a new random seed"),
        Binding("plus,equals_sign", "lr(2.0)", "lr×2", key_display="+", id="lr_up", tooltip="Double the learning rate"),
        Binding("minus", "lr(0.5)", "lr÷2", key_display="-", id="lr_down", tooltip="Halve the learning rate"),
        Binding("a", "activation", "Act", id="activation", tooltip="Next activation, live (no reset)"),
        Binding("d", "dataset", "Data", id="dataset", tooltip="Next dataset (starts over)"),
        Binding("g", "gradcheck", "Check", id="gradcheck", tooltip="Compare manual and autograd gradients"),
        Binding("l", "log_scale", "Log", id="log", tooltip="Toggle a log scale on the loss plot"),
        Binding("t", "test_points", "Test", id="test", tooltip="Show or hide the test points"),
        Binding("c", "save", "Save", id="save", tooltip="Save a checkpoint"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    stall_after = STALL_AFTER
    """Seconds without a snapshot while running before the status says STALLED (tests lower it)."""

    running: reactive[bool] = reactive(True, bindings=True)
    log_scale: reactive[bool] = reactive(False)
    show_test: reactive[bool] = reactive(False)

    def __init__(self, cfg: RunConfig, *, trainer: Trainer | None = None, paused: bool | None = None,
                 ui_hz: float | None = None, show_rate: bool = True):
        super().__init__()
        self.cfg = cfg
        """The run's options, kept up to date from each snapshot (live changes included)."""
        self.trainer = trainer
        """The in-thread engine's Trainer (None when training runs in a child process)."""
        self.in_thread = trainer is not None
        """Train in the thread worker itself (tests) rather than in a child process."""
        paused = cfg.paused if paused is None else paused
        self.control = Control(paused)
        self.ui_hz = ui_hz or cfg.ui_hz
        self.show_rate = show_rate
        self.snapshot: Snapshot | None = None
        self.check: tuple[tuple[str, float, float], ...] = ()
        self.engine_failure = ""
        """Why the training process ended on its own ('' while it runs)."""
        self.exit_code = 0
        self.abandoned = 0
        """Stalled in-thread workers left behind; their threads may still be alive at exit."""
        self.exit_guard = None
        """Called with the exit code when a worker thread may outlive the app (see run_dashboard)."""
        if trainer is None:
            prepare()  # now, before Textual replaces sys.stderr (run() and run_test() both do)
        self.snapshot_arrived = time.monotonic()
        self._drawn: dict[str, object] = {}
        self.set_reactive(FfnnApp.running, not paused)

    # ----- layout -----
    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield LossPlot(id="loss")
            yield BoundaryPane(id="boundary")
        yield ShapesPane(id="shapes")
        yield Static("", id="too-small")
        yield Footer(compact=True)

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass
        self.query_one(StatusLine).show(None, "STARTING", self.show_rate)
        self._fit(self.size.width, self.size.height)
        self.query_one("#loss").border_title = "loss"
        self.query_one("#shapes").border_title = "shapes"
        self.query_one("#boundary").border_title = "decision boundary"
        self.set_interval(min(1.0, self.stall_after / 2), self._watchdog)
        self.train(self.control, self.cfg, self.trainer)

    def on_resize(self, event) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Hide the shapes pane when cramped; replace everything by a message when too small."""
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.set_class(width < FULL_SIZE[0] or height < FULL_SIZE[1], "-compact")
        if small:
            self.query_one("#too-small", Static).update(
                f"Terminal too small ({width}x{height}); need at least {MIN_SIZE[0]}x{MIN_SIZE[1]}. q quits.")

    def on_boundary_pane_resized(self, event: BoundaryPane.Resized) -> None:
        self.control.send("grid", (event.cols, event.rows))

    # ----- the worker -----
    @work(thread=True, exclusive=True, exit_on_error=False, group="trainer")
    def train(self, control: Control, cfg: RunConfig, trainer: Trainer | None) -> None:
        """The worker: runs the loop here (in-thread engine), or starts and relays a training process."""
        worker = get_current_worker()

        def emit(event) -> None:  # a worker that was abandoned (stalled) posts nothing any more
            if control is self.control:
                self.post_message(message_for(event))

        if self.in_thread:
            if trainer is None:  # starting over after a stall: build it here, off the UI thread
                trainer = self.trainer = Trainer(cfg)  # a plain attribute, not a widget or reactive
            train_loop(trainer, control, emit, lambda: worker.is_cancelled, self.ui_hz)
            return
        try:
            engine = EngineProcess(cfg, self.ui_hz)
        except Exception as e:  # e.g. no way to start a process here: say so instead of STARTING for ever
            self.post_message(EngineStopped(f"could not start the training process: {type(e).__name__}: {e}"))
            return
        control.attach(engine.send)
        why = engine.relay(emit, lambda: control.stopped.is_set() or worker.is_cancelled)
        if why and control is self.control:
            self.post_message(EngineStopped(why))
        engine.stop() if not why else engine.kill()

    def restart_worker(self) -> None:
        """Start over in a fresh engine: a stalled thread is abandoned (threads cannot be killed),
        a stalled or dead training process is killed."""
        old = self.control
        old.stop()
        self.control = Control(paused=True)
        self.control.grid = old.grid
        self.running = False
        self.engine_failure = ""
        self.snapshot_arrived = time.monotonic()
        self.notify("starting over with a fresh run", severity="warning")
        if self.in_thread:
            self.abandoned += 1
        self.train(self.control, fresh(self.cfg), None)

    def on_engine_stopped(self, message: EngineStopped) -> None:
        self.engine_failure = message.reason
        self.running = False
        self.refresh_bindings()
        self.query_one(StatusLine).show(self.snapshot, "FAILED", self.show_rate, note=message.reason)

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.notify(f"training worker stopped: {event.worker.error}", severity="error", timeout=10)

    # ----- messages from the worker -----
    def on_snapshot_ready(self, message: SnapshotReady) -> None:
        s = message.snapshot
        if self.snapshot is None or s.state != self.snapshot.state:
            self.refresh_bindings()  # the footer greys keys by the run's state
        self.snapshot = s
        self.cfg = s.config
        self.snapshot_arrived = time.monotonic()
        if s.state != "ok" and self.running:
            self.running = False
        self._draw()

    def _draw(self) -> None:
        """Redraw only the panes whose inputs changed since they were last drawn."""
        s = self.snapshot
        if s is None:
            return
        self.query_one(StatusLine).show(s, self.state_word(), self.show_rate)
        if self._changed("loss", (s.run_id, s.step, len(s.curve_steps), self.log_scale)):
            self.query_one(LossPlot).show(s, self.log_scale)
        if self._changed("shapes", (s.run_id, s.step, self.check)):  # hidden when compact: no render cost
            self.query_one(ShapesPane).show(s, self.check)
        if self._changed("boundary", (s.grid_class, s.grid_conf, s.points, self.show_test)):
            self.query_one(BoundaryPane).show(s, self.show_test)

    def _changed(self, pane: str, key) -> bool:
        if self._drawn.get(pane) == key:
            return False
        self._drawn[pane] = key
        return True

    def state_word(self) -> str:
        s = self.snapshot
        if self.engine_failure:
            return "FAILED"
        if s is None:
            return "STARTING"
        if s.state in ("diverged", "failed", "done"):
            return s.state.upper()
        if self.running and time.monotonic() - self.snapshot_arrived > self.stall_after:
            return "STALLED"
        return "RUNNING" if self.running else "PAUSED"

    def _watchdog(self) -> None:
        """Once a second: show STALLED if a running step has not come back for a while."""
        if self.running and self.snapshot and time.monotonic() - self.snapshot_arrived > self.stall_after:
            waited = time.monotonic() - self.snapshot_arrived
            self.query_one(StatusLine).show(self.snapshot, "STALLED", self.show_rate,
                                            note=f"no step has finished for {waited:.0f}s")

    def on_notice(self, message: Notice) -> None:
        note = message.note
        self.notify(note.text, title=note.title, severity=note.severity)

    def on_grad_check_done(self, message: GradCheckDone) -> None:
        self.check = message.rows
        worst = max(r for _, _, r in message.rows)
        verdict = "PASS" if worst <= CHECK_OK else "FAIL"
        self.notify(f"manual vs autograd, float64: max rel error {worst:.1e} ({verdict})",
                    title="gradient check", severity="information" if verdict == "PASS" else "error")
        self._draw()

    # ----- keys -----
    def check_action(self, action: str, parameters) -> bool | None:
        """None greys a key out in the footer: step while running, and stepping or running a run
        that has diverged, failed or finished (r is the way on)."""
        ended = self.engine_failure or (self.snapshot is not None and self.snapshot.state != "ok")
        if action == "step" and (self.running or ended):
            return None
        if action == "toggle_pause" and ended and not self.running:
            return None
        return True

    def watch_running(self, running: bool) -> None:
        if self.snapshot is not None:
            self.query_one(StatusLine).show(self.snapshot, self.state_word(), self.show_rate)

    def action_toggle_pause(self) -> None:
        s = self.snapshot
        if not self.running and s is not None and s.state != "ok":
            self.notify(f"the run is {s.state.upper()}; press r to reset", severity="warning")
            return
        self.running = not self.running
        self.snapshot_arrived = time.monotonic()
        self.control.send("resume" if self.running else "pause")

    def action_step(self) -> None:
        if not self.running:
            self.control.send("step")

    def action_reset(self) -> None:
        self.check = ()
        if self.state_word() in ("STALLED",) or self.engine_failure:
            self.restart_worker()
        else:
            self.control.send("reset")

    def action_reseed(self) -> None:
        self.check = ()
        self.control.send("reseed", random.randrange(2**31))

    def action_lr(self, factor: float) -> None:
        self.control.send("lr", factor)

    def action_activation(self) -> None:
        self.control.send("activation")

    def action_dataset(self) -> None:
        self.check = ()
        self.control.send("dataset")

    def action_gradcheck(self) -> None:
        self.control.send("gradcheck")

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw()

    def action_test_points(self) -> None:
        self.show_test = not self.show_test
        self._draw()

    def action_save(self) -> None:
        self.control.send("save", self.cfg.save)

    def action_help(self) -> None:
        command = self.cfg.to_command_line()
        self.push_screen(HelpScreen(command))

    async def action_quit(self) -> None:
        await self.shutdown(0)

    # ----- ending -----
    def on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT: stop the worker, save if --save, restore the terminal, exit 128+N.
        A second signal, or a shutdown that cannot finish (the terminal is gone), ends the process."""
        code = 128 + signum
        if self.exit_code:  # already shutting down: the user insists
            _force_exit(self.exit_code)
        if self.exit_guard is not None:
            self.exit_guard(code, QUIT_WAIT + FORCE_EXIT_AFTER)
        self.run_worker(self.shutdown(code), group="shutdown")

    async def shutdown(self, code: int) -> None:
        """Stop the worker (it saves the checkpoint when --save is set) and exit with `code`."""
        self.exit_code = code
        self.control.stop()
        for worker in list(self.workers):
            if worker.group == "trainer":
                try:
                    await asyncio.wait_for(worker.wait(), timeout=QUIT_WAIT)
                except Exception:  # a hung or failed worker must not block quitting
                    pass
        if self.abandoned or any(w.group == "trainer" and w.state == WorkerState.RUNNING for w in self.workers):
            if self.exit_guard is not None:
                self.exit_guard(code, FORCE_EXIT_AFTER)
        self.exit(return_code=code)


def run_dashboard(cfg: RunConfig) -> int:
    """Run the app in this terminal, training in a child process; return its exit code."""
    app = FfnnApp(cfg)
    app.exit_guard = _exit_guard
    app.run()
    return app.return_code if app.return_code is not None else app.exit_code


def _exit_guard(code: int, after: float) -> None:
    """End the process with `code` after `after` seconds unless it has ended by then: a worker
    stuck in a step blocks interpreter exit (executor threads are joined), and a terminal that
    has gone away (SIGHUP) can leave Textual's shutdown waiting on its writer for ever."""
    timer = threading.Timer(after, _force_exit, args=(code,))
    timer.daemon = True
    timer.start()


def _force_exit(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
