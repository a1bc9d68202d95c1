"""Which kernels one training step spends its time in: torch.profiler over a few engine steps.

    python bench/step_profile.py [--device cuda] [--problem 2m] [--steps 20]

Prints the profiler's table (self device time per kernel, top 15) for the engine's step as
--headless runs it (eager: no CUDA graph, so each kernel shows), sorted by device time.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

import torch
from torch.profiler import ProfilerActivity, profile

from ffnn_tui.core.device import sync
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.bench import PROBLEMS, _config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--problem", default="2m")
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    tr = Trainer(_config(PROBLEMS[a.problem], a.device))
    for _ in range(5):  # warm-up
        tr.step()
    sync(tr.device)
    cuda = tr.device.type == "cuda"
    activities = [ProfilerActivity.CPU, *([ProfilerActivity.CUDA] if cuda else [])]
    with profile(activities=activities) as prof:
        for _ in range(a.steps):
            tr.step()
        sync(tr.device)
    key = "self_cuda_time_total" if cuda else "self_cpu_time_total"
    print(f"{a.problem} on {a.device}, {a.steps} eager engine steps (torch {torch.__version__}):")
    print(prof.key_averages().table(sort_by=key, row_limit=15, max_name_column_width=60))


if __name__ == "__main__":
    main()
