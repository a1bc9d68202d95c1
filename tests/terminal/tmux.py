"""Run the installed `ffnn-tui` in a real terminal (a detached tmux), type keys, read the screen."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path


def ffnn_tui_command() -> str | None:
    """The console script of the environment running the tests (or on PATH)."""
    beside = Path(sys.executable).parent / "ffnn-tui"
    return str(beside) if beside.exists() else shutil.which("ffnn-tui")


class Terminal:
    """One tmux server per test; the program's exit status lands in a file when it ends."""

    def __init__(self, args: list[str], tmp: Path, size=(120, 36), env: dict | None = None, prefix: tuple = ()):
        self.socket = "ffnn-test-" + uuid.uuid4().hex[:8]
        self.status = tmp / "exit-status"
        cmd = shlex.join([*prefix, ffnn_tui_command(), *args])  # prefix: e.g. setsid -w
        exports = " ".join(f"{k}={shlex.quote(v)}" for k, v in (env or {}).items())
        wrapped = f"cd {shlex.quote(str(tmp))}; {exports} {cmd}; echo $? > {shlex.quote(str(self.status))}; sleep 600"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(size[0]), "-y", str(size[1]), "sh", "-c", wrapped)

    def tmux(self, *args: str) -> str:
        # COLUMNS/LINES (set by some test harnesses) would override the real terminal's size
        env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "TMUX")}
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10, env=env
        ).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def lines(self) -> list[str]:
        """The screen's non-blank lines, each line the terminal wrapped joined back into one."""
        return [line for line in self.tmux("capture-pane", "-p", "-J").splitlines() if line.strip()]

    def keys(self, *keys: str) -> None:
        for k in keys:
            self.tmux("send-keys", k)

    def burst(self, *keys: str) -> None:
        """Several keys in one send-keys: they reach the program in one write, as a paste does."""
        self.tmux("send-keys", *keys)

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """Poll the screen until text appears (or the program ends)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            if self.exit_code() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"{text!r} never appeared; screen was:\n{self.screen()}\nexit: {self.exit_code()}")

    def exit_code(self) -> int | None:
        if self.status.exists() and self.status.read_text().strip():
            return int(self.status.read_text())
        return None

    def wait_exit(self, timeout: float = 20.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.exit_code()
            if code is not None:
                return code
            time.sleep(0.05)
        raise AssertionError(f"the program did not exit; screen:\n{self.screen()}")

    def program_pid(self) -> int:
        """The ffnn-tui process (the child of the pane's shell)."""
        shell = self.tmux("display", "-p", "#{pane_pid}").strip()
        out = subprocess.run(["pgrep", "-P", shell], capture_output=True, text=True).stdout.split()
        return int(out[0])

    def kill(self, sig: int) -> None:
        os.kill(self.program_pid(), sig)

    def resize(self, cols: int, rows: int) -> None:
        self.tmux("resize-window", "-x", str(cols), "-y", str(rows))

    def terminal_state(self) -> dict[str, str]:
        """alternate screen, mouse tracking and cursor visibility: a clean exit is 0, 0, 1."""
        flags = self.tmux("display", "-p", "#{alternate_on} #{mouse_any_flag} #{cursor_flag}").split()
        return dict(zip(("alternate", "mouse", "cursor"), flags))

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


SIGNALS = {"TERM": signal.SIGTERM, "HUP": signal.SIGHUP, "INT": signal.SIGINT}
