"""Where the dashboard's time goes, part by part (the profile the Performance issue asks for first).

    python bench/loop_profile.py [--device cpu|cuda] [--problems tutorial,10k] [--seconds 3]
                                 [--ui-hz 1,4,10] [--skip-ui]

(1) The training process's loop (tui/engine/loop.py), run here in one process with each of its
    parts timed: the steps (run.advance), the test-loss measurements, the snapshots (on a GPU split
    into waiting for the queued steps and the snapshot's own work), the rewind frames and pickling
    every event for the pipe; against the run loop alone (as --headless drives it) in the same run.
(2) The real dashboard (Textual's headless driver, training in its child process) at each --ui-hz:
    steps/s and the CPU share of the UI process and of the training process (from /proc).
(3) With --panes: the UI thread's CPU time at 4 Hz, per pane: its `show` (the snapshot into its
    content) and its render_lines (the content into the screen's lines), and the thread as a whole.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import pickle
import sys
import time
from collections import defaultdict
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch

from ffnn_tui.core.run import RunLoop
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.bench import PROBLEMS, _config, engine_headless, isolated
from ffnn_tui.tui.engine.loop import Inbox, TrainingLoop
from ffnn_tui.tui.engine.protocol import Drawn
from ffnn_tui.tui.engine.snapshot import Snapshot

WARM = 1.0
"""Seconds of stepping before the clocks start (CUDA graph capture, caches)."""


class Clocks:
    """Seconds spent in each named part, counted only after the warm-up."""

    def __init__(self) -> None:
        self.spent: defaultdict[str, float] = defaultdict(float)
        self.calls: defaultdict[str, int] = defaultdict(int)
        self.counting = False

    def wrap(self, name: str, fn):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                if self.counting:
                    self.spent[name] += time.perf_counter() - t0
                    self.calls[name] += 1

        return timed


def _waited_for_gpu(clocks: Clocks, make, device: torch.device):
    """The snapshot, with the wait for the steps still queued on the GPU timed apart."""

    def made(*args, **kwargs):
        if device.type == "cuda":
            clocks.wrap("snapshot: wait for queued GPU steps", torch.cuda.synchronize)()
        return make(*args, **kwargs)

    return made


def profile_loop(name: str, device: str, seconds: float, ui_hz: float) -> dict:
    """The training loop with every part timed; returns steps/s, the parts' seconds, pickled bytes."""
    cfg = replace(_config(PROBLEMS[name], device), ui_hz=ui_hz)
    tr = Trainer(cfg)
    clocks, sent = Clocks(), [0]

    inbox = Inbox()

    def emit(event) -> None:
        data = clocks.wrap("pickle events for the pipe", pickle.dumps)(event)
        if clocks.counting:
            sent[0] += len(data)
        if isinstance(event, Snapshot):
            inbox.put(Drawn())  # drawn at once: no UI here to take a core

    loop = TrainingLoop(tr, emit, running=True, ui_hz=ui_hz, heartbeat=0)
    loop.looker.size = (58, 28)  # the boundary pane at 120x36
    looker = loop.looker
    looker.make = clocks.wrap("snapshot", _waited_for_gpu(clocks, looker.make, tr.device))  # type: ignore[method-assign]
    looker.probe = clocks.wrap("snapshot: its probes (when fresh)", looker.probe)  # type: ignore[method-assign]
    looker.measure_test = clocks.wrap("test loss", looker.measure_test)  # type: ignore[method-assign]
    looker.frame = clocks.wrap("rewind frame", looker.frame)  # type: ignore[method-assign]
    RunLoop.advance = clocks.wrap("steps", RunLoop.advance)  # type: ignore[method-assign]
    start = time.perf_counter()
    marks: list[tuple[float, int]] = []

    def cancelled() -> bool:
        now = time.perf_counter()
        if not clocks.counting and now - start >= WARM:
            clocks.counting = True
            marks.append((now, tr.step_count))
        return now - start >= WARM + seconds

    loop.run(inbox, cancelled)
    torch.cuda.synchronize() if tr.device.type == "cuda" else None
    (t0, s0), t1 = marks[0], time.perf_counter()
    return {
        "steps/s": (tr.step_count - s0) / (t1 - t0),
        "wall": t1 - t0,
        "parts": dict(clocks.spent),
        "calls": dict(clocks.calls),
        "bytes/s": sent[0] / (t1 - t0),
    }


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def dashboard_shares(name: str, device: str, seconds: float, ui_hz: float) -> dict:
    """The real dashboard for `seconds`: steps/s, and each process's CPU share (1.0 = one core)."""
    from ffnn_tui.tui.app import FfnnApp

    async def drive() -> dict:
        app = FfnnApp(replace(_config(PROBLEMS[name], device), ui_hz=ui_hz))
        async with app.run_test(size=(120, 36)) as pilot:
            while app.snapshot is None or app.snapshot.step < 20:
                await pilot.pause(0.05)
            await asyncio.sleep(WARM)
            child = app.engine.proc.pid  # type: ignore[attr-defined]
            s0, t0 = app.snapshot.step, app.snapshot_arrived
            ui0, tr0 = _cpu_seconds(os.getpid()), _cpu_seconds(child)
            await asyncio.sleep(seconds)
            mark = app.snapshot_arrived
            while app.snapshot_arrived == mark:
                await pilot.pause(0.001)
            wall = app.snapshot_arrived - t0
            out = {
                "steps/s": (app.snapshot.step - s0) / wall,
                "ui cpu": (_cpu_seconds(os.getpid()) - ui0) / wall,
                "trainer cpu": (_cpu_seconds(child) - tr0) / wall,
            }
            await app.shutdown(0)
        return out

    return asyncio.run(drive())


def pane_costs(name: str, device: str, seconds: float) -> dict[str, float]:
    """The UI thread's CPU time (time.thread_time: other processes' load does not count) while
    the dashboard trains at 4 Hz, in ms per second of wall time: each pane's `show` (the snapshot
    into its content) and its render_lines (content into the screen's lines, by the compositor),
    and the UI thread as a whole."""
    from textual.widget import Widget

    from ffnn_tui.tui.app import FfnnApp

    spent: defaultdict[str, float] = defaultdict(float)
    counting = [False]

    def timed(key_of, fn):
        def wrapper(self, *args, **kwargs):
            t0 = time.thread_time()
            try:
                return fn(self, *args, **kwargs)
            finally:
                if counting[0]:
                    spent[key_of(self)] += time.thread_time() - t0

        return wrapper

    Widget.render_lines = timed(lambda w: f"{type(w).__name__}: render", Widget.render_lines)  # type: ignore[method-assign]
    for cls in _pane_classes():
        cls.show = timed(lambda w: f"{type(w).__name__}: show", cls.show)

    async def drive() -> tuple[float, float]:
        app = FfnnApp(replace(_config(PROBLEMS[name], device), ui_hz=4.0))
        async with app.run_test(size=(120, 36)) as pilot:
            while app.snapshot is None or app.snapshot.step < 20:
                await pilot.pause(0.05)
            await asyncio.sleep(WARM)
            counting[0], t0, cpu0 = True, time.perf_counter(), time.thread_time()
            await asyncio.sleep(seconds)
            counting[0] = False
            wall, cpu = time.perf_counter() - t0, time.thread_time() - cpu0
            await app.shutdown(0)
        return wall, cpu

    wall, cpu = asyncio.run(drive())
    costs = {k: 1e3 * v / wall for k, v in spent.items() if not k.startswith(("Panes", "Screen", "Footer"))}
    costs["the UI thread as a whole"] = 1e3 * cpu / wall
    return costs


def _pane_classes() -> list[type]:
    """The widgets of tui/widgets that show a snapshot (each has its own show())."""
    import importlib
    import pkgutil

    from ffnn_tui.tui import widgets

    found = []
    for info in pkgutil.iter_modules(widgets.__path__):
        module = importlib.import_module(f"{widgets.__name__}.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type) and obj.__module__ == module.__name__ and "show" in vars(obj):
                found.append(obj)
    return found


def report_loop(name: str, r: dict, headless: float) -> None:
    print(
        f"\n{name}: training loop {r['steps/s']:,.0f} steps/s, headless {headless:,.0f} ({r['steps/s'] / headless:.2f})"
    )
    for part, spent in sorted(r["parts"].items(), key=lambda kv: -kv[1]):
        calls = r["calls"][part]
        print(
            f"  {part:<40} {100 * spent / r['wall']:5.1f} % of wall  {calls:7d} calls  {1e3 * spent / calls:8.3f} ms each"
        )
    print(f"  {'events pickled for the pipe':<40} {r['bytes/s'] / 1e3:8.1f} KB/s")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--problems", default="tutorial,10k")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--ui-hz", default="1,4,10")
    ap.add_argument("--skip-ui", action="store_true", help="only part (1)")
    ap.add_argument("--panes", action="store_true", help="also part (3): each pane's cost in the UI process")
    a = ap.parse_args()
    rates = [float(x) for x in a.ui_hz.split(",")]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {a.device}")
    for name in a.problems.split(","):
        headless = isolated(engine_headless, PROBLEMS[name], a.device, a.seconds)
        report_loop(name, isolated(profile_loop, name, a.device, a.seconds, 4.0), headless)
        if a.panes:
            costs = isolated(pane_costs, name, a.device, a.seconds)
            print("  the UI thread at 4 Hz, ms of its CPU time per second:")
            for key, ms in sorted(costs.items(), key=lambda kv: -kv[1]):
                print(f"    {key:<50} {ms:7.1f}")
        if a.skip_ui:
            continue
        for hz in rates:
            s = isolated(dashboard_shares, name, a.device, a.seconds, hz)
            print(
                f"  dashboard --ui-hz {hz:g}: {s['steps/s']:,.0f} steps/s ({s['steps/s'] / headless:.2f} of headless);"
                f" CPU share: UI process {s['ui cpu']:.2f}, training process {s['trainer cpu']:.2f} (1.00 = one core)"
            )


if __name__ == "__main__":
    main()
