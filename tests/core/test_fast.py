"""The fused step (core/fast.py, what `--backprop manual` trains with) equals the reference math
(core/network.py and core/backprop.py) in float64, function by function, for every activation and
for 0 to 3 hidden layers; and the reference equals torch autograd of F.cross_entropy."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core import backprop, fast, network
from ffnn_tui.core.network import ACTIVATIONS

HIDDEN = {0: (), 1: (7,), 2: (6, 5), 3: (5, 4, 3)}
"""Hidden widths per depth; depth 0 is the linear model (W1, b1 only)."""
CLASSES = 3
N = 41
RTOL, ATOL = 1e-12, 1e-14
"""float64: the fused ops may round differently from the reference's (addmm against @ then +)."""

TORCH_ACT = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda z: F.leaky_relu(z, negative_slope=network.LEAKY_SLOPE),
}

cases = pytest.mark.parametrize("depth", sorted(HIDDEN))
activations = pytest.mark.parametrize("activation", ACTIVATIONS)
l1s = pytest.mark.parametrize("l1", [0.0, 0.02])
"""Without and with the L1 penalty's gradient (--l1)."""


def problem(depth: int, seed: int = 0):
    """float64 params (random weights and non-zero biases), points, labels and G = -onehot / N."""
    g = torch.Generator().manual_seed(1000 * depth + seed)
    sizes = network.layer_sizes(2, HIDDEN[depth], CLASSES)
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{k}"] = torch.randn(fan_in, fan_out, generator=g, dtype=torch.float64)
        params[f"b{k}"] = 0.5 * torch.randn(fan_out, generator=g, dtype=torch.float64)
    X = 1.5 * torch.randn(N, 2, generator=g, dtype=torch.float64)
    y = torch.randint(0, CLASSES, (N,), generator=g)
    y[:CLASSES] = torch.arange(CLASSES)  # every class present
    G = backprop.targets(F.one_hot(y, CLASSES).double())
    return params, X, y, G


def close(a: torch.Tensor, b: torch.Tensor, what: str = "") -> None:
    assert a.shape == b.shape and a.dtype == b.dtype == torch.float64, what
    torch.testing.assert_close(a, b, rtol=RTOL, atol=ATOL, msg=lambda m: f"{what}: {m}")


def all_close(a: list[torch.Tensor], b: list[torch.Tensor], names) -> None:
    assert len(a) == len(b) == len(names)
    for name, x, y in zip(names, a, b):
        close(x, y, name)


def copies(*tensors_or_dicts):
    return [
        (
            {k: v.clone() for k, v in t.items()}
            if isinstance(t, dict)
            else [v.clone() for v in t]
            if isinstance(t, list)
            else t.clone()
        )
        for t in tensors_or_dicts
    ]


def unchanged(before, after) -> bool:
    """Exact equality, element by element (the fused code writes in place; never into its inputs)."""
    if isinstance(before, dict):
        return before.keys() == after.keys() and all(torch.equal(before[k], after[k]) for k in before)
    if isinstance(before, list):
        return len(before) == len(after) and all(torch.equal(x, y) for x, y in zip(before, after))
    return torch.equal(before, after)


# ----- the fused functions against the reference, one by one -----


@cases
@activations
def test_forward_equals_the_reference(activation, depth):
    params, X, _, _ = problem(depth)
    before = copies(params, X)
    logits, cache = fast.forward(params, X, activation)
    ref_logits, ref_cache = network.forward(params, X, activation)
    close(logits, ref_logits, "logits")
    assert len(cache) == len(ref_cache) == 2 * depth + 2
    close(cache[0], ref_cache[0], "X")
    for k in range(1, depth + 1):
        close(cache[2 * k], ref_cache[2 * k], f"h{k}")
        # the fused pass writes h_k over z_k: the cache holds h_k in both places (the backward reads only h)
        assert cache[2 * k - 1] is cache[2 * k]
    close(cache[-1], ref_cache[-1], "cache logits")
    assert all(unchanged(b, a) for b, a in zip(before, (params, X)))


@cases
def test_loss_and_dlogits_equal_the_reference(depth):
    params, X, y, G = problem(depth)
    logits, _ = network.forward(params, X, "tanh")
    before = copies(logits, G)
    loss, dlogits = fast.loss_and_dlogits(logits, G)
    close(loss, backprop.cross_entropy(logits, G), "loss")
    close(dlogits, backprop.dlogits_of(logits, G), "dlogits")
    close(loss, F.cross_entropy(logits, y), "loss against torch")
    assert unchanged(before[0], logits) and unchanged(before[1], G)


@cases
@activations
@l1s
def test_manual_backward_equals_the_reference(activation, depth, l1):
    params, X, _, G = problem(depth)
    logits, cache = network.forward(params, X, activation)
    dlogits = backprop.dlogits_of(logits, G)
    ref = backprop.manual_backward(params, cache, dlogits, activation, l1)
    before = copies(params, cache, dlogits)
    got = fast.manual_backward(params, cache, dlogits, activation, l1)  # the reference cache: h at the same places
    names = list(params)
    all_close(got, ref, names)
    assert all(unchanged(b, a) for b, a in zip(before, (params, cache, dlogits)))
    _, fused_cache = fast.forward(params, X, activation)
    all_close(fast.manual_backward(params, fused_cache, dlogits, activation, l1), ref, names)  # and its own cache


@cases
@activations
@l1s
def test_manual_step_equals_the_reference(activation, depth, l1):
    params, X, _, G = problem(depth)
    before = copies(params, X, G)
    loss, grads, cache, logits = fast.manual_step(params, X, G, activation, l1)
    ref_loss, ref_grads, ref_cache, ref_logits = backprop.manual_step(params, X, G, activation, l1)
    close(loss, ref_loss, "loss")
    close(logits, ref_logits, "logits")
    all_close(grads, ref_grads, list(params))
    assert [tuple(g.shape) for g in grads] == [tuple(p.shape) for p in params.values()]
    assert len(cache) == len(ref_cache)
    assert all(unchanged(b, a) for b, a in zip(before, (params, X, G)))
    # The gradients are not trivially small (a comparison of zeros would prove nothing).
    assert all(float(g.abs().max()) > 1e-3 for g in ref_grads)


@activations
def test_a_wide_net_over_many_rows_equals_the_reference(activation):
    """The shapes where the CPU paths differ: a layer that narrows over many rows multiplies by a
    column-major copy of its weights (for_rows), and its dW is computed as (dz^T a)^T."""
    g = torch.Generator().manual_seed(7)
    sizes = network.layer_sizes(2, (64, 40), CLASSES)
    params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        params[f"W{k}"] = torch.randn(fan_in, fan_out, generator=g, dtype=torch.float64) / fan_in**0.5
        params[f"b{k}"] = 0.5 * torch.randn(fan_out, generator=g, dtype=torch.float64)
    rows = fast.NARROW_WORK // 40 + 1
    X = torch.randn(rows, 2, generator=g, dtype=torch.float64)  # (rows, 2)
    G = backprop.targets(F.one_hot(torch.randint(0, CLASSES, (rows,), generator=g), CLASSES).double())
    h = torch.zeros(rows, 40, dtype=torch.float64)  # (rows, 40)
    assert not fast.for_rows(params["W3"], h).is_contiguous()  # the column-major path is the one tested
    assert fast.for_rows(params["W2"], h) is params["W2"]  # 64 -> 40 does not narrow enough
    loss, grads, _, logits = fast.manual_step(params, X, G, activation)
    ref_loss, ref_grads, _, ref_logits = backprop.manual_step(params, X, G, activation)
    close(loss, ref_loss, "loss")
    close(logits, ref_logits, "logits")
    all_close(grads, ref_grads, list(params))


def test_input_layer_grads_equal_the_two_products():
    """dW1 and db1 from one product over [X, 1] (the CUDA path of fast.manual_backward)."""
    _, X, _, _ = problem(1)
    dz = torch.randn(N, 7, generator=torch.Generator().manual_seed(9), dtype=torch.float64)
    dW, db = fast.input_layer_grads(X, dz)
    close(dW, X.T @ dz, "dW1")
    close(db, dz.sum(dim=0), "db1")


# ----- the reference against torch autograd -----


def torch_reference(params, X, y, activation):
    """The same network in plain torch ops with F.cross_entropy; gradients by autograd."""
    leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    L = len(leaves) // 2
    a = X
    for k in range(1, L):
        a = TORCH_ACT[activation](a @ leaves[f"W{k}"] + leaves[f"b{k}"])
    loss = F.cross_entropy(a @ leaves[f"W{L}"] + leaves[f"b{L}"], y)
    return loss.detach(), list(torch.autograd.grad(loss, list(leaves.values())))


@cases
@activations
@pytest.mark.parametrize("step", ["reference", "fused"])
def test_steps_equal_torch_autograd(activation, depth, step):
    params, X, y, G = problem(depth)
    manual = backprop.manual_step if step == "reference" else fast.manual_step
    loss, grads, _, _ = manual(params, X, G, activation)
    ref_loss, ref_grads = torch_reference(params, X, y, activation)
    close(loss, ref_loss, "loss")
    all_close(grads, ref_grads, list(params))


# ----- the comparison can fail -----


@pytest.mark.parametrize("broken", ["dlogits", "phi'", "db1", "l1"])
def test_the_comparison_sees_a_fault(monkeypatch, broken):
    """A slightly wrong fused function is caught by the same comparison as above."""
    l1 = 0.0
    if broken == "l1":  # the L1 term with sign(p) taken as 1 where p is 0
        l1 = 0.02
        monkeypatch.setattr(
            fast,
            "add_l1_",
            lambda params, grads, l1: [g + l1 * (p >= 0).double() * 2 - l1 for g, p in zip(grads, params.values())],
        )
    elif broken == "dlogits":  # softmax / N off by 1e-9 relative
        real = fast.loss_and_dlogits
        monkeypatch.setattr(
            fast, "loss_and_dlogits", lambda logits, G: (lambda l, d: (l, d * (1 + 1e-9)))(*real(logits, G))
        )
    elif broken == "phi'":  # tanh' as 1 - h instead of 1 - h^2
        monkeypatch.setattr(fast, "phi_backward_", lambda da, h, activation: da.mul_(1 - h))
    else:
        real_backward = fast.manual_backward
        monkeypatch.setattr(
            fast, "manual_backward", lambda *a: (lambda g: [g[0], g[1] + 1e-12, *g[2:]])(real_backward(*a))
        )
    params, X, _, G = problem(2)
    params["b1"][0] = 0.0  # an exact zero, where sign(p) is 0
    _, grads, _, _ = fast.manual_step(params, X, G, "tanh", l1)
    _, ref, _, _ = backprop.manual_step(params, X, G, "tanh", l1)
    with pytest.raises(AssertionError):
        all_close(grads, ref, list(params))
