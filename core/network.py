"""The network: plain tensors W1, b1, W2, b2, ... and the forward pass that keeps its activations.

Layer k computes `z_k = a_{k-1} @ W_k + b_k` with `W_k` shaped (fan_in, fan_out), as in the
tutorial; hidden layers apply an activation phi, the last layer's z is the logits. Each
activation sits beside its derivative. This is the reference math; core/fast.py holds fused
variants of the same equations, tested equal to these.
"""

from __future__ import annotations

import math

import torch

ACTIVATIONS = ("relu", "tanh", "sigmoid", "leaky_relu")
INITS = ("normal", "he", "xavier")
LEAKY_SLOPE = 0.01

Params = dict[str, torch.Tensor]


def layer_sizes(inputs: int, hidden: tuple[int, ...], classes: int) -> list[int]:
    """[2, 8, 2] for the tutorial's network."""
    return [inputs, *hidden, classes]


def depth(params: Params) -> int:
    """Number of weight matrices."""
    return len(params) // 2


def init_params(sizes: list[int], init: str, g: torch.Generator, dtype: torch.dtype, device: torch.device) -> Params:
    """Weights drawn from g in layer order (W1 first, as the tutorial draws them); biases zero."""
    params: Params = {}
    for k, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:]), start=1):
        W = torch.randn(fan_in, fan_out, generator=g)  # (fan_in, fan_out) drawn on CPU: same numbers on any device
        if init == "he":
            W = W * math.sqrt(2.0 / fan_in)
        elif init == "xavier":
            W = W * math.sqrt(2.0 / (fan_in + fan_out))
        params[f"W{k}"] = W.to(device=device, dtype=dtype)  # (fan_in, fan_out)
        params[f"b{k}"] = torch.zeros(fan_out, device=device, dtype=dtype)  # (fan_out,)
    return params


def activate(z: torch.Tensor, activation: str) -> torch.Tensor:
    """phi(z), elementwise."""
    if activation == "relu":
        return torch.relu(z)  # = the tutorial's torch.clamp(z, min=0.0)
    if activation == "tanh":
        return torch.tanh(z)
    if activation == "sigmoid":
        return torch.sigmoid(z)
    return torch.where(z > 0, z, z * LEAKY_SLOPE)  # leaky_relu


def activation_grad(h: torch.Tensor, activation: str) -> torch.Tensor:
    """phi'(z), written with the output h = phi(z) alone (z > 0 exactly where h > 0 for relu and leaky_relu)."""
    if activation == "relu":
        return (h > 0).to(h.dtype)
    if activation == "tanh":
        return 1 - h * h
    if activation == "sigmoid":
        return h * (1 - h)
    return torch.full_like(h, LEAKY_SLOPE).masked_fill_(h > 0, 1.0)  # leaky_relu, the slope in h's dtype


def forward(params: Params, X: torch.Tensor, activation: str) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """Logits and the cache [X, z1, h1, z2, h2, ..., logits] the backward pass needs."""
    L = depth(params)
    a = X  # (N, D)
    cache = [X]
    for k in range(1, L):
        z = a @ params[f"W{k}"] + params[f"b{k}"]  # (N, H_k)
        a = activate(z, activation)  # (N, H_k)
        cache += [z, a]
    logits = a @ params[f"W{L}"] + params[f"b{L}"]  # (N, K)
    cache.append(logits)
    return logits, cache


def accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Fraction of rows whose largest logit is the label (a 0-d tensor, no device sync)."""
    return (logits.argmax(dim=1) == y).to(logits.dtype).mean()  # ()


def activation_names(L: int) -> list[str]:
    """Names for the forward cache: X, z1, h1, ..., logits (the tutorial's X, z1, h, logits for L = 2)."""
    if L == 2:
        return ["X", "z1", "h", "logits"]
    return ["X", *[f"{v}{k}" for k in range(1, L) for v in ("z", "h")], "logits"]
