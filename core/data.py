"""Datasets: 2-D points with integer class labels, generated from a seed or read from CSV.

Every generator draws from the `torch.Generator` it is given, so one seed gives one dataset.
`linear` draws exactly as the tutorial does: `X = torch.randn(N, 2)`, `y = (x1 + x2 > 0)`.
"""

from __future__ import annotations

import io
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import torch

from .errors import InputError, clip, clip_path
from .files import MAX_CSV_BYTES, open_input, write_atomic

DATASETS = ("linear", "diagonal", "xor", "circles", "moons", "spiral", "blobs")
TWO_CLASS_ONLY = ("linear", "diagonal", "xor", "moons")
MAX_CLASSES = 10


class DataError(InputError):
    """Bad user data; the message is one line that names the file and line."""


@dataclass(frozen=True)
class Dataset:
    """Train and test points on one device."""

    X_train: torch.Tensor  # (N, 2)
    y_train: torch.Tensor  # (N,) int64
    X_test: torch.Tensor  # (M, 2)
    y_test: torch.Tensor  # (M,) int64
    classes: int
    """Number of classes K; labels are 0..K-1."""


def _linear(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.randn(N, 2, generator=g)  # (N, 2) the tutorial's data
    y = ((X[:, 0] + X[:, 1]) > 0).long()  # (N,)
    return X, y


def _diagonal(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.randn(N, 2, generator=g)  # (N, 2) the tutorial's exercise
    y = ((X[:, 0] - X[:, 1]) > 0).long()  # (N,)
    return X, y


def _xor(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    X = torch.rand(N, 2, generator=g) * 4 - 2  # (N, 2) uniform in [-2, 2]^2
    y = ((X[:, 0] * X[:, 1]) > 0).long()  # (N,) quadrants 1 and 3
    return X, y


def _circles(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, K, (N,), generator=g)  # (N,) one ring per class
    r = (y.double() + torch.rand(N, generator=g, dtype=torch.float64) * 0.8) * (2.0 / K)  # (N,)
    a = torch.rand(N, generator=g, dtype=torch.float64) * 2 * math.pi  # (N,)
    X = torch.stack([r * torch.cos(a), r * torch.sin(a)], dim=1).float()  # (N, 2)
    return X, y


def _moons(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, 2, (N,), generator=g)  # (N,)
    t = torch.rand(N, generator=g) * math.pi  # (N,) angle along the arc
    upper = torch.stack([torch.cos(t), torch.sin(t)], dim=1)  # (N, 2)
    lower = torch.stack([1 - torch.cos(t), 0.5 - torch.sin(t)], dim=1)  # (N, 2)
    X = torch.where(y[:, None] == 0, upper, lower) - torch.tensor([0.5, 0.25])  # (N, 2) centred
    return X * 1.5, y


def _spiral(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, K, (N,), generator=g)  # (N,) one arm per class
    t = torch.rand(N, generator=g)  # (N,) position along the arm, 0 = centre
    a = t * 1.75 * 2 * math.pi + y * (2 * math.pi / K)  # (N,) angle
    X = torch.stack([t * torch.cos(a), t * torch.sin(a)], dim=1) * 2  # (N, 2)
    return X, y


def _blobs(N: int, K: int, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    y = torch.randint(0, K, (N,), generator=g)  # (N,)
    a = torch.arange(K) * (2 * math.pi / K) + 0.3  # (K,) centres on a circle
    centres = torch.stack([torch.cos(a), torch.sin(a)], dim=1) * 1.6  # (K, 2)
    X = centres[y] + torch.randn(N, 2, generator=g) * 0.45  # (N, 2)
    return X, y


_MAKERS = {
    "linear": _linear,
    "diagonal": _diagonal,
    "xor": _xor,
    "circles": _circles,
    "moons": _moons,
    "spiral": _spiral,
    "blobs": _blobs,
}


def make_points(name: str, N: int, K: int, noise: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """Draw N labelled points of a named dataset; noise adds N(0, noise²) jitter after labelling."""
    X, y = _MAKERS[name](N, K, g)  # (N, 2), (N,)
    if noise > 0:  # drawn only when asked, so noise 0 keeps the tutorial's random stream
        X = X + noise * torch.randn(N, 2, generator=g)  # (N, 2)
    return X.float(), y.long()


def held_out(N: int, test_fraction: float) -> int:
    """How many of N points are test points (the rest train): known before any point is made,
    so config.py refuses a split with nothing to train on at start-up."""
    return int(round(N * test_fraction))


def split(X: torch.Tensor, y: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, ...]:
    """Seeded shuffle-split into (X_train, y_train, X_test, y_test); test_fraction 0 keeps the order."""
    N = X.shape[0]
    M = held_out(N, test_fraction)
    if M == 0:
        return X, y, X[:0], y[:0]
    g = torch.Generator().manual_seed(seed + 7919)  # its own stream: the split never shifts init
    perm = torch.randperm(N, generator=g)  # (N,)
    test, train = perm[:M], perm[M:]
    return X[train], y[train], X[test], y[test]


MAX_LINE = 4096
"""Longest CSV line read, in characters: a row x1,x2,label at full precision is under 60."""


def _lines(path: str | Path, source: str) -> Iterator[tuple[int, str]]:
    """(line number, text) of each line, decoded as UTF-8 (a byte-order mark dropped: Excel writes
    one), streamed: at most one line is held, and no line is read past MAX_LINE characters."""
    with (
        open_input(source, path, MAX_CSV_BYTES) as raw,
        io.TextIOWrapper(raw, encoding="utf-8-sig", newline=None) as fh,
    ):
        lineno = 0
        try:
            while line := fh.readline(MAX_LINE + 1):
                lineno += 1
                if len(line) > MAX_LINE and not line.endswith("\n"):
                    raise DataError(
                        f"{clip_path(path)}:{lineno}: line longer than {MAX_LINE:,} characters; "
                        "expected rows x1,x2,label"
                    )
                yield lineno, line
        except UnicodeDecodeError:
            raise DataError(
                f"{source} {clip_path(path)}: not a text file (expected UTF-8 CSV rows x1,x2,label)"
            ) from None
        except OSError as e:
            raise DataError(f"{source} {clip_path(path)}: cannot read ({e.strerror})") from None


def read_csv(path: str | Path, source: str = "--data") -> tuple[torch.Tensor, torch.Tensor]:
    """Read rows `x1,x2,label` (header optional, `#` comments); raise DataError naming file and line
    (`source` names where the path came from: `--data x.csv`, `points x.csv`).
    Rows are parsed one at a time into flat arrays of doubles and bytes (16 + 1 bytes a point, not
    a Python tuple's ~150), so reading takes little more memory than the tensors it returns."""
    xs = array("d")  # x1, x2, x1, x2, ... at full precision
    labels = array("b")
    seen_header = False
    for lineno, line in _lines(path, source):
        row = line.strip()
        if not row or row.startswith("#"):
            continue
        first_row = not labels and not seen_header
        cells = [c.strip() for c in row.split(",")]
        if len(cells) != 3:
            raise DataError(f"{clip_path(path)}:{lineno}: expected 3 values x1,x2,label, got {len(cells)}")  # the row
            # is not quoted: --data may name any file
        try:
            x1, x2 = float(cells[0]), float(cells[1])
        except ValueError:
            if first_row:  # only the first row may be a header
                seen_header = True
                continue
            raise DataError(
                f"{clip_path(path)}:{lineno}: x1,x2 must be numbers, got {clip(cells[0])!r},{clip(cells[1])!r}"
            ) from None
        if not (math.isfinite(x1) and math.isfinite(x2)):
            raise DataError(
                f"{clip_path(path)}:{lineno}: coordinates must be finite, got {clip(cells[0])},{clip(cells[1])}"
            )
        try:
            label = int(cells[2])
        except ValueError:
            raise DataError(
                f"{clip_path(path)}:{lineno}: label must be an integer 0..K-1, got {clip(cells[2])!r}"
            ) from None
        if not 0 <= label < MAX_CLASSES:
            raise DataError(f"{clip_path(path)}:{lineno}: label must be in 0..{MAX_CLASSES - 1}, got {clip(label)}")
        xs.extend((x1, x2))
        labels.append(label)
    if not labels:
        raise DataError(f"{source} {clip_path(path)}: no data rows (expected x1,x2,label)")
    y = torch.frombuffer(labels, dtype=torch.int8).long()  # (N,)
    K = int(y.max()) + 1
    present = torch.bincount(y, minlength=K)  # (K,)
    if K < 2:
        raise DataError(f"{source} {clip_path(path)}: only one class (label 0); need at least 2")
    missing = [str(k) for k in range(K) if present[k] == 0]
    if missing:
        raise DataError(
            f"{source} {clip_path(path)}: labels must be 0..K-1 with every class present; missing {','.join(missing)}"
        )
    X = torch.frombuffer(xs, dtype=torch.float64).view(-1, 2)  # (N, 2) at full precision, sharing xs; the run casts
    return X, y  # (N, 2), (N,)


def build_dataset(
    *,
    data: str | None,
    dataset: str,
    samples: int,
    classes: int,
    noise: float,
    test_fraction: float,
    seed: int,
    g: torch.Generator,
    device: torch.device,
    dtype: torch.dtype,
) -> Dataset:
    """Read the CSV (or draw the named dataset from g), split it with the seed, and put it on the
    device in the run's dtype: a float64 run on a CSV keeps every digit the file has."""
    if data:
        X, y = read_csv(data)  # (N, 2) float64, (N,)
        K = int(y.max()) + 1  # a CSV has every class 0..K-1 (read_csv checks)
    else:
        X, y = make_points(dataset, samples, classes, noise, g)  # (N, 2) float32, (N,)
        K = classes  # a small sample may miss a class; the net still has K outputs
    Xtr, ytr, Xte, yte = split(X, y, test_fraction, seed)
    if Xtr.shape[0] == 0:
        raise DataError(f"--test-fraction {test_fraction}: leaves no training points out of {X.shape[0]}")
    Xtr, Xte = Xtr.to(device=device, dtype=dtype), Xte.to(device=device, dtype=dtype)  # (N, 2), (M, 2)
    if data and not (torch.isfinite(Xtr).all() and torch.isfinite(Xte).all()):  # e.g. 1e308 in float32
        raise DataError(
            f"--data {clip_path(data)}: coordinates too large for {dtype} (they overflow to inf); "
            "scale them, or use --dtype float64"
        )
    return Dataset(Xtr, ytr.to(device), Xte, yte.to(device), K)


# ----- points drawn in the dashboard -----


def with_point(d: Dataset, x: float, y: float, label: int) -> Dataset:
    """d with one more training point (x, y) of class `label`, on d's device and dtype."""
    X_train, y_train = d.X_train, d.y_train  # (N, 2), (N,)
    p = torch.tensor([[x, y]], device=X_train.device, dtype=X_train.dtype)  # (1, 2)
    k = torch.tensor([label], device=y_train.device, dtype=y_train.dtype)  # (1,)
    return replace(d, X_train=torch.cat([X_train, p]), y_train=torch.cat([y_train, k]))  # (N + 1, 2), (N + 1,)


def nearest_train_point(d: Dataset, x: float, y: float, scale: tuple[float, float] = (1.0, 1.0)) -> int:
    """Row of the training point nearest to (x, y), distances measured in units of `scale`
    (the plane's width and height: nearest as seen on the screen)."""
    target = torch.tensor([x, y], dtype=torch.float64)  # (2,)
    s = torch.tensor(scale, dtype=torch.float64)  # (2,)
    diff = (d.X_train.double().cpu() - target) / s  # (N, 2)
    return int((diff * diff).sum(dim=1).argmin())


def without_train_point(d: Dataset, row: int) -> Dataset:
    """d less training row `row` (the caller keeps at least one)."""
    keep = torch.ones(d.X_train.shape[0], dtype=torch.bool, device=d.X_train.device)  # (N,)
    keep[row] = False
    return replace(d, X_train=d.X_train[keep], y_train=d.y_train[keep])  # (N - 1, 2), (N - 1,)


def drawn_set(d: Dataset, path: str | Path) -> Dataset:
    """d training on the points ctrl+s saved to `path` (an `--at STEP:points=FILE` edit): the file
    holds the training rows, then d's test rows, which a drawing never changes; the weights stay."""
    X, y = read_csv(path, "points")  # (N + M, 2) float64, (N + M,)
    M = d.X_test.shape[0]
    N = X.shape[0] - M
    X = X.to(device=d.X_train.device, dtype=d.X_train.dtype)  # (N + M, 2) in the run's dtype
    y = y.to(d.y_train.device)  # (N + M,)
    if N < 1 or not (torch.equal(X[N:], d.X_test) and torch.equal(y[N:], d.y_test)):
        raise DataError(
            f"points {clip_path(path)}: its last rows are not this run's {M} test points (not saved from it)"
        )
    if int(y.max()) >= d.classes:
        raise DataError(f"points {clip_path(path)}: labels must be below the run's {d.classes} classes")
    return replace(d, X_train=X[:N], y_train=y[:N])  # (N, 2), (N,)


def write_csv(path: str | Path, d: Dataset, comment: str = "") -> int:
    """Write every point, training rows then test rows, as `x1,x2,label` (the --data format; repr
    keeps every digit of the run's dtype), atomically. Returns the number of rows."""
    X = torch.cat([d.X_train, d.X_test]).double().cpu().tolist()  # (N + M, 2)
    y = torch.cat([d.y_train, d.y_test]).cpu().tolist()  # (N + M,)
    head = "".join(f"# {line}\n" for line in comment.splitlines())
    body = head + "x1,x2,label\n" + "".join(f"{a!r},{b!r},{k}\n" for (a, b), k in zip(X, y))
    write_atomic(lambda fh: fh.write(body.encode()), path)
    return len(y)


class BatchOrder:
    """Which training rows each step uses: all of them (full batch), or consecutive slices of a
    shuffle redrawn every epoch from its own seeded generator (so resuming replays it exactly)."""

    def __init__(self, N: int, batch: int, seed: int, device: torch.device):
        self.N, self.batch, self.device = N, batch, device
        self.steps_per_epoch = math.ceil(N / batch)
        self.gen = torch.Generator().manual_seed(seed + 104729)  # its own stream: batch order only
        self._epoch_start = self.gen.get_state()
        self._perm: torch.Tensor | None = None

    @property
    def full(self) -> bool:
        return self.batch == self.N

    def rows(self, step: int) -> torch.Tensor:
        """Row indices of the batch for 0-based `step` (a mini-batch run only)."""
        i = step % self.steps_per_epoch
        if i == 0 or self._perm is None:
            if i == 0:
                self._epoch_start = self.gen.get_state()
            else:  # resumed mid-epoch: replay this epoch's shuffle
                self.gen.set_state(self._epoch_start)
            self._perm = torch.randperm(self.N, generator=self.gen).to(self.device)  # (N,)
        return self._perm[i * self.batch : (i + 1) * self.batch]  # (B,)

    def state(self) -> dict[str, torch.Tensor]:
        """The generator's states (for checkpoints)."""
        return {"epoch_start": self._epoch_start.clone(), "batch_gen": self.gen.get_state()}

    def set_state(self, rng: dict[str, torch.Tensor]) -> None:
        self._epoch_start = rng["epoch_start"]
        self.gen.set_state(rng["batch_gen"])
        self._perm = None  # rebuilt from epoch_start on the next mid-epoch step
