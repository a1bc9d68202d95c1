"""The decision boundary as text: a grid of cells, each shaded by predicted class and confidence,
with data points drawn on top. Pure functions of tensors and sizes, testable without a terminal.

Each class has its own point glyph and its own background glyphs, so the picture still reads
without colour (NO_COLOR); the UI adds colour per class on top.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .network import Params, forward, softmax

POINT_GLYPHS = "ox+*#@%&$v"
"""Glyph of a data point of class k."""
SHADE_GLYPHS = (".:", "-=", ",;", "`'", "~^", "_|", "<>", "()", "[]", "{}")
"""Background of class k: (fairly confident, very confident); blank where the net is unsure."""
SURE, VERY_SURE = 0.35, 0.75
"""Confidence thresholds for the two shade glyphs (0 = uniform guess, 1 = certain)."""


@dataclass(frozen=True)
class Cell:
    """One character of the boundary pane."""

    glyph: str
    klass: int
    """Predicted class of the background (or the class of the point drawn here)."""
    level: int
    """0 unsure, 1 sure, 2 very sure: background confidence band."""
    point: str = ""
    """'' for background, 'train' or 'test' for a data point."""
    background: int = -1
    """For a point: the predicted class of the cell under it (its shading); -1 for background cells."""


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


def grid_points(ext: Extent, cols: int, rows: int) -> torch.Tensor:
    """Centres of a rows x cols grid, row 0 at the top (largest y), as (rows * cols, 2)."""
    xs = ext.x0 + (torch.arange(cols, dtype=torch.float64) + 0.5) * (ext.x1 - ext.x0) / cols  # (cols,)
    ys = ext.y1 - (torch.arange(rows, dtype=torch.float64) + 0.5) * (ext.y1 - ext.y0) / rows  # (rows,)
    gy, gx = torch.meshgrid(ys, xs, indexing="ij")  # (rows, cols) each
    return torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=1)  # (rows * cols, 2)


@torch.no_grad()
def predict_grid(params: Params, activation: str, ext: Extent, cols: int, rows: int) -> tuple[list[list[int]], list[list[float]]]:
    """Predicted class and confidence (0 = uniform, 1 = certain) of every grid cell, as nested lists."""
    W1 = params["W1"]
    P = grid_points(ext, cols, rows).to(device=W1.device, dtype=W1.dtype)  # (rows * cols, 2)
    logits, _ = forward(params, P, activation)  # (rows * cols, K)
    probs = softmax(logits)  # (rows * cols, K)
    K = probs.shape[1]
    pmax, klass = probs.max(dim=1)  # (rows * cols,) each
    conf = ((pmax - 1 / K) / (1 - 1 / K)).clamp(0, 1)  # (rows * cols,)
    conf = torch.nan_to_num(conf, nan=0.0)  # a diverged net shows as unsure, not as a crash
    return klass.reshape(rows, cols).tolist(), conf.reshape(rows, cols).float().tolist()


def place_points(X: torch.Tensor, ext: Extent, cols: int, rows: int) -> list[tuple[int, int]]:
    """Grid (row, col) of each point, clipped to the grid."""
    c = ((X[:, 0].double() - ext.x0) / (ext.x1 - ext.x0) * cols).floor().clamp(0, cols - 1)  # (N,)
    r = ((ext.y1 - X[:, 1].double()) / (ext.y1 - ext.y0) * rows).floor().clamp(0, rows - 1)  # (N,)
    return list(zip(r.long().tolist(), c.long().tolist()))


def level_of(conf: float) -> int:
    return 2 if conf >= VERY_SURE else 1 if conf >= SURE else 0


def render_cells(klass: list[list[int]], conf: list[list[float]], points: list[tuple[int, int, int, str]]) -> list[list[Cell]]:
    """Background cells from the grid, then points (row, col, class, 'train'|'test') on top."""
    rows = [
        [Cell(SHADE_GLYPHS[k % len(SHADE_GLYPHS)][lv - 1] if (lv := level_of(c)) else " ", k, lv)
         for k, c in zip(krow, crow)]
        for krow, crow in zip(klass, conf)
    ]
    for r, c, k, kind in points:
        under = rows[r][c]
        rows[r][c] = Cell(POINT_GLYPHS[k % len(POINT_GLYPHS)], k, under.level, kind,
                          under.klass if under.background < 0 else under.background)
    return rows

