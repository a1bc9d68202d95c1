"""After the training process is killed and `r` starts a fresh one, the boundary pane follows the
new run: it shows the step-0 picture at once and changes again while training (a new engine is
told the pane's size before anything else)."""

from __future__ import annotations

import os
import signal
import time

from .test_signals_and_resize import _trainer_pid

ARGS = ("--dataset", "xor", "--hidden", "16", "--lr", "0.5")


def boundary(screen: str) -> str:
    """The decision-boundary pane's cells (the right-hand pane at 120x36)."""
    rows = screen.splitlines()[3:25]
    return "\n".join(r[61:119] for r in rows)


def wait_change(t, old: str, timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = boundary(t.screen())
        if now != old:
            return now
        time.sleep(0.1)
    raise AssertionError(f"the boundary pane never changed from:\n{old}")


def drawn(t, timeout: float = 20.0) -> str:
    """The boundary pane once a picture is on the screen and has stayed for a second (the first
    one may be drawn at the pane's size before the layout settled)."""
    deadline = time.monotonic() + timeout
    last, since = None, time.monotonic()
    while True:
        now = boundary(t.screen())
        if now != last:
            last, since = now, time.monotonic()
        elif "waiting for the first snapshot" not in now and now.strip() and time.monotonic() - since >= 1.0:
            return now
        assert time.monotonic() < deadline, "the boundary pane was never drawn"
        time.sleep(0.1)


def test_after_kill_9_and_r_the_boundary_shows_the_new_run(terminal):
    fresh = terminal("--paused", *ARGS)
    fresh.wait_for("step 0 ")
    step0 = drawn(fresh)
    fresh.keys("q")
    assert fresh.wait_exit() == 0
    fresh.status.unlink()  # the next terminal writes its own exit status there

    t = terminal(*ARGS)
    t.wait_for("steps/s")
    trained = wait_change(t, step0)  # it has learned something: not the step-0 picture any more
    os.kill(_trainer_pid(t.program_pid()), signal.SIGKILL)
    t.wait_for("FAILED")
    t.keys("r")
    t.wait_for("step 0 ")
    deadline = time.monotonic() + 10
    while boundary(t.screen()) != step0:  # the new run's first picture replaces the stale one
        assert time.monotonic() < deadline, f"still the stale picture:\n{boundary(t.screen())}\nnot\n{step0}"
        time.sleep(0.1)
    assert step0 != trained
    t.keys("space")
    wait_change(t, step0)  # and it follows the new run while it trains
    t.keys("q")
    assert t.wait_exit() == 0
