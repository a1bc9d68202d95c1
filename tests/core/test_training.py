"""The Trainer learns: every dataset, every optimizer, mini-batches, epochs, seeds, dtypes, divergence."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core import trainer as trainer_mod
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.data import DATASETS
from ffnn_tui.core.device import DeviceError, resolve_device
from ffnn_tui.core.errors import InputError
from ffnn_tui.core.network import forward
from ffnn_tui.core.optim import OPTIMIZERS, make_optimizer
from ffnn_tui.core.probes import boundary_grid, data_extent, param_stats, sample_metrics
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer

MULTI_CLASS = ("circles", "spiral", "blobs")


def train(cfg: RunConfig, steps: int, metrics: bool = False) -> tuple[Trainer, list[tuple]]:
    tr = Trainer(cfg)
    rows: list[tuple] = []
    if metrics:
        tr.track_metrics = True
        tr.on_rows = rows.extend
    for _ in range(steps):
        tr.step()
    tr.flush()
    return tr, rows


def losses(tr: Trainer) -> list[float]:
    return list(tr.history.values["train_loss"])


def mean(xs) -> float:
    xs = list(xs)
    return sum(xs) / len(xs)


def params_equal(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(torch.equal(a[k], b[k]) for k in a)


# ----- learning -----


@pytest.mark.parametrize("hidden", [(16,), (16, 16)], ids=["16", "16,16"])
@pytest.mark.parametrize("dataset", DATASETS)
def test_loss_falls_on_every_dataset(dataset, hidden):
    classes = 3 if dataset in MULTI_CLASS else 2
    cfg = RunConfig(
        device="cpu", dataset=dataset, classes=classes, hidden=hidden, optimizer="adam", lr=0.02, init="he", samples=300
    )
    tr, _ = train(cfg, 400)
    L = losses(tr)
    assert len(L) == 400
    assert all(math.isfinite(v) for v in L)
    assert tr.outcome is None
    assert tr.data.classes == classes
    m = sample_metrics(tr)
    train_acc, test_acc = m.train_acc, m.test_acc
    if dataset == "spiral" and hidden == (16,):  # one narrow layer only starts to unwind the spiral
        assert mean(L[-10:]) < 0.8 * mean(L[:10]), (L[:3], L[-3:])
        assert train_acc > 0.45
    else:
        assert mean(L[-10:]) < 0.2 * mean(L[:10]), (L[:3], L[-3:])
        assert train_acc > 0.9 and test_acc > 0.85, (train_acc, test_acc)


@pytest.mark.parametrize("weight_decay", [0.0, 1e-3])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_reduces_the_loss(optimizer, weight_decay):
    lr = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}[optimizer]
    cfg = RunConfig(
        device="cpu",
        dataset="moons",
        hidden=(16,),
        optimizer=optimizer,
        lr=lr,
        weight_decay=weight_decay,
        init="he",
        samples=200,
    )
    tr, _ = train(cfg, 300)
    L = losses(tr)
    assert tr.optimizer.name == optimizer
    assert tr.optimizer.weight_decay == weight_decay
    assert mean(L[-10:]) < 0.6 * mean(L[:10]), (L[:3], L[-3:])


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_weight_decay_shrinks_the_weights(optimizer):
    lr = {"sgd": 0.1, "momentum": 0.05, "adam": 0.01}[optimizer]
    norms = {}
    for wd in (0.0, 0.05):
        cfg = RunConfig(
            device="cpu",
            dataset="xor",
            hidden=(16,),
            optimizer=optimizer,
            lr=lr,
            weight_decay=wd,
            init="he",
            samples=200,
        )
        tr, _ = train(cfg, 200)
        norms[wd] = sum(float(p.norm()) ** 2 for p in tr.params.values())
    assert norms[0.05] < 0.9 * norms[0.0]


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_optimizers_match_torch_optim(optimizer, weight_decay):
    """Our from-scratch updates against torch.optim (L2 decay added to the gradient, as here)."""
    g = torch.Generator().manual_seed(5)
    shapes = [(2, 4), (4,), (4, 3), (3,)]
    ours = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    ref = [p.clone().requires_grad_(True) for p in ours]
    start = [p.clone() for p in ours]
    lr = 0.03
    opt = make_optimizer(optimizer, lr, weight_decay)
    if optimizer == "sgd":
        topt = torch.optim.SGD(ref, lr=lr, weight_decay=weight_decay)
    elif optimizer == "momentum":
        topt = torch.optim.SGD(ref, lr=lr, momentum=0.9, weight_decay=weight_decay)
    else:
        topt = torch.optim.Adam(ref, lr=lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=weight_decay)
    for _ in range(7):
        grads = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
        opt.update(ours, grads)
        for r, gr in zip(ref, grads):
            r.grad = gr.clone()
        topt.step()
    for a, b in zip(ours, ref):
        assert torch.allclose(a, b.detach(), rtol=0, atol=1e-12)
    assert all(float((a - s).abs().max()) > 1e-3 for a, s in zip(ours, start))  # the updates did move them


@pytest.mark.parametrize("weight_decay", [0.0, 0.01])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_last_updates_are_the_change_the_last_update_made(optimizer, weight_decay):
    """What the weights view shows as the last update: params after minus before, even after the lr
    has changed since (a live `+`), for every optimizer; update_norms are their norms."""
    g = torch.Generator().manual_seed(6)
    shapes = [(2, 4), (4,), (4, 3), (3,)]
    params = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
    opt = make_optimizer(optimizer, 0.03, weight_decay)
    for _ in range(4):
        grads = [torch.randn(s, generator=g, dtype=torch.float64) for s in shapes]
        before = [p.clone() for p in params]
        opt.update(params, grads)
    opt.lr = 0.5  # changed after the last update: the update it made stays what it was
    shown = opt.last_updates(params, grads)
    for u, p, b in zip(shown, params, before):
        assert torch.allclose(u, p - b, rtol=0, atol=1e-12)
    assert opt.update_norms(params, grads) == pytest.approx([float((p - b).norm()) for p, b in zip(params, before)])


# ----- mini-batches and epochs -----


def record_batches(monkeypatch) -> list[torch.Tensor]:
    seen: list[torch.Tensor] = []
    real = trainer_mod.STEPS["manual"]

    def spy(params, X, G, activation, l1=0.0):
        seen.append(X.clone())
        return real(params, X, G, activation, l1)

    monkeypatch.setitem(trainer_mod.STEPS, "manual", spy)
    return seen


def rowset(X: torch.Tensor) -> list[tuple[float, float]]:
    return sorted(map(tuple, X.tolist()))


@pytest.mark.parametrize("batch,steps_per_epoch,sizes", [(16, 10, [16] * 10), (50, 4, [50, 50, 50, 10])])
def test_mini_batches_cover_each_epoch_once(monkeypatch, batch, steps_per_epoch, sizes):
    seen = record_batches(monkeypatch)
    cfg = RunConfig(device="cpu", samples=200, batch_size=batch)  # 160 train points
    tr, _ = train(cfg, 2 * steps_per_epoch)
    assert tr.data.X_train.shape[0] == 160
    assert tr.steps_per_epoch == steps_per_epoch
    assert tr.epoch == 2
    assert [x.shape[0] for x in seen] == sizes * 2
    everything = rowset(tr.data.X_train)
    epoch1, epoch2 = seen[:steps_per_epoch], seen[steps_per_epoch:]
    assert rowset(torch.cat(epoch1)) == everything
    assert rowset(torch.cat(epoch2)) == everything
    assert not torch.equal(torch.cat(epoch1), torch.cat(epoch2))  # reshuffled each epoch


def test_epoch_counting_and_done():
    cfg = RunConfig(device="cpu", samples=200, batch_size=16, epochs=3)
    tr = Trainer(cfg)
    epochs_seen = []
    steps = 0
    while not tr.done:
        tr.step()
        steps += 1
        epochs_seen.append(tr.epoch)
        assert steps <= 100, "never done"
    assert steps == 30
    assert tr.step_count == 30
    assert tr.epoch == 3
    assert epochs_seen[8:12] == [0, 1, 1, 1]  # epoch 1 completes at step 10
    assert tr.outcome is State.DONE


def test_full_batch_epochs_are_steps():
    cfg = RunConfig(device="cpu", epochs=5)
    tr = Trainer(cfg)
    assert tr.steps_per_epoch == 1
    n = 0
    while not tr.done:
        tr.step()
        n += 1
    assert n == 5 and tr.epoch == 5


def test_batch_larger_than_data_is_full_batch():
    tr = Trainer(RunConfig(device="cpu", batch_size=10_000))
    assert tr.batch == tr.data.X_train.shape[0] == 64
    assert tr.steps_per_epoch == 1


def test_epochs_zero_never_done():
    tr, _ = train(RunConfig(device="cpu", epochs=0), 50)
    assert not tr.done


def test_metric_rows_describe_each_step():
    cfg = RunConfig(device="cpu", samples=200, batch_size=50)
    tr, rows = train(cfg, 9, metrics=True)
    assert [r[0] for r in rows] == list(range(1, 10))
    assert [r[1] for r in rows] == [0, 0, 0, 0, 1, 1, 1, 1, 2]  # 4 steps per epoch
    assert [r[2] for r in rows] == losses(tr)
    for _, _, _train_loss, test_loss, train_acc, test_acc in rows:
        assert math.isfinite(test_loss) and 0 <= train_acc <= 1 and 0 <= test_acc <= 1


def test_first_train_loss_is_the_initial_forward_pass():
    """train_loss of step 1 is the loss of the initial parameters on the (full) training batch."""
    tr = Trainer(RunConfig(device="cpu", dtype="float64"))
    logits, _ = forward(tr.params, tr.data.X_train, "relu")
    expected = float(F.cross_entropy(logits, tr.data.y_train))
    tr.step()
    tr.flush()
    assert losses(tr)[0] == pytest.approx(expected, abs=1e-12)


def test_metric_row_test_columns_use_the_same_parameters_as_train_loss():
    tr = Trainer(RunConfig(device="cpu", dtype="float64"))
    rows: list[tuple] = []
    tr.track_metrics, tr.on_rows = True, rows.extend
    logits, _ = forward(tr.params, tr.data.X_test, "relu")
    expected = float(F.cross_entropy(logits, tr.data.y_test))
    tr.step()
    tr.flush()
    assert rows[0][3] == pytest.approx(expected, abs=1e-12)


# ----- reproducibility -----


def test_same_seed_same_metrics_other_seed_different():
    cfg = RunConfig(
        device="cpu",
        dataset="spiral",
        classes=3,
        hidden=(16, 16),
        optimizer="adam",
        lr=0.01,
        samples=200,
        batch_size=32,
        seed=11,
    )
    a, rows_a = train(cfg, 40, metrics=True)
    b, rows_b = train(cfg, 40, metrics=True)
    assert rows_a == rows_b and len(rows_a) == 40
    assert params_equal(a.params, b.params)
    c, rows_c = train(RunConfig(**{**cfg.__dict__, "seed": 12}), 40, metrics=True)
    assert [r[2] for r in rows_c] != [r[2] for r in rows_a]
    assert not torch.equal(c.data.X_train, a.data.X_train)


def test_float64_trains_and_agrees_with_float32():
    cfg32 = RunConfig(device="cpu", hidden=(16,), init="he")
    cfg64 = RunConfig(device="cpu", hidden=(16,), init="he", dtype="float64")
    t32, _ = train(cfg32, 100)
    t64, _ = train(cfg64, 100)
    assert all(p.dtype == torch.float64 for p in t64.params.values())
    assert t64.data.X_train.dtype == torch.float64
    assert all(p.dtype == torch.float32 for p in t32.params.values())
    L32, L64 = losses(t32), losses(t64)
    assert L64[-1] < 0.5 * L64[0]
    assert abs(L32[0] - L64[0]) < 1e-5
    assert max(abs(a - b) for a, b in zip(L32, L64)) < 1e-3
    assert L32 != L64  # genuinely different precision


@pytest.mark.parametrize("backprop_mode", ["manual", "autograd"])
def test_backprop_modes_train_identically_in_float64(backprop_mode):
    base, _ = train(RunConfig(device="cpu", dtype="float64", hidden=(8, 8), activation="tanh"), 50)
    other, _ = train(
        RunConfig(device="cpu", dtype="float64", hidden=(8, 8), activation="tanh", backprop=backprop_mode), 50
    )
    assert max(abs(a - b) for a, b in zip(losses(base), losses(other))) < 1e-10


# ----- divergence -----


@pytest.mark.parametrize("optimizer,lr", [("sgd", 1e6), ("momentum", 1e6), ("adam", 1e30)])
def test_huge_lr_diverges_without_raising(optimizer, lr):
    tr = Trainer(RunConfig(device="cpu", lr=lr, optimizer=optimizer))
    for _ in range(300):
        tr.step()  # never raises, even after the loss is nan
    tr.flush()
    assert tr.outcome is State.DIVERGED
    assert "lr" in tr.reason and ("loss became" in tr.reason or "non-finite" in tr.reason), tr.reason
    tr.step()  # a diverged run still steps without raising if a driver asks
    tr.flush()
    assert tr.outcome is State.DIVERGED
    # measuring a diverged network does not raise either (the dashboard draws it)
    grid = boundary_grid(tr.params, tr.cfg.activation, data_extent(tr), 20, 8)
    assert len(grid.klass) == 8 and all(len(row) == 20 for row in grid.klass)
    assert all(0.0 <= c <= 1.0 for row in grid.conf for c in row)
    sample_metrics(tr)
    assert [s.name for s in param_stats(tr)] == ["W1", "b1", "W2", "b2"]


def test_a_sane_lr_stays_ok():
    tr, _ = train(RunConfig(device="cpu"), 300)
    assert tr.outcome is None and tr.stopped is None and tr.reason == ""


# ----- devices -----


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device("auto").type in ("cuda", "mps", "cpu")


@pytest.mark.parametrize("name", ["cuda", "cuda:7"])
def test_an_absent_device_is_bad_input(name):
    """A DeviceError is an InputError: the command line shows its one line and exits 2."""
    if torch.cuda.device_count() > int(name.partition(":")[2] or 0):
        pytest.skip(f"{name} is present here")
    with pytest.raises(DeviceError, match=f"--device {name}: not available here") as e:
        resolve_device(name)
    assert isinstance(e.value, InputError)
    with pytest.raises(InputError):
        Trainer(RunConfig(device=name))


# ----- CUDA (skipped without a GPU): the same numbers on the device, CUDA-graph chunks = eager steps -----

cuda = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def advance(tr: Trainer, n: int) -> int:
    """Trainer.advance: whole chunks replay one CUDA graph on a GPU, plain steps elsewhere."""
    return tr.advance(n)


def assert_close_runs(a: Trainer, b: Trainer, rtol: float = 1e-5, atol: float = 1e-6) -> None:
    a.flush()
    b.flush()
    assert list(a.history.step) == list(b.history.step)
    La, Lb = torch.tensor(losses(a), dtype=torch.float64), torch.tensor(losses(b), dtype=torch.float64)
    assert torch.allclose(La, Lb, rtol=rtol, atol=atol), float((La - Lb).abs().max())
    for k in a.params:
        assert torch.allclose(a.params[k].cpu(), b.params[k].cpu(), rtol=rtol, atol=atol), k


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_float64_device_matches_the_cpu_numbers(device):
    cfg = dict(dtype="float64", hidden=(16, 16), activation="tanh", optimizer="momentum", lr=0.05)
    ref, _ = train(RunConfig(device="cpu", **cfg), 60)
    tr = Trainer(RunConfig(device=device, **cfg))
    assert advance(tr, 60) == 60
    assert tr.params["W1"].device.type == device
    assert_close_runs(ref, tr, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("optimizer,weight_decay", [("sgd", 0.0), ("momentum", 0.0), ("momentum", 1e-3), ("sgd", 1e-3)])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_advance_equals_step_by_step(device, optimizer, weight_decay):
    """200 = 3 graph chunks of 64 + 8 eager steps on CUDA; the numbers are those of 200 step() calls."""
    cfg = RunConfig(device=device, hidden=(16,), optimizer=optimizer, lr=0.05, weight_decay=weight_decay)
    eager = Trainer(cfg)
    for _ in range(200):
        eager.step()
    fast = Trainer(cfg)
    assert advance(fast, 200) == 200
    assert fast.step_count == 200 and fast.outcome is None
    assert_close_runs(eager, fast)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_advance_after_eager_steps_keeps_momentum(device):
    cfg = RunConfig(device=device, hidden=(16,), optimizer="momentum", lr=0.05)
    eager = Trainer(cfg)
    for _ in range(133):
        eager.step()
    fast = Trainer(cfg)
    for _ in range(5):
        fast.step()  # velocity exists before the first graph is captured
    assert advance(fast, 128) == 128
    assert_close_runs(eager, fast)


@pytest.mark.parametrize("backprop", ["manual", "autograd"])
def test_hand_derived_steps_run_in_inference_mode(backprop):
    """The eager manual step skips autograd's bookkeeping (its tensors are inference tensors); the
    autograd step cannot, and must still train."""
    tr = Trainer(RunConfig(hidden=(8,), backprop=backprop))
    tr.step()
    advance(tr, 8)
    assert tr.last_grads[0].is_inference() == (backprop == "manual")
    assert not any(p.is_inference() for p in tr.param_list)  # updated in place: still normal tensors


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_moments_made_by_an_inference_mode_step_can_be_restored_in_place(optimizer):
    """A CUDA graph's capture restores the moments in place outside the step's inference mode; an
    inference tensor would refuse, and the capture would fall back to eager steps for good."""
    tr = Trainer(RunConfig(hidden=(8,), optimizer=optimizer))
    for _ in range(3):
        tr.step()
    saved = [m.clone() for m in tr.optimizer.moments()]
    tr.step()
    tr.optimizer.restore_moments_(saved)
    assert all(torch.equal(m, s) for m, s in zip(tr.optimizer.moments(), saved))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_advance_follows_live_changes(device):
    """A new lr, activation or parameter set between chunks must not replay a stale graph."""
    cfg = RunConfig(device=device, hidden=(16,), optimizer="sgd", lr=0.05)
    a, b = Trainer(cfg), Trainer(cfg)
    p0 = {k: v.clone() for k, v in a.params.items()}
    for t in (a, b):
        for change in (None, "lr", "activation", "params"):
            if change == "lr":
                t.set_lr(0.01)
            elif change == "activation":
                t.set_activation("tanh")
            elif change == "params":
                t.restore_params(p0)
            if t is a:
                advance(t, 64)
            else:
                for _ in range(64):
                    t.step()
    assert a.step_count == 256
    assert_close_runs(a, b)


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_advance_stops_at_the_last_epoch(device):
    tr = Trainer(RunConfig(device=device, epochs=100))
    assert tr.advance(1000) == 100
    tr.flush()
    assert tr.step_count == 100 and tr.done
    assert list(tr.history.step) == list(range(1, 101))


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_advance_detects_divergence(device):
    tr = Trainer(RunConfig(device=device, lr=1e6))
    advance(tr, 640)
    tr.flush()
    assert tr.outcome is State.DIVERGED and "lr" in tr.reason
