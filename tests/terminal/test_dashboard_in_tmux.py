"""The installed ffnn-tui in a real terminal: pause, step, run, reset, quit, and a clean terminal after."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.terminal

CLEAN = {"alternate": "0", "mouse": "0", "cursor": "1"}


def test_pause_step_run_reset_quit(terminal):
    t = terminal("--paused")
    t.wait_for("PAUSED")
    t.wait_for("step 0 ")
    t.keys("n")
    t.wait_for("step 1 ")
    t.keys("n")
    t.wait_for("step 2 ")
    t.keys("space")
    t.wait_for("RUNNING")
    t.wait_for("steps/s")
    t.keys("space")
    screen = t.wait_for("PAUSED")
    steps = int(re.search(r"step (\d+) ", screen).group(1))
    assert steps > 2
    t.keys("r")
    t.wait_for("step 0 ")
    for pane in ("loss", "decision boundary", "shapes", "W1", "(2, 8)"):
        assert pane in t.screen()
    t.keys("q")
    assert t.wait_exit() == 0
    assert t.terminal_state() == CLEAN
