"""`ffnn-tui bench`: steps/s of (a) the tutorial's loop, (b) the engine headless and (c) the engine
inside the dashboard, on this machine and device, side by side in one run, with the ratios.

    ffnn-tui bench [--seconds S] [--repeat R] [--problems tutorial,10k,1m] [--device DEV] [--json FILE]
                   [--features F,...] [--hidden W,...] [--l1 F]

--features, --hidden and --l1 change every problem, for (a), (b) and (c) alike: the tutorial's
loop then feeds the same features and adds the same penalty to its loss.
"""

from __future__ import annotations

import asyncio
import json
import math
import platform
import sys
import time
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from ..core.config import MAX_PENALTY, PENALTY_RANGE, ConfigError, RunConfig
from ..core.device import DeviceError, resolve_device, sync
from ..core.errors import InputError, clip, one_line
from ..core.features import DEFAULT_FEATURES, featurize
from ..core.files import check_output
from ..core.run import RunLoop
from ..core.trainer import Trainer
from .flags import OneLineParser, _features_arg, _hidden_arg, _number


@dataclass(frozen=True)
class Problem:
    name: str
    samples: int
    hidden: tuple[int, ...]
    batch: int  # 0 = full batch
    features: tuple[str, ...] = DEFAULT_FEATURES
    l1: float = 0.0

    def label(self) -> str:
        """The name, or for a problem changed by --features/--hidden/--l1 what it now is."""
        if self.features == DEFAULT_FEATURES and self.l1 == 0.0 and self.hidden == PROBLEMS_HIDDEN.get(self.name):
            return self.name
        arch = "-".join(map(str, [len(self.features), *self.hidden, 2]))
        batch = f"batch {self.batch}" if self.batch else "full batch"
        l1 = f", l1 {self.l1:g}" if self.l1 else ""
        return f"{self.samples:,} pts, {arch}, {batch}{l1}"


PROBLEMS = {
    "tutorial": Problem("tutorial: 80 pts, 2-8-2, full batch", 80, (8,), 0),
    "10k": Problem("10,000 pts, 2-64-2, full batch", 10_000, (64,), 0),
    "1m": Problem("1,000,000 pts, 2-256-256-2, batch 4096", 1_000_000, (256, 256), 4096),
    "2m": Problem("2,000,000 pts, 2-256-2, full batch (GPU)", 2_000_000, (256,), 0),
}


PROBLEMS_HIDDEN = {p.name: p.hidden for p in PROBLEMS.values()}
"""Each problem's own widths, to tell a changed problem from the original."""


def tutorial_loop(p: Problem, device: torch.device, seconds: float) -> float:
    """The tutorial's Demo 4 loop as written (autograd, F.cross_entropy, four updates, zero_, .item()),
    sized to the problem; with a batch size it runs on consecutive slices of a shuffled copy. With
    features, X is the points' features; with l1, the penalty is added to the loss."""
    g = torch.Generator().manual_seed(0)
    points = torch.randn(p.samples, 2, generator=g).to(device)  # (N, 2)
    y_data = ((points[:, 0] + points[:, 1]) > 0).long()  # (N,)
    X_data = featurize(points, p.features)  # (N, F)
    sizes = [X_data.shape[1], *p.hidden, 2]
    params = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        params += [
            torch.randn(fan_in, fan_out, generator=g).to(device).requires_grad_(True),
            torch.zeros(fan_out, device=device, requires_grad=True),
        ]

    def forward(X):
        a = X
        for k in range(0, len(params) - 2, 2):
            a = torch.clamp(a @ params[k] + params[k + 1], min=0.0)
        return a @ params[-2] + params[-1]

    lr, losses = 0.07, []
    B = p.batch or p.samples
    steps, start = 0, 0.0
    deadline: float | None = None
    while True:
        for i in range(0, p.samples, B):
            X, y = X_data[i : i + B], y_data[i : i + B]
            logits = forward(X)
            loss = F.cross_entropy(logits, y)
            if p.l1:
                loss = loss + p.l1 * sum(param.abs().sum() for param in params)
            loss.backward()
            with torch.no_grad():
                for param in params:
                    param -= lr * param.grad  # type: ignore[operator]  # as written; backward() set every .grad
            for param in params:
                param.grad.zero_()  # type: ignore[union-attr]
            losses.append(loss.item())
            steps += 1
            if deadline is None and steps == 20:  # warm-up done
                sync(device)
                start, steps = time.perf_counter(), 0
                deadline = start + seconds
            elif deadline is not None and steps % 8 == 0 and time.perf_counter() >= deadline:
                sync(device)
                return steps / (time.perf_counter() - start)


def _config(p: Problem, device: str) -> RunConfig:
    return RunConfig(
        samples=p.samples,
        hidden=p.hidden,
        batch_size=p.batch,
        device=device,
        test_fraction=0.0,
        features=p.features,
        l1=p.l1,
    )


def engine_headless(p: Problem, device: str, seconds: float) -> float:
    """The run loop (core/run.py) exactly as `--headless` drives it, CUDA graphs included."""
    tr = Trainer(_config(p, device))
    threads = torch.get_num_threads()
    tr.claim_threads()
    try:
        with RunLoop(tr) as run:
            while tr.step_count < 20:  # warm-up (and the graph capture, where there is one)
                run.advance()
            tr.flush()
            sync(tr.device)
            s0, t0 = tr.step_count, time.perf_counter()
            deadline = t0 + seconds
            while time.perf_counter() < deadline:
                run.advance()
            tr.flush()
            sync(tr.device)
            return (tr.step_count - s0) / (time.perf_counter() - t0)
    finally:
        torch.set_num_threads(threads)


def engine_dashboard(p: Problem, device: str, seconds: float, size=(120, 36)) -> float:
    """The full app (worker, snapshots, every pane redrawing) under Textual's headless test driver."""
    from .app import FfnnApp

    async def drive() -> float:
        app = FfnnApp(_config(p, device))  # as `ffnn-tui` runs it: training in a child process
        async with app.run_test(size=size) as pilot:
            while app.snapshot is None or app.snapshot.step < 20:
                await pilot.pause(0.05)
            s0, t0 = app.snapshot.step, app.snapshot_arrived
            await asyncio.sleep(seconds)  # the dashboard runs on its own meanwhile
            mark = app.snapshot_arrived
            while app.snapshot_arrived == mark:
                await pilot.pause(0.001)  # end on the arrival of a fresh snapshot, as it started
            rate = (app.snapshot.step - s0) / (app.snapshot_arrived - t0)
            await app.shutdown(0)
        return rate

    threads = torch.get_num_threads()
    try:
        return asyncio.run(drive())
    finally:
        torch.set_num_threads(threads)


def _measure(conn, fn, args) -> None:
    conn.send(fn(*args))


def isolated(fn, *args) -> float:
    """Run one measurement in a fresh process: torch's thread pools (and a thread-count change
    made by an earlier measurement) then start from the same state for (a), (b) and (c)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    recv, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_measure, args=(send, fn, args))
    proc.start()
    send.close()
    try:
        return recv.recv()
    except EOFError:
        proc.join()  # the exit code is known once it has ended
        raise RuntimeError(f"the {fn.__name__} measurement failed (exit code {proc.exitcode})") from None
    finally:
        proc.join()


def machine() -> dict:
    dev = "cpu"
    if torch.cuda.is_available():
        dev = torch.cuda.get_device_name(0)
    import textual

    return {
        "date": time.strftime("%Y-%m-%d"),
        "cpu": platform.processor() or platform.machine(),
        "cores": __import__("os").cpu_count(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "textual": textual.__version__,
        "gpu": dev,
    }


description = " ".join(__doc__.split("\n\n")[0].split())
"""--help's description: the module docstring's first paragraph, whole sentences."""


def main(argv: list[str]) -> int:
    ap = OneLineParser(prog="ffnn-tui bench", description=description)
    ap.add_argument("--seconds", type=float, default=3.0, help="seconds per measurement (default 3)")
    ap.add_argument("--repeat", type=int, default=2, help="rounds, best kept (default 2)")
    ap.add_argument(
        "--problems", default="tutorial,10k,1m", help="comma list of tutorial, 10k, 1m, 2m (default tutorial,10k,1m)"
    )
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N, mps or auto")
    ap.add_argument("--no-dashboard", action="store_true", help="skip (c), e.g. on a box without a terminal")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    ap.add_argument(
        "--features", type=_features_arg, metavar="F,...", help="every problem's input features (default: x1,x2)"
    )
    ap.add_argument("--hidden", type=_hidden_arg, metavar="W,...", help="every problem's hidden widths; 0 = none")
    ap.add_argument("--l1", type=_number(float), metavar="F", help="L1 penalty on every problem (default 0)")
    try:
        a = ap.parse_args(argv)
    except ConfigError as e:
        print(f"ffnn-tui: error: {e}", file=sys.stderr)
        return 2
    if a.l1 is not None and not (math.isfinite(a.l1) and 0 <= a.l1 <= MAX_PENALTY):
        print(f"ffnn-tui: error: --l1 {clip(a.l1)}: {PENALTY_RANGE}", file=sys.stderr)
        return 2
    names = list(dict.fromkeys(n.strip() for n in a.problems.split(",") if n.strip()))  # each once
    bad = [n for n in names if n not in PROBLEMS]
    if bad or not names:
        print(
            f"ffnn-tui: error: --problems {clip(a.problems)}: expected a comma list of {', '.join(PROBLEMS)}",
            file=sys.stderr,
        )
        return 2
    if not (0.2 <= a.seconds <= 600) or not (1 <= a.repeat <= 20):
        print("ffnn-tui: error: --seconds must be 0.2..600 and --repeat 1..20", file=sys.stderr)
        return 2
    try:
        device = resolve_device(a.device)
    except DeviceError as e:
        print(f"ffnn-tui: error: {one_line(str(e))}", file=sys.stderr)
        return 2
    if a.json is not None:
        try:  # found now, not after the whole benchmark
            check_output("--json", a.json, replaced=False)
        except InputError as e:
            print(f"ffnn-tui: error: {one_line(str(e))}", file=sys.stderr)
            return 2
    info = machine()
    print(
        f"ffnn-tui bench  {info['date']}  {info['cpu']} x{info['cores']}  {info['gpu']}  device {device}  "
        f"torch {info['torch']}  python {info['python']}  textual {info['textual']}",
        flush=True,
    )
    header = f"{'problem':42} {'(a) tutorial':>13} {'(b) headless':>13} {'(c) dashboard':>14} {'b/a':>6} {'c/b':>6} {'c/a':>6}"
    print(header)
    results = []
    for n in names:
        p = PROBLEMS[n]
        for field, value in (("features", a.features), ("hidden", a.hidden), ("l1", a.l1)):
            if value is not None:
                p = replace(p, **{field: value})
        best = {"tutorial": 0.0, "headless": 0.0, "dashboard": 0.0}
        for _ in range(a.repeat):  # interleaved, so a noisy moment hits all three alike
            best["tutorial"] = max(best["tutorial"], isolated(tutorial_loop, p, device, a.seconds))
            best["headless"] = max(best["headless"], isolated(engine_headless, p, str(device), a.seconds))
            if not a.no_dashboard:
                best["dashboard"] = max(best["dashboard"], isolated(engine_dashboard, p, str(device), a.seconds))
        t, h, d = best["tutorial"], best["headless"], best["dashboard"]
        row = {
            "problem": n,
            "description": p.label(),
            "tutorial_steps_per_s": t,
            "headless_steps_per_s": h,
            "dashboard_steps_per_s": d or None,
            "headless_over_tutorial": h / t,
            "dashboard_over_headless": d / h if d else None,
            "dashboard_over_tutorial": d / t if d else None,
        }
        results.append(row)
        fmt = lambda v: f"{v:,.0f}" if v else "-"
        ratio = lambda v: f"{v:.2f}" if v else "-"
        print(
            f"{p.label():42} {fmt(t):>13} {fmt(h):>13} {fmt(d):>14} {ratio(h / t):>6} "
            f"{ratio(d / h if d else 0):>6} {ratio(d / t if d else 0):>6}",
            flush=True,
        )
    if a.json:
        with open(a.json, "w") as fh:
            json.dump(
                {"machine": info, "device": str(device), "seconds": a.seconds, "repeat": a.repeat, "results": results},
                fh,
                indent=2,
            )
    return 0
