"""What looking at a big net costs while it trains flat out (tui/engine/loop.py, LOOK_SHARE): the
probes and the rewind frames are paid from an allowance; when it runs out, snapshots carry the last
probes (marked with the step they are of) and frames come at a later step."""

from __future__ import annotations

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.engine import loop as loop_module
from ffnn_tui.tui.engine.loop import Allowance, Inbox, TrainingLoop
from ffnn_tui.tui.engine.protocol import Stop
from ffnn_tui.tui.engine.snapshot import Frame, Snapshot, SnapshotMaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_allowance_is_earned_at_its_share_of_the_time_and_saved_up_to_its_burst(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(loop_module.time, "perf_counter", clock)
    a = Allowance(share=0.05, burst=0.01)
    assert a.left()
    a.spend(0.02)  # a look dearer than the burst: the next waits until it is paid back
    assert not a.left()
    clock.now += 0.19  # earns 0.0095: still short of zero
    assert not a.left()
    clock.now += 0.02  # paid back
    assert a.left()
    clock.now += 1000  # idle for long: no more than the burst is saved
    a.spend(0.011)
    assert not a.left()


def test_a_snapshot_that_is_not_fresh_carries_the_last_probes_and_their_step():
    tr = Trainer(RunConfig(device="cpu", dataset="moons", samples=200, hidden=(8,)))
    maker = SnapshotMaker()
    maker.size = (20, 8)
    first = maker.make(tr, State.RUNNING)
    for _ in range(30):
        tr.step()
    reused = maker.make(tr, State.RUNNING, fresh=False)
    assert reused.step == 30 and reused.curve_steps[-1] == 30  # the step and the curve are new
    assert reused.probe_step == 0 and reused.probed == 0
    assert (reused.metrics, reused.grid) == (first.metrics, first.grid)
    fresh = maker.make(tr, State.RUNNING)
    assert fresh.probed is None and fresh.probe_step == 30 and fresh.metrics != first.metrics
    maker.size = (24, 8)  # another pane size: the last probes do not fit, so they are measured
    assert maker.make(tr, State.RUNNING, fresh=False).probed is None
    tr.reset(seed=3)  # another run: likewise
    assert maker.make(tr, State.RUNNING, fresh=False).probed is None


def run_flat_out(monkeypatch, share: float, burst: float, steps: int = 400) -> list:
    """The loop training flat out until `steps`, every looking cost as measured, with the allowance
    earned at `share` and at most `burst` saved up, and a fresh snapshot forced only once a day."""
    monkeypatch.setattr(loop_module, "LIVE_PERIOD", 86400.0)
    monkeypatch.setattr(Allowance.__init__, "__defaults__", (share, burst))
    tr = Trainer(RunConfig(device="cpu", dataset="moons", samples=200, hidden=(8,), epochs=10**6))
    inbox, events = Inbox(), []

    def emit(event):
        events.append(event)
        if isinstance(event, Snapshot) and event.step >= steps:
            inbox.put(Stop())

    TrainingLoop(tr, emit, running=True, ui_hz=1000).run(inbox)
    return events


def test_with_no_allowance_a_run_flat_out_reuses_its_probes_and_films_only_its_start(monkeypatch):
    events = run_flat_out(monkeypatch, share=0.0, burst=0.0)
    snaps = [e for e in events if isinstance(e, Snapshot)]
    assert len(snaps) > 3
    assert snaps[0].probed is snaps[1].probed is None  # the first looks, and the start of running, are fresh
    assert all(s.probe_step == snaps[1].step < s.step for s in snaps[2:])
    assert [e.step for e in events if isinstance(e, Frame)] == [0]


def test_with_an_ample_allowance_every_probe_is_fresh_and_the_film_log_spaced(monkeypatch):
    from ffnn_tui.tui.film import next_frame_step

    events = run_flat_out(monkeypatch, share=1.0, burst=1e6)
    assert all(e.probed is None for e in events if isinstance(e, Snapshot))
    frames = [e.step for e in events if isinstance(e, Frame)]
    assert frames[:12] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert all(b == next_frame_step(a) for a, b in zip(frames, frames[1:]))
