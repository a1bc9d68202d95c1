"""How the dashboard ends when the training process cannot do its part, in a real terminal (tmux):
bad input found by the training process, and quitting while a step is slow or the process is stopped."""

from __future__ import annotations

import os
import signal
import time

import pytest
import torch

from .test_signals_and_resize import _gone, _trainer_pid

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


def test_a_checkpoint_that_cannot_be_written_at_quit_exits_2_with_one_line(terminal, tmp_path):
    """The --save folder is removed while the dashboard runs: quitting cannot write the checkpoint.
    It ended 0, silently (the training process's note came when the app showed none); now it says
    so after restoring the terminal and exits 2, as headless does."""
    folder = tmp_path / "runs"
    folder.mkdir()
    t = terminal("--paused", "--save", str(folder / "x.pt"))
    t.wait_for("PAUSED")
    folder.rmdir()
    t.keys("q")
    assert t.wait_exit() == 2
    assert t.terminal_state() == CLEAN
    [line] = t.lines()
    assert line.startswith(f"ffnn-tui: error: could not save {folder / 'x.pt'}") and "cannot write it" in line


def test_a_failed_c_then_a_good_save_at_quit_exits_0(terminal, tmp_path):
    """Only the last save's failure decides the exit: a `c` that could not write (the folder was
    gone for a while) is a note of its own, not a failed end."""
    folder = tmp_path / "runs"
    folder.mkdir()
    t = terminal("--paused", "--save", str(folder / "x.pt"))
    t.wait_for("PAUSED")
    folder.rmdir()
    t.keys("c")
    t.wait_for("not written")
    folder.mkdir()
    t.keys("q")
    assert t.wait_exit() == 0
    assert t.lines() == []
    assert torch.load(folder / "x.pt", weights_only=True)["format"] == "ffnn-tui/1"


SLOW = ("--paused", "--samples", "100000", "--hidden", "1024,1024")
"""A run whose every step takes seconds on a 2-core machine (the first one longest)."""


def test_q_while_the_training_process_is_stopped_in_a_slow_step_saves_the_last_completed_step(terminal, tmp_path):
    ckpt = tmp_path / "slow.pt"
    t = terminal(*SLOW, "--save", str(ckpt))
    t.wait_for("PAUSED")
    t.keys("n")
    t.wait_for("s so far")  # a heartbeat: the step is under way and alive
    trainer = _trainer_pid(t.program_pid())
    os.kill(trainer, signal.SIGSTOP)  # frozen mid-step: it can neither finish nor save
    try:
        t.keys("q")
        assert t.wait_exit(30) == 0
    finally:
        os.kill(trainer, signal.SIGCONT) if _alive(trainer) else None
    assert t.terminal_state() == CLEAN
    assert any("saved its last completed step (0) to" in line for line in t.lines()), t.lines()
    saved = torch.load(ckpt, weights_only=True)
    assert saved["format"] == "ffnn-tui/1" and saved["step"] == 0


def test_a_second_signal_in_a_slow_step_ends_the_training_process_with_the_app(terminal, tmp_path):
    """The user insists (a second TERM): the app ends at once, and so does the training process,
    its last completed step saved from the bytes it kept. Its orphan used to finish the step on its
    own, a minute and gigabytes later (the fourth adversarial pass)."""
    ckpt = tmp_path / "slow.pt"
    t = terminal(*SLOW, "--save", str(ckpt))
    t.wait_for("PAUSED")
    t.keys("n")
    t.wait_for("s so far")  # a heartbeat: the step is under way
    app = t.program_pid()
    trainer = _trainer_pid(app)
    os.kill(app, signal.SIGTERM)
    time.sleep(0.05)  # the first one's shutdown has begun
    os.kill(app, signal.SIGTERM)
    assert t.wait_exit(30) == 128 + signal.SIGTERM
    assert t.terminal_state() == CLEAN
    assert _gone(trainer), "the training process outlived the app"
    assert any("saved its last completed step (0) to" in line for line in t.lines()), t.lines()
    assert torch.load(ckpt, weights_only=True)["step"] == 0


def test_q_while_a_fast_run_is_stopped_says_it_could_not_save(terminal, tmp_path):
    ckpt = tmp_path / "fast.pt"
    t = terminal("--save", str(ckpt))
    t.wait_for("steps/s")
    trainer = _trainer_pid(t.program_pid())
    os.kill(trainer, signal.SIGSTOP)
    try:
        t.keys("q")
        assert t.wait_exit(30) == 0
    finally:
        os.kill(trainer, signal.SIGCONT) if _alive(trainer) else None
    assert t.terminal_state() == CLEAN
    assert [line for line in t.lines() if "could not save" in line] == [
        f"ffnn-tui: could not save {ckpt}: the training process did not stop within 5s (stopped or hung), "
        "and its last completed step was not at hand"
    ]
    assert not ckpt.exists()


def test_sigterm_during_a_slow_step_saves_a_loadable_checkpoint(terminal, tmp_path):
    ckpt = tmp_path / "slow.pt"
    t = terminal(*SLOW, "--save", str(ckpt))
    t.wait_for("PAUSED")
    t.keys("n")
    t.wait_for("s so far")
    t.kill(signal.SIGTERM)
    assert t.wait_exit(30) == 143
    assert t.terminal_state() == CLEAN
    assert torch.load(ckpt, weights_only=True)["step"] in (0, 1)  # step 1 if it finished within the stop wait


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
