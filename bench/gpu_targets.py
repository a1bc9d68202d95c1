"""The table at the end of bench/gpu-check.sh: each GPU target of the performance issue, its
figure from this run and pass/fail. Usage: python bench/gpu_targets.py OUT_FOLDER; exit 0 when all
pass, 1 otherwise (a missing figure fails)."""

import json
import sys
from pathlib import Path


def targets(out: Path) -> list[tuple[str, float | None, str, bool]]:
    """(target, figure, threshold text, passed) rows from the test exit code and bench-gpu.json."""
    rc_file, log = out / "pytest-cuda.rc", out / "pytest-cuda.txt"
    rc = int(rc_file.read_text()) if rc_file.exists() else None
    ran = log.exists() and " passed" in log.read_text()  # all skipped (no CUDA) is not a pass
    rows: list[tuple[str, float | None, str, bool]] = [("pytest -m cuda passes", rc, "exit 0", rc == 0 and ran)]
    bench = out / "bench-gpu.json"
    results = {r["problem"]: r for r in json.loads(bench.read_text())["results"]} if bench.exists() else {}

    def ratio(problem: str, key: str) -> float | None:
        return (results.get(problem) or {}).get(key)

    for problem in ("tutorial", "10k"):
        v = ratio(problem, "dashboard_over_headless")
        rows.append((f"{problem}: dashboard / headless", v, ">= 0.95", v is not None and v >= 0.95))
    v = ratio("2m", "headless_over_tutorial")
    rows.append(("2m x 256 full batch: engine / tutorial's loop", v, ">= 3.0", v is not None and v >= 3.0))
    return rows


def main(out: Path) -> int:
    rows = targets(out)
    print(f"{'target':48} {'figure':>8} {'needs':>8}  result")
    for name, figure, needs, passed in rows:
        shown = "-" if figure is None else f"{figure:.2f}" if isinstance(figure, float) else str(figure)
        print(f"{name:48} {shown:>8} {needs:>8}  {'PASS' if passed else 'FAIL'}")
    return 0 if all(p for *_, p in rows) else 1


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
