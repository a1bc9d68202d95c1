"""Signals, resizing and colour modes in a real terminal (tmux), against the installed ffnn-tui."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from .tmux import ffnn_tui_command

pytestmark = pytest.mark.terminal

CLEAN = {"alternate": "0", "mouse": "0", "cursor": "1"}


@pytest.mark.parametrize(
    "name,sig",
    [
        ("TERM", signal.SIGTERM),
        ("HUP", signal.SIGHUP),
        ("INT", signal.SIGINT),
        ("QUIT", signal.SIGQUIT),
        ("USR1", signal.SIGUSR1),
        ("USR2", signal.SIGUSR2),
        ("ALRM", signal.SIGALRM),
    ],
)
def test_signal_saves_a_loadable_checkpoint_and_restores_the_terminal(terminal, tmp_path, name, sig):
    ckpt = tmp_path / f"run-{name}.pt"
    t = terminal("--save", str(ckpt))
    t.wait_for("RUNNING")
    t.wait_for("steps/s")
    t.kill(sig)
    assert t.wait_exit() == 128 + sig
    assert t.terminal_state() == CLEAN
    saved = torch.load(ckpt, weights_only=True)
    assert saved["format"] == "ffnn-tui/1" and saved["step"] > 0


def test_a_second_signal_while_shutting_down_still_restores_the_terminal(terminal, tmp_path):
    """Two SIGTERMs 50 ms apart (a process manager, then the user): the second ends the process at
    once, as meant, but it left the alternate screen and the mouse on and the cursor hidden (the
    fourth adversarial pass). The checkpoint is there when the process has ended: the second signal
    gives the training process a second to stop and save (it needs milliseconds), then ends it."""
    ckpt = tmp_path / "run.pt"
    t = terminal("--save", str(ckpt))
    t.wait_for("steps/s")
    pid = t.program_pid()
    os.kill(pid, signal.SIGTERM)
    time.sleep(0.05)  # the first one's shutdown has begun
    os.kill(pid, signal.SIGTERM)
    assert t.wait_exit() == 128 + signal.SIGTERM
    assert t.terminal_state() == CLEAN
    assert torch.load(ckpt, weights_only=True)["step"] > 0


def _caught(pid: int, sig: int) -> bool:
    """The process has a handler for sig (its SigCgt mask in /proc)."""
    try:
        status = open(f"/proc/{pid}/status").read()
    except FileNotFoundError:
        return False
    mask = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), 16)
    return bool(mask >> (sig - 1) & 1)


def test_a_signal_while_the_dashboard_starts_saves_step_0(terminal, tmp_path):
    """A TERM in the seconds before the first frame (torch and Textual loading): the flag main()
    installs first holds it, and the app handles it once its engine runs, as headless does. It
    used to end the process with no checkpoint and no word (the fourth adversarial pass)."""
    ckpt = tmp_path / "early.pt"
    t = terminal("--save", str(ckpt))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the program has started and catches TERM: send it at once
        try:
            pid = t.program_pid()
        except (IndexError, ValueError):
            continue
        if _caught(pid, signal.SIGTERM):
            break
    assert "steps/s" not in t.screen()  # still starting
    os.kill(pid, signal.SIGTERM)
    assert t.wait_exit() == 128 + signal.SIGTERM
    assert t.terminal_state() == CLEAN
    assert torch.load(ckpt, weights_only=True)["step"] == 0


def test_resizing_while_training_never_crashes(terminal):
    t = terminal("--hidden", "16,16", "--dataset", "moons", size=(160, 50))
    t.wait_for("RUNNING")
    for cols, rows in [(120, 36), (80, 24), (60, 16), (40, 12), (30, 8), (40, 12), (100, 30), (160, 50)]:
        t.resize(cols, rows)
        time.sleep(0.15)  # let a few redraws happen at this size (there is no condition to wait on)
        assert t.exit_code() is None, f"exited at {cols}x{rows}:\n{t.screen()}"
    t.resize(36, 10)
    t.wait_for("too small")
    t.resize(160, 50)
    t.wait_for("decision boundary")
    t.wait_for("shapes")
    t.keys("q")
    assert t.wait_exit() == 0
    assert t.terminal_state() == CLEAN


@pytest.mark.parametrize("env", [{"NO_COLOR": "1"}, {"TEXTUAL_COLOR_SYSTEM": "standard"}])
def test_colour_modes_stay_readable(terminal, env):
    t = terminal("--paused", "--samples", "200", env=env)
    t.wait_for("PAUSED")
    t.keys("n")
    screen = t.wait_for("step 1 ")
    assert "2-8-2 relu" in screen and "W1" in screen and "(2, 8)" in screen
    boundary = screen.split("decision boundary", 1)[1]
    assert "o" in boundary and "x" in boundary  # class glyphs, not colour, tell the classes apart
    assert any(g in boundary for g in ".:") and any(g in boundary for g in "-=")
    t.keys("q")
    assert t.wait_exit() == 0


def test_headless_sigterm_saves_and_exits_143(tmp_path):
    exe = ffnn_tui_command()
    if exe is None:
        pytest.skip("ffnn-tui is not installed")
    ckpt = tmp_path / "headless.pt"
    proc = subprocess.Popen(
        [exe, "--headless", "--save", str(ckpt)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    line = proc.stderr.readline()  # the first progress line: it is training
    assert line.startswith("step "), line
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 143
    assert "stopped by signal SIGTERM" in err and "Traceback" not in err
    assert "reproduce: ffnn-tui" in out
    assert torch.load(ckpt, weights_only=True)["step"] > 0


def test_kill_9_during_saves_leaves_a_whole_checkpoint(tmp_path):
    """A process saving a 16 MB checkpoint over and over is killed at random moments: the file on
    disk always loads (the old or the new version, never a torn one)."""
    path = tmp_path / "big.pt"
    script = (
        "import sys, torch\n"
        "from ffnn_tui.core.checkpoint import save_atomic\n"
        "i = 0\n"
        "while True:\n"
        "    save_atomic({'format': 'ffnn-tui/1', 'i': i, 'big': torch.full((4_000_000,), float(i))}, sys.argv[1])\n"
        "    i += 1\n"
        "    print(i, flush=True)\n"
    )
    for delay in (0.05, 0.13, 0.21, 0.34, 0.5):
        proc = subprocess.Popen([sys.executable, "-c", script, str(path)], stdout=subprocess.PIPE, text=True)
        proc.stdout.readline()  # one save has completed
        time.sleep(delay)  # kill at an arbitrary moment, most likely in the middle of a write
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        saved = torch.load(path, weights_only=True)
        assert bool((saved["big"] == float(saved["i"])).all())
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "big.pt"]
    assert all(name.endswith(".tmp") for name in leftovers)  # only temp files of the killed writes


def _trainer_pid(app_pid: int) -> int:
    """The training process: the app's child started by multiprocessing's spawn."""
    for pid in subprocess.run(["pgrep", "-P", str(app_pid)], capture_output=True, text=True).stdout.split():
        cmdline = open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace")
        if "spawn_main" in cmdline:
            return int(pid)
    raise AssertionError("no training process found")


def test_a_killed_training_process_shows_failed_and_r_starts_over(terminal):
    t = terminal()
    t.wait_for("RUNNING")
    t.wait_for("steps/s")
    os.kill(_trainer_pid(t.program_pid()), signal.SIGKILL)
    screen = t.wait_for("FAILED")
    assert "training process ended unexpectedly" in screen
    t.keys("r")
    t.wait_for("PAUSED")
    t.wait_for("step 0 ")
    t.keys("n")
    t.wait_for("step 1 ")
    t.keys("q")
    assert t.wait_exit() == 0
    assert t.terminal_state() == CLEAN


def _gone(pid: int) -> bool:
    """The process has ended (a zombie nobody reaps counts as ended)."""
    try:
        return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_a_terminal_that_goes_away_ends_the_dashboard_with_its_checkpoint(terminal, tmp_path):
    """An SSH link that drops, a closed tmux session: the terminal is gone (SIGHUP, and nothing reads
    the screen any more). The run is saved and the process ends within seconds, not minutes."""
    ckpt = tmp_path / "gone.pt"
    t = terminal("--speed", "10", "--save", str(ckpt))
    t.wait_for("RUNNING")
    pid = t.program_pid()
    t.close()  # kill-server: the session, its pane and the terminal go
    deadline = time.monotonic() + 8.0  # the engine's save, then at most FORCE_EXIT_AFTER for the terminal
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _gone(pid), "the dashboard outlived its terminal"
    saved = torch.load(ckpt, weights_only=True)
    assert saved["format"] == "ffnn-tui/1"


@pytest.mark.skipif(shutil.which("setsid") is None, reason="needs setsid (util-linux)")
def test_a_terminal_that_goes_away_without_a_sighup_ends_the_dashboard_with_its_checkpoint(terminal, tmp_path):
    """`setsid -w ffnn-tui`: the terminal is not the dashboard's controlling terminal, so when it
    goes the kernel sends no SIGHUP. The dashboard ran on for ever, a core spinning on the hung-up
    terminal, and wrote no checkpoint; it now notices within a second and ends as SIGHUP ends it."""
    ckpt = tmp_path / "gone.pt"
    t = terminal("--speed", "10", "--save", str(ckpt), prefix=("setsid", "-w"))
    t.wait_for("RUNNING")
    pid = t.program_pid()
    t.close()
    deadline = time.monotonic() + 10.0  # the check (1 s), the engine's save, FORCE_EXIT_AFTER
    while not _gone(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    gone = _gone(pid)
    if not gone:
        os.kill(pid, signal.SIGTERM)  # leave no runaway behind
    assert gone, "the dashboard outlived its terminal"
    saved = torch.load(ckpt, weights_only=True)
    assert saved["format"] == "ffnn-tui/1"
