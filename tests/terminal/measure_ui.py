"""Measure the dashboard from outside, in a real terminal (tmux): startup to first frame, key-press
latency while training flat out, and CPU while paused. Prints numbers; asserts nothing.

    python tests/terminal/measure_ui.py [--presses 21] [--throughput [--problems tutorial,10k,1m] [--rounds 3]]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.terminal.tmux import Terminal  # noqa: E402


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and its children that are alive (from /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def children(pid: int) -> list[int]:
    out = os.popen(f"pgrep -P {pid}").read().split()
    return [int(p) for p in out]


def headless_rate(extra: list[str], short: int, long: int, steps_per_epoch: int = 1) -> float:
    """Steps/s of `ffnn-tui --headless` timed from outside: two runs of `short` and `long` epochs,
    startup cancels out."""
    import subprocess

    exe = str(Path(sys.executable).parent / "ffnn-tui")
    walls = []
    for epochs in (short, long):
        t = time.monotonic()
        subprocess.run([exe, "--headless", "--epochs", str(epochs), *extra], capture_output=True, check=True)
        walls.append(time.monotonic() - t)
    return (long - short) * steps_per_epoch / (walls[1] - walls[0])


def dashboard_rate(extra: list[str], tmp: Path, seconds: float = 10.0) -> float:
    """Steps/s of the dashboard read off its own screen in tmux, between two fresh redraws about
    `seconds` apart: each end is the moment the step counter on the screen changed (polled)."""
    import re

    term = Terminal(extra, tmp)
    term.wait_for("steps/s")
    time.sleep(2)  # past the warm-up
    step = lambda: int(re.search(r"step (\d+) ", term.screen()).group(1))

    def fresh() -> tuple[int, float]:
        """The next step the screen shows, and when it appeared."""
        old = step()
        while (new := step()) == old:
            pass
        return new, time.monotonic()

    s0, t0 = fresh()
    time.sleep(seconds)
    s1, t1 = fresh()
    term.keys("q")
    term.wait_exit()
    term.close()
    return (s1 - s0) / (t1 - t0)


PROBLEMS = {
    "tutorial": ("tutorial 2-8-2", [], 50_000, 350_000, 1),
    "10k": ("10k 2-64-2", ["--samples", "10000", "--hidden", "64"], 500, 5500, 1),
    "1m": (
        "1M 2-256-256-2, batch 4096",
        ["--samples", "1000000", "--hidden", "256,256", "--batch-size", "4096"],
        1,
        5,
        245,
    ),
}
"""name, flags, the epochs of the short and the long headless run (their difference is timed),
and the steps of an epoch (1,000,000 / 4096 rounded up: 245)."""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presses", type=int, default=21)
    ap.add_argument("--throughput", action="store_true", help="also time headless vs dashboard from outside")
    ap.add_argument("--problems", default="tutorial,10k,1m", help="for --throughput: tutorial, 10k, 1m")
    ap.add_argument("--rounds", type=int, default=3, help="for --throughput: headless and dashboard, alternated")
    a = ap.parse_args()
    if a.throughput:
        for key, (name, extra, short, long, per_epoch) in PROBLEMS.items():
            if key not in a.problems.split(","):
                continue
            extra = [*extra, "--test-fraction", "0"]
            ratios = []
            for _ in range(a.rounds):  # alternated: the machine's speed moves between minutes
                h = headless_rate(extra, short, long, per_epoch)
                d = dashboard_rate(extra, Path(tempfile.mkdtemp()))
                ratios.append(d / h)
                print(
                    f"{name}: headless {h:,.0f} steps/s, dashboard {d:,.0f} steps/s (from its screen), ratio {d / h:.2f}"
                )
            print(f"{name}: median ratio {statistics.median(ratios):.2f} over {a.rounds} alternated rounds", flush=True)
    tmp = Path(tempfile.mkdtemp())
    t0 = time.monotonic()
    term = Terminal(["--paused"], tmp)
    term.wait_for("step 0 ")
    startup = time.monotonic() - t0
    pid = term.program_pid()
    procs = [pid, *children(pid)]
    c0, w0 = sum(cpu_seconds(p) for p in procs), time.monotonic()
    time.sleep(10)
    paused_cpu = (sum(cpu_seconds(p) for p in procs) - c0) / (time.monotonic() - w0)
    term.keys("space")
    term.wait_for("steps/s")
    latencies = []
    for i in range(a.presses):
        want = "╭─ log loss" if i % 2 == 0 else "╭─ loss"  # the loss pane's title, log scale or not
        start = time.monotonic()
        term.keys("l")
        while want not in term.screen():
            if time.monotonic() - start > 10:
                raise SystemExit(f"measure_ui: {want!r} never appeared after l; screen:\n{term.screen()}")
        latencies.append(time.monotonic() - start)
        time.sleep(0.3)
    term.keys("q")
    term.wait_exit()
    term.close()
    print(f"startup to first frame: {startup:.2f} s (tmux, torch import included)")
    print(f"paused: {100 * paused_cpu:.2f} % of one core (UI and training processes together, 10 s)")
    print(
        f"key to screen while training: median {1000 * statistics.median(latencies):.0f} ms, "
        f"max {1000 * max(latencies):.0f} ms over {len(latencies)} presses of l (capture-pane polling included)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
