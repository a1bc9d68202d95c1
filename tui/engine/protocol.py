"""What the app and the training loop say to each other: commands down, events up.

All are frozen dataclasses of plain data, so they pickle through the training process's pipes
unchanged, and each side dispatches on them with `match`. Nothing here imports textual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from .snapshot import Frame, Snapshot

# ----- commands: app -> training loop -----


@dataclass(frozen=True)
class Pause:
    """Stop stepping (the loop then waits without using the CPU)."""


@dataclass(frozen=True)
class Resume:
    """Step flat out until paused, ended or stopped."""


@dataclass(frozen=True)
class Step:
    """Take exactly one step (while paused)."""


@dataclass(frozen=True)
class Reset:
    """Start over with the same options: the same seed (`seed` None), or a new one."""

    seed: int | None = None


@dataclass(frozen=True)
class ScaleLr:
    """Multiply the learning rate (live; the weights stay)."""

    factor: float


@dataclass(frozen=True)
class NextActivation:
    """Switch to the next activation, live (the weights stay)."""


@dataclass(frozen=True)
class NextDataset:
    """Switch to the next generated dataset (the weights start over)."""


@dataclass(frozen=True)
class Apply:
    """Set options at this step (the options screen): live ones keep the weights, any other starts
    over (core/schedule.py). The run loop records it as an --at edit."""

    changes: tuple[tuple[str, object], ...]
    """(option, typed value) pairs, e.g. (("lr", 0.1), ("hidden", (16, 16)))."""


@dataclass(frozen=True)
class ChangeSpeed:
    """One pace slower (-1) or faster (+1): 1, 10, 100, 1000 steps a second, or max."""

    delta: int


@dataclass(frozen=True)
class Resize:
    """The boundary pane's size in cells: the grid is evaluated at this size from now on."""

    cols: int
    rows: int


VIEWS = ("boundary", "neurons", "weights", "health", "confusion", "step")
"""The views the dashboard can show beside the loss plot; a snapshot measures only those shown."""


@dataclass(frozen=True)
class ShowViews:
    """Which views are on screen now, the size of the view pane, and each view's options. A view
    not named here costs nothing: its probe does not run."""

    views: tuple[str, ...]
    """Names from VIEWS."""
    cols: int = 0
    """The view pane's content size in cells (0 = not laid out yet: a default is used)."""
    rows: int = 0
    page: int = 0
    """Neurons: which page of units of the wide layers."""
    which: str = "params"
    """Weights: 'params', 'grads' or 'updates'."""


@dataclass(frozen=True)
class CheckGradients:
    """Compare the hand-derived gradients with autograd's, in float64."""


@dataclass(frozen=True)
class Save:
    """Write a checkpoint to `path`, or to a name made from the dataset and step in the data folder."""

    path: str | None = None


@dataclass(frozen=True)
class Export:
    """Write the weights to `path` (.safetensors, .npz or .json), or to the data folder."""

    path: str | None = None


@dataclass(frozen=True)
class DrawPoint:
    """Add a training point of class `label` at cell (col, row) of the boundary pane, then
    cols x rows cells: the loop maps it onto the plane. The weights stay and training goes on."""

    col: int
    row: int
    cols: int
    rows: int
    label: int


@dataclass(frozen=True)
class ErasePoint:
    """Remove the training point nearest (as on the screen) to cell (col, row) of a cols x rows pane."""

    col: int
    row: int
    cols: int
    rows: int


@dataclass(frozen=True)
class SavePoints:
    """Write every point of the run (train, then test) to `path` as `x1,x2,label` rows (--data's format)."""

    path: str


@dataclass(frozen=True)
class Drawn:
    """The last snapshot is on the screen: the steps may take every core again (they give the UI
    process one while it draws)."""


@dataclass(frozen=True)
class Stop:
    """End the loop: flush, close the metrics file, save when --save is set, then say Exited."""


Command = (
    Pause
    | Drawn
    | Resume
    | Step
    | Reset
    | ScaleLr
    | NextActivation
    | NextDataset
    | Apply
    | ChangeSpeed
    | Resize
    | ShowViews
    | CheckGradients
    | Save
    | Export
    | DrawPoint
    | ErasePoint
    | SavePoints
    | Stop
)

# ----- events: training loop -> app -----


FINAL_SAVE_FAILED = "checkpoint not written as the run ended"
"""The title of the Note a loop sends when its last save (as it stops) fails: the app is ending by
then and shows no notes, so the engine keeps it as the farewell line and the exit code is 2."""


@dataclass(frozen=True)
class Note:
    """A one-off result to show the user: a saved checkpoint, a failed command."""

    text: str
    severity: Literal["information", "warning", "error"] = "information"
    """Textual's notify severities."""
    title: str = ""


@dataclass(frozen=True)
class GradChecks:
    """Per-tensor hand-derived vs autograd errors: ((name, max_abs, max_rel), ...)."""

    rows: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True)
class Exited:
    """The loop's last word. `reason` is '' when it was asked to stop; `bad_input` marks a run
    that could not be built from the user's options or files (the app then exits 2 with it)."""

    reason: str
    bad_input: bool = False


@dataclass(frozen=True)
class Heartbeat:
    """The loop is alive inside a step (or a command) that has taken `seconds` so far; sent about
    once a second from a thread of its own while the step runs, so a slow step is not a stall."""

    step: int
    """The step being taken (updates done so far + 1)."""
    seconds: float


@dataclass(frozen=True)
class LastCheckpoint:
    """The run after its last completed step, as checkpoint bytes (torch.save of the checkpoint
    dict), sent with --save set before and after steps that may take long. If the loop cannot
    stop in time (a slow, stopped or hung step), the app writes these bytes to `path` itself."""

    run_id: int
    step: int
    path: str
    data: bytes


@dataclass(frozen=True)
class PointsSaved:
    """The run's points were written to `path` (absolute) at `step`: `--data path` replays them."""

    path: str
    step: int
    count: int


Event = Snapshot | Frame | Note | GradChecks | Exited | Heartbeat | LastCheckpoint | PointsSaved
