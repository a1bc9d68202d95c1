"""Reliability at the edges: huge lr, full disks, closed stderr, unwritable or clashing paths,
resumed metrics files, FIFOs and devices as inputs, unbounded reads, stale temp files."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import pickle
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from ffnn_tui.core import metrics as metrics_mod
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.run import save
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui import headless

from .test_cli import RUN, assert_usage_error, cli, write  # noqa: F401 - cli is a fixture

# ----- item 2: an lr beyond float32 is a divergence, not a crash -----


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_lr_beyond_float32_diverges(optimizer):
    """The dashboard's engine and headless step the same Trainer: DIVERGED, never an exception."""
    tr = Trainer(RunConfig(device="cpu", lr=1e39, optimizer=optimizer))
    tr.advance(20)
    tr.flush()
    assert tr.outcome is State.DIVERGED, tr.reason


def test_lr_beyond_float32_exits_3_headless(cli):
    r = cli(*RUN, "--lr", "1e39", "--epochs", "5")
    assert r.code == 3, r.err
    assert "diverged" in r.err and "unexpected" not in r.err


# ----- item 6: unwritable outputs are found at start-up; symlinks are written through -----


def test_save_into_a_read_only_folder_is_refused_at_start(cli):
    """/sys refuses new files even to root, where a chmod'ed folder would not."""
    if not os.path.isdir("/sys"):
        pytest.skip("no /sys")
    for flag, name in (("--save", "c.pt"), ("--metrics", "m.csv")):
        assert_usage_error(cli(*RUN, "--epochs", "1", flag, f"/sys/{name}"), flag, "cannot write")


@pytest.mark.parametrize("flag,suffix", [("--save", ".pt"), ("--metrics", ".csv")])
def test_a_file_name_too_long_is_refused_at_start(cli, tmp_path, flag, suffix):
    path = tmp_path / ("x" * 300 + suffix)
    line = assert_usage_error(cli(*RUN, "--epochs", "1", flag, path), flag, "longer than")
    assert len(line) < 150  # the path's last 80 characters, where its name is


def test_save_through_a_symlink_writes_its_target(cli, tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "c.pt"
    link = tmp_path / "link.pt"
    link.symlink_to(target)
    r = cli(*RUN, "--epochs", "2", "--save", link)
    assert r.code == 0, r.err
    assert link.is_symlink() and torch.load(target, weights_only=True)["step"] == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.pt", "real"]


# ----- item 7: an output may not replace an input -----


def test_metrics_onto_the_data_is_refused(cli, tmp_path):
    data = write(tmp_path / "pts.csv", "1,2,0\n-1,-2,1\n3,1,0\n-2,-1,1\n")
    before = data.read_text()
    assert_usage_error(
        cli(*RUN, "--epochs", "1", "--data", data, "--metrics", tmp_path / "." / "pts.csv"), "--metrics", "--data"
    )
    assert data.read_text() == before


def test_save_onto_the_config_is_refused(cli, tmp_path):
    cfg = write(tmp_path / "cfg.toml", "epochs = 1\n")
    link = tmp_path / "other.toml"
    link.symlink_to(cfg)
    assert_usage_error(cli(*RUN, "--config", cfg, "--save", link), "--save", "--config")
    assert cfg.read_text() == "epochs = 1\n"


def test_save_onto_resume_continues_in_place(cli, tmp_path):
    ck = tmp_path / "c.pt"
    assert cli(*RUN, "--epochs", "2", "--save", ck).code == 0
    r = cli(*RUN, "--epochs", "4", "--resume", ck, "--save", ck)
    assert r.code == 0, r.err
    assert torch.load(ck, weights_only=True)["step"] == 4


# ----- items 9, 10, 18: inputs are non-empty regular files of bounded size -----


@pytest.mark.parametrize("flag", ["--data", "--config", "--resume", "--init-params", "--metrics", "--save"])
def test_a_fifo_is_refused(cli, tmp_path, flag):
    fifo = tmp_path / ("f.csv" if flag in ("--data", "--metrics") else "f.toml" if flag == "--config" else "f.pt")
    os.mkfifo(fifo)
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, fifo), flag, "not a regular file")


@pytest.mark.parametrize("flag", ["--data", "--config", "--resume", "--init-params"])
def test_dev_zero_is_refused(cli, flag):
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, "/dev/zero"), flag, "not a regular file")


def test_metrics_to_dev_null_is_refused(cli):
    assert_usage_error(cli(*RUN, "--epochs", "1", "--metrics", "/dev/null"), "--metrics")


@pytest.mark.parametrize("flag", ["--data", "--config", "--resume", "--init-params", "--metrics", "--save"])
def test_an_empty_path_is_refused(cli, flag):
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, ""), flag, "empty path")


def test_a_toml_with_a_byte_order_mark_reads(cli, tmp_path):
    """Editors on Windows save UTF-8 with a BOM, which tomllib calls an invalid statement."""
    cfg = tmp_path / "bom.toml"
    cfg.write_bytes(b"\xef\xbb\xbflr = 0.5\n")
    r = cli("--config", cfg, "--dump-config")
    assert r.code == 0 and "lr = 0.5" in r.out, r.err


def test_a_huge_toml_is_refused_unread(cli, tmp_path):
    big = tmp_path / "big.toml"
    with open(big, "wb") as fh:
        fh.truncate(2 << 20)  # sparse: 2 MiB of zeros
    assert_usage_error(cli(*RUN, "--config", big), "--config", "at most")


def test_a_deeply_nested_toml_is_one_line(cli, tmp_path):
    cfg = write(tmp_path / "deep.toml", "hidden = " + "[" * 5000 + "]" * 5000 + "\n")
    assert_usage_error(cli(*RUN, "--config", cfg), "--config", "deep.toml")


# ----- items 15, 16: values from a file get the flags' checks and name their source -----


def _checkpoint_with(tmp_path, **config) -> Path:
    ck = tmp_path / "run.pt"
    save(Trainer(RunConfig(device="cpu")), ck)
    obj = torch.load(ck, weights_only=True)
    obj["config"].update(config)
    torch.save(obj, ck)
    return ck


def test_a_checkpoints_data_gets_the_flags_checks(cli, tmp_path):
    ck = _checkpoint_with(tmp_path, data="/dev/zero")
    assert_usage_error(cli(*RUN, "--epochs", "1", "--resume", ck), "run.pt: config.data /dev/zero", "regular file")


def test_a_checkpoints_bad_value_names_the_checkpoint(cli, tmp_path):
    ck = _checkpoint_with(tmp_path, dataset="mnist")
    assert_usage_error(cli(*RUN, "--epochs", "1", "--resume", ck), "run.pt: config.dataset mnist", "spiral")


def test_a_data_file_that_is_not_csv_is_not_echoed(cli, tmp_path):
    secret = write(tmp_path / "passwd", "root:x:0:0:root:/root:/bin/bash\n")
    line = assert_usage_error(cli(*RUN, "--epochs", "1", "--data", secret), "passwd:1:")
    assert "root" not in line.replace(str(tmp_path), "")


def test_long_values_are_clipped_in_errors(cli):
    line = assert_usage_error(cli(*RUN, "--hidden", "1," * 20_000 + "1"), "--hidden")
    assert len(line) < 200
    line = assert_usage_error(cli(*RUN, "--dataset", "x" * 40_000), "--dataset")
    assert len(line) < 200


@pytest.mark.parametrize(
    "argv",
    [["--headless", "--epochs", "2"], ["--version"], ["--help"], ["--dump-config"], ["bench", "--help"]],
)
def test_stdout_on_a_full_device_is_one_line_and_exit_2(tmp_path, argv):
    """`ffnn-tui ... >/dev/full`: argparse swallows the write error, the summary's print raises it;
    either way one line says stdout could not be written, and the run's checkpoint is kept."""
    save = ["--save", str(tmp_path / "run.pt")] if "--headless" in argv else []
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "ffnn_tui", *argv, *save], stdout=full, stderr=subprocess.PIPE, text=True
        )
    lines = p.stderr.strip().splitlines()
    assert p.returncode == 2 and len(lines) == 1, p.stderr
    assert "cannot write" in lines[0] and "standard output" in lines[0] and "Traceback" not in p.stderr
    if save:
        assert (tmp_path / "run.pt").exists()


# ----- item 12: temp files of killed saves are cleaned by the next save -----


def test_a_save_removes_temp_files_of_dead_writers(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = write(tmp_path / f".c.pt.{dead.pid}.abc123.tmp", b"half a checkpoint")
    live = write(tmp_path / f".c.pt.{os.getppid()}.def456.tmp", b"being written")
    other = write(tmp_path / f".d.pt.{dead.pid}.abc123.tmp", b"another file's")
    save(Trainer(RunConfig(device="cpu")), tmp_path / "c.pt")
    assert not stale.exists() and live.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.glob(".c.pt.*.tmp")) == [live.name]


# ----- item 4: a failed metrics write stops the metrics file, not the run -----


class FullDisk:
    """A file that takes `budget` characters, writes part of the next chunk (a torn row), then
    raises ENOSPC on every write and flush, as a full disk does, close included."""

    def __init__(self, real, budget: int):
        self.real, self.budget, self.full = real, budget, False

    def write(self, text: str) -> int:
        if self.full or len(text) > self.budget:
            self.real.write(text[: self.budget])
            self.real.flush()
            self.budget, self.full = 0, True
            raise OSError(errno.ENOSPC, "No space left on device")
        self.budget -= len(text)
        return self.real.write(text)

    def flush(self) -> None:
        if self.full:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.real.flush()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.real.close()

    def tell(self) -> int:
        return self.real.tell()

    def fileno(self) -> int:
        return self.real.fileno()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_full_disk_stops_the_metrics_not_the_run(cli, tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(metrics_mod, "open", lambda *a, **k: FullDisk(open(*a, **k), 20_000), raising=False)
    path = tmp_path / f"m{suffix}"
    r = cli(*RUN, "--epochs", "1000", "--metrics", path, "--save", tmp_path / "c.pt")
    assert r.code == 0, r.err
    warnings = [line for line in r.err_lines if "warning" in line]
    assert len(warnings) == 1 and "No space left" in warnings[0], r.err
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 1000
    text = path.read_text()
    assert text.endswith("\n")
    rows = text.splitlines()[1:] if suffix == ".csv" else text.splitlines()
    assert rows and all(len(row.split(",")) == 7 for row in rows if suffix == ".csv")  # run, step, ...
    steps = [int(row.split(",")[1]) if suffix == ".csv" else json.loads(row)["step"] for row in rows]
    assert steps == list(range(1, len(steps) + 1))


# ----- item 5: a closed stderr ends the progress lines, not the run -----


def test_a_broken_stderr_does_not_stop_the_run(cli, tmp_path, monkeypatch):
    class Gone:
        def write(self, text):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

        def flush(self):
            raise BrokenPipeError(errno.EPIPE, "Broken pipe")

    monkeypatch.setattr(headless, "PROGRESS_EVERY", 0.0)
    monkeypatch.setattr(sys, "stderr", Gone())
    r = cli(*RUN, "--epochs", "50", "--save", tmp_path / "c.pt")
    assert r.code == 0
    assert "steps 50 " in r.out
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 50


def test_stderr_on_a_full_device_does_not_stop_the_run(tmp_path):
    with open("/dev/full", "w") as full:
        p = subprocess.run(
            [sys.executable, "-m", "ffnn_tui", *RUN, "--epochs", "2000", "--save", str(tmp_path / "c.pt")],
            stdout=subprocess.PIPE,
            stderr=full,
            text=True,
            timeout=120,
        )
    assert p.returncode == 0
    assert torch.load(tmp_path / "c.pt", weights_only=True)["step"] == 2000


# ----- item 8: a resumed run continues its metrics file exactly from the checkpoint's step -----


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_resume_after_a_crash_continues_the_metrics_exactly(cli, tmp_path, suffix):
    """A kill -9 after the checkpoint leaves later rows (and maybe a torn one): they are cut."""
    m, ck = tmp_path / f"m{suffix}", tmp_path / "c.pt"
    assert cli(*RUN, "--epochs", "10", "--save", ck, "--metrics", m).code == 0
    shutil.copy(ck, tmp_path / "c10.pt")
    assert cli(*RUN, "--epochs", "20", "--resume", ck, "--save", ck, "--metrics", m).code == 0
    with open(m, "a") as fh:
        fh.write("21,0,0.1" if suffix == ".csv" else '{"step": 21, "ep')  # torn by the kill
    r = cli(*RUN, "--epochs", "30", "--resume", tmp_path / "c10.pt", "--metrics", m)
    assert r.code == 0, r.err
    assert cli(*RUN, "--epochs", "30", "--metrics", tmp_path / f"full{suffix}").code == 0
    assert m.read_text() == (tmp_path / f"full{suffix}").read_text()


def test_a_resumed_run_after_a_start_over_keeps_its_run_number_in_the_metrics(cli, tmp_path):
    """The checkpoint records its run number: the rows a resumed run 2 appends say run 2 (they said
    run 1, after run 2's rows), and the file equals an uninterrupted run's."""
    m, ck = tmp_path / "m.csv", tmp_path / "c.pt"
    assert cli(*RUN, "--at", "10:seed=3,epochs=5", "--save", ck, "--metrics", m).code == 0
    assert torch.load(ck, weights_only=True)["run"] == 2
    assert cli(*RUN, "--epochs", "8", "--resume", ck, "--metrics", m).code == 0
    assert cli(*RUN, "--at", "10:seed=3,epochs=8", "--metrics", tmp_path / "full.csv").code == 0
    assert m.read_text() == (tmp_path / "full.csv").read_text()


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_resuming_at_step_0_of_a_later_run_keeps_the_earlier_runs_rows(tmp_path, suffix):
    """A checkpoint at step 0 of run 2 (c just after r in the dashboard) cut the file to its header,
    run 1's rows lost; it cuts after them (and drops run 2's rows written after the checkpoint)."""
    m = tmp_path / f"m{suffix}"
    w = metrics_mod.MetricsWriter(m)
    w.write([(s, s - 1, 0.5, 0.5, 1.0, 1.0) for s in (1, 2, 3)], run=1)
    w.close()
    kept = m.stat().st_size
    w = metrics_mod.MetricsWriter(m, append=True, step=3)
    w.write([(1, 0, 0.5, 0.5, 1.0, 1.0)], run=2)
    w.close()
    assert metrics_mod.resume_cut(m, 0, run=2) == kept
    assert metrics_mod.resume_cut(m, 3, run=1) == kept
    assert metrics_mod.resume_cut(m, 0) == (0 if suffix == ".jsonl" else len(",".join(metrics_mod.COLUMNS)) + 1)


def test_resume_with_rows_missing_is_refused(cli, tmp_path):
    m, ck = tmp_path / "m.csv", tmp_path / "c.pt"
    assert cli(*RUN, "--epochs", "5", "--metrics", m).code == 0
    assert cli(*RUN, "--epochs", "10", "--save", ck).code == 0
    before = m.read_text()
    assert_usage_error(cli(*RUN, "--epochs", "12", "--resume", ck, "--metrics", m), "--metrics", "step 10", "missing")
    assert m.read_text() == before


# ----- items 10, 13: the CSV is streamed: bounded lines, memory close to the tensors it makes -----


def test_a_csv_line_without_end_is_refused(cli, tmp_path):
    data = write(tmp_path / "one.csv", "1," * 5_000_000)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--data", data), "one.csv:1:", "longer than")


def test_reading_a_csv_takes_little_more_memory_than_its_tensors(tmp_path):
    """500,000 rows make 12 MB of tensors: reading them took 18 MB more here, the old list of tuples 143 MB."""
    data = tmp_path / "big.csv"
    g = torch.Generator().manual_seed(0)
    X = torch.randn(500_000, 2, generator=g, dtype=torch.float64)
    data.write_text("x1,x2,label\n" + "".join(f"{a!r},{b!r},{int(a + b > 0)}\n" for a, b in X.tolist()))
    script = (
        "import sys, torch\n"
        "from ffnn_tui.core.data import read_csv\n"
        "def peak(): return int(open('/proc/self/status').read().split('VmHWM:')[1].split()[0])\n"
        "before = peak()\n"
        "X, y = read_csv(sys.argv[1])\n"
        "assert X.shape == (500_000, 2)\n"
        "print(peak() - before)\n"
    )  # VmHWM, as ru_maxrss would carry pytest's peak across exec
    p = subprocess.run([sys.executable, "-c", script, str(data)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert int(p.stdout) < 60_000, f"read_csv grew the peak memory by {int(p.stdout) // 1024} MB"


def test_csv_values_keep_full_precision(tmp_path):
    from ffnn_tui.core.data import read_csv

    data = write(
        tmp_path / "p.csv",
        "# points\nx1,x2,label\n0.1000000000000000055511151231257827,1e-300,0\n-2.5,3.141592653589793,1\n",
    )
    X, y = read_csv(data)
    assert X.dtype == torch.float64 and X.tolist() == [[0.1, 1e-300], [-2.5, 3.141592653589793]]
    assert y.tolist() == [0, 1]


# ----- item 17: what cannot work is found before the work -----


def _limited_memory():
    resource.setrlimit(resource.RLIMIT_AS, (8 << 30, 8 << 30))  # a failed fix must not take the machine


def test_data_that_cannot_fit_in_memory_is_refused():
    p = subprocess.run(
        [
            sys.executable,
            "-m",
            "ffnn_tui",
            *RUN,
            "--epochs",
            "1",
            "--samples",
            "50000000",
            "--hidden",
            "4096,4096,4096,4096",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        preexec_fn=_limited_memory,
    )
    assert p.returncode == 2, p.stderr
    assert p.stderr.count("\n") == 1 and "--samples 50000000" in p.stderr and "GiB" in p.stderr


def test_bench_json_into_a_missing_folder_is_refused_first(tmp_path, capsys):
    from ffnn_tui.tui.bench import main as bench_main

    t0 = time.monotonic()
    assert (
        bench_main(
            [
                "--seconds",
                "0.2",
                "--repeat",
                "1",
                "--problems",
                "tutorial",
                "--no-dashboard",
                "--json",
                str(tmp_path / "missing" / "b.json"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--json" in err and "does not exist" in err
    assert time.monotonic() - t0 < 1.0


def test_a_raw_pickle_checkpoint_is_one_line(tmp_path):
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps({"format": "x"}))
    p = subprocess.run(
        [sys.executable, "-m", "ffnn_tui", *RUN, "--resume", str(raw)], capture_output=True, text=True, timeout=120
    )
    assert p.returncode == 2
    assert p.stderr.count("\n") == 1 and "raw.pt" in p.stderr, p.stderr


# ----- found by the adversarial pass after the merge -----


@pytest.mark.parametrize("content", ["run,step,epoch,train_loss,test_loss,train_acc,test_acc\n", "garbage\nxx"])
def test_resume_into_a_metrics_file_without_rows_is_refused(cli, tmp_path, content):
    """A header-only or foreign file has no row of the checkpoint's step: appending would leave a gap."""
    ck, m = tmp_path / "c.pt", tmp_path / "m.csv"
    assert cli(*RUN, "--epochs", "10", "--save", ck).code == 0
    m.write_text(content)
    assert_usage_error(cli(*RUN, "--epochs", "12", "--resume", ck, "--metrics", m), "--metrics")
    assert m.read_text() == content


def test_resume_into_a_jsonl_file_holding_csv_is_refused(cli, tmp_path):
    ck, m, j = tmp_path / "c.pt", tmp_path / "m.csv", tmp_path / "m.jsonl"
    assert cli(*RUN, "--epochs", "10", "--save", ck, "--metrics", m).code == 0
    j.write_text(m.read_text())
    assert_usage_error(cli(*RUN, "--epochs", "12", "--resume", ck, "--metrics", j), "--metrics", "JSON Lines")


def test_a_checkpoint_with_a_zero_history_stride_is_bad_input(cli, tmp_path):
    ck, bad = tmp_path / "c.pt", tmp_path / "bad.pt"
    assert cli(*RUN, "--epochs", "3", "--save", ck).code == 0
    saved = torch.load(ck, weights_only=True)
    saved["history"]["stride"] = 0
    torch.save(saved, bad)
    assert_usage_error(cli(*RUN, "--epochs", "5", "--resume", bad), "--resume", "damaged")


@pytest.mark.parametrize("flag", ["--save", "--metrics"])
def test_an_output_that_is_a_symlink_loop_is_bad_input(cli, tmp_path, flag):
    a, b = tmp_path / "l1.csv", tmp_path / "l2.csv"
    a.symlink_to(b)
    b.symlink_to(a)
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, a), flag, "cannot follow")


def test_csv_coordinates_that_overflow_float32_are_bad_input(cli, tmp_path):
    data = write(tmp_path / "big.csv", "x1,x2,label\n1e308,0,0\n0,1,1\n2,3,0\n-1,-1,1\n")
    assert_usage_error(cli(*RUN, "--epochs", "1", "--data", data, "--test-fraction", "0"), "--data", "float64")
    assert cli(*RUN, "--epochs", "1", "--data", data, "--test-fraction", "0", "--dtype", "float64").code in (0, 3)


def test_a_signal_while_the_run_is_built_still_saves_it(tmp_path):
    """SIGTERM during the first second (the data and the weights are being built) used to end
    headless with no checkpoint and no word; now the run stops at step 0, saved, exit 143."""
    ck = tmp_path / "c.pt"
    script = (
        "import os, signal, sys\n"
        "from ffnn_tui.core import run\n"
        "from ffnn_tui.tui import cli\n"
        "real = run.open_trainer\n"
        "def slow(cfg):\n"
        "    os.kill(os.getpid(), signal.SIGTERM)  # arrives while the run is being built\n"
        "    return real(cfg)\n"
        "run.open_trainer = slow\n"
        f"sys.exit(cli.main(['--headless', '--device', 'cpu', '--epochs', '50', '--save', {str(ck)!r}]))\n"
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert r.returncode == 143, r.stderr
    assert "stopped by signal SIGTERM at step 0" in r.stderr
    assert torch.load(ck, weights_only=True)["step"] == 0


def _catches(pid: int, signum: int) -> bool:
    """True once the process has a handler for signum (SigCgt in /proc/PID/status)."""
    status = Path(f"/proc/{pid}/status").read_text()
    caught = int(next(line for line in status.splitlines() if line.startswith("SigCgt:")).split()[1], 16)
    return bool(caught >> (signum - 1) & 1)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_a_signal_before_torch_loads_still_saves_at_step_0(tmp_path):
    """Headless catches stop signals first thing, before torch is imported (seconds on a loaded
    machine): a SIGTERM then ends at step 0 with the checkpoint and exit 143, not silently."""
    import signal

    save = tmp_path / "run.pt"
    p = subprocess.Popen(
        [sys.executable, "-m", "ffnn_tui", "--headless", "--epochs", "100000", "--save", str(save)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _catches(p.pid, signal.SIGTERM):
        assert p.poll() is None and time.monotonic() < deadline
    torch_loaded = "libtorch" in Path(f"/proc/{p.pid}/maps").read_text()
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert not torch_loaded, "the handler came only after torch was loaded"
    assert p.returncode == 143 and save.exists(), err
    assert "stopped by signal SIGTERM at step 0" in err


@contextlib.contextmanager
def writing_metrics(metrics: Path):
    """A headless run (until stopped) that has begun writing rows to metrics; ended on leaving."""
    run = subprocess.Popen(
        [sys.executable, "-m", "ffnn_tui", *RUN, "--epochs", "0", "--metrics", str(metrics)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (metrics.exists() and metrics.stat().st_size):  # it is writing rows
            assert run.poll() is None, run.stderr.read()
            assert time.monotonic() < deadline, "no metrics rows after 60 s"
            time.sleep(0.05)
        yield run
    finally:
        run.terminate()
        run.wait(timeout=30)


def test_a_second_run_writing_the_same_file_is_refused(cli, tmp_path):
    """Two runs at once on one --metrics file interleaved their rows (a step going backwards, a row
    without its run); on one --save, one checkpoint was silently lost. The second is refused, and
    once the first has ended the file is free again."""
    metrics = tmp_path / "m.csv"
    with writing_metrics(metrics) as first:
        link = tmp_path / "link.csv"
        link.symlink_to(metrics)
        line = assert_usage_error(cli(*RUN, "--epochs", "1", "--metrics", link), "--metrics", "another ffnn-tui run")
        assert f"pid {first.pid}" in line
    assert cli(*RUN, "--epochs", "1", "--metrics", metrics).code == 0


def test_features_that_overflow_the_dtype_are_refused(cli, tmp_path):
    """1e20 fits float32, its square does not: the run diverged at step 1 (exit 3) instead of
    saying what is wrong with its input."""
    data = write(tmp_path / "big.csv", "1e20,1,0\n-1e20,2,1\n1,3,0\n3,4,1\n")
    assert_usage_error(
        cli(*RUN, "--epochs", "1", "--data", data, "--features", "x1^2,x2"), "--features", "overflow float32"
    )
    assert cli(*RUN, "--epochs", "1", "--data", data, "--features", "x1^2,x2", "--dtype", "float64").code == 0


def test_generated_data_past_the_address_space_limit_is_refused_at_start():
    """Under `ulimit -v` the memory check compared with the machine's RAM only, and the run then
    failed mid-allocation: 'unexpected RuntimeError ... can't allocate memory', exit 1."""
    limit = 2_500_000 * 1024  # ulimit -v 2500000: far below this machine's RAM, above what start-up needs

    r = subprocess.run(
        [sys.executable, "-m", "ffnn_tui", *RUN, "--epochs", "1", "--samples", "2000000", "--hidden", "128,128"],
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith("ffnn-tui: error: --samples 2000000") and "ulimit -v" in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_a_second_run_writing_a_hard_link_of_the_file_is_refused(cli, tmp_path):
    """The lock was keyed by the resolved path only, so a hard link (another name, the same file)
    let a second run truncate the first's metrics file while the first kept appending at its
    offset: a hole of NUL bytes, the first run's early rows gone. An existing file is locked by
    its inode as well."""
    metrics = tmp_path / "m.csv"
    metrics.touch()
    with writing_metrics(metrics) as first:
        link = tmp_path / "hard.csv"
        os.link(metrics, link)
        line = assert_usage_error(cli(*RUN, "--epochs", "1", "--metrics", link), "--metrics", "another ffnn-tui run")
        assert f"pid {first.pid}" in line
    assert b"\0" not in metrics.read_bytes()


def test_a_lock_file_that_is_a_fifo_does_not_end_the_run(tmp_path, monkeypatch):
    """A FIFO in the lock folder where an output's lock file goes made claim_output's ftruncate
    raise EINVAL: 'unexpected OSError: [Errno 22] Invalid argument', exit 1. A lock file that is
    not a regular file is not used (the run goes on unguarded, as without a lock folder)."""
    import hashlib
    import tempfile

    from ffnn_tui.core import files

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    out = tmp_path / "m.csv"
    folder = tmp_path / f"ffnn-tui-locks-{os.getuid()}"
    folder.mkdir(mode=0o700)
    os.mkfifo(folder / (hashlib.sha256(os.fsencode(str(out.resolve()))).hexdigest()[:32] + ".lock"))
    try:
        files.claim_output("--metrics", out)
        assert files.output_in_use(out) is None
    finally:
        files.release_outputs()
