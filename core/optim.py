"""Optimizers written from scratch: sgd (the tutorial's update), momentum and adam, each with L2 weight decay.

Each works on a list of parameter tensors in place. The `torch._foreach_*` calls apply one
elementwise operation to every tensor in a single dispatch, which is the same arithmetic as a
Python loop over `p -= lr * g` with a fraction of the per-step overhead on tiny networks.
"""

from __future__ import annotations

import math
from typing import Any

import torch

OPTIMIZERS = ("sgd", "momentum", "adam")
MOMENTUM = 0.9
ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8

Tensors = list[torch.Tensor] | tuple[torch.Tensor, ...]
"""What the `torch._foreach_*` calls take, and return (a tuple)."""


def zeros_like_all(params: list[torch.Tensor]) -> list[torch.Tensor]:
    """Fresh zero moments, one like each parameter. They outlive the step that creates them, so
    they are normal tensors even when that step runs in inference mode (see Trainer.step): an
    inference tensor cannot be written in place outside it (a rewind restores moments in place)."""
    with torch.inference_mode(False):
        return [torch.zeros_like(p) for p in params]


def _scalar(x: float, like: torch.Tensor) -> float:
    """x clamped to the finite range of like's dtype. torch refuses a scalar it cannot convert
    (lr 1e39 on float32 raises RuntimeError); clamped, the update is as large as the dtype allows,
    the parameters or the loss become non-finite, and the run ends as DIVERGED, as any lr may."""
    top = torch.finfo(like.dtype).max
    return max(-top, min(top, x))


class Optimizer:
    """Base: holds lr and weight decay; `update(params, grads)` changes params in place."""

    name = "sgd"

    def __init__(self, lr: float, weight_decay: float = 0.0):
        self.lr = lr
        self.weight_decay = weight_decay
        self.used_lr = lr
        """The lr of the last update (lr may change live between updates)."""

    def _decayed(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> Tensors:
        """g + wd * p (L2 penalty wd/2 ||p||^2); the grads themselves when wd is 0."""
        if self.weight_decay == 0:
            return grads
        return torch._foreach_add(grads, params, alpha=self.weight_decay)

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        """p <- p - lr * g, the tutorial's `W1 -= lr * W1.grad`, for all tensors in one call."""
        self.used_lr = self.lr
        torch._foreach_add_(params, self._decayed(params, grads), alpha=_scalar(-self.lr, params[0]))

    def last_updates(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """The change the last update made to each tensor (params after it, grads it used): for the
        views, not used while training. sgd: -lr (g + wd p), p the parameters before the update,
        recovered from those after it as (p_after + lr g) / (1 - lr wd)."""
        lr, wd = self.used_lr, self.weight_decay
        if wd == 0 or lr * wd == 1:
            return [-lr * g for g in self._decayed(params, grads)]  # each like its param
        return [p - (p + lr * g) / (1 - lr * wd) for p, g in zip(params, grads)]  # each like its param

    def update_norms(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[float]:
        """‖last update‖ per tensor (for the shapes and health panes; not used while training)."""
        return [float(u.norm()) for u in self.last_updates(params, grads)]

    def moments(self) -> list[torch.Tensor]:
        """The state tensors the updates read and write (none for plain sgd)."""
        return []

    def restore_moments_(self, saved: list[torch.Tensor] | None) -> None:
        """Copy saved moments back in place (zeros when there were none yet): the tensors keep
        their identity, which a captured CUDA graph relies on."""
        if self.moments():
            if saved is None:
                torch._foreach_zero_(self.moments())
            else:
                torch._foreach_copy_(self.moments(), saved)

    def state_dict(self) -> dict[str, Any]:
        return {"name": self.name, "lr": self.lr, "weight_decay": self.weight_decay}

    def load_state_dict(self, state: dict[str, Any], params: list[torch.Tensor]) -> None:
        self.lr = self.used_lr = float(state["lr"])
        self.weight_decay = float(state["weight_decay"])


class Momentum(Optimizer):
    """Heavy-ball: v <- mu v + g;  p <- p - lr v."""

    name = "momentum"

    def __init__(self, lr: float, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.velocity: list[torch.Tensor] | None = None

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        self.used_lr = self.lr
        g = self._decayed(params, grads)
        if self.velocity is None:
            self.velocity = zeros_like_all(params)
        torch._foreach_mul_(self.velocity, MOMENTUM)
        torch._foreach_add_(self.velocity, g)
        torch._foreach_add_(params, self.velocity, alpha=_scalar(-self.lr, params[0]))

    def last_updates(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """-lr v, v the velocity the last update moved by."""
        if not self.velocity:
            return super().last_updates(params, grads)
        return [-self.used_lr * v for v in self.velocity]  # each like its param

    def moments(self) -> list[torch.Tensor]:
        return self.velocity or []

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "velocity": self.velocity}

    def load_state_dict(self, state: dict[str, Any], params: list[torch.Tensor]) -> None:
        super().load_state_dict(state, params)
        v = state.get("velocity")
        self.velocity = None if v is None else [t.to(p) for t, p in zip(v, params)]


class Adam(Optimizer):
    """m, v running moments of g and g^2, bias-corrected;  p <- p - lr m_hat / (sqrt(v_hat) + eps)."""

    name = "adam"

    def __init__(self, lr: float, weight_decay: float = 0.0):
        super().__init__(lr, weight_decay)
        self.t = 0
        self.m: list[torch.Tensor] | None = None
        self.v: list[torch.Tensor] | None = None

    def update(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> None:
        b1, b2 = ADAM_BETAS
        g = self._decayed(params, grads)
        if self.m is None or self.v is None:
            self.m, self.v = zeros_like_all(params), zeros_like_all(params)
        self.t += 1
        self.used_lr = self.lr
        torch._foreach_lerp_(self.m, g, 1 - b1)  # m <- b1 m + (1 - b1) g
        torch._foreach_mul_(self.v, b2)
        torch._foreach_addcmul_(self.v, g, g, 1 - b2)  # v <- b2 v + (1 - b2) g^2
        step = self.lr / (1 - b1**self.t)
        denom = torch._foreach_sqrt(self.v)
        torch._foreach_div_(denom, math.sqrt(1 - b2**self.t))
        torch._foreach_add_(denom, ADAM_EPS)
        torch._foreach_addcdiv_(params, self.m, denom, _scalar(-step, params[0]))

    def moments(self) -> list[torch.Tensor]:
        return [*(self.m or []), *(self.v or [])]

    def last_updates(self, params: list[torch.Tensor], grads: list[torch.Tensor]) -> list[torch.Tensor]:
        """-lr m_hat / (sqrt(v_hat) + eps), from the moments the last update wrote."""
        if not self.m or not self.v:
            return super().last_updates(params, grads)
        b1, b2 = ADAM_BETAS
        scale = self.used_lr / (1 - b1**self.t)
        return [
            -scale * m / ((v / (1 - b2**self.t)).sqrt() + ADAM_EPS) for m, v in zip(self.m, self.v)
        ]  # each like its param

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "t": self.t, "m": self.m, "v": self.v}

    def load_state_dict(self, state: dict[str, Any], params: list[torch.Tensor]) -> None:
        super().load_state_dict(state, params)
        self.t = int(state.get("t", 0))
        m, v = state.get("m"), state.get("v")
        if (m is None) != (v is None):  # a damaged checkpoint: one moment without the other
            raise ValueError("adam state has one of its moments m, v without the other")
        self.m = None if m is None else [t.to(p) for t, p in zip(m, params)]
        self.v = None if v is None else [t.to(p) for t, p in zip(v, params)]


def make_optimizer(name: str, lr: float, weight_decay: float) -> Optimizer:
    """sgd, momentum or adam."""
    return {"sgd": Optimizer, "momentum": Momentum, "adam": Adam}[name](lr, weight_decay)
