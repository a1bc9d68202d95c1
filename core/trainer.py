"""The Trainer: data, parameters, optimizer state and history on one device; `step()` does one update.

It never touches a UI. The headless runner, the dashboard's worker and the benchmark all drive
it the same way: call `step()` in a loop, call `snapshot()` when a picture is wanted.

Losses stay on the device as 0-d tensors and are copied out in chunks (`flush()`), because a
`.item()` per step forces a device sync on a GPU. Divergence (a non-finite loss or parameter)
is found at each flush and puts the trainer in the `diverged` state; it never raises for it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from typing import Callable

import torch

from . import boundary as bd
from .backprop import STEPS, GradCheck, gradient_check, loss_and_dlogits, targets
from .checkpoint import FORMAT, CheckpointError, load_checkpoint, load_params, save_atomic
from .config import RunConfig, resolve_device
from .data import DataError, Dataset, make_points, read_csv, split
from .history import History
from .network import Params, accuracy, activation_names, forward, init_params, layer_sizes
from .optim import make_optimizer

DTYPES = {"float32": torch.float32, "float64": torch.float64}
FLUSH_EVERY = 64
"""Steps between copies of the loss from device to host (and divergence checks)."""
EVAL_SAMPLE = 4096
"""Snapshot accuracies and test loss use at most this many points, so a million-point run stays live."""
SMALL_WORK = 200_000
"""Below this many multiply-adds per forward pass the CPU engine runs on one intra-op thread."""
BARRIER_BOUND_WORK = 50_000_000
"""Below this many multiply-adds per forward, a step is short enough that OpenMP barriers dominate."""
DEFAULT_THREADS = torch.get_num_threads()
PLOT_POINTS = 2000
"""The boundary pane draws at most this many data points (a fixed sample)."""


@dataclass(frozen=True)
class ParamRow:
    """One row of the shapes pane."""

    name: str
    shape: tuple[int, ...]
    grad_shape: tuple[int, ...] | None
    norm: float
    grad_norm: float
    update_ratio: float
    """‖last update‖ / ‖param‖ (nan before the first step)."""


@dataclass(frozen=True)
class Snapshot:
    """Everything the panes show, as plain immutable data (no live tensors)."""

    run_id: int
    step: int
    epoch: int
    state: str
    """'ok', 'diverged', 'failed' or 'done' (running/paused is the UI's business)."""
    reason: str
    """Why the run diverged, failed or ended; '' when ok."""
    dataset: str
    arch: str
    device: str
    lr: float
    optimizer: str
    train_loss: float
    """This and the next three: the current parameters, on at most EVAL_SAMPLE points each."""
    test_loss: float
    train_acc: float
    test_acc: float
    steps_per_sec: float
    params: tuple[ParamRow, ...]
    activations: tuple[tuple[str, tuple[int, ...]], ...]
    curve_steps: tuple[int, ...]
    curve_train: tuple[float, ...]
    curve_test_steps: tuple[int, ...]
    curve_test: tuple[float, ...]
    """Test loss, measured at snapshot times (its own steps)."""
    grid_class: tuple[tuple[int, ...], ...]
    """Predicted class of each boundary cell, rows x cols at the size asked for (empty if none)."""
    grid_conf: tuple[tuple[float, ...], ...]
    """Confidence of each boundary cell, 0 = uniform guess, 1 = certain."""
    points: tuple[tuple[int, int, int, str], ...]
    """A fixed sample of data points as (row, col, class, 'train' | 'test') on that grid."""
    command: str
    """The command line that reproduces the run."""
    config: RunConfig
    """The run's options as they are now (live lr, activation, dataset changes included)."""


def build_dataset(cfg: RunConfig, device: torch.device, dtype: torch.dtype, g: torch.Generator) -> Dataset:
    """Generate (or read) the points, split them with the seed, put them on the device."""
    if cfg.data:
        X, y = read_csv(cfg.data)  # (N, 2), (N,)
    else:
        X, y = make_points(cfg.dataset, cfg.samples, cfg.classes, cfg.noise, g)  # (N, 2), (N,)
    K = int(y.max()) + 1 if cfg.data else cfg.classes  # a small sample may miss a class; the net still has K outputs
    Xtr, ytr, Xte, yte = split(X, y, cfg.test_fraction, cfg.seed)
    if Xtr.shape[0] == 0:
        raise DataError(f"--test-fraction {cfg.test_fraction}: leaves no training points out of {X.shape[0]}")
    put = lambda t, dt=None: t.to(device=device, dtype=dt or t.dtype)
    return Dataset(put(Xtr, dtype), put(ytr), put(Xte, dtype), put(yte), K)


class Trainer:
    """One run: call step() to update, snapshot() to look."""

    def __init__(self, cfg: RunConfig, *, data: Dataset | None = None, params: Params | None = None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.dtype = DTYPES[cfg.dtype]
        self.fault_hook: Callable[["Trainer"], None] | None = None
        """Called at the start of every step; tests use it to inject failures."""
        self.track_metrics = False
        """When True every step also records train accuracy, test loss and test accuracy (for --metrics)."""
        self.on_rows: Callable[[list[tuple]], None] | None = None
        """Receives flushed rows (step, epoch, train_loss, test_loss, train_acc, test_acc)."""
        self.run_id = 0
        self._build(data, params)

    # ----- building -----
    def _build(self, data: Dataset | None = None, params: Params | None = None) -> None:
        """Fresh data, parameters, optimizer and history from self.cfg (same seed, same numbers)."""
        cfg = self.cfg
        g = torch.Generator().manual_seed(cfg.seed)  # data first, then weights: the tutorial's order
        self.data = data or build_dataset(cfg, self.device, self.dtype, g)
        sizes = layer_sizes(2, cfg.hidden, self.data.classes)
        if params is None:
            params = init_params(sizes, cfg.init, g, self.dtype, self.device)
        self.restore_params(params)
        self.optimizer = make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay)
        self.Y_train = torch.nn.functional.one_hot(self.data.y_train, self.data.classes).to(self.dtype)  # (N, K)
        self.Y_test = torch.nn.functional.one_hot(self.data.y_test, self.data.classes).to(self.dtype)  # (M, K)
        self.G_train = targets(self.Y_train)  # (N, K) -onehot / N, reused by every full-batch step
        N = self.data.X_train.shape[0]
        self.batch = N if cfg.batch_size in (0, None) or cfg.batch_size >= N else cfg.batch_size
        self.steps_per_epoch = math.ceil(N / self.batch)
        self.batch_gen = torch.Generator().manual_seed(cfg.seed + 104729)  # its own stream: batch order only
        self._epoch_rng = self.batch_gen.get_state()
        self._perm: torch.Tensor | None = None
        self.step_count = 0
        self.history = History()
        self.test_history = History(cap=500)
        """Test loss at each snapshot (the dashboard's test curve)."""
        self.state = "ok"
        self.reason = ""
        self.last_loss = math.nan
        self._pending: list[tuple[int, torch.Tensor]] = []
        """(first step, losses): a 0-d loss per eager step, or a (GRAPH_STEPS,) chunk per graph replay."""
        self._graph: CudaGraphSteps | None = None
        self._pending_metrics: list[tuple[torch.Tensor, ...]] = []
        self._last_grads: list[torch.Tensor] = []
        self._last_cache: list[torch.Tensor] = []
        self._rate = (time.perf_counter(), 0, 0.0)
        self._plot_idx: tuple[torch.Tensor, torch.Tensor] | None = None
        self._extent = bd.extent_of(torch.cat([self.data.X_train, self.data.X_test]).float().cpu())
        self.run_id += 1

    def reset(self, seed: int | None = None) -> None:
        """Start over: same seed (r) or a new one (R); keeps live changes (lr, activation, dataset)."""
        if seed is not None:
            self.cfg = replace(self.cfg, seed=seed)
        self.cfg = replace(self.cfg, resume=None, init_params=None)
        self._build()

    def set_dataset(self, name: str) -> None:
        """Switch dataset (class count may change, so the weights start over with the same seed)."""
        classes = self.cfg.classes if name in ("spiral", "blobs", "circles") else 2
        self.cfg = replace(self.cfg, dataset=name, data=None, classes=classes, resume=None, init_params=None)
        self._build()

    def set_lr(self, lr: float) -> None:
        self.cfg = replace(self.cfg, lr=lr)
        self.optimizer.lr = lr

    def set_activation(self, name: str) -> None:
        """Swap the activation live: the weights stay, the next step uses the new function."""
        self.cfg = replace(self.cfg, activation=name)

    # ----- training -----
    def work(self) -> int:
        """Multiply-adds of one forward pass over a batch."""
        sizes = layer_sizes(2, self.cfg.hidden, self.data.classes)
        return self.batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def threads_wanted(self, beside_ui: bool = False) -> int:
        """Intra-op threads for this problem: 1 for tiny steps, where waking a second thread costs
        more than it saves (a 2-8-2 step ran 2x faster on one thread), else torch's default. Beside
        a dashboard, mid-sized steps leave one core to the renderer: their many short OpenMP
        barriers stall whenever it takes a core (10k x 64: 0.33-0.86 of headless on all cores,
        0.75 on one fewer), while big steps keep every core (1M x 256 x 256: 0.85 against 0.52)."""
        work = self.work()
        if work < SMALL_WORK:
            return 1
        if beside_ui and work < BARRIER_BOUND_WORK:
            return max(1, DEFAULT_THREADS - 1)
        return DEFAULT_THREADS

    def claim_threads(self, beside_ui: bool = False) -> None:
        """Set torch's intra-op threads; call it from the thread that runs step()."""
        if self.device.type == "cpu":
            torch.set_num_threads(self.threads_wanted(beside_ui))

    @property
    def epoch(self) -> int:
        """Completed epochs."""
        return self.step_count // self.steps_per_epoch

    @property
    def done(self) -> bool:
        return self.cfg.epochs > 0 and self.step_count >= self.cfg.epochs * self.steps_per_epoch

    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(X, y, G) of the whole training set, or of the next mini-batch of this epoch's seeded shuffle."""
        d = self.data
        if self.batch == d.X_train.shape[0]:
            return d.X_train, d.y_train, self.G_train
        i = self.step_count % self.steps_per_epoch
        if i == 0 or self._perm is None:
            if i == 0:
                self._epoch_rng = self.batch_gen.get_state()
            else:  # resumed mid-epoch: replay this epoch's shuffle
                self.batch_gen.set_state(self._epoch_rng)
            self._perm = torch.randperm(d.X_train.shape[0], generator=self.batch_gen).to(self.device)  # (N,)
        idx = self._perm[i * self.batch:(i + 1) * self.batch]  # (B,)
        return d.X_train[idx], d.y_train[idx], targets(self.Y_train[idx])

    def step(self) -> None:
        """One update: forward, loss, gradients, optimizer. No host sync."""
        if self.fault_hook is not None:
            self.fault_hook(self)
        X, y, G = self._next_batch()  # (B, 2), (B,), (B, K)
        loss, grads, cache, logits = STEPS[self.cfg.backprop](self.params, X, G, self.cfg.activation)
        if self.track_metrics:  # before the update: row k describes the parameters update k started from
            self._pending_metrics.append(self._step_metrics(logits, y))
        self.optimizer.update(self._plist, grads)
        self.step_count += 1
        self._last_grads, self._last_cache = grads, cache
        self._pending.append((self.step_count, loss))
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def advance(self, n: int) -> int:
        """Take up to n steps (fewer if the run ends); on CUDA, whole chunks replay one captured
        graph of GRAPH_STEPS updates, so the only per-step cost is the kernels. Returns steps taken."""
        taken = 0
        while taken < n and self.state == "ok" and not self.done:
            if self._graph_usable(n - taken):
                self._replay_graph()
                taken += GRAPH_STEPS
            else:
                self.step()
                taken += 1
        return taken

    def preferred_chunk(self) -> int:
        """How many steps a driver should ask advance() for at a time."""
        return GRAPH_STEPS if self._graphs_possible() else 1

    def _graphs_possible(self) -> bool:
        cfg = self.cfg
        return (self.device.type == "cuda" and cfg.backprop == "manual" and cfg.optimizer in ("sgd", "momentum")
                and self.batch == self.data.X_train.shape[0] and not self.track_metrics and self.fault_hook is None
                and not _GRAPHS_DISABLED)

    def _graph_usable(self, wanted: int) -> bool:
        if wanted < GRAPH_STEPS or not self._graphs_possible():
            return False
        if self.cfg.epochs and self.cfg.epochs * self.steps_per_epoch - self.step_count < GRAPH_STEPS:
            return False
        key = (self.run_id, self.cfg.activation, self.cfg.lr, self.cfg.weight_decay, self.cfg.optimizer, self._params_version)
        if self._graph is None or self._graph.key != key:
            self._graph = CudaGraphSteps.capture(self, key)
        return self._graph is not None

    def _replay_graph(self) -> None:
        g = self._graph
        g.graph.replay()
        self._pending.append((self.step_count + 1, g.losses.clone()))  # the buffer is rewritten next replay
        self.step_count += GRAPH_STEPS
        self._last_grads, self._last_cache = g.grads, g.cache
        if sum(l.numel() for _, l in self._pending) >= FLUSH_EVERY:
            self.flush()

    def _step_metrics(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Train accuracy of this step's forward pass, and test loss/accuracy of the same parameters."""
        train_acc = accuracy(logits, y)  # ()
        if self.data.X_test.shape[0] == 0:
            nan = torch.full((), math.nan, device=self.device)
            return nan, train_acc, nan
        test_loss, test_acc = self._evaluate(self.data.X_test, self.data.y_test, self.Y_test)
        return test_loss, train_acc, test_acc

    @torch.no_grad()
    def _evaluate(self, X: torch.Tensor, y: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, accuracy) of the current parameters on X, as 0-d tensors."""
        logits, _ = forward(self.params, X, self.cfg.activation)  # (N, K)
        acc = accuracy(logits, y)  # ()
        loss, _ = loss_and_dlogits(logits, targets(Y))  # ()
        return loss, acc

    def flush(self) -> None:
        """Copy pending losses to the host (one sync), record history, check for divergence."""
        if not self._pending:
            return
        if any(l.dim() for _, l in self._pending):  # graph chunks among them
            steps = [s + i for s, l in self._pending for i in range(l.numel())]
            losses = torch.cat([l.reshape(-1) for _, l in self._pending]).double().cpu().tolist()  # one sync
        else:
            steps = [s for s, _ in self._pending]
            losses = torch.stack([l for _, l in self._pending]).double().cpu().tolist()  # one device sync
        if self._pending_metrics:
            extra = torch.stack([torch.stack(m) for m in self._pending_metrics]).double().cpu().tolist()  # (S, 3)
        else:
            extra = [(math.nan, math.nan, math.nan)] * len(steps)
        self._pending, self._pending_metrics = [], []
        rows = []
        for s, loss, (test_loss, train_acc, test_acc) in zip(steps, losses, extra):
            if not math.isfinite(loss) and self.state == "ok":
                self._diverge(f"loss became {loss} at step {s} (lr {self.cfg.lr:g})")
            self.history.add(s, loss, test_loss, train_acc, test_acc)
            rows.append((s, (s - 1) // self.steps_per_epoch, loss, test_loss, train_acc, test_acc))
        self.last_loss = losses[-1]
        if self.state == "ok" and not all(bool(torch.isfinite(p).all()) for p in self._plist):
            self._diverge(f"a parameter became non-finite by step {steps[-1]} (lr {self.cfg.lr:g})")
        if self.on_rows is not None:
            self.on_rows(rows)

    def _diverge(self, reason: str) -> None:
        self.state, self.reason = "diverged", reason

    def fail(self, reason: str) -> None:
        """Record an engine failure (an exception, a hang) as a state the UI can show."""
        self._pending, self._pending_metrics = [], []
        self.state, self.reason = "failed", reason

    # ----- looking -----
    def gradient_check(self) -> list[GradCheck]:
        """Manual vs autograd gradients on the current batch (float64)."""
        X, Y = self.data.X_train[:EVAL_SAMPLE], self.Y_train[:EVAL_SAMPLE]
        return gradient_check(self.params, X, Y, self.cfg.activation)

    def steps_per_sec(self) -> float:
        """Rate since the last call (smoothed)."""
        t0, s0, rate = self._rate
        now = time.perf_counter()
        if now - t0 >= 0.25 or rate == 0.0:
            if now > t0 and self.step_count >= s0:
                rate = (self.step_count - s0) / (now - t0)
            self._rate = (now, self.step_count, rate)
        return rate

    def _param_rows(self) -> tuple[ParamRow, ...]:
        grads = self._last_grads
        upd = self.optimizer.update_norms(self._plist, grads) if grads else None
        rows = []
        for i, (name, p) in enumerate(self.params.items()):
            g = grads[i] if grads else None
            norm = float(p.norm())
            ratio = upd[i] / norm if upd is not None and norm > 0 else math.nan
            rows.append(ParamRow(name, tuple(p.shape), tuple(g.shape) if g is not None else None, norm,
                                 float(g.norm()) if g is not None else math.nan, ratio))
        return tuple(rows)

    def _activation_shapes(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        cache = self._last_cache
        names = activation_names(len(self.params) // 2)
        if not cache:  # before the first step: shapes of a full-batch forward
            B = self.batch
            widths = [2] + [w for w in self.cfg.hidden for _ in (0, 1)] + [self.data.classes]
            shapes = [(B, w) for w in widths]
        else:
            shapes = [tuple(t.shape) for t in cache]
        K = shapes[-1][1]
        return tuple(zip(names, shapes)) + (("probs", (shapes[-1][0], K)),)

    def _boundary(self, cols: int, rows: int) -> tuple[tuple, tuple, tuple]:
        """(grid_class, grid_conf, points) at cols x rows; empty when no size was asked for."""
        if cols < 2 or rows < 2:
            return (), (), ()
        klass, conf = bd.predict_grid(self.params, self.cfg.activation, self._extent, cols, rows)
        d = self.data
        if self._plot_idx is None:  # a fixed sample of the points, chosen once per dataset
            g = torch.Generator().manual_seed(self.cfg.seed)
            pick = lambda n: torch.randperm(n, generator=g)[:PLOT_POINTS] if n > PLOT_POINTS else torch.arange(n)
            self._plot_idx = (pick(d.X_train.shape[0]), pick(d.X_test.shape[0]))
        points = []
        for kind, X, y, idx in (("train", d.X_train, d.y_train, self._plot_idx[0]), ("test", d.X_test, d.y_test, self._plot_idx[1])):
            if len(idx):
                Xs, ys = X[idx.to(X.device)].float().cpu(), y[idx.to(X.device)].cpu()  # (P, 2), (P,)
                points += [(r, c, k, kind) for (r, c), k in zip(bd.place_points(Xs, self._extent, cols, rows), ys.tolist())]
        return tuple(map(tuple, klass)), tuple(map(tuple, conf)), tuple(points)

    @torch.no_grad()
    def evaluate_sample(self) -> tuple[float, float, float, float]:
        """(train_loss, test_loss, train_acc, test_acc) of the current parameters, all four on the
        same weights, each on at most EVAL_SAMPLE points (the whole set for small data)."""
        d = self.data
        S = EVAL_SAMPLE
        train_loss, train_acc = self._evaluate(d.X_train[:S], d.y_train[:S], self.Y_train[:S])
        if d.X_test.shape[0] == 0:
            return float(train_loss), math.nan, float(train_acc), math.nan
        test_loss, test_acc = self._evaluate(d.X_test[:S], d.y_test[:S], self.Y_test[:S])
        return float(train_loss), float(test_loss), float(train_acc), float(test_acc)

    def snapshot(self, cols: int = 0, rows: int = 0) -> Snapshot:
        """Flush, evaluate on a sample, draw the boundary at cols x rows; plain data only."""
        self.flush()
        train_loss, test_loss, train_acc, test_acc = self.evaluate_sample()
        if math.isfinite(test_loss) and (not len(self.test_history) or self.test_history.step[-1] <= self.step_count):
            self.test_history.add(self.step_count, test_loss)  # after S updates; kept in its "train_loss" column
        steps, series = self.history.downsampled(500)
        test_steps, test_series = self.test_history.downsampled(500)
        grid_class, grid_conf, points = self._boundary(cols, rows)
        cfg = self.cfg
        return Snapshot(
            run_id=self.run_id, step=self.step_count, epoch=self.epoch,
            state="done" if self.state == "ok" and self.done else self.state, reason=self.reason,
            dataset=cfg.data or cfg.dataset, arch=cfg.arch(self.data.classes), device=str(self.device),
            lr=cfg.lr, optimizer=cfg.optimizer, train_loss=train_loss, test_loss=test_loss,
            train_acc=train_acc, test_acc=test_acc, steps_per_sec=self.steps_per_sec(),
            params=self._param_rows(), activations=self._activation_shapes(),
            curve_steps=tuple(steps), curve_train=tuple(series["train_loss"]),
            curve_test_steps=tuple(test_steps), curve_test=tuple(test_series["train_loss"]),
            grid_class=grid_class, grid_conf=grid_conf, points=points, command=cfg.to_command_line(), config=cfg,
        )

    # ----- checkpoints -----
    def checkpoint(self) -> dict:
        """The checkpoint dict (see checkpoint.py for the format)."""
        self.flush()
        return {
            "format": FORMAT,
            "config": self.cfg.to_dict(),
            "params": {k: v.detach().cpu().clone() for k, v in self.params.items()},
            "step": self.step_count,
            "history": self.history.to_dict(),
            "optimizer": _to_cpu(self.optimizer.state_dict()),
            "rng": {"epoch_start": self._epoch_rng.clone(), "batch_gen": self.batch_gen.get_state()},
        }

    def save(self, path: str) -> None:
        save_atomic(self.checkpoint(), path)

    def restore_params(self, params: Params) -> None:
        """Replace the parameters (same shapes), e.g. from --init-params."""
        self._params_version = getattr(self, "_params_version", 0) + 1  # a captured graph holds the old ones
        self.params = {k: v.detach().to(device=self.device, dtype=self.dtype).clone() for k, v in params.items()}
        self._plist = list(self.params.values())

    def restore(self, ckpt: dict) -> None:
        """Continue a saved run exactly: parameters, optimizer moments, step, history, batch order."""
        self.restore_params(ckpt["params"])
        self.optimizer.load_state_dict(ckpt["optimizer"], self._plist)
        self.optimizer.lr, self.optimizer.weight_decay = self.cfg.lr, self.cfg.weight_decay  # flags may override
        self.step_count = int(ckpt["step"])
        self.history = History.from_dict(ckpt["history"])
        self.last_loss = self.history.last("train_loss")
        rng = ckpt["rng"]
        self._epoch_rng = rng["epoch_start"]
        self.batch_gen.set_state(rng["batch_gen"])
        self._perm = None  # rebuilt from epoch_start on the next mid-epoch step


GRAPH_STEPS = 64
"""Updates captured in one CUDA graph (small nets are launch-bound: one replay replaces 64 x ~25 launches)."""
_GRAPHS_DISABLED = False
"""Set once a capture fails on this machine; everything then runs eagerly."""


@dataclass
class CudaGraphSteps:
    """GRAPH_STEPS full-batch manual sgd/momentum updates, captured once and replayed."""

    key: tuple
    graph: "torch.cuda.CUDAGraph"
    losses: torch.Tensor  # (GRAPH_STEPS,) written by each replay
    grads: list[torch.Tensor]  # the last captured step's gradients (valid after a replay)
    cache: list[torch.Tensor]  # the last captured step's activations

    @staticmethod
    def capture(tr: "Trainer", key: tuple) -> "CudaGraphSteps | None":
        """Warm up on a side stream, then record the steps; params and optimizer state are restored
        after the warm-up, so capturing changes no number. Returns None (and stops trying) on failure."""
        global _GRAPHS_DISABLED
        X, G, act = tr.data.X_train, tr.G_train, tr.cfg.activation
        saved = [p.clone() for p in tr._plist]
        velocity = getattr(tr.optimizer, "velocity", None)
        velocity = [v.clone() for v in velocity] if velocity else None
        try:
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):  # warm-up: lets cuBLAS and the allocator settle outside the capture
                    _, grads, _, _ = STEPS["manual"](tr.params, X, G, act)
                    tr.optimizer.update(tr._plist, grads)
            torch.cuda.current_stream().wait_stream(stream)
            for p, s in zip(tr._plist, saved):
                p.copy_(s)
            if hasattr(tr.optimizer, "velocity"):
                if velocity is None:
                    torch._foreach_zero_(tr.optimizer.velocity)  # created by the warm-up; starts at zero
                else:
                    torch._foreach_copy_(tr.optimizer.velocity, velocity)
            losses = torch.empty(GRAPH_STEPS, device=tr.device, dtype=tr.dtype)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                for i in range(GRAPH_STEPS):
                    loss, grads, cache, _ = STEPS["manual"](tr.params, X, G, act)
                    tr.optimizer.update(tr._plist, grads)
                    losses[i].copy_(loss)
            return CudaGraphSteps(key, graph, losses, grads, cache)
        except Exception:  # a driver or capture limitation: fall back to eager steps for good
            _GRAPHS_DISABLED = True
            for p, s in zip(tr._plist, saved):
                p.copy_(s)
            return None


def trainer_for(cfg: RunConfig) -> Trainer:
    """The Trainer a validated config describes, started from --init-params or continued from
    --resume when given. Raises the core's one-line errors (DataError, CheckpointError)."""
    tr = Trainer(cfg)
    if cfg.init_params:
        params = load_params(cfg.init_params)
        _check_shapes(tr, params, f"--init-params {cfg.init_params}")
        tr.restore_params(params)
    if cfg.resume:
        ckpt = load_checkpoint(cfg.resume)
        _check_shapes(tr, ckpt["params"], f"--resume {cfg.resume}")
        try:
            tr.restore(ckpt)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
            raise CheckpointError(f"--resume {cfg.resume}: damaged history, optimizer or rng section "
                                  f"({type(e).__name__}: {' '.join(str(e).split())[:80]})") from None
    return tr


def _check_shapes(tr: Trainer, params: dict, what: str) -> None:
    """Loaded tensors must fit the network the options describe."""
    want = {k: tuple(v.shape) for k, v in tr.params.items()}
    got = {k: tuple(v.shape) for k, v in params.items()}
    if want != got:
        hidden = ",".join(str(params[f"W{k}"].shape[1]) for k in range(1, len(params) // 2))
        raise CheckpointError(f"{what}: parameters are {_arch(got)} but the run is {_arch(want)}; "
                              f"pass --hidden {hidden} and matching data")


def _arch(shapes: dict) -> str:
    L = len(shapes) // 2
    return "-".join([str(shapes["W1"][0])] + [str(shapes[f"W{k}"][1]) for k in range(1, L + 1)])


def _to_cpu(obj):
    """Optimizer state with every tensor moved to the CPU (checkpoints load anywhere)."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu().clone()
    if isinstance(obj, list):
        return [_to_cpu(v) for v in obj]
    if isinstance(obj, dict):
        return {k: _to_cpu(v) for k, v in obj.items()}
    return obj
