"""The dashboard's picture of a run: a Snapshot, assembled from core/probes.py outside the Trainer.

A Snapshot is plain immutable data (no live tensors), made in the training loop at most
`--ui-hz` times a second and at once after a command, and sent to the app.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from ...core import probes
from ...core.config import RunConfig
from ...core.history import History
from ...core.probes import BoundaryGrid, Metrics, ParamStats
from ...core.state import State
from ...core.trainer import Trainer

PLOT_POINTS = 2000
"""The boundary pane draws at most this many data points per split (a fixed sample)."""
CURVE_POINTS = 500
"""Points per loss curve sent to the app (the history is downsampled to this)."""

Point = tuple[int, int, int, str]
"""(row, col, class, 'train' | 'test') of a data point on the boundary grid."""


@dataclass(frozen=True)
class Snapshot:
    """One moment of the run, as the dashboard shows it."""

    run_id: int
    step: int
    epoch: int
    state: State
    reason: str
    """Why the run diverged, failed or ended; '' otherwise."""
    config: RunConfig
    """The run's options as they are now (live lr, activation, dataset changes included)."""
    classes: int
    device: str
    metrics: Metrics
    """Of the current weights, on a sample of each split."""
    steps_per_sec: float
    params: tuple[ParamStats, ...]
    activations: tuple[tuple[str, tuple[int, ...]], ...]
    curve_steps: tuple[int, ...]
    curve_train: tuple[float, ...]
    curve_test_steps: tuple[int, ...]
    curve_test: tuple[float, ...]
    """Test loss, measured at snapshot times (its own steps)."""
    grid: BoundaryGrid | None
    """The net's answer over the plane at the boundary pane's size (None before the pane has one)."""
    points: tuple[Point, ...]

    @property
    def arch(self) -> str:
        return self.config.arch(self.classes)

    @property
    def dataset(self) -> str:
        return self.config.data or self.config.dataset


class SnapshotMaker:
    """Makes Snapshots of one trainer; keeps what is fixed per run (the plane's extent, the point
    sample), the test-loss curve and the step rate between calls."""

    def __init__(self) -> None:
        self.size = (0, 0)
        """(cols, rows) of the boundary pane."""
        self._run = -1
        self._rate = (time.perf_counter(), 0, 0.0)

    def _new_run(self, tr: Trainer) -> None:
        self._run = tr.run_id
        self.extent = probes.data_extent(tr)
        self.sample = probes.plot_sample(tr, PLOT_POINTS)
        self.test_history = History(cap=CURVE_POINTS)
        """Test loss at each snapshot (kept in its train_loss column)."""

    def steps_per_sec(self, step: int) -> float:
        """Steps per second since the last measurement at least 0.25 s ago."""
        t0, s0, rate = self._rate
        now = time.perf_counter()
        if now - t0 >= 0.25 or rate == 0.0:
            if now > t0 and step >= s0:
                rate = (step - s0) / (now - t0)
            self._rate = (now, step, rate)
        return rate

    def make(self, tr: Trainer, state: State) -> Snapshot:
        """Flush the trainer's losses and look at it (plain data only)."""
        if tr.run_id != self._run:
            self._new_run(tr)
        tr.flush()
        m = probes.sample_metrics(tr)
        if math.isfinite(m.test_loss) and (not len(self.test_history) or self.test_history.step[-1] <= tr.step_count):
            self.test_history.add(tr.step_count, m.test_loss)
        steps, series = tr.history.downsampled(CURVE_POINTS)
        test_steps, test_series = self.test_history.downsampled(CURVE_POINTS)
        cols, rows = self.size
        grid, points = None, ()
        if cols >= 2 and rows >= 2:
            grid = probes.boundary_grid(tr.params, tr.cfg.activation, self.extent, cols, rows)
            points = probes.placed_points(tr, self.sample, self.extent, cols, rows)
        return Snapshot(
            run_id=tr.run_id, step=tr.step_count, epoch=tr.epoch, state=state, reason=tr.reason,
            config=tr.cfg, classes=tr.data.classes, device=str(tr.device), metrics=m,
            steps_per_sec=self.steps_per_sec(tr.step_count), params=probes.param_stats(tr),
            activations=probes.activation_shapes(tr), curve_steps=tuple(steps), curve_train=tuple(series["train_loss"]),
            curve_test_steps=tuple(test_steps), curve_test=tuple(test_series["train_loss"]), grid=grid, points=points)
