#!/usr/bin/env bash
# The wheels gpu-check.sh needs on a GPU box with no package index (the device tool's machines:
# Python 3.12, torch, numpy and safetensors already there), downloaded into .whl/ (git-ignored).
#   bash bench/gpu-wheels.sh [python-version]     # default 3.12
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .whl
python3 -m pip download -q --only-binary=:all: --python-version "${1:-3.12}" --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --platform any -d .whl \
    "textual>=8,<9" "platformdirs>=3" "setuptools>=77" \
    "pytest>=8,<9" "pytest-textual-snapshot==1.1.0" "pytest-asyncio>=0.23" "pytest-timeout>=2.3" "hypothesis>=6.100"
du -sh .whl
