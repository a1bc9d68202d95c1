"""Live edits as a schedule (`--at STEP:key=value`): parsed and validated like flags, applied by the
run loop at exactly their step, carried by TOML, checkpoints and the reproducing command line."""

from __future__ import annotations

import os
import shlex

import pytest

from ffnn_tui.core.config import ConfigError, RunConfig, validate
from ffnn_tui.core.run import RunLoop, open_trainer
from ffnn_tui.core.schedule import Edit, parse_edit
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.cli import main, run_config


def test_an_edit_reads_back_to_itself():
    e = parse_edit("12000:dataset=spiral,classes=3,hidden=16,16")
    assert e == Edit(12000, (("dataset", "spiral"), ("classes", "3"), ("hidden", "16,16")))
    assert e.values() == {"dataset": "spiral", "classes": 3, "hidden": (16, 16)}
    assert str(e) == "12000:dataset=spiral,classes=3,hidden=16,16" and e.starts_over
    assert Edit.of(5, {"lr": 0.07 * 2}).values()["lr"] == 0.07 * 2  # every digit kept
    assert not parse_edit("5:lr=0.1,optimizer=adam,l1=0.01").starts_over
    linear = parse_edit("5:hidden=0,features=x1^2,x2^2,sin(x1)")
    assert linear.values() == {"hidden": (), "features": ("x1^2", "x2^2", "sin(x1)")} and linear.starts_over
    assert str(Edit.of(5, linear.values())) == str(linear)


BAD = [
    ("5000", "expected STEP:key=value"),
    ("x:lr=1", "expected STEP:key=value"),
    ("5:lr=fast", "lr 'fast': expected a number"),
    ("5:lr=-1", "expected a finite number > 0"),
    ("5:device=cuda", "'device' cannot change during a run"),
    ("5:activation=swish", "expected one of relu"),
    ("5:hidden=5000", "hidden 5000"),
    ("5:classes=3", "dataset linear has 2 classes"),
    ("5:lr=0.1,lr=0.2", "lr is set twice"),
    ("5:points=", "expected the CSV the drawn points were saved to"),
    ("5:points=/nonexistent/drawn.csv", "no such file"),
]


@pytest.mark.parametrize("entry,needle", BAD, ids=[b[0] for b in BAD])
def test_a_bad_edit_is_one_line_naming_it(entry, needle):
    with pytest.raises(ConfigError) as e:
        run_config(["--at", entry])
    assert str(e.value).startswith(f"--at {entry}: ") and needle in str(e.value)
    assert "\n" not in str(e.value)


def test_steps_of_one_run_must_not_decrease_but_start_again_after_a_start_over():
    with pytest.raises(ConfigError, match="comes after an edit at step 9"):
        validate(RunConfig(at=("9:lr=0.1", "5:activation=tanh")))
    validate(RunConfig(at=("9:dataset=xor", "5:activation=tanh")))  # 5 steps into the xor run


def test_a_bad_edit_in_a_toml_file_names_the_file(tmp_path, capsys):
    toml = tmp_path / "c.toml"
    toml.write_text('at = ["5:lr=0"]\n')
    assert main(["--config", str(toml), "--headless"]) == 2
    assert "c.toml: at 5:lr=0: expected a finite number > 0" in capsys.readouterr().err
    toml.write_text('at = "5:lr=0.1"\n')
    assert main(["--config", str(toml), "--headless"]) == 2
    assert "c.toml: at 5:lr=0.1: expected a list of edits" in capsys.readouterr().err


def test_dump_config_carries_the_schedule(tmp_path, capsys):
    argv = ["--at", "5:lr=0.14", "--at", "9:activation=tanh,optimizer=adam"]
    assert main([*argv, "--dump-config"]) == 0
    (tmp_path / "c.toml").write_text(capsys.readouterr().out)
    cfg = run_config(["--config", str(tmp_path / "c.toml")])
    assert cfg.at == ("5:lr=0.14", "9:activation=tanh,optimizer=adam") == run_config(argv).at
    assert shlex.split(cfg.to_command_line()).count("--at") == 2


def test_the_run_loop_applies_each_edit_at_exactly_its_step():
    cfg = RunConfig(device="cpu", batch_size=16, samples=100)
    scheduled = Trainer(replace_at(cfg, ("3:lr=0.5,activation=tanh", "5:batch_size=8,optimizer=momentum")))
    with RunLoop(scheduled) as run:
        while scheduled.step_count < 8 and run.can_step:
            run.advance(min(50, 8 - scheduled.step_count))  # chunks end where an edit is due
    by_hand = Trainer(cfg)
    for step in range(8):
        if step == 3:
            by_hand.edit({"lr": 0.5, "activation": "tanh"})
        if step == 5:
            by_hand.edit({"batch_size": 8, "optimizer": "momentum"})
        by_hand.step()
    by_hand.flush()
    scheduled.flush()
    assert scheduled.step_count == 8
    assert list(scheduled.history.values["train_loss"]) == list(by_hand.history.values["train_loss"])
    assert scheduled.cfg.at == () and scheduled.cfg.optimizer == "momentum"
    assert run.marks == [(1, 3, "lr 0.5 tanh"), (1, 5, "batch_size 8 momentum")]


def replace_at(cfg: RunConfig, at: tuple[str, ...]) -> RunConfig:
    from dataclasses import replace

    return validate(replace(cfg, at=at))


def test_a_start_over_begins_the_next_run_and_later_steps_count_from_it():
    tr = Trainer(RunConfig(device="cpu", at=("2:dataset=xor", "1:lr=0.5")))
    with RunLoop(tr) as run:
        for _ in range(6):  # 2 in the linear run, 4 in the xor one
            run.step_once()
        assert tr.run_id == 2 and tr.cfg.dataset == "xor" and tr.step_count == 4 and tr.cfg.lr == 0.5
        assert run.marks_of_run() == ((0, "xor"), (1, "lr 0.5"))
        by_hand = run.edit({"seed": 0})  # `r`: the same seed, a start over all the same
    assert str(by_hand) == "4:seed=0" and tr.run_id == 3
    assert run.command_line().endswith("--at 2:dataset=xor --at 1:lr=0.5 --at 4:seed=0")


def test_resume_continues_the_schedule_exactly(tmp_path):
    common = ["--headless", "--device", "cpu", "--quiet", "--at", "3:lr=0.3", "--at", "7:activation=tanh"]
    assert main([*common, "--epochs", "10", "--metrics", str(tmp_path / "full.csv")]) == 0
    part = tmp_path / "part.csv"
    assert main([*common, "--epochs", "5", "--metrics", str(part), "--save", str(tmp_path / "c.pt")]) == 0
    resumed = run_config(["--resume", str(tmp_path / "c.pt"), "--epochs", "10"])
    assert resumed.at == ("7:activation=tanh",) and resumed.lr == 0.3  # what is left, and what was done
    argv = ["--headless", "--quiet", "--resume", str(tmp_path / "c.pt"), "--epochs", "10", "--metrics", str(part)]
    assert main(argv) == 0
    assert part.read_text() == (tmp_path / "full.csv").read_text()


def test_resume_refuses_an_edit_before_its_step(tmp_path, capsys):
    assert main(["--headless", "--quiet", "--device", "cpu", "--epochs", "5", "--save", str(tmp_path / "c.pt")]) == 0
    with pytest.raises(ConfigError, match="the run resumes at step 5"):
        open_trainer(run_config(["--resume", str(tmp_path / "c.pt"), "--at", "3:lr=0.1"]))


def test_the_headless_summary_reproduces_the_schedule(capsys):
    assert main(["--headless", "--device", "cpu", "--epochs", "4", "--at", "2:lr=0.3"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("--at 2:lr=0.3")


POINTS_FILES = [
    ("empty.csv", "", "no data rows"),
    ("comments.csv", "# only a comment\nx1,x2,label\n", "no data rows"),
    ("two-values.csv", "0,0\n1,1\n", "two-values.csv:1: expected 3 values"),
    ("binary.csv", "\xff\xfe\x00", "not a text file"),
    ("one-class.csv", "0,0,0\n1,1,0\n", "only one class"),
    ("three-classes.csv", "0,0,0\n1,1,1\n2,2,2\n" * 30, "labels must be below the run's 2 classes"),
    ("short.csv", "0,0,0\n1,1,1\n", "its last rows are not this run's 16 test points"),
]


@pytest.mark.parametrize("name,text,needle", POINTS_FILES, ids=[p[0] for p in POINTS_FILES])
def test_a_points_file_that_cannot_serve_is_refused_at_start_up_naming_the_edit(
    tmp_path, capsys, monkeypatch, name, text, needle
):
    """Found at start-up, as the README promises (it was found only when the step came, after
    training up to it, and named --data): exit 2, one line that starts with the --at value."""
    monkeypatch.chdir(tmp_path)  # a short --at value: an error clips a long one
    (tmp_path / name).write_bytes(text.encode("latin-1"))
    entry = f"3:points={name}"
    argv = ["--headless", "--quiet", "--device", "cpu", "--epochs", "6", "--save", str(tmp_path / "run.pt")]
    assert main([*argv, "--at", entry]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ffnn-tui: error: --at {entry}: ") and needle in err and "\n" not in err, err
    assert "--data" not in err
    assert not (tmp_path / "run.pt").exists()  # refused before the first step


@pytest.mark.parametrize("entry", ["3:test_fraction=0.9,samples=2", "3:samples=4,test_fraction=0.9", "3:samples=3"])
def test_an_edit_that_leaves_no_training_points_is_refused_at_start_up(tmp_path, capsys, entry):
    argv = ["--headless", "--quiet", "--device", "cpu", "--epochs", "6", "--test-fraction", "0.9"]
    assert main([*argv, "--save", str(tmp_path / "run.pt"), "--at", entry]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ffnn-tui: error: --at {entry}: ") and "leaves no training points" in err, err
    assert not (tmp_path / "run.pt").exists()


def test_flags_that_leave_no_training_points_are_refused_naming_them():
    with pytest.raises(ConfigError, match=r"^--test-fraction 0.9: leaves no training points out of 4 samples"):
        validate(RunConfig(samples=4, test_fraction=0.9))
    validate(RunConfig(samples=5, test_fraction=0.9))  # 4 test points, 1 to train on


@pytest.mark.parametrize(
    "text,extra,needle",
    [("", "", "no data rows"), ("0,0,0\n1,1,1\n", ",test_fraction=0.9", "leaves no training points out of 2")],
)
def test_a_data_file_that_cannot_serve_is_refused_at_start_up_naming_the_edit(
    tmp_path, capsys, monkeypatch, text, extra, needle
):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "d.csv").write_text(text)
    entry = f"3:data=d.csv{extra}"
    argv = ["--headless", "--quiet", "--device", "cpu", "--epochs", "6", "--save", "run.pt", "--at", entry]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"ffnn-tui: error: --at {entry}: ") and needle in err and "\n" not in err, err
    assert not (tmp_path / "run.pt").exists()


def test_a_points_fifo_is_named_as_one_not_as_missing(tmp_path, monkeypatch):
    """It said "no such file" for a FIFO or /dev/zero, which exist; open_input says what they are."""
    monkeypatch.chdir(tmp_path)
    os.mkfifo("drawn.csv")
    with pytest.raises(ConfigError, match=r"^--at 3:points=drawn.csv: is not a regular file \(a FIFO"):
        run_config(["--at", "3:points=drawn.csv"])
    with pytest.raises(ConfigError, match=r"^--at 3:points=.: is a folder; expected a file"):
        run_config(["--at", "3:points=."])
