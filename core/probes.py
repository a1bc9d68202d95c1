"""What can be measured of a trainer, as plain data (floats, ints, tuples; no live tensors).

Pure functions: each reads a trainer's tensors and returns a small frozen dataclass or a tuple,
so the dashboard's training process can send them through a pipe and the headless summary can
print them. None of them changes the run. Which of them runs, and when, is the caller's choice.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch

from .backprop import cross_entropy, dlogits_of, targets
from .features import DEFAULT_FEATURES, describe, featurize
from .network import Params, activation_grad, activation_names, forward
from .optim import ADAM_BETAS, MOMENTUM, Adam, Momentum
from .trainer import Trainer

EVAL_SAMPLE = 4096
"""Accuracies and losses of a probe use at most this many points, so a million-point run stays live."""
LIVE_WORK = 1 << 26
"""Multiply-adds the dashboard's live metrics may take per split: a net that costs more than 16,384
per point is measured on fewer points than EVAL_SAMPLE (2-256-256-2: 1,024), down to LIVE_MIN."""
LIVE_MIN = 1024


def live_rows(tr: Trainer) -> int:
    """Points per split for the dashboard's live metrics and test curve: EVAL_SAMPLE, or fewer for a
    net whose forward pass is costly (a 1M-point 2-256-256-2 run spent 2 % of its time on them)."""
    per_point = tr.work() // tr.batch  # multiply-adds of one point's forward pass
    return max(LIVE_MIN, min(EVAL_SAMPLE, LIVE_WORK // max(per_point, 1)))


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
        rows.append(
            ParamStats(
                name,
                tuple(p.shape),
                tuple(g.shape) if g is not None else None,
                norm,
                float(g.norm()) if g is not None else math.nan,
                ratio,
            )
        )
    return tuple(rows)


def activation_shapes(tr: Trainer) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """(name, shape) of each tensor of the last forward pass, X to probs (a full batch's before any
    step). With --features other than x1,x2, the points the features X are made of come first."""
    names = activation_names(len(tr.params) // 2)
    if tr.last_cache:
        shapes = [tuple(t.shape) for t in tr.last_cache]
    else:
        widths = [tr.F_train.shape[1]] + [w for w in tr.cfg.hidden for _ in (0, 1)] + [tr.data.classes]
        shapes = [(tr.batch, w) for w in widths]
    points = (("points", (shapes[0][0], 2)),) if tr.cfg.features != DEFAULT_FEATURES else ()
    return points + tuple(zip(names, shapes)) + (("probs", shapes[-1]),)


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
    """Centres of a rows x cols grid, row 0 at the top (largest y), as (rows * cols, 2) float64."""
    return _grid(ext, cols, rows).clone()  # the panes ask for the same few grids again and again


@functools.lru_cache(maxsize=8)
def _grid(ext: Extent, cols: int, rows: int) -> torch.Tensor:
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
def boundary_grid(
    params: Params,
    activation: str,
    ext: Extent,
    cols: int,
    rows: int,
    features: tuple[str, ...] = DEFAULT_FEATURES,
) -> BoundaryGrid:
    """Predicted class and confidence of every cell of the (x1, x2) plane, from one forward pass
    over the grid's points mapped through the run's features."""
    W1 = params["W1"]
    P = grid_points(ext, cols, rows).to(device=W1.device, dtype=W1.dtype)  # (rows * cols, 2)
    logits, _ = forward(params, featurize(P, features), activation)  # (rows * cols, K)
    probs = torch.softmax(logits, dim=1)  # (rows * cols, K)
    K = probs.shape[1]
    pmax, klass = probs.max(dim=1)  # (rows * cols,) each
    conf = ((pmax - 1 / K) / (1 - 1 / K)).clamp(0, 1)  # (rows * cols,)
    conf = torch.nan_to_num(conf, nan=0.0)  # a diverged net shows as unsure, not as a crash
    return BoundaryGrid(
        tuple(map(tuple, klass.reshape(rows, cols).tolist())),
        tuple(map(tuple, conf.reshape(rows, cols).float().tolist())),
    )


def cell_centre(ext: Extent, cols: int, rows: int, col: int, row: int) -> tuple[float, float]:
    """The plane's (x, y) at the centre of grid cell (col, row), row 0 at the top: where a click
    on that cell of the boundary pane puts a point (the inverse of place_points)."""
    x = ext.x0 + (col + 0.5) * (ext.x1 - ext.x0) / cols
    y = ext.y1 - (row + 0.5) * (ext.y1 - ext.y0) / rows
    return x, y


def place_points(X: torch.Tensor, ext: Extent, cols: int, rows: int) -> list[tuple[int, int]]:
    """Grid (row, col) of each point, clipped to the grid."""
    c = ((X[:, 0].double() - ext.x0) / (ext.x1 - ext.x0) * cols).floor().clamp(0, cols - 1)  # (N,)
    r = ((ext.y1 - X[:, 1].double()) / (ext.y1 - ext.y0) * rows).floor().clamp(0, rows - 1)  # (N,)
    return list(zip(r.long().tolist(), c.long().tolist()))


def plot_sample(tr: Trainer, limit: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A fixed sample of at most `limit` training and test row indices (seeded: the same each call)."""
    g = torch.Generator().manual_seed(tr.cfg.seed)

    def pick(n: int) -> torch.Tensor:
        return torch.randperm(n, generator=g)[:limit] if n > limit else torch.arange(n)  # (min(n, limit),)

    return pick(tr.data.X_train.shape[0]), pick(tr.data.X_test.shape[0])


def placed_points(
    tr: Trainer, sample: tuple[torch.Tensor, torch.Tensor], ext: Extent, cols: int, rows: int
) -> tuple[tuple[int, int, int, str], ...]:
    """The sampled points as (row, col, class, 'train' | 'test') on a rows x cols grid."""
    d, points = tr.data, []
    for split, X, y, idx in (("train", d.X_train, d.y_train, sample[0]), ("test", d.X_test, d.y_test, sample[1])):
        if len(idx):
            idx = idx.to(X.device)
            Xs, ys = X[idx].float().cpu(), y[idx].cpu()  # (P, 2), (P,)
            points += [(r, c, k, split) for (r, c), k in zip(place_points(Xs, ext, cols, rows), ys.tolist())]
    return tuple(points)


# ----- the last step, written out -----


@dataclass(frozen=True)
class StepRow:
    """One line of the last step in the tutorial's notation, with its live shapes and one number."""

    part: str
    """'forward', 'loss', 'backward', 'moments' (the optimizer's state: momentum's velocity, adam's
    m and v) or 'update' (each W_k -= ..., whose number is ‖ΔW_k‖, the change it made)."""
    text: str
    """The equation: `z1 = X @ W1 + b1`."""
    shapes: str
    """Its shapes: `(80, 2) @ (2, 8) + (8,) -> (80, 8)`; '' where they add nothing."""
    label: str
    """What `value` is: `‖z1‖`, `loss`; '' for none."""
    value: float
    """nan when it cannot be known (e.g. ‖dh‖ without the weights the step started from)."""


def _s(t: torch.Tensor) -> str:
    return str(tuple(t.shape))


def _n(t: torch.Tensor) -> float:
    return float(t.detach().double().norm())


DERIVATIVE = {
    "relu": "(z{k} > 0)",
    "leaky_relu": "where(z{k} > 0, 1, 0.01)",
    "tanh": "(1 - h{k}**2)",
    "sigmoid": "h{k} * (1 - h{k})",
}
"""act'(z_k) written as the tutorial would, by activation."""


@torch.no_grad()
def step_rows(tr: Trainer, before: Params | None = None) -> tuple[StepRow, ...]:
    """The step just taken: forward, loss, backward and the optimizer's update, one row per equation.

    From the trainer's last forward cache and gradients. `before` (the parameters the step started
    from) gives the norms of dh_k, which need the old W_{k+1}; without it those are nan. Empty
    before the first step.
    """
    if not tr.last_cache or not tr.last_grads:
        return ()
    cache, grads, act, l1 = tr.last_cache, tr.last_grads, tr.cfg.activation, tr.cfg.l1
    L = len(tr.params) // 2
    if before is not None:  # the reference forward again: the fused step writes each h_k over z_k
        _, cache = forward(before, cache[0], act)  # [X, z1, h1, ..., logits]
    names = activation_names(L)  # X, z1, h1, ..., logits (h for the tutorial's one hidden layer)

    def known(k: int) -> bool:  # z_k kept apart from h_k
        return cache[2 * k - 1] is not cache[2 * k]

    def h(k: int) -> str:  # the name of h_k (h_0 is X)
        return names[2 * k]

    rows: list[StepRow] = []
    if tr.cfg.features != DEFAULT_FEATURES:  # the input is made of features of the points
        X = cache[0]  # (N, F)
        rows.append(
            StepRow("forward", f"X = {describe(tr.cfg.features)}", f"({X.shape[0]}, 2) -> {_s(X)}", "‖X‖", _n(X))
        )
    for k in range(1, L + 1):  # forward
        a, W, b = cache[2 * k - 2], tr.params[f"W{k}"], tr.params[f"b{k}"]  # (N, fan_in), (fan_in, fan_out), (fan_out,)
        z = cache[2 * k - 1]  # (N, fan_out)
        out = "logits" if k == L else f"z{k}"
        rows.append(
            StepRow(
                "forward",
                f"{out} = {h(k - 1)} @ W{k} + b{k}",
                f"{_s(a)} @ {_s(W)} + {_s(b)} -> {_s(z)}",
                f"‖{out}‖",
                _n(z) if k == L or known(k) else math.nan,
            )
        )
        if k < L:
            rows.append(StepRow("forward", f"{h(k)} = {act}(z{k})", _s(cache[2 * k]), f"‖{h(k)}‖", _n(cache[2 * k])))
    logits = cache[-1]  # (N, K)
    N, K = logits.shape
    if tr.order.full:
        G = tr.G_train  # (N, K)
    else:
        G = targets(tr.Y_train[tr.order.rows(tr.step_count - 1)])  # (N, K) the last step's batch
    rows.append(StepRow("loss", "loss = CE(logits, y)", "", "loss", float(cross_entropy(logits, G))))
    dz = dlogits_of(logits, G)  # (N, K)
    rows.append(StepRow("backward", "dlogits = (softmax - onehot) / N", _s(dz), "‖dlogits‖", _n(dz)))
    for k in range(L, 0, -1):  # backward, the chain rule from the last layer to the first
        a = cache[2 * k - 2]  # (N, fan_in)
        dW, db = grads[2 * k - 2], grads[2 * k - 1]  # (fan_in, fan_out), (fan_out,)
        dname = "dlogits" if k == L else f"dz{k}"
        pW, pb = (f" + {l1:g} * sign(W{k})", f" + {l1:g} * sign(b{k})") if l1 else ("", "")  # the L1 terms
        rows.append(
            StepRow(
                "backward",
                f"dW{k} = {h(k - 1)}.T @ {dname}{pW}",
                f"{_s(a.T)} @ {_s(dz)} -> {_s(dW)}",
                f"‖dW{k}‖",
                _n(dW),
            )
        )
        rows.append(StepRow("backward", f"db{k} = {dname}.sum(0){pb}", _s(db), f"‖db{k}‖", _n(db)))
        if k > 1:
            W_used = before[f"W{k}"] if before is not None else None  # the W_k this step's forward used
            hk = h(k - 1)
            da = dz @ W_used.T if W_used is not None else None  # (N, fan_in)
            rows.append(
                StepRow(
                    "backward",
                    f"d{hk} = {dname} @ W{k}.T",
                    f"{_s(dz)} @ ({dz.shape[1]}, {a.shape[1]}) -> {_s(a)}",
                    f"‖d{hk}‖",
                    _n(da) if da is not None else math.nan,
                )
            )
            suffix = "" if hk == "h" else str(k - 1)
            dz = da * activation_grad(a, act) if da is not None else torch.full_like(a, math.nan)  # (N, fan_in)
            deriv = DERIVATIVE.get(act, f"{act}'(z{k - 1})").format(k=suffix if act in ("tanh", "sigmoid") else k - 1)
            rows.append(
                StepRow(
                    "backward",
                    f"dz{k - 1} = d{hk} * {deriv}",
                    _s(a),
                    f"‖dz{k - 1}‖",
                    _n(dz) if da is not None else math.nan,
                )
            )
    return tuple(rows) + _update_rows(tr)


def _update_rows(tr: Trainer) -> tuple[StepRow, ...]:
    """The optimizer's lines: its moments for each W_k (momentum, adam), then each W_k's update,
    numbered with ‖ΔW_k‖, the change it made (each b_k is updated the same way with db_k)."""
    opt, L = tr.optimizer, len(tr.params) // 2
    norms = opt.update_norms(tr.param_list, tr.last_grads)  # ‖ΔW‖ per tensor
    lr = f"lr {opt.used_lr:g}"
    moments, updates = [], []
    for k in range(1, L + 1):
        i, W = 2 * k - 2, tr.params[f"W{k}"]
        if isinstance(opt, Momentum) and opt.velocity:
            moments.append(
                StepRow("moments", f"vW{k} = {MOMENTUM:g} vW{k} + dW{k}", _s(W), f"‖vW{k}‖", _n(opt.velocity[i]))
            )
            updates.append(StepRow("update", f"W{k} -= lr * vW{k}", lr, f"‖ΔW{k}‖", norms[i]))
        elif isinstance(opt, Adam) and opt.m and opt.v:
            b1, b2 = ADAM_BETAS
            moments.append(
                StepRow("moments", f"mW{k} = {b1:g} mW{k} + {1 - b1:.1g} dW{k}", _s(W), f"‖mW{k}‖", _n(opt.m[i]))
            )
            moments.append(
                StepRow("moments", f"vW{k} = {b2:g} vW{k} + {1 - b2:.1g} dW{k}²", _s(W), f"‖vW{k}‖", _n(opt.v[i]))
            )
            updates.append(
                StepRow("update", f"W{k} -= lr * m̂W{k} / (√v̂W{k} + ε)", f"{lr}, t {opt.t}", f"‖ΔW{k}‖", norms[i])
            )
        else:
            updates.append(StepRow("update", f"W{k} -= lr * dW{k}", lr, f"‖ΔW{k}‖", norms[i]))
    if opt.weight_decay:  # the gradient the moments or the update read
        first = "moments" if moments else "update"
        moments.insert(0, StepRow(first, f"dW += {opt.weight_decay:g} * W", "", "", math.nan))
    biases = "b1: the same with db1" if L == 1 else f"b1..b{L}: the same with db1..db{L}"
    updates.append(StepRow("update", biases, "", "", math.nan))
    return tuple(moments + updates)
