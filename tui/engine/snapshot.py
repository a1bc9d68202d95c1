"""The dashboard's picture of a run: a Snapshot, assembled from core/probes.py outside the Trainer.

A Snapshot is plain immutable data (no live tensors), made in the training loop at most
`--ui-hz` times a second and at once after a command, and sent to the app.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass

import torch

from ...core import inside, probes
from ...core.config import RunConfig
from ...core.history import History
from ...core.inside import Confusion, LayerHealth, Matrix, NeuronMaps
from ...core.network import Params, forward
from ...core.probes import BoundaryGrid, Metrics, ParamStats, StepRow
from ...core.state import State
from ...core.trainer import Trainer

PLOT_POINTS = 2000
"""The boundary pane draws at most this many data points per split (a fixed sample)."""
CURVE_POINTS = 500
"""Points per loss curve sent to the app (the history is downsampled to this)."""

NEURON_TILE_ROWS = (3, 12)
"""The least and the most rows of one unit's map (tile) in the neurons view; a tile is about twice
as wide as tall (a terminal cell is about twice as tall as wide), at most NEURON_TILE_COLS wide."""
NEURON_TILE_COLS = 24
READABLE_ROWS = 5
"""Tiles this tall or taller read well: the neurons view shows every unit at this size if it can."""
MIN_SHOWN = 4
"""Otherwise tiles are as large as can be with at least this many units of each layer on a page."""
WEIGHT_ROWS = 16
"""The most rows of a weight matrix shown before block-mean pooling."""
TEST_GRID_DOUBLING = 1024
"""The test loss is measured at metrics rows 1, 2, 4, ... up to this, then every RUN_FRACTION of the run."""
RUN_FRACTION = 200
DEFAULT_VIEW = (56, 30)
"""The view pane's (cols, rows) before it has been laid out."""

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
    """The net's answer over the plane at the boundary pane's size (None before the pane has one,
    and while the boundary view is not shown)."""
    points: tuple[Point, ...]
    views: tuple[str, ...] = ("boundary",)
    """The views this snapshot measured (the app's last ShowViews)."""
    neurons: NeuronMaps | None = None
    """Each unit's map over the boundary's plane (neurons view)."""
    dead: frozenset[str] = frozenset()
    """Labels of dead or saturated hidden units (neurons view)."""
    weights: tuple[Matrix, ...] | None = None
    """W_k, b_k, or their gradients or the change the last step made to them (weights view); ()
    before the first step."""
    health: tuple[LayerHealth, ...] | None = None
    confusion: tuple[Confusion, Confusion | None] | None = None
    """(train, test) of the current weights (confusion view)."""
    step_rows: tuple[StepRow, ...] | None = None
    """The last step written out (step view)."""
    changes: tuple[tuple[int, str], ...] = ()
    """(step, what) of every edit in this run: lr, activation, dataset, the options screen, --at."""
    command: str = ""
    """The command line that reproduces the run, every edit included as --at."""
    probed: int | None = None
    """The step the probes (metrics, boundary, views) were measured at, when not `step`: a big
    net's are reused between fresh ones while it trains flat out (tui/engine/loop.py, LOOK_SHARE)."""

    @property
    def probe_step(self) -> int:
        """The step the metrics, the boundary and the views' data are of."""
        return self.step if self.probed is None else self.probed

    @property
    def arch(self) -> str:
        return self.config.arch(self.classes)

    @property
    def dataset(self) -> str:
        return self.config.data or self.config.dataset


@dataclass(frozen=True)
class TileLayout:
    """How the neurons view lays out a page: the size of every tile, how many units of each layer."""

    cols: int
    rows: int
    shown: tuple[int, ...]
    """Units on a page, per layer (all of a narrow layer)."""


def _layout_lines(widths: tuple[int, ...], across: int, th: int, tile_rows: list[int]) -> int:
    """Lines the page takes: per layer a heading, its rows of tiles (a label line each), and a
    '... more' line when some units are left out."""
    return sum(1 + r * (th + 1) + (across * r < H) for H, r in zip(widths, tile_rows))


def _plan(width: int, height: int, widths: tuple[int, ...], th: int) -> tuple[TileLayout, int]:
    """Tiles th rows tall: as many across as fit, then more rows of tiles for the layers still cut
    (first layers first) while they fit; and the lines that takes."""
    across = max(1, (width + 1) // (2 * th + 1))
    tw = max(1, min(NEURON_TILE_COLS, 5 * th // 2, (width + 1) // across - 1))  # widened to fill the pane
    tile_rows = [1] * len(widths)
    grown = True
    while grown:
        grown = False
        for k, H in enumerate(widths):
            if across * tile_rows[k] < H:
                tile_rows[k] += 1
                if _layout_lines(widths, across, th, tile_rows) <= height:
                    grown = True
                else:
                    tile_rows[k] -= 1
    shown = tuple(min(H, across * r) for H, r in zip(widths, tile_rows))
    return TileLayout(tw, th, shown), _layout_lines(widths, across, th, tile_rows)


@functools.lru_cache(maxsize=16)
def neuron_layout(width: int, height: int, widths: tuple[int, ...]) -> TileLayout:
    """The neurons view's tiles for a pane of width x height cells and layers of these widths: the
    largest tiles that show every unit if they are READABLE_ROWS tall; else the largest that show
    MIN_SHOWN units of each layer a page; else the largest that fit (the smallest when none do)."""
    lo, hi = NEURON_TILE_ROWS
    plans = [_plan(width, height, widths, th) for th in range(hi, lo - 1, -1)]
    fitting = [p for p, lines in plans if lines <= height]
    best = next((p for p in fitting if p.rows >= READABLE_ROWS and p.shown == tuple(widths)), None)
    best = best or next((p for p in fitting if all(n >= min(H, MIN_SHOWN) for n, H in zip(p.shown, widths))), None)
    if best is None:
        return fitting[0] if fitting else plans[-1][0]
    return _taller(best, width, height, widths)


def _taller(tile: TileLayout, width: int, height: int, widths: tuple[int, ...]) -> TileLayout:
    """The same page with its tiles as tall as the pane leaves room for, up to about square."""
    across = max(1, (width + 1) // (tile.cols + 1))  # as the neurons pane lays them out
    tile_rows = [-(-n // across) for n in tile.shown]
    th, top = tile.rows, min(NEURON_TILE_ROWS[1], (tile.cols + 1) // 2 + 1)
    while th < top and _layout_lines(widths, across, th + 1, tile_rows) <= height:
        th += 1
    return TileLayout(tile.cols, th, tile.shown)


@dataclass(frozen=True)
class Frame:
    """The run at one of the film's log-spaced steps (tui/film.py): what rewind shows of that moment."""

    run_id: int
    step: int
    epoch: int
    metrics: Metrics
    """Of the weights at `step`, on a sample of each split (as a Snapshot's)."""
    grid: BoundaryGrid | None
    """The boundary at the pane's size then (None before the pane had one)."""
    neurons: NeuronMaps | None = None
    """The neuron maps, when the neurons view was on screen."""
    dead: frozenset[str] = frozenset()


class SnapshotMaker:
    """Makes Snapshots of one trainer; keeps what is fixed per run (the plane's extent, the point
    sample), the test-loss curve and the step rate between calls."""

    def __init__(self) -> None:
        self.size = (0, 0)
        """(cols, rows) of the boundary pane."""
        from .protocol import ShowViews  # here: protocol imports this module

        self.views = ShowViews(("boundary",))
        """What the app shows (views, pane size, page, which): its last ShowViews."""
        self._run = -1
        self._rate = (time.perf_counter(), 0, 0.0)
        self._probes: tuple | None = None
        """(what they were measured for, the step, metrics, grid, points, views' data): the last probes."""

    def _new_run(self, tr: Trainer) -> None:
        self._run = tr.run_id
        self.extent = probes.data_extent(tr)
        """Fixed for the run: points drawn later land inside it, and the picture does not jump."""
        self._sample_points(tr)
        self.test_history = History(cap=CURVE_POINTS)
        """Test loss on a fixed grid of metrics rows (kept in its train_loss column)."""
        self.next_test_row = 1

    def _sample_points(self, tr: Trainer) -> None:
        self.sample = probes.plot_sample(tr, PLOT_POINTS)
        self._edits = tr.data_edits

    def _current(self, tr: Trainer) -> None:
        """Follow a new run, or new points drawn in this one."""
        if tr.run_id != self._run:
            self._new_run(tr)
        elif tr.data_edits != self._edits:
            self._sample_points(tr)

    # ----- the test curve, on a fixed grid of steps -----
    def test_row_after(self, row: int, tr: Trainer) -> int:
        """The grid's next metrics row after `row`: 1, 2, 4, ..., 1024, then every 1/200 of the run."""
        if row < TEST_GRID_DOUBLING:
            return 2 * row
        run = tr.cfg.epochs * tr.steps_per_epoch
        every = max(1, run // RUN_FRACTION) if run else TEST_GRID_DOUBLING
        return (row // every + 1) * every

    def steps_to_test(self, tr: Trainer) -> int:
        """Steps until the next test measurement is due (a driver ends its chunk there)."""
        if tr.run_id != self._run:
            self._new_run(tr)
        return max(0, self.next_test_row - 1 - tr.step_count)

    def measure_test(self, tr: Trainer) -> None:
        """When due: the test loss of the current weights, recorded as metrics row step + 1 (a row
        describes the weights its update starts from, as in the metrics file). One forward on at
        most live_rows test points; one host sync."""
        if tr.run_id != self._run:
            self._new_run(tr)
        row = tr.step_count + 1
        if row < self.next_test_row:
            return
        while self.next_test_row <= row:
            self.next_test_row = self.test_row_after(self.next_test_row, tr)
        d, S = tr.data, probes.live_rows(tr)
        if d.X_test.shape[0]:
            loss, _ = tr.evaluate(d.X_test[:S], d.y_test[:S], tr.Y_test[:S])
            value = float(loss)  # one device sync per grid point
            if math.isfinite(value):
                self.test_history.add(row, value)

    def steps_per_sec(self, step: int) -> float:
        """Steps per second since the last measurement at least 0.25 s ago."""
        t0, s0, rate = self._rate
        now = time.perf_counter()
        if now - t0 >= 0.25 or rate == 0.0:
            if now > t0 and step >= s0:
                rate = (step - s0) / (now - t0)
            self._rate = (now, step, rate)
        return rate

    def make(
        self,
        tr: Trainer,
        state: State,
        *,
        before: Params | None = None,
        changes: tuple[tuple[int, str], ...] = (),
        command: str = "",
        fresh: bool = True,
    ) -> Snapshot:
        """Flush the trainer's losses and look at it (plain data only), measuring only the views
        shown. `before` is the parameters the last step started from, when known (for the step view).
        Not `fresh`: the probes (metrics, boundary, views) are the last snapshot's, when it was of
        this run, these points and these views; the step, losses and curves are always new."""
        self._current(tr)
        tr.flush()
        self.measure_test(tr)
        steps, series = tr.history.downsampled(CURVE_POINTS)
        test_steps, test_series = self.test_history.downsampled(CURVE_POINTS)
        key = (tr.run_id, tr.data_edits, self.views, self.size)
        if fresh or self._probes is None or self._probes[0] != key:
            self._probes = (key, tr.step_count, *self.probe(tr, before))
        _, probed, m, grid, points, views = self._probes
        v = self.views
        return Snapshot(
            run_id=tr.run_id,
            step=tr.step_count,
            epoch=tr.epoch,
            state=state,
            reason=tr.reason,
            config=tr.cfg,
            classes=tr.data.classes,
            device=str(tr.device),
            metrics=m,
            steps_per_sec=self.steps_per_sec(tr.step_count),
            params=probes.param_stats(tr),
            activations=probes.activation_shapes(tr),
            curve_steps=tuple(steps),
            curve_train=tuple(series["train_loss"]),
            curve_test_steps=tuple(test_steps),
            curve_test=tuple(test_series["train_loss"]),
            grid=grid,
            points=points,
            views=v.views,
            changes=changes,
            command=command,
            probed=probed if probed != tr.step_count else None,
            **views,
        )

    def probe(self, tr: Trainer, before: Params | None):
        """(metrics, boundary grid, placed points, views' data): what a snapshot measures of the net,
        the costly part on big nets."""
        m = probes.sample_metrics(tr, probes.live_rows(tr))
        cols, rows = self.size
        grid: BoundaryGrid | None = None
        points: tuple[Point, ...] = ()
        if "boundary" in self.views.views and cols >= 2 and rows >= 2:
            grid = probes.boundary_grid(tr.params, tr.cfg.activation, self.extent, cols, rows, tr.cfg.features)
            points = probes.placed_points(tr, self.sample, self.extent, cols, rows)
        return m, grid, points, dict(self.view_data(tr, before))

    def plane(self, tr: Trainer) -> probes.Extent:
        """The rectangle of the plane the boundary pane shows for this run."""
        self._current(tr)
        return self.extent

    def frame(self, tr: Trainer) -> Frame:
        """The run now, as rewind keeps it: numbers, the boundary and (when shown) the neuron maps."""
        self._current(tr)
        cols, rows = self.size
        grid = None
        if cols >= 2 and rows >= 2:
            grid = probes.boundary_grid(tr.params, tr.cfg.activation, self.extent, cols, rows, tr.cfg.features)
        neurons: NeuronMaps | None = None
        dead: frozenset[str] = frozenset()
        if "neurons" in self.views.views:
            v = self.views
            neurons = self.neuron_maps(tr, v.cols or DEFAULT_VIEW[0], v.rows or DEFAULT_VIEW[1])
            dead = frozenset(neurons.bad)  # from the maps' own forward pass
        return Frame(
            tr.run_id, tr.step_count, tr.epoch, probes.sample_metrics(tr, probes.live_rows(tr)), grid, neurons, dead
        )

    # ----- the views: each probe runs only while its view is shown -----
    def view_data(self, tr: Trainer, before: Params | None):
        """(Snapshot field, value) pairs for the views shown."""
        v = self.views
        cols, rows = (v.cols or DEFAULT_VIEW[0], v.rows or DEFAULT_VIEW[1])
        names = list(tr.params)
        grads = dict(zip(names, tr.last_grads)) if tr.last_grads else None
        if "health" in v.views:
            norms = tr.optimizer.update_norms(tr.param_list, tr.last_grads) if tr.last_grads else None
            yield (
                "health",
                inside.layer_health(
                    tr.params,
                    tr.cfg.activation,
                    tr.F_train,
                    grads,
                    dict(zip(names, norms)) if norms else None,
                    max_rows=probes.EVAL_SAMPLE,
                ),
            )
        if "neurons" in v.views:
            maps = self.neuron_maps(tr, cols, rows)
            yield "neurons", maps
            yield "dead", frozenset(maps.bad)
        if "weights" in v.views:
            updates = None
            if tr.last_grads:  # the change the last step made, from the optimizer (running or paused)
                updates = dict(zip(names, tr.optimizer.last_updates(tr.param_list, tr.last_grads)))
            L = len(names) // 2
            fan_in = tr.params["W1"].shape[0]  # W1's rows are few (one per feature): the other W_k share the rest
            spare = rows - 2 - 4 * L - fan_in  # a note and a legend; a title, a pooled note and a bias of 2 lines each
            max_rows = max(2, spare // max(L - 1, 1))
            yield (
                "weights",
                inside.weight_matrices(
                    tr.params,
                    v.which,
                    grads,
                    updates,
                    max_rows=min(WEIGHT_ROWS, max_rows),
                    max_cols=max(1, (cols + 1) // 2),
                ),
            )
        if "confusion" in v.views:
            yield "confusion", self.confusions(tr)
        if "step" in v.views:
            yield "step_rows", probes.step_rows(tr, before)

    def neuron_maps(self, tr: Trainer, cols: int, rows: int) -> NeuronMaps:
        """The page of tiles that fits the pane (neuron_layout), and the dead or saturated units,
        from one forward pass over the tile grid and at most EVAL_SAMPLE training rows."""
        L = len(tr.params) // 2
        widths = [tr.params[f"W{k}"].shape[1] for k in range(1, L + 1)]
        tile = neuron_layout(cols, rows, tuple(widths))
        shown = dict(enumerate(tile.shown, start=1))
        offsets = {k: (self.views.page % -(-H // shown[k])) * shown[k] for k, H in enumerate(widths, start=1)}
        X = inside.sample_rows(tr.F_train, probes.EVAL_SAMPLE)  # (n, D): the rows as the net sees them
        return inside.neuron_maps(
            tr.params, tr.cfg.activation, self.extent, tile.cols, tile.rows, shown, offsets, tr.cfg.features, X
        )

    @torch.no_grad()
    def confusions(self, tr: Trainer) -> tuple[Confusion, Confusion | None]:
        """Train and test confusion of the current weights, on at most EVAL_SAMPLE points each."""
        d, S, K = tr.data, probes.EVAL_SAMPLE, tr.data.classes
        train_logits, _ = forward(tr.params, tr.F_train[:S], tr.cfg.activation)  # (n, K)
        train = inside.confusion(train_logits, d.y_train[:S], K)
        if d.X_test.shape[0] == 0:
            return train, None
        test_logits, _ = forward(tr.params, tr.F_test[:S], tr.cfg.activation)  # (m, K)
        return train, inside.confusion(test_logits, d.y_test[:S], K)
