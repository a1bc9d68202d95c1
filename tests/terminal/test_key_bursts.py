"""Keys that reach the program in one write (a paste, a laggy SSH link), in a real terminal."""

from __future__ import annotations

import time

import pytest

pytestmark = pytest.mark.terminal

CLEAN = {"alternate": "0", "mouse": "0", "cursor": "1"}


def test_two_keys_in_one_write_close_the_help_screen_once(terminal):
    t = terminal("--paused")
    t.wait_for("PAUSED")
    t.keys("?")
    t.wait_for("Reproduce this run")
    t.burst("l", "l")
    deadline = time.monotonic() + 10
    while "Reproduce this run" in t.screen() and t.exit_code() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "Reproduce this run" not in t.screen(), t.screen()
    t.keys("n")
    t.wait_for("step 1 ")  # still alive and answering
    assert t.exit_code() is None
    t.keys("q")
    assert t.wait_exit() == 0
    assert t.terminal_state() == CLEAN
