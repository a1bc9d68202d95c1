"""The real set-up under Pilot: training in a child process (tui/engine/process.py), relayed to the app."""

from __future__ import annotations

import os
import signal

from ffnn_tui.tui.app import FfnnApp
from ffnn_tui.tui.cli import run_config

from .conftest import wait_for


async def test_the_training_process_steps_resets_and_stops(tmp_path):
    ckpt = tmp_path / "proc.pt"
    app = FfnnApp(run_config(["--paused", "--save", str(ckpt)]), show_rate=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(
            pilot,
            lambda: app.snapshot is not None and app.snapshot.grid is not None,
            timeout=30,
            what="the first snapshot from the training process",
        )
        await pilot.press("n", "n")
        await wait_for(pilot, lambda: app.snapshot.step == 2, what="two steps")
        await pilot.press("space")
        await wait_for(pilot, lambda: app.snapshot.step > 100, what="running")
        await pilot.press("space")  # paused, so the reset's step-0 snapshot is the last one (a queued
        await wait_for(pilot, lambda: app.snapshot.state == "PAUSED", what="paused")  # one gives way to a newer)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot.step == 0 and app.snapshot.run_id == 2, what="reset")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    assert app.return_code == 0
    assert ckpt.exists()  # the training process saved on the way out


async def test_quitting_after_the_training_process_was_killed_says_the_checkpoint_was_not_saved(tmp_path):
    """kill -9 (or the OOM killer) on the training process, then q: it exited 0 with no checkpoint
    and not a word; the contract is a checkpoint of the last completed step, or one line saying why not."""
    ckpt = tmp_path / "proc.pt"
    app = FfnnApp(run_config(["--paused", "--save", str(ckpt)]), show_rate=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None, timeout=30, what="the first snapshot")
        os.kill(app.engine.proc.pid, signal.SIGKILL)
        await wait_for(pilot, lambda: app.engine_failure, what="FAILED")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    assert not ckpt.exists()
    assert app.farewell == (
        f"ffnn-tui: could not save {ckpt}: the training process was killed (signal 9), "
        "and its last completed step was not at hand"
    )
