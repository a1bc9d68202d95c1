"""What the dashboard's mixins (run_keys, view_keys, canvas, rewind, file_actions, ending) may use of the app.

FfnnApp (tui/app.py) is the app itself plus those mixins. Each mixin subclasses Dashboard, so the
app state and methods it reaches through `self` are declared once, here, and type-checked; FfnnApp
sets the attributes in its __init__ and defines the methods.
"""

from __future__ import annotations

from typing import Callable

from textual.app import App
from textual.reactive import reactive

from ..core.config import RunConfig
from ..core.state import State
from .engine import Engine
from .engine.protocol import Command
from .engine.snapshot import Snapshot


class Dashboard(App[None]):
    """The app as its mixins see it: FfnnApp's state, and the methods of FfnnApp they call."""

    running: reactive[bool] = reactive(True, bindings=True)
    """Training, not paused; the footer greys keys by it (check_action)."""

    cfg: RunConfig
    """The run's options, kept up to date from each snapshot (live changes included)."""
    engine: Engine
    """The one engine; started on mount, replaced by `r` when it has stalled or died."""
    snapshot: Snapshot | None
    """The latest snapshot (None until the first arrives)."""
    check: tuple[tuple[str, float, float], ...]
    """The last gradient check: (tensor, max abs error, max relative error) per tensor."""
    engine_failure: str
    """Why the engine ended on its own ('' while it runs)."""
    heard_from: float
    """When the engine last said anything (time.monotonic()): the watchdog's clock."""
    exit_code: int
    """The code the app is exiting with (0 until it shuts down)."""
    exit_guard: Callable[[int, float], None] | None
    """Called with the exit code when a stuck engine may outlive the app (see run_dashboard)."""
    farewell: str
    """One line for stderr once the terminal is restored (Textual's exit message would wrap it)."""
    terminal_fd: int | None
    """The terminal the app reads (None under the test driver or in a browser): see check_terminal."""
    terminal_lost: bool
    """The terminal went away without a SIGHUP to this process, and the app is ending for it."""
    view: str
    """The view beside the loss plot (view_keys.py)."""

    def send(self, command: Command) -> None:
        """Send a command to the engine."""
        raise NotImplementedError  # FfnnApp's

    def state(self) -> State:
        """The one word the status line shows."""
        raise NotImplementedError  # FfnnApp's

    def restart_engine(self) -> None:
        """Start over in a fresh engine."""
        raise NotImplementedError  # FfnnApp's

    def _draw(self) -> None:
        """Redraw the panes from the latest snapshot."""
        raise NotImplementedError  # FfnnApp's

    def relabel(self, labels: dict[str, str]) -> None:
        """Give the footer's keys new labels, by binding id."""
        raise NotImplementedError  # FfnnApp's

    def _ended(self) -> bool:
        """The run has diverged, failed or finished."""
        raise NotImplementedError  # run_keys.py's

    def action_toggle_pause(self) -> None:
        raise NotImplementedError  # run_keys.py's

    def action_page(self, delta: int) -> None:
        raise NotImplementedError  # view_keys.py's

    def to_now(self) -> None:
        """Leave a rewound frame for the run as it is now."""
        raise NotImplementedError  # rewind.py's
