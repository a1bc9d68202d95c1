"""CPU steps reuse freed memory instead of taking fresh pages from the OS every step
(core/device.keep_freed_memory, called by claim_threads)."""

from __future__ import annotations

import resource

import pytest

from ffnn_tui.core import device
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.trainer import Trainer


def test_a_mid_sized_step_takes_few_page_faults():
    if not device.keep_freed_memory():
        pytest.skip("libc is not glibc: nothing to tune")
    tr = Trainer(RunConfig(samples=10000, hidden=(64,), test_fraction=0.0))
    tr.claim_threads()
    for _ in range(20):  # the heap grows to what a step needs
        tr.step()
    tr.flush()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(100):
        tr.step()
    tr.flush()
    faults = (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 100
    assert faults < 70, (
        f"{faults:.0f} page faults a step (about 140 when every (N, H) tensor is fresh memory; 0-30 seen with the heap kept)"
    )
