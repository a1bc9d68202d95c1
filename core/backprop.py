"""The loss, its gradient, and the gradients of every parameter: by hand (`manual`) or by
autograd (`autograd`). This is the reference; core/fast.py holds a fused copy the trainer uses.

The loss is the mean softmax cross-entropy. With G = -onehot(y) / N it is linear in log p:

    loss    = sum(G * log_softmax(logits))          (= mean of -log p(y_i))
    dlogits = (softmax(logits) - onehot(y)) / N     (= G + softmax / N)

and the chain rule, for logits = a_{L-1} @ W_L + b_L and a_k = phi(z_k):

    dW_k     = a_{k-1}^T @ dz_k          db_k = sum_rows(dz_k)
    da_{k-1} = dz_k @ W_k^T              dz_{k-1} = da_{k-1} * phi'(z_{k-1})

With `--l1 c` the loss minimised is loss + c * sum_p |p| over every parameter (biases included,
as weight decay does), whose gradient adds c * sign(p) to each dp (0 where p is exactly 0, as
autograd's). The loss reported stays the data loss, as it does with weight decay.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from .network import Params, activation_grad, depth, forward

BACKPROPS = ("manual", "autograd")

StepResult = tuple[torch.Tensor, list[torch.Tensor], list[torch.Tensor], torch.Tensor]
"""(loss, grads in parameter order, forward cache, logits) of one step's forward and backward."""
StepFn = Callable[[Params, torch.Tensor, torch.Tensor, str, float], StepResult]
"""step(params, X, G, activation, l1)."""


def targets(Y: torch.Tensor) -> torch.Tensor:
    """G = dL/dlog p = -onehot(y) / N: the loss is linear in log p, so this is all it needs of the labels."""
    return Y * (-1.0 / Y.shape[0])  # (N, K)


def cross_entropy(logits: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """The loss: mean of -log p(y_i | x_i), written as sum(G * log p) with G = targets(onehot)."""
    logp = torch.log_softmax(logits, dim=1)  # (N, K) logits - logsumexp(logits), stable
    return torch.dot(G.reshape(-1), logp.reshape(-1))  # ()


def dlogits_of(logits: torch.Tensor, G: torch.Tensor) -> torch.Tensor:
    """dloss/dlogits = (softmax - onehot) / N = G + softmax / N (each row of G sums to -1/N)."""
    N = logits.shape[0]
    return G + torch.softmax(logits, dim=1) / N  # (N, K)


def l1_penalty(params: Params, l1: float) -> torch.Tensor:
    """l1 * sum over every parameter of sum |p| (a 0-d tensor)."""
    return l1 * sum(p.abs().sum() for p in params.values())  # type: ignore[return-value]  # (): sum starts at int 0; params is never empty


def l1_grads(params: Params, grads: list[torch.Tensor], l1: float) -> list[torch.Tensor]:
    """dp + l1 * sign(p) for each parameter: the gradient of the L1 penalty added (new tensors)."""
    return [g + l1 * torch.sign(p) for g, p in zip(grads, params.values())]  # each shaped as its p


def manual_backward(
    params: Params, cache: list[torch.Tensor], dlogits: torch.Tensor, activation: str, l1: float = 0.0
) -> list[torch.Tensor]:
    """Walk the layers from the last to the first, applying the chain rule written above, then
    add the L1 penalty's gradient when l1 > 0.

    Returns the gradients in parameter order: [dW1, db1, dW2, db2, ...].
    """
    L = depth(params)
    grads: list[torch.Tensor] = [dlogits] * (2 * L)  # placeholders, filled from the back
    dz = dlogits  # (N, K)
    for k in range(L, 0, -1):
        a_prev = cache[2 * k - 2]  # (N, fan_in) X for k = 1, else h_{k-1}
        grads[2 * k - 2] = a_prev.T @ dz  # (fan_in, fan_out) dW_k
        grads[2 * k - 1] = dz.sum(dim=0)  # (fan_out,) db_k
        if k > 1:
            da = dz @ params[f"W{k}"].T  # (N, fan_in) da_{k-1}
            dz = da * activation_grad(a_prev, activation)  # (N, fan_in) dz_{k-1}, phi' from h_{k-1}
    return l1_grads(params, grads, l1) if l1 else grads


def manual_step(params: Params, X: torch.Tensor, G: torch.Tensor, activation: str, l1: float = 0.0) -> StepResult:
    """Forward, loss and hand-derived gradients."""
    logits, cache = forward(params, X, activation)  # (N, K)
    loss = cross_entropy(logits, G)  # ()
    dlogits = dlogits_of(logits, G)  # (N, K)
    return loss, manual_backward(params, cache, dlogits, activation, l1), cache, logits


def autograd_step(params: Params, X: torch.Tensor, G: torch.Tensor, activation: str, l1: float = 0.0) -> StepResult:
    """The tutorial's way: build the graph, call loss.backward(), read .grad. With l1 > 0 the
    graph is of the penalised loss; the data loss is returned, as by the manual step."""
    leaves = {name: p.detach().requires_grad_(True) for name, p in params.items()}  # fresh leaves, no stale .grad
    with torch.enable_grad():
        logits, cache = forward(leaves, X, activation)  # (N, K)
        loss = cross_entropy(logits, G)  # ()
        (loss + l1_penalty(leaves, l1) if l1 else loss).backward()  # type: ignore[no-untyped-call]  # torch leaves Tensor.backward unannotated
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in leaves.values()]  # None: p unused
    return loss.detach(), grads, [c.detach() for c in cache], logits.detach()


@dataclass(frozen=True)
class GradCheck:
    """Manual against autograd gradients for one tensor, on the same batch."""

    name: str
    max_abs: float
    """Largest |manual - autograd| over the tensor's elements."""
    max_rel: float
    """max_abs relative to the tensor's scale, max(|manual|, |autograd|) over its elements
    (element-wise ratios blow up on entries that are rounding noise around zero)."""


def gradient_check(
    params: Params, X: torch.Tensor, Y: torch.Tensor, activation: str, manual: StepFn = manual_step, l1: float = 0.0
) -> list[GradCheck]:
    """Both gradients in float64 on the same batch, compared tensor by tensor; `manual` is the
    hand-derived step under test (the trainer passes the one it trains with). X is the network's
    input (the features); with l1 > 0 autograd differentiates the loss with the L1 penalty added."""
    p64 = {name: p.detach().double() for name, p in params.items()}
    X64, G64 = X.double(), targets(Y.double())  # (N, D), (N, K)
    _, mine, _, _ = manual(p64, X64, G64, activation, l1)
    _, auto, _, _ = autograd_step(p64, X64, G64, activation, l1)
    checks = []
    for name, m, a in zip(params, mine, auto):
        max_abs = float((m - a).abs().max())
        scale = max(float(m.abs().max()), float(a.abs().max()))
        checks.append(GradCheck(name, max_abs, max_abs / scale if scale > 0 else 0.0))
    return checks
