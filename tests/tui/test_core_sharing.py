"""The training process shares the cores with the UI process: its steps run on one core fewer
from the moment a snapshot goes out until the app says it is drawn (Drawn), or DRAW_WAIT has
passed, and on every core in between."""

from __future__ import annotations

import threading

import pytest

from ffnn_tui.core import device
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.engine import loop as loop_module
from ffnn_tui.tui.engine.loop import Inbox, TrainingLoop
from ffnn_tui.tui.engine.protocol import Drawn, Pause
from ffnn_tui.tui.engine.snapshot import Snapshot

from .conftest import make_app, wait_for


def test_threads_for_a_step():
    assert device.threads_for(device.SMALL_WORK - 1) == 1  # tiny: one thread, drawing or not
    assert device.threads_for(device.SMALL_WORK - 1, drawing=True) == 1
    assert device.threads_for(device.SMALL_WORK) == device.DEFAULT_THREADS
    assert device.threads_for(10**9) == device.DEFAULT_THREADS
    assert device.threads_for(device.SMALL_WORK, drawing=True) == max(1, device.DEFAULT_THREADS - 1)
    assert device.threads_for(10**9, drawing=True) == max(1, device.DEFAULT_THREADS - 1)


def test_a_snapshot_takes_a_core_until_drawn(monkeypatch):
    tr = Trainer(RunConfig(samples=2000, hidden=(64,)))
    events: list = []
    loop = TrainingLoop(tr, events.append, running=True, ui_hz=4)
    claims: list[bool] = []
    monkeypatch.setattr(tr, "claim_threads", lambda drawing=False: claims.append(drawing))
    loop._show()
    assert isinstance(events[-1], Snapshot) and claims == [True]
    loop._show()  # still drawing: no change of threads
    assert claims == [True]
    loop.apply(Drawn(), run=None)  # type: ignore[arg-type]  # (Drawn needs no run loop)
    assert claims == [True, False]
    loop._show()
    loop._drawn_by_now()  # within DRAW_WAIT: still the UI's core
    assert claims == [True, False, True]
    monkeypatch.setattr(loop_module, "DRAW_WAIT", 0.0)
    loop._drawn_by_now()  # an app that never says Drawn does not keep the core
    assert claims == [True, False, True, False]


def test_drawn_makes_no_snapshot():
    """Drawn answers a snapshot; if it asked for one, the two processes would ping-pong flat out."""
    tr = Trainer(RunConfig())
    snapshots: list[Snapshot] = []
    seen = threading.Condition()

    def emit(event) -> None:
        if isinstance(event, Snapshot):
            with seen:
                snapshots.append(event)
                seen.notify_all()

    loop, inbox, done = TrainingLoop(tr, emit, running=False, ui_hz=4, heartbeat=0), Inbox(), threading.Event()
    worker = threading.Thread(target=loop.run, args=(inbox, done.is_set))
    worker.start()
    try:
        with seen:
            assert seen.wait_for(lambda: len(snapshots) == 1, timeout=10)  # the first, at start
        inbox.put(Drawn())
        inbox.put(Pause())  # a command after it, which does ask for a snapshot
        with seen:
            assert seen.wait_for(lambda: len(snapshots) == 2, timeout=10)
        assert inbox.pending == 0 and len(snapshots) == 2
    finally:
        done.set()
        worker.join(10)


async def test_the_app_says_drawn_after_each_snapshot():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        sent: list = []
        send = app.engine.send
        app.engine.send = lambda command: (sent.append(command), send(command))[1]  # type: ignore[method-assign]
        await pilot.press("n")  # one step: a snapshot comes back
        await wait_for(pilot, lambda: any(isinstance(c, Drawn) for c in sent), what="Drawn after the snapshot")
        assert app.snapshot is not None and app.snapshot.step == 1


@pytest.mark.parametrize("drawing", [False, True])
def test_claim_threads_sets_torchs_threads(drawing):
    import torch

    before = torch.get_num_threads()
    try:
        tr = Trainer(RunConfig(samples=4000, hidden=(64,)))
        tr.claim_threads(drawing=drawing)
        assert torch.get_num_threads() == device.threads_for(tr.work(), drawing)
    finally:
        torch.set_num_threads(before)
