"""The dashboard: a Textual app that shows Snapshots of the training loop and sends it commands.

The UI never calls torch. Training, snapshots (boundary grid included), resets, gradient checks
and saves all run in the training loop (tui/engine/loop.py), behind one Engine: a child process
by default, a thread in tests. Keys become Command dataclasses; the engine's events come back
wrapped in one message, EngineEvent, and are dispatched here with `match`.
"""

from __future__ import annotations

import asyncio
import signal
import time
from collections.abc import Sequence
from dataclasses import replace
from functools import partial
from typing import Any

from textual.app import App, ComposeResult
from textual.css.query import NoMatches
from textual.filter import LineFilter
from textual.theme import ThemeProvider
from textual.widgets import Footer, Static

from ..core.config import RunConfig
from ..core.state import ENDED, State
from ..core.trainer import Trainer
from .ascii import AsciiFilter
from .canvas import Canvas
from .commands import DashboardCommands, Palette
from .ending import Ending
from .engine import Engine
from .engine.process import STOP_SIGNALS, ProcessEngine, prepare
from .engine.protocol import Command, Drawn, Exited, GradChecks, Heartbeat, Note, PointsSaved, Resize
from .engine.snapshot import Frame, Snapshot
from .engine.thread import ThreadEngine
from .file_actions import FileActions
from .keys import ASCII_LABELS, BINDINGS, PAUSE_LABEL
from .messages import EngineEvent
from .rewind import Rewind
from .run_keys import RunKeys
from .stop_flag import StopFlag
from .view_keys import ViewKeys
from .widgets.boundary import BoundaryPane
from .widgets.panes import Panes
from .widgets.shapes import CHECK_OK

ASCII_FILTER = AsciiFilter()
"""--ascii: the last line filter (tui/ascii.py): the command palette, the key panel, scrollbars too."""
MIN_SIZE = (40, 12)
"""Below this the panes are replaced by a short 'too small' message."""
FULL_SIZE = (110, 30)
"""From this size on the shapes pane is shown too."""
WIDE_SIZE = (160, 50)
"""From this size on the boundary stays and the chosen view is shown beside it."""
STALL_AFTER = 3.0
"""Seconds without a word from the training loop (a snapshot or a heartbeat) while running before
the status says STALLED: a slow step sends heartbeats, a stopped or frozen process does not."""


class FfnnApp(RunKeys, ViewKeys, Canvas, Rewind, FileActions, Ending, App):
    """Status line, loss plot, shapes table and decision boundary of one live training run."""

    CSS_PATH = "app.tcss"
    TITLE = "ffnn-tui"
    ENABLE_COMMAND_PALETTE = True
    COMMANDS = App.COMMANDS | {DashboardCommands}
    AUTO_FOCUS = None  # no pane is focused until clicked: the panes' focus border means "you clicked me"
    BINDINGS = [*BINDINGS]  # typed as App declares it (a list of Binding or tuples; list is invariant)

    stall_after = STALL_AFTER
    """Seconds without a word from the loop while running before the status says STALLED (tests lower it)."""

    def __init__(
        self,
        cfg: RunConfig,
        *,
        trainer: Trainer | None = None,
        paused: bool | None = None,
        ui_hz: float | None = None,
        show_rate: bool = True,
        ascii: bool | None = None,
    ):
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
        self.early_signal: StopFlag | None = None
        """The flag that held signals while the app started (run_dashboard); checked once mounted."""
        self.signals_before: dict[int, Any] = {}
        """The handlers this app's signal handlers replaced (put back when it unmounts)."""
        self.farewell = ""
        """One line for stderr once the terminal is restored (Textual's exit message would wrap it)."""
        self.terminal_fd: int | None = None
        self.terminal_lost = False
        self.snapshot_arrived = time.monotonic()
        self.heard_from = time.monotonic()
        """When the engine last said anything (a snapshot, a heartbeat, ...): the watchdog's clock."""
        self.set_reactive(FfnnApp.running, not paused)
        self.relabel({"pause": PAUSE_LABEL[not paused]})
        self.init_views()
        self.init_canvas()
        self.init_rewind()

    # ----- layout -----
    def compose(self) -> ComposeResult:
        yield Panes(self.show_rate, id="panes")
        yield Static("", id="too-small")
        yield Footer(compact=True, show_command_palette=False)  # ^p is named on the help screen (? key):
        # at 80 columns the footer is already cut, and the keys it shows matter more

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's palette, without its close-while-gathering race (tui/commands.py)."""
        if self.use_command_palette and not isinstance(self.screen, Palette):
            self.push_screen(Palette(id="--command-palette"))

    def search_themes(self) -> None:
        """The palette's Theme command: Textual's theme list, in our Palette (it survives being closed
        while it gathers), and none once the app is ending: a command picked in the same moment as
        ctrl+c runs after the screens have gone, and the list's worker failed (exit 1)."""
        if self.screen.is_attached:
            self.push_screen(Palette(providers=[ThemeProvider], placeholder="Search for themes…"))

    def action_show_help_panel(self) -> None:
        """The palette's Keys command (Textual's keys panel), unless the app is ending: mounting it
        on a screen already gone was a MountError (exit 1), as with search_themes."""
        if self.screen.is_attached:
            super().action_show_help_panel()

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            try:
                self.signals_before[sig] = signal.signal(sig, partial(self.signal_arrived, loop))
            except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
                pass
        self.set_class(self.ascii, "-ascii")
        self._fit(self.size.width, self.size.height)
        for pane in self.query("#loss, #boundary, #shapes"):
            pane.can_focus = True  # a click focuses it (app.tcss draws the focus border); keys still reach the app
        self.watch_terminal()
        self.set_interval(min(1.0, self.stall_after / 2), self._watchdog)
        self.start_engine(self.engine)
        self.signal_before_mount(self.early_signal)

    def _use_ascii_labels(self) -> None:
        """Footer labels without × and ÷ (this app's copy of the bindings; the class's stay)."""
        self.relabel(ASCII_LABELS)

    def relabel(self, labels: dict[str, str]) -> None:
        """Give the footer's keys new labels, by binding id (this app's copy of the bindings)."""
        for key, bindings in self._bindings.key_to_bindings.items():
            self._bindings.key_to_bindings[key] = [
                replace(b, description=labels[b.id]) if b.id in labels else b for b in bindings
            ]

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters; under --ascii, then every character in ASCII, whatever drew it."""
        filters = super().get_line_filters()
        return [*filters, ASCII_FILTER] if self.ascii else filters

    def on_unmount(self) -> None:
        """However the app ends (quit, a signal, a test leaving run_test), no engine outlives it: a
        thread still stepping while the interpreter exits aborts the process inside torch."""
        for sig, handler in self.signals_before.items():  # (a test run goes on after the app)
            signal.signal(sig, handler)
        self.engine.kill(wait=2.0)

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
                f"Terminal too small ({width}x{height}); need at least {MIN_SIZE[0]}x{MIN_SIZE[1]}. q quits."
            )

    def on_boundary_pane_resized(self, event: BoundaryPane.Resized) -> None:
        if event.cols and event.rows:  # hidden: keep the size for when it shows again
            self.grid = (event.cols, event.rows)
            self.send(Resize(*self.grid))

    # ----- the engine -----
    def new_engine(
        self, cfg: RunConfig, trainer: Trainer | None = None, *, paused: bool, after_runs: bool = False
    ) -> Engine:
        """An engine for cfg, not started; its events reach on_engine_event tagged with it
        (`after_runs`: its run follows those already in the metrics file, see open_trainer)."""
        engine: Engine | None = None

        def emit(event) -> None:
            self.post_message(EngineEvent(event, engine))

        if self.in_thread:
            engine = ThreadEngine(emit, cfg, ui_hz=self.ui_hz, trainer=trainer, paused=paused, after_runs=after_runs)
        else:
            engine = ProcessEngine(emit, replace(cfg, paused=paused), ui_hz=self.ui_hz, after_runs=after_runs)
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
        fresh = replace(self.cfg, resume=None, init_params=None)
        self.start_engine(self.new_engine(fresh, paused=True, after_runs=True))  # the metrics file goes on

    def on_engine_event(self, message: EngineEvent) -> None:
        if message.engine is not self.engine:
            return  # a replaced engine's late word
        self.heard_from = time.monotonic()
        match message.event:
            case Snapshot() as s:
                self.on_snapshot(s)
            case Frame() as frame:
                self.on_frame(frame)
            case PointsSaved() as saved:
                self.on_points_saved(saved)
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
        self.call_after_refresh(self._drawn, self.engine)

    def _drawn(self, engine: Engine) -> None:
        """The snapshot is on the screen: its engine's steps may take every core again."""
        if engine is self.engine:
            engine.send(Drawn())

    def _draw(self) -> None:
        if self.snapshot is None:
            return
        try:
            panes = self.query_one(Panes)
        except NoMatches:  # a snapshot that arrives while the panes are torn down (at exit)
            return
        s, now = self.rewound_view()
        panes.show(
            s,
            self.state(),
            check=self.check,
            log_scale=self.log_scale,
            show_test=self.show_test,
            x_axis=self.x_axis,
            now=now,
        )

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
        """Once a second: show STALLED if the loop has said nothing for a while, running; end the
        run when the terminal has gone (check_terminal)."""
        self.check_terminal()
        if self.state() is State.STALLED:
            waited = time.monotonic() - self.heard_from
            self.query_one(Panes).status(
                self.snapshot, State.STALLED, note=f"no word from the training process for {waited:.0f}s"
            )

    def on_grad_checks(self, rows: tuple[tuple[str, float, float], ...]) -> None:
        self.check = rows
        worst = max(r for _, _, r in rows)
        verdict = "PASS" if worst <= CHECK_OK else "FAIL"
        self.notify(
            f"manual vs autograd, float64: max rel error {worst:.1e} ({verdict})",
            title="gradient check",
            severity="information" if verdict == "PASS" else "error",
        )
        self._draw()
