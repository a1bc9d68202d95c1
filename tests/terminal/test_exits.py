"""How the dashboard ends when the training process cannot do its part, in a real terminal (tmux):
bad input found by the training process, and quitting while a step is slow or the process is stopped."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.terminal

CLEAN = {"alternate": "0", "mouse": "0", "cursor": "1"}


def test_a_csv_with_a_bad_row_exits_2_with_one_line_after_restoring_the_terminal(terminal, tmp_path):
    """The CSV exists, so the flags pass; the training process finds the bad row (it reads the
    file once) and the app ends with the reason, as headless does."""
    bad = tmp_path / "bad.csv"
    bad.write_text("x1,x2,label\n0.1,0.2,0\n0.3,abc,1\n")
    t = terminal("--data", str(bad))
    assert t.wait_exit() == 2
    assert t.terminal_state() == CLEAN
    assert t.lines() == [f"ffnn-tui: error: {bad}:3: x1,x2 must be numbers, got '0.3','abc'"]
