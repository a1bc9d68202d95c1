"""Rewind: a bounded film of the run, kept by the dashboard.

The training loop captures a Frame (tui/engine/snapshot.py) at step 0 and at log-spaced steps
(`frame_steps`: 1, 2, ..., 10, 11, 13, 15, ... each about 10 % after the last), stopping its chunk
of steps there, and sends it up. The app keeps them here, at most FILM_CAP frames: when one more
arrives, every second frame is dropped (the first and the newest stay), so a long run keeps a film
spread over its whole length. Boundary grids and neuron maps are kept compact (a byte per cell
for the class, float32 for confidences and unit values). Nothing here imports textual or calls torch.
"""

from __future__ import annotations

import math
import sys
from array import array
from dataclasses import dataclass, fields, is_dataclass, replace
from typing import cast

from ..core.inside import NeuronMaps
from ..core.probes import BoundaryGrid
from .engine.snapshot import Frame, Snapshot

FILM_CAP = 200
"""The most frames kept; beyond it every second one is dropped."""
FILM_RATIO = 1.1
"""Each frame's step is about this factor after the last one's (at least one step after)."""


def next_frame_step(step: int) -> int:
    """The film's next step after `step`: 0, 1, 2, ..., 10, 11, 13, 15, 17, 19, 21, 24, ..."""
    return max(step + 1, math.ceil(step * FILM_RATIO))


@dataclass(frozen=True)
class CompactGrid:
    """A BoundaryGrid in 5 bytes a cell instead of about 40 (Python tuples of ints and floats)."""

    cols: int
    rows: int
    klass: bytes
    """Predicted class of each cell, row by row."""
    conf: array
    """Confidence of each cell, float32, row by row."""

    @classmethod
    def of(cls, grid: BoundaryGrid) -> CompactGrid:
        rows, cols = len(grid.klass), len(grid.klass[0]) if grid.klass else 0
        klass = bytes(k for row in grid.klass for k in row)
        return cls(cols, rows, klass, array("f", (c for row in grid.conf for c in row)))

    def grid(self) -> BoundaryGrid:
        c = self.cols
        return BoundaryGrid(
            tuple(tuple(self.klass[r * c : (r + 1) * c]) for r in range(self.rows)),
            tuple(tuple(self.conf[r * c : (r + 1) * c]) for r in range(self.rows)),
        )


def _float32_rows(values: tuple[tuple[float, ...], ...]) -> tuple[tuple[float, ...], ...]:
    """Each row as a float32 array: indexed and iterated as the tuple was, in a third of the bytes."""
    return cast("tuple[tuple[float, ...], ...]", tuple(array("f", row) for row in values))


def compact_maps(maps: NeuronMaps) -> NeuronMaps:
    """The same maps with each row of values a float32 array (a third of the tuples' bytes); the
    neurons pane reads rows the same way."""
    return replace(
        maps,
        layers=tuple(
            replace(layer, units=tuple(replace(u, values=_float32_rows(u.values)) for u in layer.units))
            for layer in maps.layers
        ),
    )


class Film:
    """The frames of the current run, oldest first; rewinding moves an index through them."""

    def __init__(self) -> None:
        self.run_id = -1
        self.frames: list[Frame] = []
        """The frames, their boundary moved out to `grids` (grid None here)."""
        self.grids: list[CompactGrid | None] = []
        """Each frame's boundary, compact."""

    def __len__(self) -> int:
        return len(self.frames)

    def add(self, frame: Frame) -> None:
        """Keep a frame (a new run's first frame starts a new film); thin when over the cap."""
        if frame.run_id != self.run_id:
            self.run_id, self.frames, self.grids = frame.run_id, [], []
        while self.frames and self.frames[-1].step >= frame.step:  # the same step again
            self.frames.pop()
            self.grids.pop()
        self.grids.append(CompactGrid.of(frame.grid) if frame.grid is not None and frame.grid.klass else None)
        neurons = compact_maps(frame.neurons) if frame.neurons is not None else None
        self.frames.append(replace(frame, grid=None, neurons=neurons))
        if len(self.frames) > FILM_CAP:
            self.frames = self.frames[:-1:2] + self.frames[-1:]
            self.grids = self.grids[:-1:2] + self.grids[-1:]

    def index_before(self, step: int) -> int | None:
        """The newest frame strictly before `step` (where `[` goes from now); None if there is none."""
        older = [i for i, f in enumerate(self.frames) if f.step < step]
        return older[-1] if older else None

    def steps(self) -> list[int]:
        return [f.step for f in self.frames]

    def snapshot_at(self, i: int, now: Snapshot) -> Snapshot:
        """`now` as it was at frame i: its step, numbers, boundary and neuron maps; the curves
        and everything not filmed stay as now (the points too, where they fit the old grid)."""
        f, compact = self.frames[i], self.grids[i]
        grid = compact.grid() if compact is not None else None
        points = now.points
        if grid is not None:
            rows, cols = len(grid.klass), len(grid.klass[0])
            points = tuple(p for p in points if p[0] < rows and p[1] < cols)
        return replace(
            now,
            step=f.step,
            epoch=f.epoch,
            metrics=f.metrics,
            grid=grid,
            points=points,
            neurons=f.neurons,
            dead=f.dead,
            probed=now.probe_step,  # the views not filmed are of now
        )

    def nbytes(self) -> int:
        """Memory the frames hold, counted object by object (what a frame costs the dashboard)."""
        return sum(deep_size(f) for f in self.frames) + sum(deep_size(g) for g in self.grids)


def deep_size(obj, seen: set[int] | None = None) -> int:
    """sys.getsizeof of obj and everything it holds (each object once): dataclasses, tuples,
    lists, dicts, sets, arrays, bytes, numbers and strings."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if is_dataclass(obj) and not isinstance(obj, type):
        size += sys.getsizeof(vars(obj)) if hasattr(obj, "__dict__") else 0
        size += sum(deep_size(getattr(obj, f.name), seen) for f in fields(obj))
    elif isinstance(obj, (tuple, list, set, frozenset)):
        size += sum(deep_size(x, seen) for x in obj)
    elif isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    return size
