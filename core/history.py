"""A bounded loss history: every step while it is short, thinned evenly as it grows.

A run of millions of steps keeps at most `2 * cap` points per series, so memory stays flat and
the loss pane redraws as fast after a million steps as after a hundred.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from typing import Any

SERIES = ("train_loss", "test_loss", "train_acc", "test_acc")


class History:
    """Parallel arrays: step and one value per series (nan where a series was not measured)."""

    def __init__(self, cap: int = 20_000):
        self.cap = cap
        self.stride = 1
        """Only steps that are multiples of stride are kept (it doubles when the arrays fill)."""
        self.step = array("q")
        self.values = {name: array("d") for name in SERIES}

    def __len__(self) -> int:
        return len(self.step)

    def add(
        self,
        step: int,
        train_loss: float,
        test_loss: float = math.nan,
        train_acc: float = math.nan,
        test_acc: float = math.nan,
    ) -> None:
        """Record one step (kept only if it falls on the current stride)."""
        if step % self.stride:
            return
        self.step.append(step)
        for name, v in zip(SERIES, (train_loss, test_loss, train_acc, test_acc)):
            self.values[name].append(v)
        if len(self.step) >= 2 * self.cap:
            self._thin()

    def _thin(self) -> None:
        """Double the stride and drop the points that no longer fall on it."""
        self.stride *= 2
        keep = [i for i, s in enumerate(self.step) if s % self.stride == 0]
        self.step = array("q", (self.step[i] for i in keep))
        for name in SERIES:
            col = self.values[name]
            self.values[name] = array("d", (col[i] for i in keep))

    def last(self, name: str) -> float:
        """Latest finite value of a series, or nan."""
        col = self.values[name]
        for i in range(len(col) - 1, max(-1, len(col) - 64), -1):
            if not math.isnan(col[i]):
                return col[i]
        return math.nan

    def downsampled(self, points: int = 500) -> tuple[list[int], dict[str, list[float]]]:
        """At most `points` evenly spaced entries (always including the newest)."""
        n = len(self.step)
        idx: Sequence[int]
        if n <= points:
            idx = range(n)
        else:
            idx = [round(i * (n - 1) / (points - 1)) for i in range(points)]
        return [self.step[i] for i in idx], {name: [self.values[name][i] for i in idx] for name in SERIES}

    def to_dict(self) -> dict[str, Any]:
        """Plain lists, for checkpoints."""
        return {"stride": self.stride, "step": list(self.step), **{k: list(v) for k, v in self.values.items()}}

    @classmethod
    def from_dict(cls, d: dict[str, Any], cap: int = 20_000) -> "History":
        h = cls(cap)
        h.stride = int(d.get("stride", 1))
        if h.stride < 1:  # a crafted or damaged checkpoint: the stride divides every step
            raise ValueError(f"history stride {h.stride}: expected a positive integer")
        h.step = array("q", d.get("step", []))
        for name in SERIES:
            h.values[name] = array("d", d.get(name, [math.nan] * len(h.step)))
            if len(h.values[name]) != len(h.step):  # a crafted or damaged checkpoint: thinning would index past it
                raise ValueError(f"history {name} has {len(h.values[name])} values for {len(h.step)} steps")
        return h
