"""CUDA graphs: GRAPH_STEPS full-batch updates captured once and replayed as one launch.

Small nets on a GPU are launch-bound: one replay replaces 64 x ~25 kernel launches. Only the
manual step with sgd or momentum is captured (their state is a fixed set of tensors); anything
else runs eagerly. Capturing changes no number: parameters and moments are restored after the
warm-up. The trainer hands in what the steps need; this module never imports the trainer.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backprop import StepFn
from .network import Params
from .optim import Optimizer

GRAPH_STEPS = 64
"""Updates captured in one CUDA graph."""
_disabled = False
"""Set once a capture fails on this machine; everything then runs eagerly."""
Key = tuple[object, ...]
"""What a capture depends on (run, activation, lr, weight decay, l1, optimizer, parameter version)."""


def available() -> bool:
    return not _disabled


@dataclass
class CapturedSteps:
    """GRAPH_STEPS updates recorded once; replay() runs them again on the same tensors."""

    key: Key
    graph: "torch.cuda.CUDAGraph"
    losses: torch.Tensor
    """(GRAPH_STEPS,) written by each replay."""
    grads: list[torch.Tensor]
    """The last captured step's gradients (valid after a replay)."""
    cache: list[torch.Tensor]
    """The last captured step's activations."""


def capture(
    key: Key,
    step: StepFn,
    params: Params,
    X: torch.Tensor,
    G: torch.Tensor,
    activation: str,
    l1: float,
    optimizer: Optimizer,
) -> CapturedSteps | None:
    """Warm up on a side stream, restore the parameters and moments, then record GRAPH_STEPS
    updates. Returns None (and stops trying for good) when the driver cannot capture."""
    global _disabled
    plist = list(params.values())
    saved = [p.clone() for p in plist]
    moments = [m.clone() for m in optimizer.moments()] or None
    try:
        stream = torch.cuda.Stream()  # type: ignore[no-untyped-call]  # torch leaves Stream.__new__ unannotated
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            for _ in range(3):  # lets cuBLAS and the allocator settle outside the capture
                _, grads, _, _ = step(params, X, G, activation, l1)
                optimizer.update(plist, grads)
        torch.cuda.current_stream().wait_stream(stream)
        torch._foreach_copy_(plist, saved)
        optimizer.restore_moments_(moments)  # created by the warm-up if new: they start at zero
        losses = torch.empty(GRAPH_STEPS, device=X.device, dtype=X.dtype)  # (GRAPH_STEPS,)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            for i in range(GRAPH_STEPS):
                loss, grads, cache, _ = step(params, X, G, activation, l1)
                optimizer.update(plist, grads)
                losses[i].copy_(loss)
        return CapturedSteps(key, graph, losses, grads, cache)
    except Exception:  # a driver or capture limitation: eager steps from now on
        _disabled = True
        torch._foreach_copy_(plist, saved)
        return None
