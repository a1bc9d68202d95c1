"""Random key sequences (hypothesis), reset/quit races and presses during a divergence included.

Invariants after every key: the step counter only grows, except on a reset (r, R, d); while
paused no step is taken; nothing raises (the app keeps running, the worker keeps answering).
Bursts of keys written to a real terminal at once (tmux) keep the app alive and quittable.
"""

from __future__ import annotations

import asyncio
import shutil
import time
import uuid

import pytest
from hypothesis import HealthCheck, example, given, settings, strategies as st

from ffnn_tui.tui.widgets.help import HelpScreen

from ..terminal.tmux import Terminal, ffnn_tui_command
from .conftest import make_app, wait_for

KEYS = [
    "space",
    "n",
    "n",
    "n",
    "r",
    "R",
    "plus",
    "plus",
    "plus",
    "minus",
    "a",
    "d",
    "g",
    "l",
    "t",
    "c",
    "question_mark",
    "escape",
    "left_square_bracket",
    "right_square_bracket",
    "shift+left",
]
RESETS = {"r", "R", "d"}


async def drive(keys: list[str], tmp) -> None:
    app = make_app("--save", str(tmp / "fuzz.pt"), "--lr", "2")  # a few + and it diverges
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None)
        last = app.engine.trainer.step_count
        for key in keys:
            modal = isinstance(app.screen, HelpScreen)
            await pilot.press(key)
            await wait_for(pilot, lambda: app.engine.pending == 0, what=f"the worker to apply {key}")
            steps = app.engine.trainer.step_count
            if key in RESETS and not modal:
                last = 0
            assert steps >= last, f"step went back from {last} to {steps} on {key}"
            if not app.running:
                await wait_for(pilot, lambda: not app.engine.loop_running, what="the loop to pause")
                before = app.engine.trainer.step_count
                await pilot.pause(0.02)
                assert app.engine.trainer.step_count == before, f"stepped while paused (after {key})"
            last = app.engine.trainer.step_count
            assert app.is_running
        await pilot.press("r", "q")  # a reset racing a quit
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    assert app.return_code == 0


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keys=st.lists(st.sampled_from(KEYS), min_size=1, max_size=20))
def test_random_key_sequences_keep_the_invariants(keys, tmp_path):
    asyncio.run(drive(keys, tmp_path))


TMUX_KEYS = ["space", "n", "n", "r", "+", "a", "l", "t", "g", "d", "?", "?", "Escape"]
"""tmux key names; q is left out (each example quits at its end)."""


ESCAPE_TIME = 0.7
"""Seconds after an Escape before the next key: tmux's escape-time is 500 ms."""


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(bursts=st.lists(st.lists(st.sampled_from(TMUX_KEYS), min_size=2, max_size=6), min_size=1, max_size=3))
@example(bursts=[["space", "?"]])  # the help screen takes the first q, and Escape + q once read as alt+q
def test_bursts_of_keys_in_one_write_through_a_real_terminal(bursts, tmp_path):
    """Each burst is one tmux send-keys, so its keys reach the program in one read, as a paste does."""
    if shutil.which("tmux") is None or ffnn_tui_command() is None:
        pytest.skip("needs tmux and the installed ffnn-tui")
    folder = tmp_path / uuid.uuid4().hex[:8]
    folder.mkdir()
    t = Terminal(["--paused", "--lr", "2"], folder, size=(100, 30))
    try:
        t.wait_for("PAUSED")
        for keys in bursts:
            t.burst(*keys)
            time.sleep(0.2)
            screen = t.screen()
            assert t.exit_code() is None and "Traceback" not in screen, f"{keys} ended it:\n{screen}"
        # A screen the last burst opened (help, options) may appear only after a loaded machine's
        # delay and take the q: press q until the app has ended, closing a screen at a time.
        for _ in range(4):
            t.keys("q")
            try:
                t.wait_exit(timeout=5)
                break
            except AssertionError:
                t.keys("Escape")  # the options screen types q; Escape closes any screen
                time.sleep(ESCAPE_TIME)  # or tmux reads Escape and the next q as alt+q
        assert t.wait_exit() == 0, t.screen()
        assert t.terminal_state() == {"alternate": "0", "mouse": "0", "cursor": "1"}
    finally:
        t.close()
