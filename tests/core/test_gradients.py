"""Hand-derived gradients (backprop.manual_step) against torch autograd, built independently here."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core import backprop, fast, network, trainer as trainer_mod
from ffnn_tui.core.backprop import autograd_step, gradient_check, manual_step, targets
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.network import ACTIVATIONS, init_params, layer_sizes
from ffnn_tui.core.trainer import Trainer

ATOL = 1e-10
DEPTHS = {1: (7,), 2: (6, 5), 3: (5, 4, 3)}

TORCH_ACT = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=0.01),
}


def make_problem(hidden, classes=3, N=37, seed=0):
    """float64 data, weights and non-zero biases (so bias gradients flow through every layer)."""
    g = torch.Generator().manual_seed(seed)
    params = init_params(layer_sizes(2, hidden, classes), "xavier", g, torch.float64, torch.device("cpu"))
    for name, p in params.items():
        if name.startswith("b"):
            p.copy_(0.3 * torch.randn(p.shape, generator=g, dtype=torch.float64))
    X = torch.randn(N, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, classes, (N,), generator=g)
    y[:classes] = torch.arange(classes)  # every class present
    return params, X, y


def torch_reference(params, X, y, activation):
    """The same network written with plain torch ops and F.cross_entropy; gradients by autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    L = len(leaves) // 2
    a = X
    for k in range(1, L):
        a = TORCH_ACT[activation](a @ leaves[f"W{k}"] + leaves[f"b{k}"])
    logits = a @ leaves[f"W{L}"] + leaves[f"b{L}"]
    loss = F.cross_entropy(logits, y)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    return loss.detach(), dict(zip(leaves, grads))


def manual(params, X, y, activation, classes=3):
    G = targets(F.one_hot(y, classes).to(X.dtype))
    loss, grads, _, _ = manual_step(params, X, G, activation)
    return loss, dict(zip(params, grads))


def max_diff(a: dict, b: dict) -> float:
    assert list(a) == list(b)
    return max(float((a[k] - b[k]).abs().max()) for k in a)


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_manual_gradients_equal_autograd(activation, depth):
    params, X, y = make_problem(DEPTHS[depth])
    ref_loss, ref = torch_reference(params, X, y, activation)
    loss, got = manual(params, X, y, activation)
    assert list(got) == [f"{p}{k}" for k in range(1, depth + 2) for p in "Wb"]
    for name in got:
        assert got[name].shape == params[name].shape, name
        assert got[name].dtype == torch.float64, name
    assert abs(float(loss) - float(ref_loss)) < ATOL
    assert max_diff(got, ref) < ATOL
    # The gradients are not trivially zero (a comparison of zeros would prove nothing).
    assert all(float(ref[k].abs().max()) > 1e-4 for k in ref)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_activation_grad_is_the_derivative_to_the_last_bit(activation):
    """phi'(z) from h = phi(z) against autograd of phi at z, in float64 (a float32 constant shows)."""
    z = torch.linspace(-4, 4, 101, dtype=torch.float64).requires_grad_(True)
    (dz,) = torch.autograd.grad(TORCH_ACT[activation](z).sum(), z)
    got = network.activation_grad(network.activate(z.detach(), activation), activation)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, dz, rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_autograd_step_equals_the_independent_reference(activation):
    params, X, y = make_problem(DEPTHS[2])
    G = targets(F.one_hot(y, 3).double())
    loss, grads, _, logits = autograd_step(params, X, G, activation)
    ref_loss, ref = torch_reference(params, X, y, activation)
    assert abs(float(loss) - float(ref_loss)) < ATOL
    assert max_diff(dict(zip(params, grads)), ref) < ATOL
    assert logits.shape == (X.shape[0], 3)
    # autograd_step leaves the caller's tensors alone.
    assert all(not p.requires_grad and p.grad is None for p in params.values())


def test_manual_step_does_not_change_params():
    params, X, y = make_problem(DEPTHS[3])
    before = {k: v.clone() for k, v in params.items()}
    manual(params, X, y, "tanh")
    assert all(torch.equal(before[k], params[k]) for k in params)


def test_the_comparison_fails_for_a_wrong_derivative(monkeypatch):
    """The test above can fail: a wrong tanh derivative (1 - h instead of 1 - h^2) is caught."""
    params, X, y = make_problem(DEPTHS[2])
    _, ref = torch_reference(params, X, y, "tanh")
    # wrong: 1 - h instead of 1 - h^2 (h is the second-to-last argument, whatever comes before it)
    monkeypatch.setattr(backprop, "activation_grad", lambda *args: 1 - args[-2])
    _, got = manual(params, X, y, "tanh")
    assert max_diff(got, ref) > 1e-3
    # Only the layers behind an activation are wrong; the last layer's gradients are still right.
    assert float((got["W3"] - ref["W3"]).abs().max()) < ATOL
    assert float((got["W1"] - ref["W1"]).abs().max()) > 1e-4


def test_a_perturbed_gradient_is_detected():
    params, X, y = make_problem(DEPTHS[1])
    _, ref = torch_reference(params, X, y, "relu")
    _, got = manual(params, X, y, "relu")
    assert max_diff(got, ref) < ATOL
    got["b1"] = got["b1"].clone()
    got["b1"][0] += 1e-8
    assert max_diff(got, ref) > ATOL


# ----- gradient_check() -----


@pytest.mark.parametrize("depth", sorted(DEPTHS))
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradient_check_reports_small_errors_per_tensor(activation, depth):
    params, X, y = make_problem(DEPTHS[depth])
    params32 = {k: v.float() for k, v in params.items()}  # float32 params: the check still runs in float64
    checks = gradient_check(params32, X.float(), F.one_hot(y, 3).float(), activation)
    assert [c.name for c in checks] == [f"{p}{k}" for k in range(1, depth + 2) for p in "Wb"]
    for c in checks:
        assert 0 <= c.max_abs < ATOL, c
        assert 0 <= c.max_rel < 1e-6, c


def test_gradient_check_flags_the_tensor_whose_gradient_is_wrong(monkeypatch):
    real = backprop.manual_step

    def broken(params, X, G, activation, l1=0.0):
        loss, grads, cache, logits = real(params, X, G, activation, l1)
        grads = list(grads)
        grads[2] = grads[2] * 1.01  # dW2 off by 1 %
        return loss, grads, cache, logits

    params, X, y = make_problem(DEPTHS[2])
    checks = {c.name: c for c in gradient_check(params, X, F.one_hot(y, 3).double(), "sigmoid", manual=broken)}
    assert checks["W2"].max_abs > 1e-6
    assert checks["W2"].max_rel == pytest.approx(0.01 / 1.01, rel=1e-6)
    for name in ("W1", "b1", "b2", "W3", "b3"):
        assert checks[name].max_abs < ATOL, name


def test_trainer_gradient_check_checks_the_step_it_trains_with(monkeypatch):
    """Trainer.gradient_check judges STEPS["manual"] (the fused step), so a fault there shows."""
    real = trainer_mod.STEPS["manual"]
    assert real is fast.manual_step

    def broken(params, X, G, activation, l1=0.0):
        loss, grads, cache, logits = real(params, X, G, activation, l1)
        return loss, [grads[0] * 1.01, *grads[1:]], cache, logits  # dW1 off by 1 %

    tr = Trainer(RunConfig(device="cpu", hidden=(8,)))
    assert max(c.max_rel for c in tr.gradient_check()) < 1e-8
    monkeypatch.setitem(trainer_mod.STEPS, "manual", broken)
    checks = {c.name: c for c in tr.gradient_check()}
    assert checks["W1"].max_rel == pytest.approx(0.01 / 1.01, rel=1e-6)
    assert all(checks[k].max_rel < 1e-8 for k in ("b1", "W2", "b2"))


def test_trainer_gradient_check_names_every_tensor():
    tr = Trainer(RunConfig(device="cpu", hidden=(16, 16), activation="leaky_relu", dataset="spiral", classes=3))
    checks = tr.gradient_check()
    assert [c.name for c in checks] == ["W1", "b1", "W2", "b2", "W3", "b3"]
    # The tutorial's randn init makes big activations and gradients (|g| ~ 5): judge by relative error.
    assert max(c.max_rel for c in checks) < 1e-8
    assert max(c.max_abs for c in checks) < 1e-7
