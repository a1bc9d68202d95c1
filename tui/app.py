"""The dashboard: a Textual app that shows Snapshots of the training loop and sends it commands.

The UI never calls torch. Training, snapshots (boundary grid included), resets, gradient checks
and saves all run in the training loop (tui/engine/loop.py), behind one Engine: a child process
by default, a thread in tests. Keys become Command dataclasses; the engine's events come back
wrapped in one message, EngineEvent, and are dispatched here with `match`.
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import threading
import time
from dataclasses import replace

from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.reactive import reactive
from textual.widgets import Footer, Static

from ..core.config import RunConfig
from ..core.state import ENDED, State
from ..core.trainer import Trainer
from .engine import STOP_WAIT, Engine
from .commands import DashboardCommands
from .engine.process import STOP_SIGNALS, ProcessEngine, prepare
from .engine.protocol import (CheckGradients, Command, Exited, Export, GradChecks, Heartbeat, NextActivation,
                              NextDataset, Note, Pause, Reset, Resize, Resume, Save, ScaleLr, ShowViews, Step)
from .paths import data_dir
from .engine.snapshot import Snapshot
from .engine.thread import ThreadEngine
from .messages import EngineEvent
from .keys import ASCII_LABELS, BINDINGS
from .widgets.boundary import BoundaryPane
from .widgets.help import HelpScreen
from .widgets.panes import Panes, ViewSwitcher
from .widgets.path_prompt import PathPrompt
from .widgets.shapes import CHECK_OK

MIN_SIZE = (40, 12)
"""Below this the panes are replaced by a short 'too small' message."""
FULL_SIZE = (110, 30)
"""From this size on the shapes pane is shown too."""
WIDE_SIZE = (160, 50)
"""From this size on the boundary stays and the chosen view is shown beside it."""
WHICH = ("params", "grads", "updates")
"""What the weights view's `w` cycles through."""
X_AXES = ("all", "log", "last")
"""What the loss plot's `x` cycles through: every step, log10 steps, the last 1000 steps."""
QUIT_WAIT = STOP_WAIT + 2.0
"""Seconds quitting waits for the engine to stop (and save) before leaving without it."""
FORCE_EXIT_AFTER = 2.0
"""Seconds after quitting with a stuck engine before the process ends itself."""
STALL_AFTER = 3.0
"""Seconds without a word from the training loop (a snapshot or a heartbeat) while running before
the status says STALLED: a slow step sends heartbeats, a stopped or frozen process does not."""

class FfnnApp(App):
    """Status line, loss plot, shapes table and decision boundary of one live training run."""

    CSS_PATH = "app.tcss"
    TITLE = "ffnn-tui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {DashboardCommands}
    AUTO_FOCUS = None  # no pane is focused until clicked: the panes' focus border means "you clicked me"
    BINDINGS = BINDINGS

    stall_after = STALL_AFTER
    """Seconds without a word from the loop while running before the status says STALLED (tests lower it)."""

    running: reactive[bool] = reactive(True, bindings=True)
    log_scale: reactive[bool] = reactive(False)
    show_test: reactive[bool] = reactive(False)

    def __init__(self, cfg: RunConfig, *, trainer: Trainer | None = None, paused: bool | None = None,
                 ui_hz: float | None = None, show_rate: bool = True, ascii: bool | None = None):
        """Train in a child process; or, given a Trainer (tests), in a thread of this process."""
        super().__init__()
        self.ascii = cfg.ascii if ascii is None else ascii
        """ASCII only: --ascii, or a plain terminal (tui/plain.py); panes read it when they draw."""
        if self.ascii:
            self._use_ascii_labels()
        self.cfg = cfg
        """The run's options, kept up to date from each snapshot (live changes included)."""
        self.ui_hz = ui_hz or cfg.ui_hz
        self.show_rate = show_rate
        self.in_thread = trainer is not None
        paused = cfg.paused if paused is None else paused
        if trainer is None:
            prepare()  # now, before Textual replaces sys.stderr (run() and run_test() both do)
        self.engine: Engine = self.new_engine(cfg, trainer, paused=paused)
        """The one engine; started on mount, replaced by `r` when it has stalled or died."""
        self.grid = (0, 0)
        """The boundary pane's size in cells, sent to every new engine before anything else."""
        self.snapshot: Snapshot | None = None
        self.check: tuple[tuple[str, float, float], ...] = ()
        self.engine_failure = ""
        """Why the engine ended on its own ('' while it runs)."""
        self.exit_code = 0
        self.exit_guard = None
        """Called with the exit code when a stuck engine may outlive the app (see run_dashboard)."""
        self.farewell = ""
        """One line for stderr once the terminal is restored (Textual's exit message would wrap it)."""
        self.snapshot_arrived = time.monotonic()
        self.heard_from = time.monotonic()
        """When the engine last said anything (a snapshot, a heartbeat, ...): the watchdog's clock."""
        self.set_reactive(FfnnApp.running, not paused)
        self.view = "boundary"
        """The view beside the loss plot (keys 1-6)."""
        self.wide = False
        self.view_size = (0, 0)
        """The view pane's content size in cells."""
        self.page = 0
        self.which = "params"
        self.x_axis = "all"
        self.shown: ShowViews | None = None
        """The last ShowViews sent."""

    # ----- layout -----
    def compose(self) -> ComposeResult:
        yield Panes(self.show_rate, id="panes")
        yield Static("", id="too-small")
        yield Footer(compact=True, show_command_palette=False)  # ^p is named on the help screen (? key):
        # at 80 columns the footer is already cut, and the keys it shows matter more

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            try:
                loop.add_signal_handler(sig, self.on_signal, sig)
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass
        self.set_class(self.ascii, "-ascii")
        self._fit(self.size.width, self.size.height)
        for pane in self.query("#loss, #boundary, #shapes"):
            pane.can_focus = True  # a click focuses it (app.tcss draws the focus border); keys still reach the app
        self.set_interval(min(1.0, self.stall_after / 2), self._watchdog)
        self.start_engine(self.engine)

    def _use_ascii_labels(self) -> None:
        """Footer labels without × and ÷ (this app's copy of the bindings; the class's stay)."""
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                replace(b, description=ASCII_LABELS[b.id]) if b.id in ASCII_LABELS else b for b in bindings]

    def on_resize(self, event) -> None:
        self._fit(event.size.width, event.size.height)

    def _fit(self, width: int, height: int) -> None:
        """Hide the shapes pane when cramped; replace everything by a message when too small."""
        small = width < MIN_SIZE[0] or height < MIN_SIZE[1]
        self.set_class(small, "-too-small")
        self.set_class(width < FULL_SIZE[0] or height < FULL_SIZE[1], "-compact")
        wide = width >= WIDE_SIZE[0] and height >= WIDE_SIZE[1]
        self.set_class(wide, "-wide")
        if wide != self.wide:
            self.wide = wide
            self.query_one(Panes).set_view(self.view, wide)
            self.show_views()
        if small:
            self.query_one("#too-small", Static).update(
                f"Terminal too small ({width}x{height}); need at least {MIN_SIZE[0]}x{MIN_SIZE[1]}. q quits.")

    def on_boundary_pane_resized(self, event: BoundaryPane.Resized) -> None:
        if event.cols and event.rows:  # hidden: keep the size for when it shows again
            self.grid = (event.cols, event.rows)
            self.send(Resize(*self.grid))

    def on_view_switcher_resized(self, event: ViewSwitcher.Resized) -> None:
        if event.cols and event.rows:
            self.view_size = (event.cols, event.rows)
            self.show_views()

    def views_shown(self) -> tuple[str, ...]:
        """The views on screen: the chosen one, and the boundary beside it when wide."""
        if self.wide and self.view != "boundary":
            return ("boundary", self.view)
        return (self.view,)

    def show_views(self, force: bool = False) -> None:
        """Tell the engine what is on screen (when it changed): only those views are measured."""
        shown = ShowViews(self.views_shown(), *self.view_size, page=self.page, which=self.which)
        if force or shown != self.shown:
            self.shown = shown
            self.send(shown)

    # ----- the engine -----
    def new_engine(self, cfg: RunConfig, trainer: Trainer | None = None, *, paused: bool) -> Engine:
        """An engine for cfg, not started; its events reach on_engine_event tagged with it."""
        engine: Engine | None = None

        def emit(event) -> None:
            self.post_message(EngineEvent(event, engine))

        if self.in_thread:
            engine = ThreadEngine(emit, cfg, ui_hz=self.ui_hz, trainer=trainer, paused=paused)
        else:
            engine = ProcessEngine(emit, replace(cfg, paused=paused), ui_hz=self.ui_hz)
        return engine

    def start_engine(self, engine: Engine) -> None:
        """Make engine the app's one engine and start it, telling it the pane size before anything else."""
        self.engine = engine
        engine.send(Resize(*self.grid))
        self.shown = None
        self.show_views()
        try:
            engine.start()
        except Exception as e:  # e.g. no way to start a process here: say so instead of STARTING for ever
            self.on_engine_exited(Exited(f"could not start the training process: {type(e).__name__}: {e}"))

    def send(self, command: Command) -> None:
        self.engine.send(command)

    def restart_engine(self) -> None:
        """Start over in a fresh engine: a stalled or dead one is killed (a thread is abandoned)."""
        self.engine.kill()
        self.running = False
        self.engine_failure = ""
        self.heard_from = time.monotonic()
        self.notify("starting over with a fresh run", severity="warning")
        self.start_engine(self.new_engine(replace(self.cfg, resume=None, init_params=None), paused=True))

    def on_engine_event(self, message: EngineEvent) -> None:
        if message.engine is not self.engine:
            return  # a replaced engine's late word
        self.heard_from = time.monotonic()
        match message.event:
            case Snapshot() as s:
                self.on_snapshot(s)
            case Note(text=text, severity=severity, title=title):
                self.notify(text, title=title, severity=severity)
            case GradChecks(rows=rows):
                self.on_grad_checks(rows)
            case Heartbeat(step=step, seconds=seconds) if seconds >= 1:
                self.on_heartbeat(step, seconds)
            case Exited() as exited:
                self.on_engine_exited(exited)

    def on_engine_exited(self, exited: Exited) -> None:
        if not exited.reason or self.exit_code:
            return  # it was asked to stop
        if exited.bad_input and self.snapshot is None:  # the options named a file that is not usable
            self.farewell = f"ffnn-tui: error: {exited.reason}"
            self.exit(return_code=2)
            return
        self.engine_failure = exited.reason
        self.running = False
        self.refresh_bindings()
        self.query_one(Panes).status(self.snapshot, State.FAILED, note=exited.reason)

    def on_heartbeat(self, step: int, seconds: float) -> None:
        """A step that has run for a while is alive: say how long it has taken so far."""
        try:
            self.query_one(Panes).status(self.snapshot, self.state(), note=f"step {step}: {seconds:.0f}s so far")
        except NoMatches:  # the panes are being built or torn down
            pass

    def on_snapshot(self, s: Snapshot) -> None:
        if self.snapshot is None or s.state != self.snapshot.state:
            self.refresh_bindings()  # the footer greys keys by the run's state
        self.snapshot = s
        self.cfg = s.config
        self.snapshot_arrived = time.monotonic()
        if s.state in ENDED and self.running:
            self.running = False
        self._draw()

    def _draw(self) -> None:
        if self.snapshot is not None:
            self.query_one(Panes).show(self.snapshot, self.state(), check=self.check, log_scale=self.log_scale,
                                       show_test=self.show_test, x_axis=self.x_axis)

    def state(self) -> State:
        """The one word the status line shows."""
        s = self.snapshot
        if self.engine_failure:
            return State.FAILED
        if s is None:
            return State.STARTING
        if s.state in ENDED:
            return s.state
        if self.running and time.monotonic() - self.heard_from > self.stall_after:
            return State.STALLED
        return State.RUNNING if self.running else State.PAUSED

    def _watchdog(self) -> None:
        """Once a second: show STALLED if the loop has said nothing for a while, running."""
        if self.state() is State.STALLED:
            waited = time.monotonic() - self.heard_from
            self.query_one(Panes).status(self.snapshot, State.STALLED,
                                         note=f"no word from the training process for {waited:.0f}s")

    def on_grad_checks(self, rows: tuple[tuple[str, float, float], ...]) -> None:
        self.check = rows
        worst = max(r for _, _, r in rows)
        verdict = "PASS" if worst <= CHECK_OK else "FAIL"
        self.notify(f"manual vs autograd, float64: max rel error {worst:.1e} ({verdict})",
                    title="gradient check", severity="information" if verdict == "PASS" else "error")
        self._draw()

    # ----- keys -----
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
        if self.snapshot is not None:
            self.query_one(Panes).status(self.snapshot, self.state())

    def action_toggle_pause(self) -> None:
        if not self.running and self._ended():
            self.notify(f"the run is {self.state()}; press r to reset", severity="warning")
            return
        self.running = not self.running
        self.heard_from = time.monotonic()
        self.send(Resume() if self.running else Pause())

    def action_step(self) -> None:
        if not self.running:
            self.send(Step())

    def action_reset(self) -> None:
        self.check = ()
        if self.state() is State.STALLED or self.engine_failure:
            self.restart_engine()
        else:
            self.send(Reset())

    def action_reseed(self) -> None:
        self.check = ()
        self.send(Reset(seed=random.randrange(2**31)))

    def action_lr(self, factor: float) -> None:
        self.send(ScaleLr(factor))

    def action_activation(self) -> None:
        self.send(NextActivation())

    def action_dataset(self) -> None:
        self.check = ()
        self.send(NextDataset())

    def action_gradcheck(self) -> None:
        self.send(CheckGradients())

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw()

    def action_test_points(self) -> None:
        self.show_test = not self.show_test
        self._draw()

    def action_x_axis(self) -> None:
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        self._draw()

    def action_view(self, view: str) -> None:
        self.view = view
        self.set_class(view != "boundary", "-view")
        self.query_one(Panes).set_view(view, self.wide)
        self.show_views()
        self._draw()

    def action_page(self, delta: int) -> None:
        self.page += delta
        if self.view != "neurons":
            self.action_view("neurons")
        self.show_views()

    def action_which_weights(self) -> None:
        self.which = WHICH[(WHICH.index(self.which) + 1) % len(WHICH)]
        if self.view != "weights":
            self.action_view("weights")
        self.show_views()

    def action_save(self) -> None:
        self.send(Save(self.cfg.save))

    def action_export(self) -> None:
        self.send(Export(self.cfg.export))

    def action_save_as(self) -> None:
        """Command palette: ask for a path, then save a checkpoint there."""
        self.push_screen(PathPrompt("Save a checkpoint to:", "run.pt", self.cfg.save or ""),
                         lambda path: path and self.send(Save(path)))

    def action_export_as(self) -> None:
        """Command palette: ask for a path (.safetensors, .npz or .json), then export the weights there."""
        self.push_screen(PathPrompt("Export the weights to (.safetensors, .npz or .json):", "weights.safetensors",
                                    self.cfg.export or ""), lambda path: path and self.send(Export(path)))

    def action_screenshot_to_data(self) -> None:
        """Command palette: an SVG of the screen in the data folder, its path in a notification."""
        try:
            path = self.save_screenshot(path=str(data_dir(create=True)))
        except OSError as e:
            self.notify(f"could not save the screenshot: {e}", severity="error")
        else:
            self.notify(f"screenshot saved: {path}", title="screenshot")

    def get_system_commands(self, screen):
        """Textual's system commands (theme, quit, keys, ...), less its Screenshot: ours goes to the data folder."""
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.cfg.to_command_line(), folder=str(data_dir())))

    async def action_quit(self) -> None:
        await self.shutdown(0)

    # ----- ending -----
    def on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM: stop the engine, save if --save, restore the terminal, exit 128+N.
        A second signal, or a shutdown that cannot finish (the terminal is gone), ends the process."""
        code = 128 + signum
        if self.exit_code:  # already shutting down: the user insists
            _force_exit(self.exit_code)
        if self.exit_guard is not None:
            self.exit_guard(code, QUIT_WAIT + FORCE_EXIT_AFTER)
        self.run_worker(self.shutdown(code), group="shutdown")

    async def shutdown(self, code: int) -> None:
        """Stop the engine (it saves the checkpoint when --save is set) and exit with `code`."""
        if self.exit_code:
            return
        self.exit_code = code
        try:
            ended = await asyncio.wait_for(asyncio.to_thread(self.engine.stop, STOP_WAIT), timeout=QUIT_WAIT)
        except Exception:  # a hung engine must not block quitting
            ended = False
        self.farewell = self.farewell or self.engine.farewell  # e.g. saved the last completed step instead
        if not ended and self.exit_guard is not None:
            self.exit_guard(code, FORCE_EXIT_AFTER)
        self.exit(return_code=code)


def run_dashboard(cfg: RunConfig) -> int:
    """Run the app in this terminal, training in a child process; return its exit code."""
    from .plain import plain_terminal

    app = FfnnApp(cfg, ascii=cfg.ascii or plain_terminal())
    app.exit_guard = _exit_guard
    app.run()
    if app.farewell:
        print(app.farewell, file=sys.stderr, flush=True)
    return app.return_code if app.return_code is not None else app.exit_code


def _exit_guard(code: int, after: float) -> None:
    """End the process with `code` after `after` seconds unless it has ended by then: an engine
    stuck in a step blocks interpreter exit, and a terminal that has gone away (SIGHUP) can leave
    Textual's shutdown waiting on its writer for ever."""
    timer = threading.Timer(after, _force_exit, args=(code,))
    timer.daemon = True
    timer.start()


def _force_exit(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
