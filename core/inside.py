"""Inside the network: what each unit computes over the plane, the weight matrices, per-layer
health (gradient norms, update ratios, dead or saturated units) and the confusion matrix.

Pure functions over plain inputs (a params dict, tensors, names); each returns small frozen
dataclasses of plain Python data, so a UI can draw them without touching torch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from .features import DEFAULT_FEATURES, featurize
from .network import Params, depth, forward
from .probes import Extent, grid_points

SATURATED = 0.97
"""tanh: |h| above this is saturated; sigmoid: h below 1 - this or above this."""
SATURATED_ROWS = 0.99
"""A unit is saturated when it is saturated on at least this fraction of the rows."""
HEALTH_ROWS = 4096
"""layer_health looks at most this many rows of X (evenly strided), so it stays cheap."""


# ---------------------------------------------------------------- neuron maps


@dataclass(frozen=True)
class UnitMap:
    """One unit's value over the grid of the input plane."""

    label: str
    """`h1[3]` for hidden unit 3 of layer 1 (after the activation); `out[k]` for class k's probability."""
    layer: int
    """1 .. L; L is the output layer."""
    unit: int
    """Index of the unit in its layer."""
    values: tuple[tuple[float, ...], ...]
    """rows x cols; row 0 is the top of the plane (largest x2), column 0 its left (smallest x1)."""
    scale: float
    """max |value| over the finite values (0.0 when all are zero or non-finite)."""


@dataclass(frozen=True)
class LayerMaps:
    """The shown units of one layer (a page of at most max_units of them)."""

    layer: int
    """1 .. L; L is the output layer."""
    output: bool
    """True for the output layer (units are class probabilities)."""
    activation: str
    """The hidden activation, or 'softmax' for the output layer."""
    width: int
    """Number of units in the layer."""
    offset: int
    """Index of the first shown unit; units before it are left out."""
    units: tuple[UnitMap, ...]
    """The shown units, in order."""
    more: int
    """Units after the shown ones that are left out."""
    scale: float
    """max |value| over every unit of the layer (shown or not): a shared colour scale."""


@dataclass(frozen=True)
class NeuronMaps:
    """Every layer's unit maps over one grid, hidden layers first, the output layer last."""

    layers: tuple[LayerMaps, ...]
    """One entry per layer, in order."""
    extent: tuple[float, float, float, float]
    """x0, x1, y0, y1 of the plane the grid covers."""
    cols: int
    """Grid columns (x1 direction)."""
    rows: int
    """Grid rows (x2 direction, top row first)."""


def _extent(extent: Extent | Sequence[float]) -> Extent:
    if isinstance(extent, Extent):
        return extent
    x0, x1, y0, y1 = (float(v) for v in extent)
    return Extent(x0, x1, y0, y1)


def _finite_absmax(t: torch.Tensor) -> float:
    """max |t| over finite entries (0.0 if none); one host sync."""
    a = torch.where(torch.isfinite(t), t.abs(), torch.zeros_like(t))  # same shape as t
    return float(a.max()) if a.numel() else 0.0


def _page(width: int, offset: int, max_units: int) -> range:
    """The unit indices shown: max_units from offset (taken modulo width, so paging wraps)."""
    start = offset % width if width else 0
    return range(start, min(width, start + max(max_units, 0)))


@torch.no_grad()
def neuron_maps(
    params: Params,
    activation: str,
    extent: Extent | Sequence[float],
    cols: int,
    rows: int,
    max_units: int = 8,
    offset: int | Mapping[int, int] = 0,
    features: tuple[str, ...] = DEFAULT_FEATURES,
) -> NeuronMaps:
    """Each unit's value over a rows x cols grid of cell centres of the (x1, x2) plane, from one
    forward pass over the grid's points mapped through the run's features.

    extent is (x0, x1, y0, y1) or a boundary.Extent. offset is one int for every layer or
    {layer: offset}; each layer shows max_units units from its offset. A linear model (no hidden
    layer) has the output layer only.
    """
    ext = _extent(extent)
    W1 = params["W1"]  # (D, H1)
    D, _ = W1.shape
    if D != len(features):
        raise ValueError(f"neuron maps of {len(features)} features need a W1 with fan_in {len(features)}, not {D}")
    L = depth(params)
    P = grid_points(ext, cols, rows).to(device=W1.device, dtype=W1.dtype)  # (rows * cols, 2)
    logits, cache = forward(params, featurize(P, features), activation)  # (rows * cols, K)
    outs = [cache[2 * k] for k in range(1, L)] + [
        torch.softmax(logits, dim=1)
    ]  # h_k (rows * cols, H_k) ..., probs (rows * cols, K)
    layers = []
    for k, A in enumerate(outs, start=1):
        N, H = A.shape
        off = offset.get(k, 0) if isinstance(offset, Mapping) else offset
        shown = _page(H, off, max_units)
        maps = A[:, shown.start : shown.stop].T.reshape(len(shown), rows, cols)  # (S, rows, cols)
        values = maps.double().cpu().tolist()  # one host sync for the page
        scales = (
            torch.where(torch.isfinite(maps), maps.abs(), 0.0).amax(dim=(1, 2)).tolist() if len(shown) else []
        )  # (S,)
        name = "out" if k == L else f"h{k}"
        units = tuple(
            UnitMap(f"{name}[{j}]", k, j, tuple(tuple(r) for r in v), s) for j, v, s in zip(shown, values, scales)
        )
        layers.append(
            LayerMaps(
                k, k == L, "softmax" if k == L else activation, H, shown.start, units, H - shown.stop, _finite_absmax(A)
            )
        )
    return NeuronMaps(tuple(layers), (ext.x0, ext.x1, ext.y0, ext.y1), cols, rows)


# ---------------------------------------------------------------- weight matrices


@dataclass(frozen=True)
class Matrix:
    """One parameter (or its gradient, or its last update) as numbers, pooled to fit if needed."""

    name: str
    """The parameter's name: `W1`, `b1`, ..."""
    which: str
    """'params', 'grads' or 'updates'."""
    shape: tuple[int, ...]
    """The original shape: (fan_in, fan_out) for W_k, (fan_out,) for b_k."""
    values: tuple[tuple[float, ...], ...]
    """Rows of the (pooled) matrix; a bias is one row."""
    pooled: bool
    """True when values are block means of a bigger matrix."""
    row_edges: tuple[int, ...]
    """Row i of values covers original rows row_edges[i] .. row_edges[i+1]-1."""
    col_edges: tuple[int, ...]
    """Column j of values covers original columns col_edges[j] .. col_edges[j+1]-1."""
    scale: float
    """max |value| over the finite shown values (0.0 when none)."""


def _edges(n: int, parts: int) -> list[int]:
    """Boundaries of `parts` contiguous, nearly equal groups of n items."""
    return [i * n // parts for i in range(parts + 1)]


def mean_pool(A: torch.Tensor, max_rows: int, max_cols: int) -> tuple[torch.Tensor, list[int], list[int]]:
    """A (n, m) as block means on a grid of at most max_rows x max_cols contiguous blocks."""
    n, m = A.shape
    R, C = min(n, max(max_rows, 1)), min(m, max(max_cols, 1))
    re, ce = _edges(n, R), _edges(m, C)
    rg = torch.repeat_interleave(torch.arange(R), torch.tensor(re).diff()).to(A.device)  # (n,) block of each row
    cg = torch.repeat_interleave(torch.arange(C), torch.tensor(ce).diff()).to(A.device)  # (m,) block of each column
    flat = (rg[:, None] * C + cg[None, :]).reshape(-1)  # (n * m,) block of each entry
    sums = torch.zeros(R * C, dtype=A.dtype, device=A.device).index_add_(0, flat, A.reshape(-1))  # (R * C,)
    counts = torch.bincount(flat, minlength=R * C).to(A.dtype)  # (R * C,)
    return (sums / counts).reshape(R, C), re, ce  # (R, C)


WHICH = ("params", "grads", "updates")


def weight_matrices(
    params: Params,
    which: str = "params",
    grads: Mapping[str, torch.Tensor] | None = None,
    updates: Mapping[str, torch.Tensor] | None = None,
    max_rows: int = 16,
    max_cols: int = 24,
) -> tuple[Matrix, ...]:
    """W1, b1, W2, b2, ... (or their gradients or last updates, by name) as plain numbers.

    Returns () when the tensors asked for are not there yet (no step taken).
    """
    if which not in WHICH:
        raise ValueError(f"which must be one of {WHICH}, got {which!r}")
    source = {"params": params, "grads": grads, "updates": updates}[which]
    if not source:
        return ()
    out = []
    for name in params:
        T = source[name].detach()  # (fan_in, fan_out) or (fan_out,)
        A = T if T.dim() == 2 else T.reshape(1, -1)  # (rows, cols); a bias is one row
        P, re, ce = mean_pool(A.double(), max_rows, max_cols)  # (R, C)
        out.append(
            Matrix(
                name,
                which,
                tuple(T.shape),
                tuple(tuple(r) for r in P.cpu().tolist()),
                P.shape != A.shape,
                tuple(re),
                tuple(ce),
                _finite_absmax(P),
            )
        )
    return tuple(out)


# ---------------------------------------------------------------- layer health


@dataclass(frozen=True)
class LayerHealth:
    """How one layer trains: gradient size, update size, and units that no longer learn."""

    layer: int
    """1 .. L; L is the output layer."""
    name: str
    """The weight's name, `W1`."""
    units: int
    """Units in the layer (fan_out)."""
    grad_norm: float
    """‖dL/dW_k‖ (nan without gradients)."""
    update_ratio: float
    """‖last update of W_k‖ / ‖W_k‖ (nan without update norms)."""
    problem: str
    """'dead' (relu, leaky_relu), 'saturated' (tanh, sigmoid), or '' for the output layer."""
    bad_units: tuple[int, ...]
    """Indices of the dead or saturated units."""
    bad_fraction: float
    """len(bad_units) / units (nan for the output layer or when X has no rows)."""
    rows: int
    """Rows of X the dead/saturated test looked at."""


def bad_labels(layers: tuple[LayerHealth, ...]) -> frozenset[str]:
    """Labels of the dead or saturated units (`h1[3]`), as the neuron maps name them."""
    return frozenset(f"h{h.layer}[{j}]" for h in layers for j in h.bad_units)


def dead_units(z: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """Units never active on any row: h <= 0 everywhere (relu), z <= 0 everywhere (leaky_relu)."""
    active = h > 0 if activation == "relu" else z > 0  # (N, H)
    return ~active.any(dim=0)  # (H,)


def saturated_units(h: torch.Tensor, activation: str) -> torch.Tensor:
    """Units saturated on at least SATURATED_ROWS of the rows (flat part of tanh or sigmoid)."""
    if activation == "tanh":
        sat = h.abs() > SATURATED  # (N, H)
    else:
        sat = (h < 1 - SATURATED) | (h > SATURATED)  # (N, H) sigmoid
    return sat.to(torch.float64).mean(dim=0) >= SATURATED_ROWS  # (H,)


def _norm(t: torch.Tensor | None) -> float:
    return float(t.detach().double().norm()) if t is not None else math.nan


@torch.no_grad()
def layer_health(
    params: Params,
    activation: str,
    X: torch.Tensor,
    grads: Mapping[str, torch.Tensor] | None = None,
    update_norms: Mapping[str, float] | None = None,
    max_rows: int = HEALTH_ROWS,
) -> tuple[LayerHealth, ...]:
    """One entry per layer (the output layer last, with no dead/saturated test). X is the network's
    input (the features of the points).

    grads maps a parameter name to its gradient; update_norms maps it to ‖last update‖.
    """
    L = depth(params)
    N, _ = X.shape
    stride = max(1, math.ceil(N / max_rows)) if max_rows else 1
    Xs = X[::stride].to(device=params["W1"].device, dtype=params["W1"].dtype)  # (n, D)
    _, cache = forward(params, Xs, activation)  # [X, z1, h1, ..., logits]
    n = Xs.shape[0]
    out = []
    for k in range(1, L + 1):
        name = f"W{k}"
        W = params[name]  # (fan_in, fan_out)
        H = W.shape[1]
        upd = (update_norms or {}).get(name, math.nan)
        bad: tuple[int, ...]
        w_norm = _norm(W)
        ratio = upd / w_norm if w_norm > 0 else math.nan
        problem, bad = "", ()
        if k < L:
            z, h = cache[2 * k - 1], cache[2 * k]  # (n, H) each
            problem = "dead" if activation in ("relu", "leaky_relu") else "saturated"
            if n:
                flags = dead_units(z, h, activation) if problem == "dead" else saturated_units(h, activation)  # (H,)
                bad = tuple(int(i) for i in flags.nonzero().flatten().tolist())
        frac = len(bad) / H if problem and n else math.nan
        out.append(LayerHealth(k, name, H, _norm((grads or {}).get(name)), ratio, problem, bad, frac, n))
    return tuple(out)


# ---------------------------------------------------------------- confusion matrix


@dataclass(frozen=True)
class Confusion:
    """Counts of (true class, predicted class) pairs."""

    counts: tuple[tuple[int, ...], ...]
    """K x K; counts[t][p] rows with true class t predicted as p."""
    per_class: tuple[float, ...]
    """Accuracy on the rows of each true class (nan for a class with no rows)."""
    total: int
    """Rows counted."""
    accuracy: float
    """Overall fraction correct (nan with no rows)."""


@torch.no_grad()
def confusion(logits_or_predictions: torch.Tensor, y: torch.Tensor, K: int) -> Confusion:
    """Confusion matrix from (N, K) logits (argmax taken) or (N,) predicted classes."""
    p = torch.as_tensor(logits_or_predictions)  # (N, K) or (N,)
    pred = p.argmax(dim=1) if p.dim() == 2 else p  # (N,)
    pred, y = pred.long().cpu(), torch.as_tensor(y).long().cpu()  # (N,) each
    if pred.shape != y.shape:
        raise ValueError(f"{tuple(pred.shape)} predictions for {tuple(y.shape)} labels")
    for what, t in (("predictions", pred), ("labels", y)):
        if t.numel() and (int(t.min()) < 0 or int(t.max()) >= K):
            raise ValueError(f"{what} must lie in 0..{K - 1}")
    counts = torch.bincount(y * K + pred, minlength=K * K).reshape(K, K)  # (K, K)
    rows = counts.sum(dim=1)  # (K,)
    diag = counts.diag()  # (K,)
    per_class = tuple(d / r if r else math.nan for d, r in zip(diag.tolist(), rows.tolist()))
    N = int(y.numel())
    return Confusion(tuple(tuple(r) for r in counts.tolist()), per_class, N, int(diag.sum()) / N if N else math.nan)
