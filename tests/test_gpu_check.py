"""bench/gpu-check.sh, as far as it goes without CUDA: its script parses, and its target table
passes and fails on the figures it is given."""

import json
import runpy
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
targets = runpy.run_path(str(ROOT / "bench" / "gpu_targets.py"))["targets"]


def _out(tmp_path: Path, rc: int, log: str, dash: float, big: float) -> Path:
    (tmp_path / "pytest-cuda.rc").write_text(f"{rc}\n")
    (tmp_path / "pytest-cuda.txt").write_text(log)
    rows = [
        {"problem": "tutorial", "dashboard_over_headless": dash},
        {"problem": "10k", "dashboard_over_headless": dash},
        {"problem": "2m", "headless_over_tutorial": big},
    ]
    (tmp_path / "bench-gpu.json").write_text(json.dumps({"results": rows}))
    return tmp_path


def test_the_script_parses():
    assert subprocess.run(["bash", "-n", str(ROOT / "bench" / "gpu-check.sh")]).returncode == 0


def test_every_target_passes_on_good_figures(tmp_path):
    rows = targets(_out(tmp_path, 0, "24 passed in 9s", 0.97, 3.2))
    assert len(rows) == 4 and all(passed for *_, passed in rows)


def test_short_figures_and_all_skipped_tests_fail(tmp_path):
    rows = targets(_out(tmp_path, 0, "24 skipped in 1s", 0.90, 1.85))
    assert not any(passed for *_, passed in rows)


def test_missing_results_fail(tmp_path):
    rows = targets(tmp_path)
    assert not any(passed for *_, passed in rows)
