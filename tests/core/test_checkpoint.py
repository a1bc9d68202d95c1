"""Checkpoints: exact save/resume round trips, the file format, atomic writes, --init-params."""

from __future__ import annotations

import os
import signal
from dataclasses import replace
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ffnn_tui.core import checkpoint as checkpoint_mod, run as run_mod
from ffnn_tui.core.checkpoint import (
    FORMAT,
    CheckpointError,
    checkpoint_of,
    load_checkpoint,
    load_params,
    peek_config,
    restore,
    save_atomic,
)
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.errors import InputError
from ffnn_tui.core.network import forward
from ffnn_tui.core.run import open_trainer, save
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.cli import build_trainer, main

KEYS = {"format", "config", "params", "step", "run", "history", "optimizer", "rng"}

ROUND_TRIPS = {
    "sgd-full-batch": (RunConfig(device="cpu", hidden=(8,)), 30),
    "adam-batch16-mid-epoch": (
        RunConfig(
            device="cpu", optimizer="adam", lr=0.01, batch_size=16, samples=200, hidden=(16, 16), activation="tanh"
        ),
        25,
    ),
    "momentum-full-batch": (RunConfig(device="cpu", optimizer="momentum", lr=0.05, weight_decay=0.01), 20),
    "linear-model-features-l1": (
        RunConfig(device="cpu", hidden=(), features=("x1^2", "x2^2", "sin(x1)"), l1=0.01, optimizer="momentum"),
        20,
    ),
    "adam-batch16-features-l1": (
        RunConfig(
            device="cpu", optimizer="adam", lr=0.01, batch_size=16, samples=200, features=("x1", "x1*x2"), l1=1e-3
        ),
        25,
    ),
    "momentum-batch50-float64": (
        RunConfig(
            device="cpu",
            optimizer="momentum",
            lr=0.05,
            batch_size=50,
            samples=200,
            dtype="float64",
            dataset="blobs",
            classes=3,
        ),
        7,
    ),
}


def run_steps(tr: Trainer, n: int, rows: list | None = None) -> Trainer:
    if rows is not None:
        tr.track_metrics = True
        tr.on_rows = rows.extend
    for _ in range(n):
        tr.step()
    tr.flush()
    return tr


def params_equal(a: dict, b: dict) -> bool:
    return list(a) == list(b) and all(a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]) for k in a)


def optimizer_state_equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a.cpu(), b.cpu())
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(optimizer_state_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(optimizer_state_equal(a[k], b[k]) for k in a)
    return a == b


# ----- round trips through the Trainer API -----


@pytest.mark.parametrize("name", list(ROUND_TRIPS))
def test_resume_continues_exactly(tmp_path, name):
    cfg, N = ROUND_TRIPS[name]
    full_rows: list = []
    full = run_steps(Trainer(cfg), 2 * N, full_rows)

    first = run_steps(Trainer(cfg), N)
    path = tmp_path / "half.pt"
    save(first, path)
    del first

    resumed = Trainer(cfg)
    restore(resumed, load_checkpoint(path), str(path))
    assert resumed.step_count == N
    if name.startswith("adam-batch16"):
        assert resumed.step_count % resumed.steps_per_epoch != 0  # stopped in the middle of an epoch
    rows: list = []
    run_steps(resumed, N, rows)

    assert resumed.step_count == full.step_count == 2 * N
    assert list(resumed.history.step) == list(range(1, 2 * N + 1))
    assert list(resumed.history.values["train_loss"]) == list(full.history.values["train_loss"])  # ==, not approx
    assert params_equal(resumed.params, full.params)
    assert optimizer_state_equal(resumed.optimizer.state_dict(), full.optimizer.state_dict())
    assert rows == full_rows[N:]  # every metric of the second half, to the last bit


def test_the_round_trip_comparison_can_fail(tmp_path):
    """Resuming with the RNG of another epoch changes the batch order, and the comparison sees it."""
    cfg, N = ROUND_TRIPS["adam-batch16-mid-epoch"]
    full = run_steps(Trainer(cfg), 2 * N)
    first = run_steps(Trainer(cfg), N)
    ck = checkpoint_of(first)
    ck["rng"]["epoch_start"] = Trainer(cfg).order.state()["epoch_start"]  # the first epoch's state, not the third's
    resumed = Trainer(cfg)
    restore(resumed, ck, "test")
    run_steps(resumed, N)
    assert list(resumed.history.values["train_loss"])[:N] == list(full.history.values["train_loss"])[:N]
    assert list(resumed.history.values["train_loss"]) != list(full.history.values["train_loss"])


@pytest.mark.parametrize("dropped", ["m", "v"])
def test_adam_state_with_one_moment_is_a_damaged_checkpoint(dropped):
    """m without v (or v without m) is refused at resume, not left to fail at the next step."""
    cfg = RunConfig(device="cpu", optimizer="adam", hidden=(4,))
    ck = checkpoint_of(run_steps(Trainer(cfg), 2))
    ck["optimizer"][dropped] = None
    with pytest.raises(CheckpointError, match="damaged .* moments m, v"):
        restore(Trainer(cfg), ck, "run.pt")


def test_resume_through_build_trainer_takes_config_from_the_checkpoint(tmp_path):
    cfg, N = ROUND_TRIPS["adam-batch16-mid-epoch"]
    first = run_steps(Trainer(cfg), N)
    save(first, tmp_path / "c.pt")
    tr = build_trainer(["--resume", str(tmp_path / "c.pt"), "--headless"])
    assert tr.cfg.optimizer == "adam" and tr.cfg.hidden == (16, 16) and tr.cfg.batch_size == 16
    assert tr.cfg.activation == "tanh" and tr.cfg.samples == 200 and tr.cfg.lr == 0.01
    assert tr.step_count == N
    assert params_equal(tr.params, first.params)
    assert tr.history.last("train_loss") == first.history.last("train_loss")
    assert list(tr.history.values["train_loss"]) == list(first.history.values["train_loss"])


def test_resume_flags_override_the_learning_rate(tmp_path):
    save(run_steps(Trainer(RunConfig(device="cpu")), 5), tmp_path / "c.pt")
    tr = build_trainer(["--resume", str(tmp_path / "c.pt"), "--lr", "0.5", "--weight-decay", "0.1", "--headless"])
    assert tr.cfg.lr == 0.5
    assert (tr.optimizer.lr, tr.optimizer.weight_decay) == (0.5, 0.1)


# ----- each file is read once -----


@pytest.fixture
def torch_loads(monkeypatch) -> list[dict]:
    """Every torch.load call from here on, as its keyword arguments (and the path as 'path')."""
    calls: list[dict] = []
    real = torch.load

    def spy(f, *args, **kwargs):
        calls.append({"path": Path(f), **kwargs})
        return real(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    return calls


def test_open_trainer_reads_the_resumed_checkpoint_once(tmp_path, monkeypatch, torch_loads):
    cfg, N = ROUND_TRIPS["adam-batch16-mid-epoch"]
    first = run_steps(Trainer(cfg), N)
    save(first, tmp_path / "c.pt")
    reads: list[str] = []
    real = run_mod.load_checkpoint

    def spy(path):
        reads.append(str(path))
        return real(path)

    monkeypatch.setattr(run_mod, "load_checkpoint", spy)
    torch_loads.clear()
    tr = open_trainer(replace(cfg, resume=str(tmp_path / "c.pt")))
    assert reads == [str(tmp_path / "c.pt")]
    assert [c["path"] for c in torch_loads] == [tmp_path / "c.pt"]
    assert torch_loads[0].get("mmap") in (None, False)  # the one read that brings the tensors in
    assert tr.step_count == N and params_equal(tr.params, first.params)


def test_open_trainer_reads_init_params_once(tmp_path, torch_loads):
    donor = run_steps(Trainer(RunConfig(device="cpu", hidden=(8,))), 3)
    save(donor, tmp_path / "c.pt")
    torch_loads.clear()
    tr = open_trainer(RunConfig(device="cpu", hidden=(8,), init_params=str(tmp_path / "c.pt")))
    assert [c["path"] for c in torch_loads] == [tmp_path / "c.pt"]
    assert params_equal(tr.params, donor.params) and tr.step_count == 0


def test_peek_config_maps_the_file_instead_of_reading_the_tensors(tmp_path, monkeypatch, torch_loads):
    cfg = RunConfig(device="cpu", hidden=(16, 4), optimizer="momentum", lr=0.03)
    save(run_steps(Trainer(cfg), 2), tmp_path / "c.pt")
    monkeypatch.setattr(checkpoint_mod, "load_checkpoint", lambda path: pytest.fail("full load of " + str(path)))
    torch_loads.clear()
    assert peek_config(tmp_path / "c.pt") == cfg.to_dict()
    assert len(torch_loads) == 1 and torch_loads[0]["mmap"] is True


def test_peek_config_of_a_bad_file_gives_the_full_loads_error(tmp_path):
    torch.save({"format": "other/9", "config": {}}, tmp_path / "wf.pt")
    with pytest.raises(CheckpointError, match=r"--resume .*wf\.pt.*format 'other/9'"):
        peek_config(tmp_path / "wf.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match=r"--resume .*junk\.pt"):
        peek_config(tmp_path / "junk.pt")


# ----- round trips through the CLI -----


def cli(*args) -> int:
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    threads = torch.get_num_threads()
    try:
        return main([str(a) for a in args])
    finally:
        for s, h in handlers.items():
            signal.signal(s, h)
        torch.set_num_threads(threads)


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
@pytest.mark.parametrize(
    "flags",
    [
        ["--optimizer", "adam", "--lr", "0.01", "--batch-size", "16", "--samples", "200"],
        ["--optimizer", "sgd"],
        ["--optimizer", "momentum", "--lr", "0.03", "--hidden", "8,8", "--batch-size", "30", "--samples", "120"],
    ],
    ids=["adam-batch16", "sgd", "momentum-batch30"],
)
def test_cli_save_then_resume_equals_one_run(tmp_path, capsys, flags, suffix):
    base = ["--headless", "--device", "cpu", *flags]
    full_m, half_m = tmp_path / f"full{suffix}", tmp_path / f"half{suffix}"
    assert cli(*base, "--epochs", "6", "--metrics", full_m, "--save", tmp_path / "full.pt") == 0
    assert cli(*base, "--epochs", "3", "--metrics", half_m, "--save", tmp_path / "half.pt") == 0
    assert (
        cli(
            "--headless",
            "--resume",
            tmp_path / "half.pt",
            "--epochs",
            "6",
            "--metrics",
            half_m,
            "--save",
            tmp_path / "resumed.pt",
        )
        == 0
    )
    capsys.readouterr()
    full_text = full_m.read_text()
    assert half_m.read_text() == full_text  # the resumed run appended exactly the missing rows
    assert len(full_text.splitlines()) >= 6
    a = torch.load(tmp_path / "full.pt", weights_only=True)
    b = torch.load(tmp_path / "resumed.pt", weights_only=True)
    assert a["step"] == b["step"]
    assert params_equal(a["params"], b["params"])
    assert a["history"] == b["history"]
    assert optimizer_state_equal(a["optimizer"], b["optimizer"])


# ----- the file format -----


def test_checkpoint_file_format(tmp_path):
    cfg = RunConfig(
        device="cpu", dataset="spiral", classes=3, hidden=(16, 4), optimizer="adam", lr=0.01, batch_size=16, samples=100
    )
    tr = run_steps(Trainer(cfg), 7)
    path = tmp_path / "c.pt"
    save(tr, path)
    ck = torch.load(path, weights_only=True)
    assert isinstance(ck, dict) and set(ck) == KEYS
    assert ck["format"] == FORMAT == "ffnn-tui/1"
    assert ck["config"] == cfg.to_dict()
    assert ck["config"]["hidden"] == [16, 4]
    assert ck["step"] == 7 and isinstance(ck["step"], int)
    shapes = {k: tuple(v.shape) for k, v in ck["params"].items()}
    assert shapes == {"W1": (2, 16), "b1": (16,), "W2": (16, 4), "b2": (4,), "W3": (4, 3), "b3": (3,)}
    assert list(ck["params"]) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    assert all(v.device.type == "cpu" and v.dtype == torch.float32 for v in ck["params"].values())
    assert params_equal(ck["params"], {k: v.cpu() for k, v in tr.params.items()})
    assert ck["history"]["step"] == list(range(1, 8))
    assert ck["history"]["train_loss"] == list(tr.history.values["train_loss"])
    assert ck["optimizer"]["name"] == "adam" and ck["optimizer"]["t"] == 7
    assert [tuple(m.shape) for m in ck["optimizer"]["m"]] == list(shapes.values())
    assert set(ck["rng"]) >= {"epoch_start", "batch_gen"}
    assert all(isinstance(v, torch.Tensor) for v in ck["rng"].values())


def test_saved_params_are_a_copy(tmp_path):
    tr = run_steps(Trainer(RunConfig(device="cpu")), 2)
    ck = checkpoint_of(tr)
    before = {k: v.clone() for k, v in ck["params"].items()}
    run_steps(tr, 3)
    assert params_equal(ck["params"], before)


# ----- atomic save -----


def test_save_leaves_no_temp_file(tmp_path):
    tr = run_steps(Trainer(RunConfig(device="cpu")), 2)
    save(tr, tmp_path / "c.pt")
    run_steps(tr, 2)
    save(tr, tmp_path / "c.pt")  # overwrite
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    assert load_checkpoint(tmp_path / "c.pt")["step"] == 4


@pytest.mark.parametrize(
    "exc", [OSError(28, "No space left on device"), KeyboardInterrupt()], ids=["disk-full", "ctrl-c"]
)
def test_failed_save_keeps_the_previous_checkpoint(tmp_path, monkeypatch, exc):
    tr = run_steps(Trainer(RunConfig(device="cpu")), 2)
    path = tmp_path / "c.pt"
    save(tr, path)
    good = path.read_bytes()
    run_steps(tr, 2)
    real_save = torch.save

    def half_written(obj, fh, *a, **k):
        fh.write(good[:100])  # some bytes reach the temp file, then the write fails
        raise exc

    monkeypatch.setattr(torch, "save", half_written)
    with pytest.raises(CheckpointError if isinstance(exc, OSError) else type(exc)):  # a full disk is one line
        save(tr, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert path.read_bytes() == good
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.pt"]
    assert load_checkpoint(path)["step"] == 2


def test_save_atomic_into_a_fresh_path(tmp_path):
    save_atomic({"format": FORMAT, "x": torch.arange(3)}, tmp_path / "new.pt")
    assert torch.equal(torch.load(tmp_path / "new.pt", weights_only=True)["x"], torch.arange(3))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new.pt"]


def test_checkpoint_file_mode_follows_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        save_atomic({"format": FORMAT}, tmp_path / "c.pt")
    finally:
        os.umask(old)
    assert (tmp_path / "c.pt").stat().st_mode & 0o777 == 0o644


# ----- --init-params -----


def test_init_params_accepts_a_full_checkpoint(tmp_path, capsys):
    donor = run_steps(Trainer(RunConfig(device="cpu", hidden=(8, 8), optimizer="adam", lr=0.01)), 10)
    save(donor, tmp_path / "c.pt")
    assert params_equal(load_params(tmp_path / "c.pt"), {k: v.cpu() for k, v in donor.params.items()})
    tr = build_trainer(["--init-params", str(tmp_path / "c.pt"), "--hidden", "8,8", "--device", "cpu", "--headless"])
    assert params_equal(tr.params, donor.params)
    assert tr.step_count == 0 and len(tr.history) == 0  # a fresh run from those weights
    assert tr.cfg.optimizer == "sgd"  # only the parameters come from the file
    X, y = tr.data.X_train, tr.data.y_train
    expected = float(F.cross_entropy(forward(donor.params, X, "relu")[0], y))
    run_steps(tr, 1)
    assert list(tr.history.values["train_loss"]) == [pytest.approx(expected, abs=1e-6)]


def test_init_params_accepts_a_params_only_dict(tmp_path, capsys):
    g = torch.Generator().manual_seed(3)
    params = {
        "W1": torch.randn(2, 5, generator=g, dtype=torch.float64),
        "b1": torch.randn(5, generator=g, dtype=torch.float64),
        "W2": torch.randn(5, 2, generator=g, dtype=torch.float64),
        "b2": torch.randn(2, generator=g, dtype=torch.float64),
    }
    torch.save({"params": params}, tmp_path / "p.pt")
    tr = build_trainer(["--init-params", str(tmp_path / "p.pt"), "--hidden", "5", "--device", "cpu", "--headless"])
    assert all(v.dtype == torch.float32 for v in tr.params.values())
    assert params_equal(tr.params, {k: v.float() for k, v in params.items()})
    assert (
        cli(
            "--init-params",
            tmp_path / "p.pt",
            "--hidden",
            "5",
            "--device",
            "cpu",
            "--headless",
            "--epochs",
            "3",
            "--save",
            tmp_path / "out.pt",
        )
        == 0
    )
    assert load_checkpoint(tmp_path / "out.pt")["step"] == 3
    assert "steps 3 " in capsys.readouterr().out


def test_load_params_errors_are_checkpoint_errors(tmp_path):
    torch.save({"nothing": 1}, tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"--init-params .*x\.pt.*params"):
        load_params(tmp_path / "x.pt")
    with pytest.raises(CheckpointError, match=r"--resume .*x\.pt.*format"):
        load_checkpoint(tmp_path / "x.pt")
    assert issubclass(CheckpointError, InputError) and issubclass(CheckpointError, ValueError)


# ----- CUDA (skipped without a GPU) -----

cuda = [pytest.mark.cuda, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def advance(tr: Trainer, n: int) -> Trainer:
    assert tr.advance(n) == n
    tr.flush()
    return tr


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_device_resume_round_trip_eager_is_exact(tmp_path, device):
    """Mini-batch adam never uses CUDA graphs: a resumed run equals the uninterrupted one to the bit."""
    cfg = RunConfig(device=device, optimizer="adam", lr=0.01, batch_size=16, samples=200, hidden=(16,))
    full = run_steps(Trainer(cfg), 50)
    half = run_steps(Trainer(cfg), 25)
    save(half, tmp_path / "c.pt")
    ck = torch.load(tmp_path / "c.pt", weights_only=True)
    assert all(v.device.type == "cpu" for v in ck["params"].values())  # loads anywhere
    resumed = Trainer(cfg)
    restore(resumed, load_checkpoint(tmp_path / "c.pt"), "c.pt")
    assert resumed.params["W1"].device.type == device
    run_steps(resumed, 25)
    assert list(resumed.history.values["train_loss"]) == list(full.history.values["train_loss"])
    assert params_equal(resumed.params, full.params)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum"])
@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_device_resume_round_trip_with_graph_chunks(tmp_path, device, optimizer):
    """Full-batch sgd/momentum replays CUDA graphs; chunk boundaries differ between the runs, so compare closely."""
    cfg = RunConfig(device=device, optimizer=optimizer, lr=0.05, hidden=(16,))
    full = advance(Trainer(cfg), 192)
    half = advance(Trainer(cfg), 96)
    save(half, tmp_path / "c.pt")
    resumed = Trainer(cfg)
    restore(resumed, load_checkpoint(tmp_path / "c.pt"), "c.pt")
    advance(resumed, 96)
    assert resumed.step_count == 192
    a = torch.tensor(list(resumed.history.values["train_loss"]), dtype=torch.float64)
    b = torch.tensor(list(full.history.values["train_loss"]), dtype=torch.float64)
    assert a.shape == (192,)
    assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
    for k in full.params:
        assert torch.allclose(resumed.params[k], full.params[k], rtol=1e-5, atol=1e-6), k


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=cuda)])
def test_device_checkpoint_resumes_on_cpu(tmp_path, device):
    src = advance(Trainer(RunConfig(device=device, optimizer="momentum", lr=0.05)), 70)
    save(src, tmp_path / "c.pt")
    tr = build_trainer(["--resume", str(tmp_path / "c.pt"), "--device", "cpu", "--headless"])
    assert tr.device.type == "cpu" and tr.step_count == 70
    assert all(v.device.type == "cpu" for v in tr.params.values())
    assert all(v.device.type == "cpu" for v in tr.optimizer.velocity)
    run_steps(tr, 3)
    assert tr.outcome is None
