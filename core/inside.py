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
    bad: tuple[str, ...] = ()
    """Labels (`h1[3]`) of the hidden units, shown or not, that are dead (relu, leaky_relu) or
    saturated (tanh, sigmoid) on the rows given as X; () without X."""


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


def sample_rows(X: torch.Tensor, max_rows: int) -> torch.Tensor:
    """At most max_rows rows of X, evenly strided (all of them when max_rows is 0)."""
    N = X.shape[0]
    stride = max(1, math.ceil(N / max_rows)) if max_rows else 1
    return X[::stride]  # (n, D)


def bad_units(z: torch.Tensor, h: torch.Tensor, activation: str) -> torch.Tensor:
    """(H,) True for the units that no longer learn on these rows: dead ones for relu and
    leaky_relu, saturated ones for tanh and sigmoid."""
    if activation in ("relu", "leaky_relu"):
        return dead_units(z, h, activation)
    return saturated_units(h, activation)


@torch.no_grad()
def neuron_maps(
    params: Params,
    activation: str,
    extent: Extent | Sequence[float],
    cols: int,
    rows: int,
    max_units: int | Mapping[int, int] = 8,
    offset: int | Mapping[int, int] = 0,
    features: tuple[str, ...] = DEFAULT_FEATURES,
    X: torch.Tensor | None = None,
) -> NeuronMaps:
    """Each unit's value over a rows x cols grid of cell centres of the (x1, x2) plane, from one
    forward pass over the grid's points mapped through the run's features.

    extent is (x0, x1, y0, y1) or a boundary.Extent. max_units and offset are one int for every
    layer or {layer: int}; each layer shows max_units units from its offset. A linear model (no
    hidden layer) has the output layer only. With X (training rows, as features), the same forward
    pass also runs over them and `bad` names the dead or saturated units. Every number leaves the
    device in one copy, so the cost is a few small kernels, whatever the depth.
    """
    ext = _extent(extent)
    W1 = params["W1"]  # (D, H1)
    D, _ = W1.shape
    if D != len(features):
        raise ValueError(f"neuron maps of {len(features)} features need a W1 with fan_in {len(features)}, not {D}")
    L = depth(params)
    G = rows * cols
    P = grid_points(ext, cols, rows).to(device=W1.device, dtype=W1.dtype)  # (G, 2)
    P = featurize(P, features)  # (G, D)
    if X is not None:
        P = torch.cat([P, X.to(device=W1.device, dtype=W1.dtype)])  # (G + n, D): the grid, then the rows
    logits, cache = forward(params, P, activation)  # (G + n, K)
    hidden = [cache[2 * k] for k in range(1, L)]  # h_k (G + n, H_k)
    A = torch.cat([*(h[:G] for h in hidden), torch.softmax(logits[:G], dim=1)], dim=1)  # (G, H_1 + ... + K)
    widths = [W.shape[1] for W in (params[f"W{k}"] for k in range(1, L + 1))]
    firsts = [sum(widths[: k - 1]) for k in range(1, L + 1)]  # each layer's first column in A
    pages = []
    for k, H in enumerate(widths, start=1):
        per = max_units.get(k, 8) if isinstance(max_units, Mapping) else max_units
        pages.append(_page(H, offset.get(k, 0) if isinstance(offset, Mapping) else offset, per))
    columns = torch.tensor([f + j for f, page in zip(firsts, pages) for j in page], device=A.device)  # (S,)
    parts = [
        A.index_select(1, columns).T.reshape(-1),  # (S * G,) the shown units' maps, one after another, row by row
        torch.nan_to_num(A.abs(), nan=0.0, posinf=0.0, neginf=0.0).amax(dim=0),  # (H_1 + ... + K,) each unit's scale
    ]
    if (
        X is not None and X.shape[0] and L > 1
    ):  # dead or saturated on the rows: z_k for leaky_relu's test, h_k for the others
        z = torch.cat([cache[2 * k - 1][G:] for k in range(1, L)], dim=1)  # (n, H_1 + ... + H_{L-1})
        parts.append(bad_units(z, torch.cat(hidden, dim=1)[G:], activation).to(A.dtype))  # (H_1 + ... + H_{L-1},)
    numbers = torch.cat(parts).double().cpu().tolist()  # the one host sync
    S = columns.numel()
    scales, flags = numbers[S * G : S * G + sum(widths)], numbers[S * G + sum(widths) :]
    layers, at = [], 0  # at: where the next shown unit's map starts in numbers
    for k, (page, H, f) in enumerate(zip(pages, widths, firsts), start=1):
        name = "out" if k == L else f"h{k}"
        units = []
        for j in page:
            values = tuple(tuple(numbers[at + r * cols : at + (r + 1) * cols]) for r in range(rows))
            units.append(UnitMap(f"{name}[{j}]", k, j, values, scales[f + j]))
            at += G
        activation_k = "softmax" if k == L else activation
        layer_scale = max(scales[f : f + H], default=0.0)
        layers.append(LayerMaps(k, k == L, activation_k, H, page.start, tuple(units), H - page.stop, layer_scale))
    bad = tuple(
        f"h{k}[{j}]" for k, H in enumerate(widths[:-1], start=1) for j in range(H) if flags and flags[firsts[k - 1] + j]
    )
    return NeuronMaps(tuple(layers), (ext.x0, ext.x1, ext.y0, ext.y1), cols, rows, bad)


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
    Xs = sample_rows(X, max_rows).to(device=params["W1"].device, dtype=params["W1"].dtype)  # (n, D)
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
                bad = tuple(int(i) for i in bad_units(z, h, activation).nonzero().flatten().tolist())
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
