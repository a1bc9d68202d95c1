"""The dashboard's Snapshot of a trainer (tui/engine/snapshot.py): plain data, made from core/probes.py.
No app here: SnapshotMaker is called directly."""

from __future__ import annotations

import math

from ffnn_tui.core import probes
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.engine.snapshot import PLOT_POINTS, SnapshotMaker


def test_a_diverged_run_is_drawn_without_raising():
    tr = Trainer(RunConfig(device="cpu", lr=1e6))
    for _ in range(300):
        tr.step()
    maker = SnapshotMaker()
    maker.size = (20, 8)
    snap = maker.make(tr, tr.outcome)
    assert snap.state is State.DIVERGED and snap.reason == tr.reason != ""
    assert snap.step == 300 and snap.curve_steps[-1] == 300
    assert len(snap.grid.klass) == 8 and all(len(row) == 20 for row in snap.grid.klass)
    assert all(0.0 <= c <= 1.0 for row in snap.grid.conf for c in row)  # nan shows as unsure
    assert not math.isfinite(snap.curve_train[-1])


def test_a_snapshot_describes_the_run():
    cfg = RunConfig(device="cpu", dataset="spiral", classes=3, hidden=(16, 4), samples=200, batch_size=50)
    tr = Trainer(cfg)
    for _ in range(5):
        tr.step()
    maker = SnapshotMaker()
    assert maker.make(tr, State.PAUSED).grid is None  # no pane size yet
    maker.size = (30, 10)
    snap = maker.make(tr, State.PAUSED)
    assert snap.state is State.PAUSED and snap.reason == ""
    assert (snap.step, snap.epoch, snap.classes, snap.arch) == (5, 1, 3, "2-16-4-3 relu")
    assert snap.curve_steps == (1, 2, 3, 4, 5) and snap.curve_train == tuple(tr.history.values["train_loss"])
    assert [p.name for p in snap.params] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert [p.shape for p in snap.params] == [(2, 16), (16,), (16, 4), (4,), (4, 3), (3,)]
    assert [name for name, _ in snap.activations] == ["X", "z1", "h1", "z2", "h2", "logits", "probs"]
    assert snap.activations[0][1] == (50, 2)  # the last mini-batch
    assert len(snap.points) == 200 <= 2 * PLOT_POINTS
    assert {split for *_, split in snap.points} == {"train", "test"}
    assert all(0 <= r < 10 and 0 <= c < 30 and 0 <= k < 3 for r, c, k, _ in snap.points)
    assert math.isfinite(snap.metrics.test_loss) and snap.curve_test[-1] == snap.metrics.test_loss


def test_live_metrics_of_a_costly_net_use_fewer_points():
    """The dashboard's metrics (and rewind frames) measure a 2-256-256-2 net on 1,024 points a split,
    the tutorial's net on 4,096; the headless summary keeps 4,096."""
    small = Trainer(RunConfig(device="cpu", samples=6000, test_fraction=0.5))
    big = Trainer(RunConfig(device="cpu", samples=6000, test_fraction=0.5, hidden=(256, 256)))
    assert (probes.live_rows(small), probes.live_rows(big)) == (probes.EVAL_SAMPLE, probes.LIVE_MIN)
    maker = SnapshotMaker()
    maker.size = (20, 8)
    assert maker.make(big, State.PAUSED).metrics == probes.sample_metrics(big, probes.LIVE_MIN)
    assert maker.frame(big).metrics == probes.sample_metrics(big, probes.LIVE_MIN)
    assert probes.sample_metrics(big) != probes.sample_metrics(big, probes.LIVE_MIN)  # the two samples differ
