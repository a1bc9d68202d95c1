"""What can be measured of a trainer, as plain data (floats, ints, tuples; no live tensors).

Pure functions: each reads a trainer's tensors and returns a small frozen dataclass or a tuple,
so the dashboard's training process can send them through a pipe and the headless summary can
print them. None of them changes the run. Which of them runs, and when, is the caller's choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from .network import Params, activation_names, forward
from .trainer import Trainer

EVAL_SAMPLE = 4096
"""Accuracies and losses of a probe use at most this many points, so a million-point run stays live."""


@dataclass(frozen=True)
class Metrics:
    """Loss and accuracy of the current parameters, all four on the same weights."""

    train_loss: float
    test_loss: float
    """nan without a test set."""
    train_acc: float
    test_acc: float


@torch.no_grad()
def sample_metrics(tr: Trainer, sample: int = EVAL_SAMPLE) -> Metrics:
    """Metrics on at most `sample` points of each split (the whole set for small data)."""
    d, S = tr.data, sample
    train_loss, train_acc = tr.evaluate(d.X_train[:S], d.y_train[:S], tr.Y_train[:S])
    if d.X_test.shape[0] == 0:
        return Metrics(float(train_loss), math.nan, float(train_acc), math.nan)
    test_loss, test_acc = tr.evaluate(d.X_test[:S], d.y_test[:S], tr.Y_test[:S])
    return Metrics(float(train_loss), float(test_loss), float(train_acc), float(test_acc))


@dataclass(frozen=True)
class ParamStats:
    """One parameter tensor and its last gradient and update."""

    name: str
    shape: tuple[int, ...]
    grad_shape: tuple[int, ...] | None
    """None before the first step."""
    norm: float
    grad_norm: float
    update_ratio: float
    """‖last update‖ / ‖param‖ (nan before the first step)."""


def param_stats(tr: Trainer) -> tuple[ParamStats, ...]:
    grads = tr.last_grads
    updates = tr.optimizer.update_norms(tr.param_list, grads) if grads else None
    rows = []
    for i, (name, p) in enumerate(tr.params.items()):
        g = grads[i] if grads else None
        norm = float(p.norm())
        ratio = updates[i] / norm if updates is not None and norm > 0 else math.nan
        rows.append(ParamStats(name, tuple(p.shape), tuple(g.shape) if g is not None else None, norm,
                               float(g.norm()) if g is not None else math.nan, ratio))
    return tuple(rows)


def activation_shapes(tr: Trainer) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of each tensor of the last forward pass, X to probs (a full batch's before any step)."""
    names = activation_names(len(tr.params) // 2)
    if tr.last_cache:
        shapes = [tuple(t.shape) for t in tr.last_cache]
    else:
        widths = [2] + [w for w in tr.cfg.hidden for _ in (0, 1)] + [tr.data.classes]
        shapes = [(tr.batch, w) for w in widths]
    return tuple(zip(names, shapes)) + (("probs", shapes[-1]),)


# ----- the input plane -----


@dataclass(frozen=True)
class Extent:
    """The rectangle of the plane shown: x from x0 to x1, y from y0 to y1."""

    x0: float
    x1: float
    y0: float
    y1: float


def extent_of(X: torch.Tensor, margin: float = 0.1) -> Extent:
    """Bounding box of the points with a margin on each side."""
    lo, hi = X.min(dim=0).values.tolist(), X.max(dim=0).values.tolist()  # [x, y] each
    dx, dy = max(hi[0] - lo[0], 1e-6), max(hi[1] - lo[1], 1e-6)
    return Extent(lo[0] - margin * dx, hi[0] + margin * dx, lo[1] - margin * dy, hi[1] + margin * dy)


def data_extent(tr: Trainer) -> Extent:
    d = tr.data
    return extent_of(torch.cat([d.X_train, d.X_test]).float().cpu())  # (N + M, 2)


def grid_points(ext: Extent, cols: int, rows: int) -> torch.Tensor:
    """Centres of a rows x cols grid, row 0 at the top (largest y), as (rows * cols, 2)."""
    xs = ext.x0 + (torch.arange(cols, dtype=torch.float64) + 0.5) * (ext.x1 - ext.x0) / cols  # (cols,)
    ys = ext.y1 - (torch.arange(rows, dtype=torch.float64) + 0.5) * (ext.y1 - ext.y0) / rows  # (rows,)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (rows, cols) each
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (rows * cols, 2)


@dataclass(frozen=True)
class BoundaryGrid:
    """The net's answer over the plane, one entry per cell, rows x cols."""

    klass: tuple[tuple[int, ...], ...]
    """Predicted class of each cell."""
    conf: tuple[tuple[float, ...], ...]
    """Confidence of each cell: 0 = a uniform guess, 1 = certain."""


@torch.no_grad()
def boundary_grid(params: Params, activation: str, ext: Extent, cols: int, rows: int) -> BoundaryGrid:
    """Predicted class and confidence of every cell, from one forward pass over the grid."""
    W1 = params["W1"]
    P = grid_points(ext, cols, rows).to(device=W1.device, dtype=W1.dtype)  # (rows * cols, 2)
    logits, _ = forward(params, P, activation)  # (rows * cols, K)
    probs = torch.softmax(logits, dim=1)  # (rows * cols, K)
    K = probs.shape[1]
    pmax, klass = probs.max(dim=1)  # (rows * cols,) each
    conf = ((pmax - 1 / K) / (1 - 1 / K)).clamp(0, 1)  # (rows * cols,)
    conf = torch.nan_to_num(conf, nan=0.0)  # a diverged net shows as unsure, not as a crash
    return BoundaryGrid(tuple(map(tuple, klass.reshape(rows, cols).tolist())),
                        tuple(map(tuple, conf.reshape(rows, cols).float().tolist())))


def place_points(X: torch.Tensor, ext: Extent, cols: int, rows: int) -> list[tuple[int, int]]:
    """Grid (row, col) of each point, clipped to the grid."""
    c = ((X[:, 0].double() - ext.x0) / (ext.x1 - ext.x0) * cols).floor().clamp(0, cols - 1)  # (N,)
    r = ((ext.y1 - X[:, 1].double()) / (ext.y1 - ext.y0) * rows).floor().clamp(0, rows - 1)  # (N,)
    return list(zip(r.long().tolist(), c.long().tolist()))


def plot_sample(tr: Trainer, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed sample of at most `limit` training and test row indices (seeded: the same each call)."""
    g = torch.Generator().manual_seed(tr.cfg.seed)
    pick = lambda n: torch.randperm(n, generator=g)[:limit] if n > limit else torch.arange(n)  # noqa: E731
    return pick(tr.data.X_train.shape[0]), pick(tr.data.X_test.shape[0])


def placed_points(tr: Trainer, sample: tuple[torch.Tensor, torch.Tensor], ext: Extent, cols: int,
                  rows: int) -> tuple[tuple[int, int, int, str], ...]:
    """The sampled points as (row, col, class, 'train' | 'test') on a rows x cols grid."""
    d, points = tr.data, []
    for split, X, y, idx in (("train", d.X_train, d.y_train, sample[0]), ("test", d.X_test, d.y_test, sample[1])):
        if len(idx):
            idx = idx.to(X.device)
            Xs, ys = X[idx].float().cpu(), y[idx].cpu()  # (P, 2), (P,)
            points += [(r, c, k, split) for (r, c), k in zip(place_points(Xs, ext, cols, rows), ys.tolist())]
    return tuple(points)
