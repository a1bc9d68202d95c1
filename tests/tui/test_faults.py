"""Failures inside the engine never kill or freeze the UI: each shows as a state with its reason,
and `r` recovers. Faults are injected through Trainer.fault_hook (called at the start of a step)."""

from __future__ import annotations

import math
import re
import threading
import time

import torch

from ffnn_tui.core.state import ENDED
from ffnn_tui.tui.widgets.status import StatusLine

from .conftest import make_app, settled, wait_for

SIZE = (120, 36)


def status(app) -> str:
    return str(app.query_one(StatusLine).render())


def at_step(n: int, action):
    """A hook that runs action(trainer) when the trainer is about to take step n."""

    def hook(trainer):
        if trainer.step_count + 1 == n:
            action(trainer)

    return hook


def boom(trainer):
    raise RuntimeError("injected failure")


async def test_an_exception_in_a_step_shows_failed_and_r_recovers():
    app = make_app(paused=False)
    app.engine.trainer.fault_hook = at_step(40, boom)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.state == "FAILED", what="FAILED")
        await pilot.pause()
        text = status(app)
        assert "FAILED" in text and "RuntimeError in step 40: injected failure" in text
        assert app.engine.trainer.step_count == 39 and not app.running
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot.state not in ENDED and app.snapshot.step == 0, what="reset")
        app.engine.trainer.fault_hook = None
        await pilot.press("n")
        await settled(pilot, app, 1)
        assert "PAUSED" in status(app)


async def test_an_exception_on_the_step_key_shows_failed():
    app = make_app()
    app.engine.trainer.fault_hook = at_step(2, boom)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: app.snapshot.state == "FAILED", what="FAILED")
        assert "injected failure" in app.snapshot.reason


def poison(value: float):
    def action(trainer):
        trainer.params["W1"].fill_(value)

    return action


async def test_nan_parameters_show_diverged():
    app = make_app(paused=False)
    app.engine.trainer.fault_hook = at_step(10, poison(math.nan))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.state == "DIVERGED", what="DIVERGED")
        await pilot.pause()
        assert "DIVERGED" in status(app) and "nan" in app.snapshot.reason
        app.engine.trainer.fault_hook = None
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot.state not in ENDED, what="recovery")
        assert torch.isfinite(app.engine.trainer.params["W1"]).all()


async def test_inf_parameters_show_diverged():
    app = make_app(paused=False)
    app.engine.trainer.fault_hook = at_step(10, poison(math.inf))
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.state == "DIVERGED", what="DIVERGED")
        assert "DIVERGED" in status(app)


async def test_a_hanging_step_shows_stalled_and_r_starts_a_fresh_run():
    """A frozen training process (stopped, or stuck holding the GIL) says nothing at all: played
    here by a hanging step without heartbeats."""
    release = threading.Event()
    app = make_app(paused=False)
    app.stall_after = 0.5
    app.engine.heartbeat = 0
    app.engine.trainer.fault_hook = at_step(30, lambda tr: release.wait(60))
    async with app.run_test(size=SIZE) as pilot:
        try:
            await wait_for(pilot, lambda: "STALLED" in status(app), what="STALLED")
            assert "no word from the training process" in status(app)
            await pilot.press("l")  # the UI still answers keys
            assert app.log_scale
            stuck = app.engine.trainer
            await pilot.press("r")
            await wait_for(
                pilot,
                lambda: app.engine.trainer is not stuck and app.snapshot.step == 0 and app.snapshot.state not in ENDED,
                what="a fresh run",
            )
            assert "PAUSED" in status(app)
            await pilot.press("n")
            await settled(pilot, app, 1)
        finally:
            release.set()  # let the abandoned thread finish


async def test_starting_over_after_a_stall_keeps_the_metrics_files_rows(tmp_path):
    """r on a STALLED run starts a fresh engine; its run used to open the --metrics file as new,
    emptying it of the stalled run's rows. It now goes on in the same file as the next run."""
    release = threading.Event()
    metrics = tmp_path / "m.csv"
    app = make_app("--metrics", str(metrics), paused=False)
    app.stall_after = 0.5
    app.engine.heartbeat = 0
    app.engine.trainer.fault_hook = at_step(70, lambda tr: release.wait(60))
    async with app.run_test(size=SIZE) as pilot:
        try:
            await wait_for(pilot, lambda: "STALLED" in status(app), what="STALLED")
            before = [line.split(",")[:2] for line in metrics.read_text().splitlines()[1:]]
            assert before and before == [["1", str(k)] for k in range(1, len(before) + 1)], before
            await pilot.press("r")
            await wait_for(pilot, lambda: app.snapshot.run_id == 2 and app.snapshot.step == 0, what="a fresh run")
            await pilot.press("n")
            await settled(pilot, app, 1)
            rows = [line.split(",")[:2] for line in metrics.read_text().splitlines()[1:]]
            assert rows == [*before, ["2", "1"]], rows[-3:]
        finally:
            release.set()  # let the abandoned thread finish


async def test_a_slow_step_keeps_the_ui_responsive():
    release = threading.Event()
    app = make_app(paused=False)
    app.engine.trainer.fault_hook = lambda tr: release.wait(0.2)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.step >= 2, what="slow steps")
        await pilot.press("t")
        assert app.show_test
        await pilot.press("space")
        assert not app.running
        await wait_for(pilot, lambda: not app.engine.loop_running)
        assert "STALLED" not in status(app)


async def test_a_run_that_fails_to_build_shows_why(monkeypatch):
    """The training process could not build the run (not bad input, which exits 2): the status
    line says why instead of 'building the run...'."""
    import ffnn_tui.tui.engine.thread as thread_engine

    def broken(cfg, after_runs=False):
        raise RuntimeError("the checkpoint's tensors are unreadable")

    monkeypatch.setattr(thread_engine, "open_trainer", broken)
    app = make_app()
    app.engine = app.new_engine(app.cfg, paused=True)  # builds its run in the thread, through open_trainer
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.engine_failure != "", what="the engine's Exited")
        await pilot.pause()
        text = status(app)
        assert (
            "FAILED" in text
            and "could not build the run: RuntimeError: the checkpoint's tensors are unreadable" in text
        )
        assert app.is_running  # not bad input: the app stays, and r starts over


async def test_a_slow_step_that_sends_heartbeats_is_not_stalled():
    """A healthy step that takes longer than the stall limit (step 1 of a big run) shows RUNNING
    and how long it has taken so far, never STALLED; r then resets it, it is not killed."""
    release = threading.Event()
    app = make_app(paused=False)
    app.stall_after = 1.5  # heartbeats come every HEARTBEAT (1 s)
    app.engine.trainer.fault_hook = at_step(3, lambda tr: release.wait(4.0))
    seen = []
    async with app.run_test(size=SIZE) as pilot:
        try:
            await wait_for(pilot, lambda: "so far" in status(app), what="a heartbeat on the status line")
            while app.engine.loop.busy_since is not None and time.perf_counter() - app.engine.loop.busy_since < 3:
                seen.append(app.state())  # for longer than twice the stall limit
                await pilot.pause(0.05)
            assert re.search(r"step 3: \ds so far", status(app)), status(app)
            assert "STALLED" not in seen and "RUNNING" in status(app)
            engine = app.engine
            await pilot.press("r")
            assert app.engine is engine  # a reset, not a fresh process
        finally:
            release.set()
        await wait_for(pilot, lambda: app.snapshot.step > 3, what="steps after the slow one")
