"""--features, --hidden 0 and --l1 everywhere options go: flags and their one-line errors, the TOML
config (--dump-config round trip), the reproducing command line, checkpoints and --resume (old
checkpoints without the new fields), --init-params, exports, the neurons view and bench."""

from __future__ import annotations

import json
import shlex

import pytest
import torch

from ffnn_tui.core.checkpoint import load_checkpoint
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.run import save
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.cli import run_config
from ffnn_tui.tui.flags import build_parser

from .test_cli import RUN, assert_usage_error, cli, write  # noqa: F401  (cli is a fixture)

NEW = ["--hidden", "0", "--features", "x1^2,x2^2,sin(x1)", "--l1", "0.001"]
"""The three new options at non-default values."""


# ----- flags -----

BAD = [
    (["--features", "x3"], ["--features", "x3", "did you mean x2?", "x1^2"]),
    (["--features", "x1^3"], ["--features", "did you mean x1^2?"]),
    (["--features", "sinx1"], ["--features", "did you mean sin(x1)?"]),
    (["--features", "x1,x1"], ["--features", "x1 is given twice"]),
    (["--features", ""], ["--features", "expected a comma list"]),
    (["--features", "x1,,x2"], ["--features", "expected a comma list"]),
    (["--features", "cos(x1)"], ["--features", "cos(x1)"]),
    (["--l1", "-0.1"], ["--l1", "0..1,000,000"]),
    (["--l1", "nan"], ["--l1", "nan"]),
    (["--l1", "inf"], ["--l1", "inf"]),
    (["--l1", "lots"], ["--l1", "lots", "a number"]),
    (["--hidden", "0,8"], ["--hidden", "0,8", "0 for no hidden layer"]),
    (["--hidden", "-1"], ["--hidden", "-1"]),
    (["--featurs", "x1"], ["did you mean --features?"]),
]


@pytest.mark.parametrize("args,needles", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_values_are_one_line_and_exit_2(cli, args, needles):
    assert_usage_error(cli(*RUN, "--epochs", "1", *args), *needles)


BAD_TOML = [
    ('features = "x9"\n', ["cfg.toml: features", "x9"]),
    ('features = ["x1", 2]\n', ["cfg.toml: features", "expected a comma list"]),
    ("features = []\n", ["cfg.toml: features"]),
    ("features = 3\n", ["cfg.toml: features"]),
    ('l1 = "big"\n', ["cfg.toml: l1", "expected a number"]),
    ("l1 = -1\n", ["cfg.toml: l1", "0..1,000,000"]),
    ("hidden = [0, 8]\n", ["cfg.toml: hidden", "0 for no hidden layer"]),
]


@pytest.mark.parametrize("text,needles", BAD_TOML, ids=[t.strip() for t, _ in BAD_TOML])
def test_bad_toml_values_are_one_line_and_exit_2(cli, tmp_path, text, needles):
    toml = write(tmp_path / "cfg.toml", text)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--config", toml), *needles)


def test_the_flags_set_the_options_and_show_in_help():
    cfg = run_config([*RUN, *NEW])
    assert cfg.hidden == () and cfg.features == ("x1^2", "x2^2", "sin(x1)") and cfg.l1 == 0.001
    assert run_config([*RUN, "--features", " x2 , x1 "]).features == ("x2", "x1")
    assert run_config(RUN).features == ("x1", "x2") and run_config(RUN).l1 == 0.0
    groups = {g.title: [o for a in g._group_actions for o in a.option_strings] for g in build_parser()._action_groups}
    assert "--features" in groups["model"] and "--hidden" in groups["model"]
    assert "--l1" in groups["training"] and "--weight-decay" in groups["training"]
    helptext = " ".join(build_parser().format_help().split())
    assert "0 = none (a linear model)" in helptext and "(default: x1,x2)" in helptext


# ----- the TOML config and the reproducing command line -----


def test_dump_config_round_trips(cli, tmp_path):
    r = cli(*RUN, *NEW, "--dump-config")
    assert r.code == 0, r.err
    assert "hidden = []" in r.out.splitlines()
    assert 'features = ["x1^2", "x2^2", "sin(x1)"]' in r.out.splitlines()
    assert "l1 = 0.001" in r.out.splitlines()
    toml = write(tmp_path / "run.toml", r.out)
    assert run_config(["--config", str(toml)]) == run_config([*RUN, *NEW])
    r2 = cli("--config", toml, "--dump-config")
    assert r2.out == r.out


def test_toml_accepts_the_spellings_of_the_flags(tmp_path):
    toml = write(tmp_path / "c.toml", 'hidden = 0\nfeatures = "x1*x2, sin(x2)"\nl1 = 1\n')
    cfg = run_config(["--config", str(toml), *RUN])
    assert cfg.hidden == () and cfg.features == ("x1*x2", "sin(x2)") and cfg.l1 == 1.0


def test_the_command_line_reproduces_the_new_options():
    cfg = run_config([*RUN, *NEW])
    line = cfg.to_command_line()
    assert "--hidden 0" in line and "--features 'x1^2,x2^2,sin(x1)'" in line and "--l1 0.001" in line
    assert run_config(shlex.split(line)[1:]) == cfg
    assert "--features" not in RunConfig().to_command_line() and "--l1" not in RunConfig().to_command_line()


def test_headless_summary_names_the_linear_model_and_how_to_reproduce_it(cli):
    r = cli(*RUN, "--dataset", "circles", "--hidden", "0", "--features", "x1^2,x2^2", "--epochs", "500", "--quiet")
    assert r.code == 0, r.err
    assert "circles 2-2 linear" in r.out
    assert "train acc 100.0%  test acc 100.0%" in r.out
    assert "reproduce: ffnn-tui --dataset circles --features 'x1^2,x2^2' --hidden 0 --epochs 500" in r.out


# ----- checkpoints, --resume and --init-params -----


def test_resume_keeps_the_new_options_and_continues_exactly(cli, tmp_path):
    ck, full = tmp_path / "half.pt", tmp_path / "full.pt"
    assert cli(*RUN, *NEW, "--epochs", "20", "--save", full, "--quiet").code == 0
    assert cli(*RUN, *NEW, "--epochs", "10", "--save", ck, "--quiet").code == 0
    saved = load_checkpoint(ck)
    assert saved["config"]["features"] == ["x1^2", "x2^2", "sin(x1)"]
    assert saved["config"]["hidden"] == [] and saved["config"]["l1"] == 0.001
    assert sorted(saved["params"]) == ["W1", "b1"] and saved["params"]["W1"].shape == (3, 2)
    r = cli(*RUN, "--resume", ck, "--epochs", "20", "--save", ck, "--quiet")  # the options come from the file
    assert r.code == 0, r.err
    a, b = load_checkpoint(ck), load_checkpoint(full)
    assert a["step"] == b["step"] == 20
    assert all(torch.equal(a["params"][k], b["params"][k]) for k in b["params"])
    assert a["history"]["train_loss"] == b["history"]["train_loss"]


def test_an_old_checkpoint_without_the_new_fields_resumes_with_defaults(cli, tmp_path):
    ck = tmp_path / "old.pt"
    tr = Trainer(RunConfig(device="cpu", epochs=3))
    tr.advance(2)
    save(tr, ck)
    obj = torch.load(ck, weights_only=True)
    del obj["config"]["features"], obj["config"]["l1"]
    torch.save(obj, ck)
    cfg = run_config([*RUN, "--resume", str(ck)])
    assert cfg.features == ("x1", "x2") and cfg.l1 == 0.0
    r = cli(*RUN, "--resume", ck, "--quiet")
    assert r.code == 0, r.err
    assert "steps 3 " in r.out


def test_a_checkpoint_with_a_bad_feature_is_one_line(cli, tmp_path):
    ck = tmp_path / "bad.pt"
    save(Trainer(RunConfig(device="cpu")), ck)
    obj = torch.load(ck, weights_only=True)
    obj["config"]["features"] = ["x1", "tan(x1)"]
    torch.save(obj, ck)
    assert_usage_error(cli(*RUN, "--resume", ck), "bad.pt: config.features", "tan(x1)")


def test_resume_with_other_features_is_one_line(cli, tmp_path):
    ck = tmp_path / "c.pt"
    save(Trainer(RunConfig(device="cpu", features=("x1", "x2", "x1*x2"))), ck)
    assert_usage_error(cli(*RUN, "--resume", ck, "--features", "x1,x2"), "--resume", "--features with 3 names")


def test_init_params_fan_in_must_match_the_features(cli, tmp_path):
    ck = tmp_path / "c.pt"
    save(Trainer(RunConfig(device="cpu", hidden=(), features=("x1^2", "x2^2"))), ck)
    assert cli(*RUN, "--hidden", "0", "--features", "x1^2,x2^2", "--init-params", ck, "--epochs", "1").code == 0
    line = assert_usage_error(
        cli(*RUN, "--hidden", "0", "--features", "x1,x2,x1^2", "--init-params", ck, "--epochs", "1"),
        "--init-params",
        "parameters are 2-2 but the run is 3-2",
    )
    assert "pass --hidden 0 and --features with 2 names (the run has 3)" in line
    assert_usage_error(cli(*RUN, "--features", "x1^2,x2^2", "--init-params", ck, "--epochs", "1"), "--hidden 0")


def test_init_params_takes_a_params_only_linear_model(cli, tmp_path):
    p = tmp_path / "p.pt"
    W1, b1 = torch.tensor([[1.0, -1.0], [1.0, -1.0], [0.5, 0.5]]), torch.tensor([0.1, -0.1])
    torch.save({"params": {"W1": W1, "b1": b1}}, p)
    tr = run_and_load(cli, tmp_path, "--hidden", "0", "--features", "x1,x2,x1*x2", "--init-params", p)
    assert tr["params"]["W1"].shape == (3, 2)


def run_and_load(cli, tmp_path, *args) -> dict:
    out = tmp_path / "out.pt"
    r = cli(*RUN, *args, "--epochs", "2", "--save", out, "--quiet")
    assert r.code == 0, r.err
    return load_checkpoint(out)


# ----- export -----


def test_export_says_how_x_is_made(cli, tmp_path):
    out = tmp_path / "w.json"
    r = cli(*RUN, *NEW, "--epochs", "2", "--export", out, "--quiet")
    assert r.code == 0, r.err
    doc = json.loads(out.read_text())
    meta = doc["metadata"]
    assert meta["features"] == "X = [x1^2, x2^2, sin(x1)] of each point (x1, x2)"
    assert meta["layout"].startswith("row vectors: X is (N, 3)")
    assert meta["activation"] == "none (a linear model)"
    assert set(doc["tensors"]) == {"W1", "b1"}
    assert meta["shape.W1"].endswith("layer 1 computes X @ W1 + b1 = logits; softmax gives the class probabilities")
    assert json.loads(meta["config"])["l1"] == 0.001


# ----- the neurons view of a linear model -----


def test_the_neurons_view_says_there_are_no_hidden_neurons():
    from ffnn_tui.core import inside, probes
    from ffnn_tui.tui.widgets.neurons import neurons_text

    tr = Trainer(RunConfig(device="cpu", hidden=(), features=("x1", "x2", "x1^2")))
    maps = inside.neuron_maps(tr.params, "relu", probes.data_extent(tr), 10, 5, features=tr.cfg.features)
    text = neurons_text(maps, 60).plain
    assert text.splitlines()[0] == "no hidden neurons: a linear model (logits = X @ W1 + b1)"
    assert "output: 2 units (softmax)" in text
    hidden = Trainer(RunConfig(device="cpu"))
    maps = inside.neuron_maps(hidden.params, "relu", probes.data_extent(hidden), 10, 5)
    assert "no hidden neurons" not in neurons_text(maps, 60).plain


# ----- bench -----


@pytest.mark.parametrize(
    "args,needle",
    [
        (["--features", "x9"], "--features"),
        (["--hidden", "0,1"], "--hidden"),
        (["--l1", "-1"], "--l1"),
        (["--l1", "nan"], "--l1"),
    ],
)
def test_bench_refuses_bad_model_options_in_one_line(capsys, args, needle):
    from ffnn_tui.tui.bench import main as bench_main

    assert bench_main(["--problems", "tutorial", "--no-dashboard", *args]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.splitlines()) == 1 and needle in err and "Traceback" not in err


def test_bench_problems_take_the_model_options():
    from ffnn_tui.tui import bench

    p = replace_problem(bench.PROBLEMS["tutorial"], features=("x1^2", "x2^2"), hidden=(), l1=0.01)
    cfg = bench._config(p, "cpu")
    assert (cfg.features, cfg.hidden, cfg.l1) == (("x1^2", "x2^2"), (), 0.01)
    assert p.label() == "80 pts, 2-2, full batch, l1 0.01"
    assert bench.PROBLEMS["tutorial"].label() == "tutorial: 80 pts, 2-8-2, full batch"
    assert bench.tutorial_loop(p, torch.device("cpu"), 0.01) > 0  # the loop runs with features and a penalty


def replace_problem(p, **changes):
    from dataclasses import replace

    return replace(p, **changes)
