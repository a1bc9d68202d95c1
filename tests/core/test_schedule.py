"""Live edits as a schedule (`--at STEP:key=value`): parsed and validated like flags, applied by the
run loop at exactly their step, carried by TOML, checkpoints and the reproducing command line."""

from __future__ import annotations

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
