"""Reliability at the edges: huge lr, full disks, closed stderr, unwritable or clashing paths,
resumed metrics files, FIFOs and devices as inputs, unbounded reads, stale temp files."""

from __future__ import annotations

import pytest
import torch

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer

from .test_cli import RUN, assert_usage_error, cli, write  # noqa: F401 - cli is a fixture


# ----- item 2: an lr beyond float32 is a divergence, not a crash -----


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_lr_beyond_float32_diverges(optimizer):
    """The dashboard's engine and headless step the same Trainer: DIVERGED, never an exception."""
    tr = Trainer(RunConfig(device="cpu", lr=1e39, optimizer=optimizer))
    tr.advance(20)
    tr.flush()
    assert tr.outcome is State.DIVERGED, tr.reason


def test_lr_beyond_float32_exits_3_headless(cli):
    r = cli(*RUN, "--lr", "1e39", "--epochs", "5")
    assert r.code == 3, r.err
    assert "diverged" in r.err and "unexpected" not in r.err
