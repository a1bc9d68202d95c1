"""CPU steps reuse freed memory instead of taking fresh pages from the OS every step
(core/device.keep_freed_memory, called by claim_threads)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ffnn_tui.core import device

FAULTS_OF_A_STEP = """
import resource
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.trainer import Trainer
tr = Trainer(RunConfig(samples=10000, hidden=(64,), test_fraction=0.0))
tr.claim_threads()
for _ in range(20):  # the heap grows to what a step needs
    tr.step()
tr.flush()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    tr.step()
tr.flush()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100)
"""
"""A training process's steps, measured in a process of their own: after the rest of the suite this
process's heap is fragmented enough to fault for other reasons (200 a step once in CI)."""


def test_a_mid_sized_step_takes_few_page_faults():
    if not device.keep_freed_memory():
        pytest.skip("libc is not glibc: nothing to tune")
    out = subprocess.run([sys.executable, "-c", FAULTS_OF_A_STEP], capture_output=True, text=True, check=True)
    faults = float(out.stdout.strip().splitlines()[-1])
    assert faults < 70, (
        f"{faults:.0f} page faults a step (about 140 when every (N, H) tensor is fresh memory; 0-30 seen with the heap kept)"
    )
