"""The one-kernel CUDA step (core/triton_step.py) equals the reference equations (core/backprop.py)
in float64 for every activation, and the trainer uses it only where nothing needs the step's
activations. On a CUDA device the kernel is compiled; elsewhere, where Triton is installed, its
interpreter (TRITON_INTERPRET=1) runs the same kernel on the CPU. Skipped where there is neither
(CI: the CPU build of torch ships no Triton)."""

from __future__ import annotations

import pytest
import torch

from ffnn_tui.core import backprop, triton_step
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.network import ACTIVATIONS
from ffnn_tui.core.trainer import Trainer

CUDA = torch.cuda.is_available()
needs_triton = pytest.mark.skipif(not triton_step.available(), reason="needs Triton (torch's CUDA builds ship it)")

SIZES = [(80, 2, 8, 2), (101, 3, 20, 3), (37, 7, 33, 5), (50, 1, 5, 2), (1000, 2, 256, 2)]
"""(N, D, H, K): the tutorial's net, widths and sides that are not powers of two, one input, the 2m problem's net."""


@pytest.fixture
def device(monkeypatch) -> torch.device:
    """cuda where there is one, else the CPU under Triton's interpreter (the kernel defined afresh)."""
    if CUDA:
        return torch.device("cuda")
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    triton_step._compiled.cache_clear()  # defined afresh, for the interpreter
    return torch.device("cpu")


def _problem(N: int, D: int, H: int, K: int, dtype: torch.dtype, device: torch.device):
    g = torch.Generator().manual_seed(N + D + H + K)
    X = torch.randn(N, D, generator=g, dtype=dtype)  # (N, D)
    y = torch.randint(0, K, (N,), generator=g)  # (N,)
    G = backprop.targets(torch.nn.functional.one_hot(y, K).to(dtype))  # (N, K)
    params = {
        "W1": torch.randn(D, H, generator=g, dtype=dtype),
        "b1": torch.randn(H, generator=g, dtype=dtype),
        "W2": torch.randn(H, K, generator=g, dtype=dtype),
        "b2": torch.randn(K, generator=g, dtype=dtype),
    }
    return {k: v.to(device) for k, v in params.items()}, X.to(device), G.to(device)


@pytest.mark.cuda  # (pytest -m cuda runs it on a GPU box; here it runs on the interpreter, where Triton is)
@needs_triton
@pytest.mark.parametrize("l1", [0.0, 0.01])
@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_equals_the_reference_step_in_float64(device, activation, size, l1):
    params, X, G = _problem(*size, torch.float64, device)
    loss, grads, cache, logits = triton_step.manual_step(params, X, G, activation, l1)
    assert triton_step.failure == ""
    ref_loss, ref_grads, _, _ = backprop.manual_step(params, X, G, activation, l1)
    assert cache == [] and logits.shape == (0, size[3])
    assert torch.allclose(loss, ref_loss, rtol=1e-12, atol=1e-12)
    for got, want in zip(grads, ref_grads, strict=True):
        assert got.shape == want.shape
        assert torch.allclose(got, want, rtol=1e-10, atol=1e-12)


@pytest.mark.cuda
@needs_triton
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_kernel_in_float32_is_close_to_the_reference(device, activation):
    params, X, G = _problem(1000, 2, 256, 2, torch.float32, device)
    loss, grads, _, _ = triton_step.manual_step(params, X, G, activation)
    ref_loss, ref_grads, _, _ = backprop.manual_step(params, X, G, activation)
    assert torch.allclose(loss, ref_loss, rtol=1e-5)
    for got, want in zip(grads, ref_grads, strict=True):
        assert torch.allclose(got, want, rtol=1e-4, atol=1e-5 * float(want.abs().max()))


def test_the_cpu_never_uses_the_kernel():
    tr = Trainer(RunConfig(device="cpu"))
    assert tr._step_fn() is not triton_step.manual_step


@pytest.mark.cuda
@pytest.mark.skipif(not CUDA, reason="needs a CUDA device")
@pytest.mark.parametrize(
    "options, fused",
    [
        ({}, True),
        ({"hidden": (256,), "samples": 1000}, True),
        ({"hidden": (16, 16)}, False),  # two hidden layers
        ({"hidden": ()}, False),  # no hidden layer
        ({"hidden": (600,)}, False),  # wider than MAX_WIDTH
        ({"backprop": "autograd"}, False),
    ],
)
def test_which_step_the_trainer_runs_on_cuda(options, fused):
    tr = Trainer(RunConfig(device="cuda", **options))
    assert (tr._step_fn() is triton_step.manual_step) == fused
    tr.needs_activations = True  # the dashboard's step view is shown
    assert tr._step_fn() is not triton_step.manual_step
    tr.needs_activations, tr.track_metrics = False, True  # --metrics wants each step's logits
    assert tr._step_fn() is not triton_step.manual_step


def test_the_step_view_asks_for_the_steps_activations():
    from ffnn_tui.tui.engine.loop import TrainingLoop
    from ffnn_tui.tui.engine.protocol import ShowViews

    tr = Trainer(RunConfig())
    loop = TrainingLoop(tr, lambda event: None, running=False, ui_hz=4)
    loop.apply(ShowViews(("boundary", "step")), run=None)  # type: ignore[arg-type]  # (ShowViews needs no run loop)
    assert tr.needs_activations
    loop.apply(ShowViews(("boundary", "weights")), run=None)  # type: ignore[arg-type]
    assert not tr.needs_activations
