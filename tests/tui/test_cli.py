"""The `ffnn-tui` command line: bad input is one line and exit 2; headless runs, metrics, TOML, exit codes."""

from __future__ import annotations

import csv
import json
import math
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch

from ffnn_tui.core import checkpoint as checkpoint_mod, run as run_mod
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.metrics import COLUMNS
from ffnn_tui.core.run import save
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui import headless
from ffnn_tui.tui.cli import build_trainer, main, run_config

SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
RUN = ["--headless", "--device", "cpu"]
"""Prefix of every in-process call: no dashboard even if a bad flag were accepted by mistake."""


@dataclass
class Result:
    code: int
    out: str
    err: str

    @property
    def err_lines(self) -> list[str]:
        return self.err.splitlines()


@pytest.fixture
def cli(capsys, monkeypatch):
    """Run ffnn_tui.tui.cli.main in-process; undo what a headless run changes in the process."""
    monkeypatch.setenv("TEXTUAL_FPS", "30")
    monkeypatch.delenv("FFNN_TUI_DEBUG", raising=False)
    capsys.readouterr()

    def call(*args) -> Result:
        handlers = {s: signal.getsignal(s) for s in SIGNALS}
        threads = torch.get_num_threads()
        try:
            code = main([str(a) for a in args])
        finally:
            for s, h in handlers.items():
                signal.signal(s, h)
            torch.set_num_threads(threads)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return call


def assert_usage_error(r: Result, *needles: str) -> str:
    """Exit 2, exactly one line on stderr that names what was wrong, nothing on stdout, no traceback."""
    assert r.code == 2, (r.code, r.err)
    assert len(r.err_lines) == 1, r.err
    line = r.err_lines[0]
    assert line.startswith("ffnn-tui: error: "), line
    assert "Traceback" not in r.err and "Traceback" not in r.out
    assert r.out == ""
    for needle in needles:
        assert needle in line, (needle, line)
    return line


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def read_csv_rows(path: Path) -> tuple[list[str], list[dict]]:
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh)
        return list(reader.fieldnames or []), list(reader)


# ----- bad flags -----

BAD_FLAGS = [
    (["--samples", "abc"], ["--samples", "abc"]),
    (["--samples", "-5"], ["--samples", "-5"]),
    (["--samples", "1"], ["--samples", "1"]),
    (["--noise", "lots"], ["--noise", "lots"]),
    (["--noise", "-1"], ["--noise"]),
    (["--epochs", "1.5"], ["--epochs", "1.5"]),
    (["--epochs", "-1"], ["--epochs", "-1"]),
    (["--hidden", "0,8"], ["--hidden", "0,8"]),
    (["--hidden", "-1"], ["--hidden", "-1"]),
    (["--hidden", "abc"], ["--hidden", "abc"]),
    (["--hidden", "16,,16"], ["--hidden", "16,,16"]),
    (["--hidden", "5000"], ["--hidden", "5000"]),
    (["--hidden", "1,2,3,4,5,6,7,8,9"], ["--hidden"]),
    (["--test-fraction", "1.5"], ["--test-fraction", "1.5"]),
    (["--test-fraction", "-0.1"], ["--test-fraction", "-0.1"]),
    (["--lr", "0"], ["--lr", "0"]),
    (["--lr", "-1"], ["--lr", "-1"]),
    (["--lr", "nan"], ["--lr", "nan"]),
    (["--lr", "inf"], ["--lr", "inf"]),
    (["--lr", "fast"], ["--lr", "fast"]),
    (["--lr"], ["--lr"]),
    (["--weight-decay", "-0.1"], ["--weight-decay"]),
    (["--batch-size", "-1"], ["--batch-size", "-1"]),
    (["--seed", "-1"], ["--seed", "-1"]),
    (["--ui-hz", "0"], ["--ui-hz"]),
    (["--classes", "3"], ["--classes", "3", "linear"]),
    (["--classes", "3", "--dataset", "xor"], ["--classes", "3", "xor"]),
    (["--classes", "11", "--dataset", "spiral"], ["--classes", "11"]),
    (["--classes", "1", "--dataset", "blobs"], ["--classes", "1"]),
    (["--dataset", "mnist"], ["--dataset", "mnist", "spiral"]),
    (["--activation", "swish"], ["--activation", "swish", "leaky_relu"]),
    (["--optimizer", "rmsprop"], ["--optimizer", "rmsprop", "adam"]),
    (["--init", "zeros"], ["--init", "zeros", "xavier"]),
    (["--backprop", "numeric"], ["--backprop", "numeric"]),
    (["--dtype", "float16"], ["--dtype", "float16"]),
    (["--device", "tpu"], ["--device", "tpu"]),
    (["--metrics", "x.txt"], ["--metrics", "x.txt", ".csv"]),
    (["--metrics", "{tmp}/missing/m.csv"], ["--metrics", "missing", "does not exist"]),
    (["--metrics", "{tmp}"], ["--metrics"]),
    (["--save", "{tmp}/missing/c.pt"], ["--save", "missing", "does not exist"]),
    (["--save", "{tmp}"], ["--save", "folder"]),
    (["--save-every", "5"], ["--save-every", "5", "--save"]),
    (["--bogus"], ["--bogus"]),
    (["--epochs", "1", "extra"], ["extra"]),
]


@pytest.mark.parametrize("args,needles", BAD_FLAGS, ids=[" ".join(a) for a, _ in BAD_FLAGS])
def test_bad_flag_is_one_line_and_exit_2(cli, tmp_path, args, needles):
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    assert_usage_error(cli(*RUN, "--epochs", "1", *args), *needles)


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_absent_cuda_device_is_an_error(cli, device):
    line = assert_usage_error(cli("--headless", "--epochs", "1", "--device", device), "--device", device)
    assert "not available" in line


def test_resume_and_init_params_together(cli, tmp_path):
    ck = tmp_path / "c.pt"
    save(Trainer(RunConfig(device="cpu")), ck)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--resume", ck, "--init-params", ck), "--init-params", "--resume")


def test_help_exits_0(cli):
    r = cli("--help")
    assert r.code == 0
    for flag in ("--hidden", "--dataset", "--metrics", "--resume", "--init-params", "--config", "--headless"):
        assert flag in r.out
    assert "Traceback" not in r.err


# ----- TOML -----

BAD_TOML = [
    ("bogus = 1\n", ["unknown key", "bogus"]),
    ('hidden = "x"\n', ["hidden"]),
    ("hidden = [16, true]\n", ["hidden"]),
    ('lr = "fast"\n', ["lr", "number"]),
    ("epochs = 1.5\n", ["epochs", "integer"]),
    ('headless = "yes"\n', ["headless", "true or false"]),
    ("dataset = 3\n", ["dataset"]),
    ("lr = \n", ["not valid TOML"]),
    ("[section]\nlr = 0.1\n", ["section"]),
    ("lr = 0.0\n", ["run.toml: lr 0.0", "> 0"]),
    ('activation = "swish"\n', ["run.toml: activation swish", "relu"]),
    ("dataset = {a=1}\n", ["run.toml: dataset a table: expected a string"]),
]


@pytest.mark.parametrize("text,needles", BAD_TOML, ids=[t.strip().replace("\n", " ") for t, _ in BAD_TOML])
def test_bad_toml_is_one_line_and_exit_2(cli, tmp_path, text, needles):
    cfg = write(tmp_path / "run.toml", text)
    line = assert_usage_error(cli(*RUN, "--epochs", "1", "--config", cfg), *needles)
    assert "run.toml" in line  # the source of the bad value: the file, and its key


def test_missing_toml_file(cli, tmp_path):
    assert_usage_error(cli(*RUN, "--config", tmp_path / "nope.toml"), "--config", "nope.toml", "no such file")


def test_toml_folder(cli, tmp_path):
    assert_usage_error(cli(*RUN, "--config", tmp_path), "--config", "folder")


def test_toml_values_are_used_and_flags_override_them(cli, tmp_path):
    cfg = write(
        tmp_path / "run.toml",
        "hidden = [16, 16]\nlr = 0.1\nepochs = 3\nheadless = true\ntest-fraction = 0.5\n"
        'activation = "tanh"\ndevice = "cpu"\n',
    )
    r = cli("--config", cfg)  # headless comes from the file
    assert r.code == 0, r.err
    assert "2-16-16-2 tanh" in r.out and "lr 0.1," in r.out and "steps 3 " in r.out
    r = cli("--config", cfg, "--lr", "0.2", "--hidden", "4", "--epochs", "2")
    assert r.code == 0, r.err
    assert "2-4-2 tanh" in r.out and "lr 0.2," in r.out and "steps 2 " in r.out
    repro = next(line for line in r.out.splitlines() if line.startswith("reproduce: "))
    assert "--test-fraction 0.5" in repro and "--hidden 4" in repro and "--lr 0.2" in repro


def test_toml_init_params_is_used(cli, tmp_path):
    donor = Trainer(RunConfig(device="cpu", hidden=(16,)))
    save(donor, tmp_path / "c.pt")
    cfg = write(tmp_path / "run.toml", f'init_params = "{tmp_path / "c.pt"}"\nhidden = 16\ndevice = "cpu"\n')
    tr = build_trainer(["--config", str(cfg), "--headless"])
    assert tr.cfg.init_params == str(tmp_path / "c.pt")
    assert all(torch.equal(tr.params[k], donor.params[k]) for k in donor.params)


def test_toml_resume_is_used(cli, tmp_path):
    tr = Trainer(RunConfig(device="cpu", hidden=(16,), lr=0.01))
    for _ in range(3):
        tr.step()
    save(tr, tmp_path / "c.pt")
    cfg = write(tmp_path / "run.toml", f'resume = "{tmp_path / "c.pt"}"\nepochs = 6\nheadless = true\n')
    r = cli("--config", cfg)
    assert r.code == 0, r.err
    assert "2-16-2 relu" in r.out and "lr 0.01," in r.out and "steps 6 " in r.out


# ----- CSV data -----

BAD_CSV = [
    ("non-numeric", "1,2,0\na,b,1\n", [":2:", "numbers"]),
    ("ragged", "1,2,0\n1,2\n-1,-2,1\n", [":2:", "3 values"]),
    ("too many cells", "1,2,0\n1,2,1,4\n", [":2:"]),
    ("empty", "", ["no data rows"]),
    ("blank lines only", "\n\n  \n", ["no data rows"]),
    ("header only", "x1,x2,label\n", ["no data rows"]),
    ("label too big", "1,2,0\n3,4,1\n5,6,12\n", [":3:", "12"]),
    ("negative label", "1,2,0\n3,4,-1\n", [":2:", "-1"]),
    ("fractional label", "1,2,0\n3,4,0.5\n", [":2:", "0.5"]),
    ("nan coordinate", "1,2,0\nnan,4,1\n", [":2:", "finite"]),
    ("inf coordinate", "1,2,0\n3,-inf,1\n", [":2:", "finite"]),
    ("single class", "1,2,0\n3,4,0\n5,6,0\n", ["one class"]),
    ("missing class in the middle", "1,2,0\n3,4,2\n5,6,0\n7,8,2\n", ["missing 1"]),
    ("semicolons", "1;2;0\n3;4;1\n", [":1:"]),
]


@pytest.mark.parametrize("text,needles", [c[1:] for c in BAD_CSV], ids=[c[0] for c in BAD_CSV])
def test_bad_csv_is_one_line_and_exit_2(cli, tmp_path, text, needles):
    data = write(tmp_path / "pts.csv", text)
    line = assert_usage_error(cli(*RUN, "--epochs", "1", "--data", data), *needles)
    assert "pts.csv" in line


def test_csv_missing_file(cli, tmp_path):
    assert_usage_error(cli(*RUN, "--epochs", "1", "--data", tmp_path / "no.csv"), "--data", "no.csv", "no such file")


def test_csv_is_a_directory(cli, tmp_path):
    assert_usage_error(cli(*RUN, "--epochs", "1", "--data", tmp_path), "--data", "directory")


def test_csv_binary_garbage(cli, tmp_path):
    junk = write(tmp_path / "junk.csv", bytes(range(256)) * 8)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--data", junk), "--data", "junk.csv")


def test_good_csv_trains(cli, tmp_path):
    rows = "\n".join(f"{x},{y},{int(x + y > 0)}" for x, y in [(1, 2), (-1, -2), (2, 1), (-2, -1), (0.5, 1), (-1, 0.2)])
    data = write(tmp_path / "ok.csv", "x1,x2,label\n# comment\n\n" + rows + "\n")
    r = cli(*RUN, "--epochs", "3", "--data", data, "--test-fraction", "0")
    assert r.code == 0, r.err
    assert "ok.csv 2-8-2 relu" in r.out and "steps 3 " in r.out


# ----- checkpoints given to --resume / --init-params -----


@pytest.fixture
def good_ckpt(tmp_path) -> Path:
    tr = Trainer(RunConfig(device="cpu"))
    for _ in range(3):
        tr.step()
    path = tmp_path / "good.pt"
    save(tr, path)
    return path


BAD_CKPT = ["missing", "folder", "truncated", "random bytes", "empty", "a list", "text"]


def make_bad_ckpt(kind: str, tmp_path: Path, good: Path) -> Path:
    p = tmp_path / "bad.pt"
    if kind == "missing":
        return tmp_path / "nope.pt"
    if kind == "folder":
        return tmp_path
    if kind == "truncated":
        write(p, good.read_bytes()[: good.stat().st_size // 2])
    elif kind == "random bytes":
        write(
            p,
            torch.randint(0, 256, (4096,), generator=torch.Generator().manual_seed(1), dtype=torch.uint8)
            .numpy()
            .tobytes(),
        )
    elif kind == "empty":
        write(p, b"")
    elif kind == "a list":
        torch.save([1, 2, 3], p)
    elif kind == "text":
        write(p, "W1 = [[1, 2]]\n")
    return p


@pytest.mark.parametrize("kind", BAD_CKPT)
@pytest.mark.parametrize("flag", ["--resume", "--init-params"])
def test_bad_checkpoint_file_is_one_line_and_exit_2(cli, tmp_path, good_ckpt, flag, kind):
    path = make_bad_ckpt(kind, tmp_path, good_ckpt)
    line = assert_usage_error(cli(*RUN, "--epochs", "5", flag, path), flag)
    assert str(path) in line


def test_resume_wrong_format(cli, tmp_path, good_ckpt):
    ck = torch.load(good_ckpt, weights_only=True)
    ck["format"] = "other/9"
    torch.save(ck, tmp_path / "wf.pt")
    assert_usage_error(cli(*RUN, "--epochs", "5", "--resume", tmp_path / "wf.pt"), "--resume", "format", "other/9")


def test_init_params_without_params(cli, tmp_path):
    torch.save({"format": "other/9", "weights": {}}, tmp_path / "np.pt")
    assert_usage_error(cli(*RUN, "--epochs", "5", "--init-params", tmp_path / "np.pt"), "--init-params", "params")


@pytest.mark.parametrize("flag", ["--resume", "--init-params"])
def test_params_of_the_wrong_shape(cli, good_ckpt, flag):
    line = assert_usage_error(cli(*RUN, "--epochs", "5", "--hidden", "16", flag, good_ckpt), flag)
    assert "2-8-2" in line and "2-16-2" in line and "--hidden 8" in line


@pytest.mark.parametrize(
    "bad",
    [
        {"W1": torch.zeros(2, 8), "b1": torch.zeros(8)},  # one layer only
        {"W1": torch.zeros(3, 8), "b1": torch.zeros(8), "W2": torch.zeros(8, 2), "b2": torch.zeros(2)},  # 3 inputs
        {"W1": torch.zeros(2, 8), "b1": torch.zeros(8), "W2": torch.zeros(7, 2), "b2": torch.zeros(2)},  # no chain
        {
            "W1": torch.zeros(2, 8, dtype=torch.long),
            "b1": torch.zeros(8),
            "W2": torch.zeros(8, 2),
            "b2": torch.zeros(2),
        },
        {"W1": torch.full((2, 8), math.nan), "b1": torch.zeros(8), "W2": torch.zeros(8, 2), "b2": torch.zeros(2)},
        {"W1": [[0.0] * 8] * 2, "b1": torch.zeros(8), "W2": torch.zeros(8, 2), "b2": torch.zeros(2)},
    ],
    ids=["one-layer", "three-inputs", "unchained", "integer", "nan", "list"],
)
def test_init_params_with_malformed_params(cli, tmp_path, bad):
    torch.save({"params": bad}, tmp_path / "p.pt")
    assert_usage_error(cli(*RUN, "--epochs", "5", "--init-params", tmp_path / "p.pt"), "--init-params", "p.pt")


@pytest.mark.parametrize(
    "key,value",
    [
        ("history", 5),
        ("optimizer", {}),
        ("rng", {}),
        ("rng", {"epoch_start": torch.zeros(3, dtype=torch.uint8), "batch_gen": torch.zeros(3, dtype=torch.uint8)}),
    ],
    ids=["history-int", "optimizer-empty", "rng-empty", "rng-wrong-size"],
)
def test_resume_with_damaged_sections_is_a_usage_error(cli, tmp_path, good_ckpt, key, value):
    ck = torch.load(good_ckpt, weights_only=True)
    ck[key] = value
    torch.save(ck, tmp_path / "dmg.pt")
    assert_usage_error(cli(*RUN, "--epochs", "5", "--resume", tmp_path / "dmg.pt"), "--resume", "dmg.pt")


# ----- each checkpoint is read once -----


@pytest.fixture
def torch_loads(monkeypatch) -> list[dict]:
    """Every torch.load call from here on: its path and keyword arguments."""
    calls: list[dict] = []
    real = torch.load

    def spy(f, *args, **kwargs):
        calls.append({"path": Path(f), **kwargs})
        return real(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    return calls


def test_run_config_reads_a_checkpoints_options_without_its_tensors(tmp_path, good_ckpt, monkeypatch, torch_loads):
    monkeypatch.setattr(checkpoint_mod, "load_checkpoint", lambda path: pytest.fail(f"full load of {path}"))
    monkeypatch.setattr(checkpoint_mod, "load_params", lambda path: pytest.fail(f"full load of {path}"))
    cfg = run_config([*RUN, "--resume", str(good_ckpt), "--lr", "0.5"])
    assert cfg.resume == str(good_ckpt) and cfg.lr == 0.5 and cfg.hidden == (8,)
    assert [(c["path"], c.get("mmap")) for c in torch_loads] == [(good_ckpt, True)]  # mapped, not read
    torch_loads.clear()
    cfg = run_config([*RUN, "--init-params", str(good_ckpt)])  # only the run reads --init-params
    assert cfg.init_params == str(good_ckpt) and torch_loads == []


def test_build_trainer_with_resume_maps_then_reads_the_checkpoint_once(good_ckpt, torch_loads):
    tr = build_trainer([*RUN, "--resume", str(good_ckpt)])
    assert tr.step_count == 3
    assert [(c["path"], bool(c.get("mmap"))) for c in torch_loads] == [(good_ckpt, True), (good_ckpt, False)]


# ----- headless runs -----


def test_divergent_headless_run_exits_3(cli):
    r = cli("--lr", "1e6", "--epochs", "200", "--headless", "--device", "cpu")
    assert r.code == 3
    assert "diverged" in r.err
    assert "Traceback" not in r.err
    assert "reproduce: ffnn-tui" in r.out  # the summary is still printed


def test_good_headless_run(cli, monkeypatch):
    monkeypatch.setattr(headless, "PROGRESS_EVERY", 0.0)  # progress lines without waiting half a second
    r = cli(*RUN, "--epochs", "100", "--hidden", "16", "--seed", "4")
    assert r.code == 0, r.err
    out = r.out.splitlines()
    assert out[0].startswith("ffnn-tui: linear 2-16-2 relu on cpu, sgd lr 0.07")
    assert "steps 100  epochs 100" in r.out
    assert re.search(r"^train loss \d+\.\d{6}  test loss \d+\.\d{6}$", r.out, re.M)
    assert re.search(r"^train acc \d+\.\d%  test acc \d+\.\d%$", r.out, re.M)
    assert out[-1] == "reproduce: ffnn-tui --hidden 16 --epochs 100 --seed 4 --device cpu --headless"
    progress = r.err_lines
    assert progress, "no progress lines on stderr"
    steps = [int(line.split()[1]) for line in progress]
    assert steps == sorted(set(steps)) and 1 <= steps[0] and steps[-1] <= 100
    for line in progress:
        assert re.fullmatch(
            r"step \d+  epoch \d+  loss \d+\.\d{4}  acc [\d.]+%/[\d.]+%  [\d,]+ steps/s"
            r"  \d+%  ETA (\d+:)?\d+:\d\d",
            line,
        ), line  # --epochs is set: percent and ETA


def test_reproduce_line_reproduces_the_run(cli, tmp_path):
    first = cli(
        *RUN,
        "--epochs",
        "40",
        "--dataset",
        "moons",
        "--optimizer",
        "adam",
        "--lr",
        "0.013",
        "--batch-size",
        "16",
        "--samples",
        "120",
        "--noise",
        "0.05",
        "--seed",
        "9",
    )
    assert first.code == 0, first.err
    repro = first.out.splitlines()[-1].removeprefix("reproduce: ")
    argv = shlex.split(repro)
    assert argv[0] == "ffnn-tui"
    again = cli(*argv[1:])
    assert again.code == 0, again.err

    def losses(out: str) -> str:
        return next(line for line in out.splitlines() if line.startswith("train loss"))

    assert losses(again.out) == losses(first.out)
    assert again.out.splitlines()[-1] == first.out.splitlines()[-1]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_metrics_file_has_one_row_per_step(cli, tmp_path, suffix):
    path = tmp_path / f"m{suffix}"
    r = cli(*RUN, "--epochs", "6", "--samples", "200", "--batch-size", "50", "--metrics", path)
    assert r.code == 0, r.err
    assert COLUMNS == ("run", "step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc")
    if suffix == ".csv":
        header, rows = read_csv_rows(path)
        assert header == list(COLUMNS)
    else:
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        assert all(list(row) == list(COLUMNS) for row in rows)
    assert [int(row["step"]) for row in rows] == list(range(1, 25))  # 6 epochs x 4 steps
    assert {int(row["run"]) for row in rows} == {1}
    assert [int(row["epoch"]) for row in rows] == [s // 4 for s in range(24)]
    for row in rows:
        for col in COLUMNS[2:]:
            v = float(row[col])
            assert math.isfinite(v)
        assert 0 <= float(row["train_acc"]) <= 1 and 0 <= float(row["test_acc"]) <= 1
    # The rows are the Trainer's numbers: the same run in-process gives the same train losses.
    tr = Trainer(RunConfig(device="cpu", samples=200, batch_size=50))
    threads = torch.get_num_threads()
    tr.claim_threads()  # the same intra-op thread count as the headless run
    try:
        for _ in range(24):
            tr.step()
        tr.flush()
    finally:
        torch.set_num_threads(threads)
    assert [float(row["train_loss"]) for row in rows] == list(tr.history.values["train_loss"])


def test_metrics_without_a_test_set_leave_test_columns_empty(cli, tmp_path):
    r = cli(
        *RUN,
        "--epochs",
        "3",
        "--test-fraction",
        "0",
        "--metrics",
        tmp_path / "m.csv",
        "--metrics",
        tmp_path / "m.jsonl",
    )
    assert r.code == 0, r.err
    assert not (tmp_path / "m.csv").exists()  # the last --metrics wins
    rows = [json.loads(line) for line in (tmp_path / "m.jsonl").read_text().splitlines()]
    assert len(rows) == 3
    assert all(row["test_loss"] is None and row["test_acc"] is None for row in rows)
    assert all(isinstance(row["train_loss"], float) for row in rows)
    r = cli(*RUN, "--epochs", "3", "--test-fraction", "0", "--metrics", tmp_path / "m.csv")
    assert r.code == 0, r.err
    _, rows = read_csv_rows(tmp_path / "m.csv")
    assert [row["test_loss"] for row in rows] == ["", "", ""]


def test_metrics_path_with_tilde(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    r = cli(*RUN, "--epochs", "2", "--metrics", "~/m.csv")
    assert r.code == 0, r.err
    assert (tmp_path / "m.csv").exists()


@pytest.mark.parametrize(
    "args", [["--samples", "3", "--test-fraction", "0.9"], ["--samples", "2", "--test-fraction", "0.8"]]
)
def test_split_with_no_training_points_is_a_usage_error(cli, args):
    assert_usage_error(cli(*RUN, "--epochs", "1", *args), "--test-fraction")


@pytest.mark.parametrize("every,expected", [(4, [4, 8, 10]), (3, [3, 6, 9, 10]), (1, list(range(1, 11)) + [10])])
def test_save_every_saves_on_schedule(cli, tmp_path, monkeypatch, every, expected):
    """Each save is of its own step, also when several boundaries fall in one chunk of tiny CPU steps."""
    saved: list[int] = []
    real = run_mod.save_atomic

    def spy(obj, path):
        saved.append(obj["step"])
        real(obj, path)

    monkeypatch.setattr(run_mod, "save_atomic", spy)
    r = cli(*RUN, "--epochs", "10", "--save", tmp_path / "c.pt", "--save-every", every)
    assert r.code == 0, r.err
    assert saved == expected
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 10


def test_signal_stops_the_headless_run_with_128_plus_n(tmp_path, capsys):
    tr = build_trainer([*RUN, "--epochs", "100", "--save", str(tmp_path / "s.pt")])
    stop = headless.StopFlag()  # not installed: the test sets it as the handler would

    def hook(t):
        if t.step_count == 5:
            stop(signal.SIGTERM, None)

    tr.fault_hook = hook
    threads = torch.get_num_threads()
    try:
        code = headless.run_headless(tr, stop)
    finally:
        torch.set_num_threads(threads)
    out, err = capsys.readouterr()
    assert code == 128 + signal.SIGTERM
    # the chunk in flight (tiny CPU steps go SMALL_CHUNK at a time) finishes, then the loop stops
    stopped_at = math.ceil(6 / run_mod.SMALL_CHUNK) * run_mod.SMALL_CHUNK
    assert tr.step_count == stopped_at < 100
    assert "SIGTERM" in err and "s.pt" in err
    assert torch.load(tmp_path / "s.pt", weights_only=True)["step"] == stopped_at
    assert f"steps {stopped_at} " in out


@pytest.mark.parametrize("args", [("--headless", "--quiet", "--epochs", "2"), ("--dump-config",)])
def test_a_path_the_output_encoding_cannot_write_is_escaped_not_an_error(tmp_path, args):
    """Under a latin-1 (or ascii) stdout a path holding € made the summary's reproduce line, or
    --dump-config's TOML, an unexpected UnicodeEncodeError: exit 1. It is written as stderr
    writes it, with a backslash escape."""
    env = {k: v for k, v in os.environ.items() if k != "FFNN_TUI_DEBUG"} | {"PYTHONIOENCODING": "latin-1"}
    p = subprocess.run(
        [sys.executable, "-m", "ffnn_tui", *args, "--device", "cpu", "--metrics", "\u20ac.csv"],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        env=env,
    )
    assert p.returncode == 0, p.stderr
    assert b"\\u20ac.csv" in p.stdout


# ----- the installed console script -----

SCRIPT = shutil.which("ffnn-tui")
needs_script = pytest.mark.skipif(SCRIPT is None, reason="the ffnn-tui console script is not installed")


def run_script(*args, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "FFNN_TUI_DEBUG"}
    return subprocess.run([SCRIPT, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


@needs_script
def test_script_bad_input_no_traceback(tmp_path):
    write(tmp_path / "junk.csv", "1,2,0\n3,x,1\n")
    p = run_script("--headless", "--data", "junk.csv", "--hidden", "8", cwd=tmp_path)
    assert p.returncode == 2
    assert p.stderr.splitlines() == ["ffnn-tui: error: junk.csv:2: x1,x2 must be numbers, got '3','x'"]
    assert p.stdout == ""


@needs_script
def test_script_headless_run(tmp_path):
    p = run_script("--headless", "--device", "cpu", "--epochs", "30", "--metrics", "m.csv", cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    assert "Traceback" not in p.stderr
    assert "reproduce: ffnn-tui --epochs 30 --seed 0 --device cpu --headless --metrics m.csv" in p.stdout
    _, rows = read_csv_rows(tmp_path / "m.csv")
    assert len(rows) == 30


# ----- CUDA (skipped without a GPU) -----


@pytest.mark.cuda
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_headless_run_with_metrics_and_save_every(cli, tmp_path):
    r = cli("--headless", "--device", "cuda", "--epochs", "300", "--metrics", tmp_path / "m.csv")
    assert r.code == 0, r.err
    assert "on cuda" in r.out and "steps 300 " in r.out
    _, rows = read_csv_rows(tmp_path / "m.csv")
    assert [int(row["step"]) for row in rows] == list(range(1, 301))
    r = cli("--headless", "--device", "cuda", "--epochs", "300", "--save", tmp_path / "c.pt", "--save-every", "100")
    assert r.code == 0, r.err
    ck = torch.load(tmp_path / "c.pt", weights_only=True)
    assert ck["step"] == 300 and ck["history"]["step"] == list(range(1, 301))
    r = cli("--headless", "--device", "cuda", "--epochs", "300", "--lr", "1e6")
    assert r.code == 3 and "diverged" in r.err


def test_a_closed_stdout_pipe_ends_quietly(tmp_path):
    """`ffnn-tui --headless | head -1`: the reader leaves early; no traceback, exit 141 (SIGPIPE)."""
    import shutil
    import subprocess

    exe = shutil.which("ffnn-tui")
    if exe is None:
        pytest.skip("ffnn-tui is not installed")
    subprocess.run(
        f"{exe} --headless --epochs 3000 2>err.txt | head -c 10; echo ${{PIPESTATUS[0]}} > code.txt",
        shell=True,
        executable="/bin/bash",
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    code = int((tmp_path / "code.txt").read_text())
    err = (tmp_path / "err.txt").read_text()
    assert code in (0, 141), err  # 0 when everything fitted in the pipe before head left
    assert "Traceback" not in err and "error" not in err


@pytest.mark.parametrize(
    "argv",
    [
        ["bench", "--seconds", "abc"],
        ["bench", "--bogus"],
        ["bench", "--problems", "x"],
        ["bench", "--device", "xpu"],
        ["bench", "--problems", "x" * 5000],
        ["serve", "--port", "x"],
        ["serve", "--port", "0"],
    ],
)
def test_subcommand_bad_input_is_one_line_and_exit_2(argv, capsys):
    from ffnn_tui.tui.cli import main

    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ffnn-tui: error: ") and len(err[0]) < 200
