#!/usr/bin/env bash
# All of the GPU work of the "Performance, round two" issue in one run, in under 8 minutes on a
# fresh GPU box: install from this repo, run the CUDA tests, run `ffnn-tui bench --device cuda`,
# and print one table with pass/fail against the targets. Results land in $OUT (default
# ./gpu-check-out): the versions, the test log, bench-gpu.json and the table.
#
#   bash bench/gpu-check.sh                      # on the GPU box, from the repo root
#   GPU_CHECK_DEVICE=cpu bash bench/gpu-check.sh # a dry run of every step on a CPU-only machine
#
# The box's own torch is kept (a CUDA build is what is being measured); the project and its
# other dependencies are installed beside it. Exit 0 when every target passes, 1 otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-$PWD/gpu-check-out}
DEVICE=${GPU_CHECK_DEVICE:-cuda}
SECONDS_PER=${GPU_CHECK_SECONDS:-3}
REPEAT=${GPU_CHECK_REPEAT:-2}
PROFILE=${GPU_CHECK_PROFILE:-1}  # 0: skip the dashboard's loop profile (about 100 s)
PY=${PYTHON:-python3}
mkdir -p "$OUT"
say() { printf '\n== %s (%ss)\n' "$1" "$SECONDS"; }

say "install"
if ! "$PY" -c "import torch" 2>/dev/null; then
    echo "gpu-check: no torch for $PY; install a CUDA build of torch first (or set PYTHON=)" >&2
    exit 2
fi
# A box with no package index (the device tool's) gets the wheels carried in .whl/, made beside a
# package index with `bash bench/gpu-wheels.sh`; elsewhere pip fetches them.
FIND=()
[ -d .whl ] && FIND=(--no-index --find-links .whl)
TEST_DEPS=("pytest>=8,<9" "pytest-textual-snapshot==1.1.0" "pytest-asyncio>=0.23" "pytest-timeout>=2.3" "hypothesis>=6.100")
"$PY" -m pip install -q "${FIND[@]}" -e . "${TEST_DEPS[@]}" >"$OUT/pip.txt" 2>&1 \
    || { echo "gpu-check: the install failed:"; tail -5 "$OUT/pip.txt"; exit 2; }
"$PY" - <<'PY' | tee "$OUT/versions.txt"
import platform, subprocess, torch
print("python", platform.python_version(), "| torch", torch.__version__, "| cuda", torch.version.cuda)
if torch.cuda.is_available():
    print("device", torch.cuda.get_device_name(0), "| count", torch.cuda.device_count())
    q = "--query-gpu=name,driver_version,memory.total"
    print(subprocess.run(["nvidia-smi", q, "--format=csv,noheader"], capture_output=True, text=True).stdout.strip())
else:
    print("device: no CUDA here (a dry run)")
PY

say "CUDA tests (pytest -m cuda)"
timeout 240 "$PY" -m pytest -m cuda -q -p no:cacheprovider 2>&1 | tee "$OUT/pytest-cuda.txt" | tail -15
echo "${PIPESTATUS[0]}" > "$OUT/pytest-cuda.rc"

say "bench --device $DEVICE"
timeout 330 "$PY" -m ffnn_tui bench --device "$DEVICE" --seconds "$SECONDS_PER" --repeat "$REPEAT" \
    --problems tutorial,10k,1m,2m --json "$OUT/bench-gpu.json" 2>&1 | tee "$OUT/bench.txt"

if [ "$PROFILE" != 0 ]; then
    say "profile: the dashboard's training loop part by part, and each process's CPU share"
    timeout 150 "$PY" bench/loop_profile.py --device "$DEVICE" --problems tutorial,10k --seconds 2 \
        --ui-hz 4,10 2>&1 | tee "$OUT/loop-profile.txt"
fi

say "profile: the kernels of the big net's step"
BIG=2m
[ "$DEVICE" = cpu ] && BIG=10k  # the 2M-point step takes seconds on a CPU
timeout 60 "$PY" bench/step_profile.py --device "$DEVICE" --problem "$BIG" 2>&1 | tee "$OUT/step-profile.txt"

say "targets"
"$PY" bench/gpu_targets.py "$OUT" | tee "$OUT/targets.txt"
