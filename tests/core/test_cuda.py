"""CUDA paths: the same numbers as the tutorial on the GPU, and replayed CUDA graphs equal eager steps.
Skipped cleanly where there is no CUDA device (CI has none)."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.cuda_graphs import GRAPH_STEPS
from ffnn_tui.core.data import Dataset
from ffnn_tui.core.trainer import Trainer

pytestmark = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def test_engine_on_cuda_matches_the_tutorials_loop_on_cuda():
    torch.manual_seed(0)
    X = torch.randn(80, 2)
    y = ((X[:, 0] + X[:, 1]) > 0).long()
    W1, W2 = torch.randn(2, 8), torch.randn(8, 2)
    dev = torch.device("cuda")
    w1, b1 = W1.to(dev).requires_grad_(), torch.zeros(8, device=dev, requires_grad=True)
    w2, b2 = W2.to(dev).requires_grad_(), torch.zeros(2, device=dev, requires_grad=True)
    Xd, yd = X.to(dev), y.to(dev)
    expected = []
    for _ in range(120):  # the tutorial's loop
        loss = F.cross_entropy(torch.clamp(Xd @ w1 + b1, min=0.0) @ w2 + b2, yd)
        loss.backward()
        with torch.no_grad():
            for p in (w1, b1, w2, b2):
                p -= 0.07 * p.grad
        for p in (w1, b1, w2, b2):
            p.grad.zero_()
        expected.append(loss.item())
    init = {"W1": W1, "b1": torch.zeros(8), "W2": W2, "b2": torch.zeros(2)}
    tr = Trainer(RunConfig(test_fraction=0.0, device="cuda"), data=Dataset(Xd, yd, Xd[:0], yd[:0], 2), params=init)
    tr.advance(120)
    tr.flush()
    got = list(tr.history.values["train_loss"])
    assert len(got) == 120
    assert max(abs(a - b) for a, b in zip(got, expected)) <= 1e-5


MODELS = {
    "plain": {},
    "linear-features-l1": {"hidden": (), "features": ("x1^2", "x2^2", "sin(x1)"), "l1": 1e-3},
    "features-l1": {"features": ("x1", "x2", "x1*x2"), "l1": 1e-3},
}
"""The tutorial's input, and the --hidden 0 / --features / --l1 variants (hidden overrides the widths)."""


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
@pytest.mark.parametrize("hidden", [(8,), (64,), (16, 16)])
@pytest.mark.parametrize("model", list(MODELS))
def test_graph_replays_equal_eager_steps(optimizer, hidden, model):
    options = {"hidden": hidden, **MODELS[model]}
    cfg = RunConfig(device="cuda", optimizer=optimizer, samples=400, dataset="moons", lr=0.05, **options)
    graphed, eager = Trainer(cfg), Trainer(cfg)
    steps = 5 * GRAPH_STEPS
    assert graphed.advance(steps) == steps
    assert graphed._graph is not None, "the CUDA graph was not captured"
    for _ in range(steps):
        eager.step()
    graphed.flush()
    eager.flush()
    a, b = list(graphed.history.values["train_loss"]), list(eager.history.values["train_loss"])
    assert len(a) == len(b) == steps
    assert max(abs(x - y) for x, y in zip(a, b)) <= 1e-5
    for name in graphed.params:
        assert torch.allclose(graphed.params[name], eager.params[name], atol=1e-5)


def test_lr_change_recaptures_the_graph():
    tr = Trainer(RunConfig(device="cuda"))
    tr.advance(GRAPH_STEPS)
    first = tr._graph
    tr.set_lr(0.01)
    tr.advance(GRAPH_STEPS)
    assert tr._graph is not first and tr.step_count == 2 * GRAPH_STEPS


def test_l1_change_recaptures_the_graph():
    from dataclasses import replace

    tr = Trainer(RunConfig(device="cuda"))
    tr.advance(GRAPH_STEPS)
    first = tr._graph
    tr.cfg = replace(tr.cfg, l1=0.01)
    tr.advance(GRAPH_STEPS)
    assert tr._graph is not first and tr._graph.key != first.key


def test_headless_run_on_cuda(capsys):
    from ffnn_tui.tui.cli import main

    assert main(["--headless", "--device", "cuda", "--epochs", "300", "--dataset", "xor", "--hidden", "16"]) == 0
    out = capsys.readouterr().out
    assert "on cuda" in out and "steps 300" in out


async def test_dashboard_trains_on_cuda():
    from ffnn_tui.tui.app import FfnnApp
    from ffnn_tui.tui.cli import run_config
    from tests.tui.conftest import wait_for

    app = FfnnApp(run_config(["--device", "cuda"]), paused=False)  # the real set-up: a training process
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(
            pilot,
            lambda: app.snapshot is not None and app.snapshot.step >= 2000,
            timeout=60,
            what="2000 steps on the GPU",
        )
        assert app.snapshot.device.startswith("cuda")
        await pilot.press("q")
