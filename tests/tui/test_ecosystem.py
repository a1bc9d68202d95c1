"""Fitting the ecosystem: no terminal, plain terminals, conventions, where files go, exports."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("ffnn-tui", path=str(Path(sys.executable).parent)) or shutil.which("ffnn-tui")
needs_script = pytest.mark.skipif(SCRIPT is None, reason="the ffnn-tui console script is not installed")
NO_TERMINAL = "ffnn-tui: error: the dashboard needs a terminal; use ssh -t, or --headless"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FFNN_TUI_DEBUG", "TEXTUAL_DRIVER")}
    env["TERM"] = "xterm-256color"
    return env


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


# ----- 1. no terminal -----


@needs_script
@pytest.mark.parametrize("redirect", ["stdin from /dev/null", "stdout into a pipe"])
def test_dashboard_without_a_terminal_refuses_in_one_line(tmp_path, redirect):
    """`ffnn-tui < /dev/null` and `ffnn-tui | cat` (the rest a real terminal): one line, exit 2,
    before any training process starts."""
    master, slave = pty.openpty()
    stdin = subprocess.DEVNULL if redirect.startswith("stdin") else slave
    stdout = subprocess.PIPE if redirect.startswith("stdout") else slave
    p = subprocess.Popen([SCRIPT, "--device", "cpu"], stdin=stdin, stdout=stdout, stderr=slave, cwd=tmp_path,
                         env=_env())
    os.close(slave)
    try:
        code = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    text = _read_all(master)
    os.close(master)
    if p.stdout:
        text += p.stdout.read().decode()
    assert code == 2, text
    assert [line for line in text.replace("\r", "").splitlines() if line] == [NO_TERMINAL]


@needs_script
def test_python_m_and_a_pipe_refuse_too(tmp_path):
    p = subprocess.run(f"{sys.executable} -m ffnn_tui < /dev/null | cat", shell=True, capture_output=True, text=True,
                       cwd=tmp_path, env=_env(), timeout=60)
    assert p.stderr.splitlines() == [NO_TERMINAL]
