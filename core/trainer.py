"""The Trainer: data, parameters, optimizer state and loss history on one device; `step()` does
one update, `advance(n)` several. Training only: measuring it is core/probes.py, running it to
an end (metrics file, saves) is core/run.py, checkpoints are core/checkpoint.py.

Losses stay on the device as 0-d tensors and are copied out in chunks (`flush()`), because a
`.item()` per step forces a device sync on a GPU. Divergence (a non-finite loss or parameter)
is found at each flush and ends the run as DIVERGED; it never raises for it.
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any, Callable

import torch

from . import cuda_graphs, fast, triton_step
from .backprop import GradCheck, StepFn, autograd_step, cross_entropy, gradient_check, targets
from .config import RunConfig
from .data import BatchOrder, Dataset, build_dataset, drawn_set, nearest_train_point, with_point, without_train_point
from .device import DTYPES, claim_threads, resolve_device
from .features import check_finite, featurize
from .history import History
from .metrics import Row
from .network import Params, accuracy, forward, init_params, layer_sizes
from .optim import make_optimizer
from .state import State

FLUSH_EVERY = 64
"""Steps between copies of the loss from device to host (and divergence checks)."""
STEPS: dict[str, StepFn] = {"manual": fast.manual_step, "autograd": autograd_step}
"""The step each --backprop trains with: the fused hand-derived step, or the tutorial's autograd."""


def _joined(losses: list[torch.Tensor]) -> torch.Tensor:
    """The pending losses, 0-d (an eager step's) or (GRAPH_STEPS,) (a replay's), as one (S,) tensor:
    one stack when all are 0-d, which saves a reshape per step (a tenth of a tiny step's time)."""
    if all(l.dim() == 0 for l in losses):
        return torch.stack(losses)  # (S,)
    return torch.cat([l.reshape(-1) for l in losses])  # (S,)


class Trainer:
    """One run: call step() or advance(n) to update; the options can change between steps."""

    def __init__(self, cfg: RunConfig, *, data: Dataset | None = None, params: Params | None = None):
        self.cfg = cfg
        self.device = resolve_device(cfg.device)
        self.dtype = DTYPES[cfg.dtype]
        self.fault_hook: Callable[[Trainer], None] | None = None
        """Called at the start of every step; tests use it to inject failures."""
        self.track_metrics = False
        """When True every step also records train accuracy, test loss and test accuracy (for --metrics)."""
        self.needs_activations = False
        """When True every step keeps its forward cache (the dashboard's step view shows it), so the
        one-kernel CUDA step, which keeps none, is not used."""
        self.on_rows: Callable[[list[Row]], None] | None = None
        """Receives each flush's rows."""
        self.run_id = 0
        """Counts builds: a reset or a new dataset is a new run."""
        self.resumed_run: int | None = None
        """The run number a resumed checkpoint recorded (None: not resumed, or a checkpoint from
        before it was recorded), run_id's first value; a resumed metrics file continues from it."""
        self.data_edits = 0
        """Counts changes of the training points within a run (points drawn in the dashboard)."""
        self.drawn = False
        """The training points were drawn on (a reset keeps them; a new dataset replaces them)."""
        self._params_version = 0
        self._build(data, params)

    # ----- building and live option changes -----
    def _build(self, data: Dataset | None = None, params: Params | None = None) -> None:
        """Fresh data, parameters, optimizer and history from self.cfg (same seed, same numbers)."""
        cfg = self.cfg
        g = torch.Generator().manual_seed(cfg.seed)  # data first, then weights: the tutorial's order
        self.data = data or build_dataset(
            data=cfg.data,
            dataset=cfg.dataset,
            samples=cfg.samples,
            classes=cfg.classes,
            noise=cfg.noise,
            test_fraction=cfg.test_fraction,
            seed=cfg.seed,
            g=g,
            device=self.device,
            dtype=self.dtype,
        )
        self.F_train = self.inputs(self.data.X_train)  # (N, F) the network's input: X_train itself for x1,x2
        self.F_test = self.inputs(self.data.X_test)  # (M, F)
        check_finite(self.F_train, cfg.features)
        check_finite(self.F_test, cfg.features)
        sizes = layer_sizes(self.F_train.shape[1], cfg.hidden, self.data.classes)
        self.restore_params(params if params is not None else init_params(sizes, cfg.init, g, self.dtype, self.device))
        self.optimizer = make_optimizer(cfg.optimizer, cfg.lr, cfg.weight_decay)
        self.Y_train = torch.nn.functional.one_hot(self.data.y_train, self.data.classes).to(self.dtype)  # (N, K)
        self.Y_test = torch.nn.functional.one_hot(self.data.y_test, self.data.classes).to(self.dtype)  # (M, K)
        self.G_train = targets(self.Y_train)  # (N, K) -onehot / N, reused by every full-batch step
        self._set_batch()
        self.step_count = 0
        self.history = History()
        self.stopped: State | None = None
        """DIVERGED or FAILED once the run cannot go on; None while it can."""
        self.reason = ""
        self.last_grads: list[torch.Tensor] = []
        """The last step's gradients, in parameter order (empty before the first step)."""
        self.last_cache: list[torch.Tensor] = []
        """The last step's forward cache [X, z1, h1, ..., logits] (X: the batch's features)."""
        self._pending: list[tuple[int, torch.Tensor]] = []
        """(first step, losses): a 0-d loss per eager step, or a (GRAPH_STEPS,) chunk per graph replay."""
        self._pending_metrics: list[tuple[torch.Tensor, ...]] = []
        self._graph: cuda_graphs.CapturedSteps | None = None
        self.run_id += 1

    def _set_batch(self) -> None:
        """The batch size and a fresh seeded batch order for it (at a build, or a live edit)."""
        cfg = self.cfg
        N = self.data.X_train.shape[0]
        self.batch = N if cfg.batch_size in (0, None) or cfg.batch_size >= N else cfg.batch_size
        self.order = BatchOrder(N, self.batch, cfg.seed, self.device)
        self.steps_per_epoch = self.order.steps_per_epoch

    def edit(self, changes: dict[str, Any]) -> None:
        """Change options between steps (core/schedule.py): lr, optimizer, weight decay, L1 (read at
        each step), batch size, activation, backprop, epochs and drawn points (points=FILE.csv) keep
        the weights; any other option starts over."""
        from .schedule import POINTS, START_OVER, edited

        old, self.cfg = self.cfg, edited(self.cfg, changes)
        if any(k in START_OVER for k in changes):
            self._build()
            return
        new = self.cfg
        if new.optimizer != old.optimizer:  # its moments start from zero; the weights stay
            self.optimizer = make_optimizer(new.optimizer, new.lr, new.weight_decay)
            self._params_version += 1  # a captured graph holds the old optimizer
        self.optimizer.lr, self.optimizer.weight_decay = new.lr, new.weight_decay
        if new.batch_size != old.batch_size:
            self._set_batch()
        if changes.get(POINTS):
            self._use_train_points(drawn_set(self.data, changes[POINTS]))

    def _use_train_points(self, data: Dataset) -> None:
        """Train on data's points from the next step on: the weights and the optimizer's state stay
        (their shapes do not depend on N); the targets, batch size and batch order follow N."""
        self.flush()  # pending losses belong to the old set
        self.data = data
        self.F_train = self.inputs(data.X_train)  # (N, F)
        self.Y_train = torch.nn.functional.one_hot(data.y_train, data.classes).to(self.dtype)  # (N, K)
        self.G_train = targets(self.Y_train)  # (N, K)
        N, cfg = data.X_train.shape[0], self.cfg
        self.batch = N if cfg.batch_size in (0, None) or cfg.batch_size >= N else cfg.batch_size
        self.order = BatchOrder(N, self.batch, cfg.seed, self.device)
        self.steps_per_epoch = self.order.steps_per_epoch
        self.last_cache = []  # its shapes were the old set's
        self._graph = None  # a captured graph holds the old tensors
        self.data_edits += 1
        self.drawn = True

    def add_point(self, x: float, y: float, label: int) -> None:
        """One more training point (x, y) of class `label` (0..K-1: the net has K outputs)."""
        if not 0 <= label < self.data.classes:
            raise ValueError(f"class {label}: this net has {self.data.classes} classes (0..{self.data.classes - 1})")
        self._use_train_points(with_point(self.data, x, y, label))

    def remove_nearest(self, x: float, y: float, scale: tuple[float, float] = (1.0, 1.0)) -> bool:
        """Remove the training point nearest to (x, y) (distances in units of `scale`); False when
        only one is left, which stays."""
        if self.data.X_train.shape[0] <= 1:
            return False
        self._use_train_points(without_train_point(self.data, nearest_train_point(self.data, x, y, scale)))
        return True

    def reset(self, seed: int | None = None) -> None:
        """Start over: same seed (r) or a new one (R); keeps live changes (lr, activation, dataset)
        and drawn points."""
        self.cfg = replace(self.cfg, seed=self.cfg.seed if seed is None else seed, resume=None, init_params=None)
        self._build(self.data if self.drawn else None)

    def set_dataset(self, name: str) -> None:
        """Switch dataset (class count may change, so the weights start over with the same seed)."""
        classes = self.cfg.classes if name in ("spiral", "blobs", "circles") else 2
        self.cfg = replace(self.cfg, dataset=name, data=None, classes=classes, resume=None, init_params=None)
        self.drawn = False
        self._build()

    def set_lr(self, lr: float) -> None:
        self.cfg = replace(self.cfg, lr=lr)
        self.optimizer.lr = lr

    def set_activation(self, name: str) -> None:
        """Swap the activation live: the weights stay, the next step uses the new function."""
        self.cfg = replace(self.cfg, activation=name)

    def inputs(self, X: torch.Tensor) -> torch.Tensor:
        """The network's input for points X (N, 2): their --features columns, (N, F)."""
        return featurize(X, self.cfg.features)  # (N, F)

    def restore_params(self, params: Params) -> None:
        """Replace the parameters (same shapes), e.g. from --init-params."""
        self._params_version += 1  # a captured graph holds the old ones
        self.params = {k: v.detach().to(device=self.device, dtype=self.dtype).clone() for k, v in params.items()}
        self.param_list = list(self.params.values())

    # ----- where the run is -----
    def work(self) -> int:
        """Multiply-adds of one forward pass over a batch."""
        sizes = layer_sizes(self.F_train.shape[1], self.cfg.hidden, self.data.classes)
        return self.batch * sum(a * b for a, b in zip(sizes[:-1], sizes[1:]))

    def claim_threads(self, drawing: bool = False) -> None:
        """Set torch's intra-op threads for this problem (one fewer while a dashboard draws); call it
        from the thread that steps."""
        claim_threads(self.device, self.work(), drawing)

    @property
    def epoch(self) -> int:
        """Completed epochs."""
        return self.step_count // self.steps_per_epoch

    @property
    def done(self) -> bool:
        return self.cfg.epochs > 0 and self.step_count >= self.cfg.epochs * self.steps_per_epoch

    @property
    def outcome(self) -> State | None:
        """DIVERGED, FAILED or DONE once the run has ended; None while it can step."""
        return self.stopped or (State.DONE if self.done else None)

    # ----- training -----
    def _next_batch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(X, y, G) of the whole training set, or of the next mini-batch of this epoch's seeded
        shuffle; X is the batch's features."""
        d = self.data
        if self.order.full:
            return self.F_train, d.y_train, self.G_train
        idx = self.order.rows(self.step_count)  # (B,)
        return self.F_train[idx], d.y_train[idx], targets(self.Y_train[idx])

    def step(self) -> None:
        """One update: forward, loss, gradients, optimizer. No host sync."""
        with self._step_mode(eager=True):
            self._step(self._step_fn())

    def _step_mode(self, eager: bool) -> torch.inference_mode:
        """Inference mode for eager hand-derived steps: torch then skips its autograd bookkeeping
        on every op, a quarter of a tiny step's time on the CPU. Not for --backprop autograd (it
        needs the graph) nor around a CUDA graph's capture (its buffers must stay normal tensors).
        What a step creates is then an inference tensor: read anywhere, written in place only
        inside this mode (optimizer moments are created as normal tensors, see optim.zeros_like_all)."""
        return torch.inference_mode(eager and self.cfg.backprop == "manual")

    def _step(self, step_fn: StepFn) -> None:
        """step() inside its mode, with the step function already chosen."""
        if self.fault_hook is not None:
            self.fault_hook(self)
        X, y, G = self._next_batch()  # (B, F), (B,), (B, K)
        loss, grads, cache, logits = step_fn(self.params, X, G, self.cfg.activation, self.cfg.l1)
        if self.track_metrics:  # before the update: row k describes the parameters update k started from
            self._pending_metrics.append(self._step_metrics(logits, y))
        self.optimizer.update(self.param_list, grads)
        self.step_count += 1
        self.last_grads, self.last_cache = grads, cache
        self._pending.append((self.step_count, loss))
        if len(self._pending) >= FLUSH_EVERY:
            self.flush()

    def advance(self, n: int) -> int:
        """Take up to n steps (fewer if the run ends); on CUDA, whole chunks replay one captured
        graph of GRAPH_STEPS updates. Returns the steps taken."""
        taken, step_fn = 0, self._step_fn()  # the options cannot change within a chunk
        with self._step_mode(eager=self.preferred_chunk() == 1):  # entered once for the chunk
            while taken < n and self.outcome is None:
                graph = self._ready_graph(n - taken)
                if graph is not None:
                    self._replay_graph(graph)
                    taken += cuda_graphs.GRAPH_STEPS
                else:
                    self._step(step_fn)
                    taken += 1
        return taken

    def preferred_chunk(self) -> int:
        """How many steps a driver should ask advance() for at a time."""
        return cuda_graphs.GRAPH_STEPS if self._graphs_possible() else 1

    def _step_fn(self) -> StepFn:
        """The --backprop step; on CUDA, a one-hidden-layer manual step that fits runs as one Triton
        kernel (core/triton_step.py) unless a probe needs the step's activations or logits."""
        if (
            self.device.type == "cuda"
            and self.cfg.backprop == "manual"
            and not self.track_metrics
            and not self.needs_activations
            and triton_step.fits(self.params)
        ):
            return triton_step.manual_step
        return STEPS[self.cfg.backprop]

    def _graphs_possible(self) -> bool:
        cfg = self.cfg
        return (
            self.device.type == "cuda"
            and cfg.backprop == "manual"
            and cfg.optimizer in ("sgd", "momentum")
            and self.batch == self.data.X_train.shape[0]
            and not self.track_metrics
            and self.fault_hook is None
            and cuda_graphs.available()
        )

    def _ready_graph(self, wanted: int) -> cuda_graphs.CapturedSteps | None:
        """The captured steps when the next GRAPH_STEPS can be one replay (capturing them first if the
        options changed), else None."""
        if wanted < cuda_graphs.GRAPH_STEPS or not self._graphs_possible():
            return None
        if self.cfg.epochs and self.cfg.epochs * self.steps_per_epoch - self.step_count < cuda_graphs.GRAPH_STEPS:
            return None
        cfg = self.cfg
        step = self._step_fn()
        key = (self.run_id, cfg.activation, cfg.lr, cfg.weight_decay, cfg.l1, cfg.optimizer, self._params_version, step)
        if self._graph is None or self._graph.key != key:
            self._graph = cuda_graphs.capture(
                key, step, self.params, self.F_train, self.G_train, cfg.activation, cfg.l1, self.optimizer
            )
        return self._graph

    def _replay_graph(self, g: cuda_graphs.CapturedSteps) -> None:
        g.graph.replay()
        self._pending.append((self.step_count + 1, g.losses.clone()))  # the buffer is rewritten next replay
        self.step_count += cuda_graphs.GRAPH_STEPS
        self.last_grads, self.last_cache = g.grads, g.cache
        if sum(l.numel() for _, l in self._pending) >= FLUSH_EVERY:
            self.flush()

    def _step_metrics(self, logits: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Train accuracy of this step's forward pass, and test loss/accuracy of the same parameters."""
        train_acc = accuracy(logits, y)  # ()
        if self.data.X_test.shape[0] == 0:
            nan = torch.full((), math.nan, device=self.device)  # ()
            return nan, train_acc, nan
        test_loss, test_acc = self._evaluate_inputs(self.F_test, self.data.y_test, self.Y_test)
        return test_loss, train_acc, test_acc

    def evaluate(self, X: torch.Tensor, y: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(loss, accuracy) of the current parameters on the points X (N, 2), as 0-d tensors (no sync).
        The loss is the data loss (no penalty), as every step reports it."""
        return self._evaluate_inputs(self.inputs(X), y, Y)

    @torch.no_grad()
    def _evaluate_inputs(self, X: torch.Tensor, y: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """evaluate() on features X (N, F) already computed."""
        logits, _ = forward(self.params, X, self.cfg.activation)  # (N, K)
        return cross_entropy(logits, targets(Y)), accuracy(logits, y)  # (), ()

    def flush(self) -> None:
        """Copy pending losses to the host (one sync), record history, check for divergence."""
        if not self._pending:
            return
        steps = [s + i for s, l in self._pending for i in range(l.numel())]
        losses = _joined([l for _, l in self._pending]).double().cpu().tolist()  # one device sync
        if self._pending_metrics:
            extra = torch.stack([torch.stack(m) for m in self._pending_metrics]).double().cpu().tolist()  # (S, 3)
        else:
            extra = [(math.nan, math.nan, math.nan)] * len(steps)
        self._pending, self._pending_metrics = [], []
        rows: list[Row] = []
        for s, loss, (test_loss, train_acc, test_acc) in zip(steps, losses, extra):
            if not math.isfinite(loss) and self.stopped is None:
                self._end(State.DIVERGED, f"loss became {loss} at step {s} (lr {self.cfg.lr:g})")
            self.history.add(s, loss, test_loss, train_acc, test_acc)
            rows.append((s, (s - 1) // self.steps_per_epoch, loss, test_loss, train_acc, test_acc))
        if self.stopped is None and not all(bool(torch.isfinite(p).all()) for p in self.param_list):
            self._end(State.DIVERGED, f"a parameter became non-finite by step {steps[-1]} (lr {self.cfg.lr:g})")
        if self.on_rows is not None:
            self.on_rows(rows)

    def _end(self, state: State, reason: str) -> None:
        self.stopped, self.reason = state, reason

    def fail(self, reason: str) -> None:
        """Record an engine failure (an exception, a hang) as a state the UI can show."""
        self._pending, self._pending_metrics = [], []
        self._end(State.FAILED, reason)

    def gradient_check(self, sample: int = 4096) -> list[GradCheck]:
        """The step this run trains with against autograd, in float64, on the first training points."""
        X, Y = self.F_train[:sample], self.Y_train[:sample]  # (n, F), (n, K)
        manual = self._step_fn() if self.cfg.backprop == "manual" else STEPS["manual"]
        return gradient_check(self.params, X, Y, self.cfg.activation, manual=manual, l1=self.cfg.l1)
