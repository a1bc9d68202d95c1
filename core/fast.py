"""The same step as backprop.manual_step, fused for speed: what the trainer runs with `--backprop manual`.

Every function here computes an equation of core/backprop.py with fewer passes over memory, and
tests/core/test_fast.py keeps each equal to the reference in float64, for every activation and
depth. The speed-ups, measured when they went in:
- bias and relu in the matmul's epilogue (`torch._addmm_activation`), and each h_k written over
  z_k, since the backward needs only h: one (N, H) tensor per layer less to write and read;
- relu's backward as its own op (`aten.threshold_backward`) instead of a mask and a multiply,
  written over dh (a fresh (N, H) tensor each step cost its allocation and page faults);
- the loss and dlogits from one log_softmax (softmax = exp(log p), written in place);
- on the CPU, a narrowing layer over many rows multiplies by a column-major copy of its weights
  (the network's last layer on 10k points: 0.13 ms against 0.42 ms);
- dW as (dz^T @ a)^T on CUDA (cuBLAS runs the tall-skinny product faster that way: H200,
  2M x 256, 0.89 ms against 1.49 ms), and on the CPU for a layer that narrows (10,000 x 64 -> 2:
  0.17 ms against 0.65 ms; the other way round for a layer that widens); on CUDA, dW1 with db1
  from one pass over dz.
"""

from __future__ import annotations

import torch

from .backprop import StepResult
from .network import LEAKY_SLOPE, Params, activation_grad, depth


def activate_(z: torch.Tensor, activation: str) -> torch.Tensor:
    """phi(z) written over z (no new (N, H) tensor)."""
    if activation == "relu":
        return z.relu_()
    if activation == "tanh":
        return z.tanh_()
    if activation == "sigmoid":
        return z.sigmoid_()
    return torch.nn.functional.leaky_relu_(z, LEAKY_SLOPE)


NARROW_WORK = 1 << 16
"""Rows x fan_in from which a narrowing layer's weights are worth a column-major copy (see for_rows)."""


def for_rows(W: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
    """W as the CPU multiplies a (N, fan_in) by it fastest: a column-major copy where the layer
    narrows (fan_in >= 32, fan_out <= fan_in / 4) over many rows, since BLAS runs a narrow row-major
    right-hand side 2-5x slower (10,000 x 64 -> 2: 0.42 ms against 0.13 ms, the copy included;
    4,096 x 256 -> 2: 0.84 against 0.29 ms); else W itself."""
    fan_in, fan_out = W.shape
    if W.is_cuda or fan_in < 32 or 4 * fan_out > fan_in or a.shape[0] * fan_in < NARROW_WORK:
        return W  # (fan_in, fan_out)
    return W.t().contiguous().t()  # (fan_in, fan_out), column-major


def forward(params: Params, X: torch.Tensor, activation: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """network.forward with each h_k written over z_k (the cache then holds h_k in both places)."""
    L = depth(params)
    a = X  # (N, D)
    cache = [X]
    for k in range(1, L):
        W = for_rows(params[f"W{k}"], a)  # (H_k-1, H_k)
        if activation == "relu":  # bias and relu fused into the matmul's epilogue
            a = torch._addmm_activation(params[f"b{k}"], a, W)  # (N, H_k)
        else:
            a = activate_(torch.addmm(params[f"b{k}"], a, W), activation)  # (N, H_k)
        cache += [a, a]
    logits = torch.addmm(params[f"b{L}"], a, for_rows(params[f"W{L}"], a))  # (N, K)
    cache.append(logits)
    return logits, cache


def loss_and_dlogits(logits: torch.Tensor, G: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """backprop.cross_entropy and backprop.dlogits_of from one log_softmax."""
    N = logits.shape[0]
    logp = torch.log_softmax(logits, dim=1)  # (N, K)
    loss = torch.dot(G.view(-1), logp.view(-1))  # ()
    dlogits = torch.add(G, logp.exp_(), alpha=1.0 / N)  # (N, K) G + softmax / N
    return loss, dlogits


def outer_sum(a: torch.Tensor, dz: torch.Tensor) -> torch.Tensor:
    """a^T @ dz, as (dz^T @ a)^T where that runs faster: on CUDA (cuBLAS, tall-skinny inputs), and on
    the CPU where the layer narrows (fan_out < fan_in) over many rows, as a network's last layer
    does (on few rows the extra transpose costs more than the layout saves)."""
    N, fan_in = a.shape
    if dz.is_cuda or (dz.shape[1] < fan_in and N * fan_in >= NARROW_WORK):
        return (dz.T @ a).T  # (fan_in, fan_out)
    return a.T @ dz  # (fan_in, fan_out)


def input_layer_grads(X: torch.Tensor, dz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """dW1 and db1 from one pass over dz: [X, 1]^T @ dz stacks X^T @ dz on top of sum_rows(dz)."""
    Xa = torch.cat([X, X.new_ones(X.shape[0], 1)], dim=1)  # (N, D + 1)
    dWb = outer_sum(Xa, dz)  # (D + 1, fan_out)
    return dWb[:-1], dWb[-1]


def phi_backward_(da: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """dz = da * phi'(z) from h = phi(z), written over da where it can be."""
    if activation == "relu":  # da where h > 0, else 0, into da's own memory (no new (N, H) tensor)
        dz: torch.Tensor = torch.ops.aten.threshold_backward.grad_input(da, h, 0.0, grad_input=da)
        return dz
    return da.mul_(activation_grad(h, activation))


def add_l1_(params: Params, grads: list[torch.Tensor], l1: float) -> list[torch.Tensor]:
    """backprop.l1_grads written into the gradients: dp += l1 * sign(p), for all tensors in one call."""
    torch._foreach_add_(grads, torch._foreach_sign(list(params.values())), alpha=l1)  # each dp shaped as its p
    return grads


def manual_backward(
    params: Params, cache: list[torch.Tensor], dlogits: torch.Tensor, activation: str, l1: float = 0.0
) -> list[torch.Tensor]:
    """backprop.manual_backward, fused: [dW1, db1, dW2, db2, ...]."""
    L = depth(params)
    grads: list[torch.Tensor] = [dlogits] * (2 * L)
    dz = dlogits  # (N, K)
    for k in range(L, 0, -1):
        a_prev = cache[2 * k - 2]  # (N, fan_in)
        if k == 1 and dz.is_cuda:
            grads[0], grads[1] = input_layer_grads(a_prev, dz)  # (D, fan_out), (fan_out,)
        else:
            grads[2 * k - 2] = outer_sum(a_prev, dz)  # (fan_in, fan_out)
            grads[2 * k - 1] = dz.sum(dim=0)  # (fan_out,)
        if k > 1:
            da = dz @ params[f"W{k}"].T  # (N, fan_in)
            dz = phi_backward_(da, a_prev, activation)  # (N, fan_in)
    return add_l1_(params, grads, l1) if l1 else grads


def manual_step(params: Params, X: torch.Tensor, G: torch.Tensor, activation: str, l1: float = 0.0) -> StepResult:
    """backprop.manual_step, fused."""
    logits, cache = forward(params, X, activation)  # (N, K)
    loss, dlogits = loss_and_dlogits(logits, G)  # (), (N, K)
    return loss, manual_backward(params, cache, dlogits, activation, l1), cache, logits
