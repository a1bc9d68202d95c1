"""Fitting the ecosystem: no terminal, plain terminals, conventions, where files go, exports."""

from __future__ import annotations

import os
import pty
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = shutil.which("ffnn-tui", path=str(Path(sys.executable).parent)) or shutil.which("ffnn-tui")
needs_script = pytest.mark.skipif(SCRIPT is None, reason="the ffnn-tui console script is not installed")
NO_TERMINAL = "ffnn-tui: error: the dashboard needs a terminal; use ssh -t, or --headless"


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("FFNN_TUI_DEBUG", "TEXTUAL_DRIVER")}
    env["TERM"] = "xterm-256color"
    return env


def _read_all(fd: int) -> str:
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:  # EIO: the other side closed
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks).decode(errors="replace")


# ----- 1. no terminal -----


@needs_script
@pytest.mark.parametrize("redirect", ["stdin from /dev/null", "stdout into a pipe"])
def test_dashboard_without_a_terminal_refuses_in_one_line(tmp_path, redirect):
    """`ffnn-tui < /dev/null` and `ffnn-tui | cat` (the rest a real terminal): one line, exit 2,
    before any training process starts."""
    master, slave = pty.openpty()
    stdin = subprocess.DEVNULL if redirect.startswith("stdin") else slave
    stdout = subprocess.PIPE if redirect.startswith("stdout") else slave
    p = subprocess.Popen(
        [SCRIPT, "--device", "cpu"], stdin=stdin, stdout=stdout, stderr=slave, cwd=tmp_path, env=_env()
    )
    os.close(slave)
    try:
        code = p.wait(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    text = _read_all(master)
    os.close(master)
    if p.stdout:
        text += p.stdout.read().decode()
    assert code == 2, text
    assert [line for line in text.replace("\r", "").splitlines() if line] == [NO_TERMINAL]


@needs_script
def test_python_m_and_a_pipe_refuse_too(tmp_path):
    p = subprocess.run(
        f"{sys.executable} -m ffnn_tui < /dev/null | cat",
        shell=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=60,
    )
    assert p.stderr.splitlines() == [NO_TERMINAL]


# ----- 3. conventions -----


@pytest.fixture
def cli(capsys, monkeypatch):
    """main() in-process; (code, stdout, stderr)."""
    import signal

    import torch

    from ffnn_tui.tui.cli import main

    monkeypatch.delenv("FFNN_TUI_DEBUG", raising=False)
    capsys.readouterr()

    def call(*args):
        handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
        threads = torch.get_num_threads()
        try:
            code = main([str(a) for a in args])
        finally:
            for s, h in handlers.items():
                signal.signal(s, h)
            torch.set_num_threads(threads)
        out, err = capsys.readouterr()
        return code, out, err

    return call


@pytest.mark.parametrize("flag", ["--version", "-V"])
def test_version(cli, flag):
    from importlib.metadata import version

    code, out, err = cli(flag)
    assert code == 0 and out.strip() == f"ffnn-tui {version('ffnn-tui')}", (out, err)


def test_help_is_grouped_shows_every_default_and_ends_with_examples(cli):
    code, out, _ = cli("--help")
    assert code == 0
    for title in ("data:", "model:", "training:", "run control:", "output:", "dashboard:"):
        assert f"\n{title}\n" in out, title
    from ffnn_tui.tui.flags import build_parser

    for action in build_parser()._actions:
        if action.option_strings and action.dest not in ("help", "version"):
            assert "(default: " in action.help, action.option_strings
    examples = out[out.index("\nexamples:\n") :].splitlines()
    assert sum(line.startswith("  ffnn-tui ") for line in examples) == 3


@pytest.mark.parametrize(
    "typed,meant",
    [
        (["--lrr", "0.1"], "--lr"),
        (["--hid", "8"], "--hidden"),
        (["--epoch", "3"], "--epochs"),
        (["--datset", "xor"], "--dataset"),
    ],
)
def test_a_mistyped_or_abbreviated_flag_is_an_error_that_suggests_the_flag(cli, typed, meant):
    code, out, err = cli("--headless", "--device", "cpu", "--epochs", "1", *typed)
    assert code == 2 and out == ""
    assert err.splitlines() == [
        f"ffnn-tui: error: unrecognized arguments: {' '.join(typed)}; did you mean {meant}? (see ffnn-tui --help)"
    ]


@pytest.mark.parametrize("sub", ["bench", "serve"])
def test_subcommand_help_descriptions_end_with_a_full_sentence(sub):
    import re

    if sub == "bench":
        from ffnn_tui.tui.bench import description
    else:
        from ffnn_tui.tui.serve import DESCRIPTION as description
    assert re.search(r"[.)]$", description.strip()), description


def test_data_overriding_dataset_or_noise_warns(cli, tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("".join(f"{i % 7 - 3},{i % 5 - 2},{i % 2}\n" for i in range(20)))
    code, out, err = cli(
        "--headless", "--device", "cpu", "--epochs", "1", "--data", csv, "--dataset", "xor", "--noise", "0.1"
    )
    assert code == 0, err
    assert err.splitlines()[0] == f"ffnn-tui: warning: --data {csv} is used; --dataset xor and --noise 0.1 are ignored"
    code, out, err = cli("--headless", "--device", "cpu", "--epochs", "1", "--data", csv)
    assert code == 0 and "warning" not in err


def test_license_file_and_metadata():
    import tomllib

    root = Path(__file__).resolve().parents[2]
    text = (root / "LICENSE").read_text()
    assert text.startswith("MIT License") and "Copyright (c) 2026 the ffnn-tui developers" in text
    project = tomllib.loads((root / "pyproject.toml").read_text())["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    from importlib.metadata import metadata

    assert metadata("ffnn-tui").get("License-Expression") == "MIT"


# ----- 6. exports, dump-config, metrics runs, progress -----


def test_dump_config_round_trips_through_config(cli, tmp_path):
    from ffnn_tui.tui.cli import run_config

    argv = [
        "--dataset",
        "spiral",
        "--classes",
        "3",
        "--hidden",
        "16,4",
        "--lr",
        "1e-05",
        "--optimizer",
        "adam",
        "--epochs",
        "7",
        "--export",
        str(tmp_path / "w.npz"),
        "--quiet",
        "--device",
        "cpu",
        "--seed",
        "12",
    ]
    code, out, err = cli(*argv, "--dump-config")
    assert code == 0 and err == ""
    (tmp_path / "run.toml").write_text(out)
    assert run_config(["--config", str(tmp_path / "run.toml")]) == run_config(argv)
    code, again, _ = cli("--config", tmp_path / "run.toml", "--dump-config")
    assert again == out


@pytest.mark.parametrize("suffix", [".safetensors", ".npz", ".json"])
def test_export_writes_the_weights_with_what_their_shapes_mean(cli, tmp_path, suffix):
    import json

    import numpy as np
    import torch

    path = tmp_path / f"w{suffix}"
    code, out, err = cli(
        "--headless", "--device", "cpu", "--epochs", "5", "--hidden", "8", "--export", path, "--save", tmp_path / "c.pt"
    )
    assert code == 0, err
    params = torch.load(tmp_path / "c.pt", weights_only=True)["params"]
    if suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(path, "pt") as f:
            tensors, meta = {k: f.get_tensor(k) for k in f.keys()}, f.metadata()
    elif suffix == ".npz":
        z = np.load(path)  # no allow_pickle: the metadata is a plain string
        tensors = {k: torch.from_numpy(z[k]) for k in z.files if k != "__metadata__"}
        meta = json.loads(str(z["__metadata__"]))
    else:
        doc = json.loads(path.read_text())
        tensors = {k: torch.tensor(v["data"]) for k, v in doc["tensors"].items()}
        meta = doc["metadata"]
        assert doc["tensors"]["W1"]["shape"] == [2, 8]
    assert set(tensors) == {"W1", "b1", "W2", "b2"}
    for name, t in tensors.items():
        assert torch.equal(t, params[name]), name
    assert meta["shape.W1"].startswith("(fan_in, fan_out) = (2, 8); layer 1 computes X @ W1 + b1")
    assert meta["shape.b2"].startswith("(fan_out,) = (2,)")
    assert meta["format"] == "ffnn-tui-weights/1" and meta["step"] == "5"


def test_export_with_another_suffix_is_a_usage_error(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a short path: errors clip long ones
    code, out, err = cli("--headless", "--device", "cpu", "--epochs", "1", "--export", "w.pt")
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "ffnn-tui: error: --export w.pt: expected a file name ending in .safetensors, .npz, .json"
    ]


def test_progress_shows_percent_and_eta_and_quiet_silences_it(cli, monkeypatch):
    from ffnn_tui.tui import headless

    monkeypatch.setattr(headless, "PROGRESS_EVERY", 0.0)  # a progress line after every chunk
    code, out, err = cli("--headless", "--device", "cpu", "--epochs", "40")
    assert code == 0, err
    import re

    lines = err.splitlines()
    assert lines and all(re.search(r"  \d+%  ETA (\d+:)?\d+:\d\d$", line) for line in lines), lines
    code, out, err = cli("--headless", "--device", "cpu", "--epochs", "40", "--quiet")
    assert code == 0 and err == "" and "steps 40 " in out


async def test_metrics_rows_name_their_run_so_a_reset_is_told_apart(tmp_path):
    import csv

    from .conftest import make_app, settled

    path = tmp_path / "m.csv"
    app = make_app("--metrics", str(path))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        for expected in (1, 2):
            await pilot.press("n")
            await settled(pilot, app, expected)
        await pilot.press("r")
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        await app.shutdown(0)
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [(row["run"], row["step"]) for row in rows] == [("1", "1"), ("1", "2"), ("2", "1")]


# ----- 4. where files go; 5. the command palette; 6. the dashboard's e -----

SIZE = (120, 36)


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """platformdirs' user data folder, moved under tmp_path; the working directory elsewhere."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    return tmp_path / "xdg" / "ffnn-tui"


def notes(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_c_without_save_writes_to_the_data_folder_and_says_where(data_home):
    from .conftest import make_app, settled, wait_for

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        await pilot.press("c")
        target = data_home / "ffnn-tui-linear-step1.pt"
        await wait_for(pilot, lambda: any("checkpoint saved" in n for n in notes(app)), what="the save note")
        assert target.exists()
        assert f"checkpoint saved: {target.resolve()} (step 1)" in notes(app)
        assert list(Path.cwd().iterdir()) == []


async def test_e_exports_the_weights_to_the_data_folder(data_home):
    from safetensors.torch import load_file

    from .conftest import make_app, settled, wait_for

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("e")
        target = data_home / "ffnn-tui-linear-step0.safetensors"
        await wait_for(pilot, lambda: any("weights exported" in n for n in notes(app)), what="the export note")
        assert f"weights exported: {target.resolve()} (step 0)" in notes(app)
        assert set(load_file(target)) == {"W1", "b1", "W2", "b2"}


async def test_help_names_the_data_folder(data_home):
    from .conftest import make_app, screen_text, settled

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("question_mark")
        await pilot.pause()
        assert str(data_home.resolve()) in screen_text(app).replace("\n", "")


def test_the_palette_lists_every_key_and_the_actions_without_one():
    from ffnn_tui.tui.app import FfnnApp
    from ffnn_tui.tui.commands import dashboard_commands
    from ffnn_tui.tui.keys import BINDINGS

    app = FfnnApp.__new__(FfnnApp)  # only bound methods are needed, not a running app
    titles = [t for t, _, _ in dashboard_commands(app)]
    for b in BINDINGS:
        if b.id:
            assert b.tooltip in titles, b.id
    for title in ("Save checkpoint as...", "Export weights as...", "Screenshot"):
        assert title in titles
    assert len(titles) == len(set(titles)), "an action listed twice"
    assert FfnnApp.ENABLE_COMMAND_PALETTE


async def test_palette_export_as_asks_for_a_path_and_writes_there(data_home, tmp_path):
    from textual.command import CommandPalette

    from ffnn_tui.tui.widgets.path_prompt import PathPrompt

    from .conftest import make_app, settled, wait_for

    app = make_app()
    target = tmp_path / "w.npz"
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the palette")
        await pilot.press(*"export weights as")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), what="the path prompt")
        await pilot.press(*str(target), "enter")
        await wait_for(
            pilot, lambda: any("weights exported" in n or "failed" in n for n in notes(app)), what="the export note"
        )
        assert f"weights exported: {target} (step 0)" in notes(app), notes(app)
        assert target.exists()


async def test_palette_has_textual_theme_commands_and_a_screenshot_to_the_data_folder(data_home):
    from .conftest import make_app, settled

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        titles = [c.title for c in app.get_system_commands(app.screen)]
        assert "Theme" in titles and titles.count("Screenshot") == 0  # Textual's goes to ~/Downloads; ours below
        app.action_screenshot_to_data()
        await pilot.pause()  # notify() posts a message
        shots = list(data_home.glob("*.svg"))
        assert len(shots) == 1 and any(str(shots[0]) in n for n in notes(app))


async def test_clicking_a_pane_focuses_it():
    from .conftest import make_app, settled

    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        assert app.focused is None
        await pilot.click("#boundary")
        assert app.focused is not None and app.focused.id == "boundary"
        await pilot.click("#loss")
        assert app.focused.id == "loss"
        await pilot.press("n")  # keys still reach the app with a pane focused
        await settled(pilot, app, 1)


# ----- 2. plain terminals -----


def _non_ascii(text: str) -> list[str]:
    return sorted({c for c in text if not c.isascii()})


def _pane_text(app, selector: str) -> str:
    """The screen's text inside one widget (one character a cell: ASCII screens only)."""
    from .conftest import screen_text

    r = app.query_one(selector).region
    return "\n".join(line[r.x : r.right] for line in screen_text(app).splitlines()[r.y : r.bottom])


async def test_ascii_screen_has_no_non_ascii_character(data_home):
    """--ascii: every pane, the footer, a notification, the help screen, and what Textual draws
    itself (the command palette, its key panel), in ASCII only."""
    from textual.command import CommandPalette

    from ffnn_tui.tui.app import FfnnApp
    from ffnn_tui.tui.cli import build_trainer

    from .conftest import screen_text, settled, wait_for

    trainer = build_trainer(["--device", "cpu", "--ascii", "--hidden", "8,8", "--dataset", "moons"])
    app = FfnnApp(trainer.cfg, trainer=trainer, paused=True, show_rate=False)
    async with app.run_test(size=(160, 50)) as pilot:
        await settled(pilot, app, 0)
        for expected in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, expected)
        await pilot.press("t", "g", "c")
        await wait_for(pilot, lambda: any("checkpoint saved" in n for n in notes(app)), what="the save note")
        await pilot.click("#loss")  # the focus border too
        await pilot.pause()
        text = screen_text(app)
        assert "|param|" in text and "lr*2" in text and "loss" in text
        assert _non_ascii(text) == [], text
        for view, title, pane in (
            ("2", "neurons", "neurons"),
            ("3", "weights", "weights"),
            ("4", "layer health", "health"),
            ("5", "confusion", "confusion"),
            ("6", "the step", "step"),
        ):  # every view beside the loss plot, drawn in ASCII too
            await pilot.press(view)
            await wait_for(pilot, lambda t=title: t in screen_text(app), what=f"view {view}")
            await pilot.pause(0.3)
            assert _non_ascii(screen_text(app)) == [], (view, screen_text(app))
            shown = _pane_text(app, f"#{pane}")
            assert pane == "step" or "?" not in shown, shown  # a glyph with no ASCII of its own is '?'

        await pilot.resize_terminal(80, 24)  # the step view scrolls here: its scroll bar is ASCII too
        await pilot.press("6")
        await wait_for(pilot, lambda: app.query_one("#step").max_scroll_y > 0, what="a step view that scrolls")
        await pilot.pause(0.3)
        assert _non_ascii(screen_text(app)) == [], screen_text(app)
        await pilot.press("question_mark")
        await pilot.pause()
        assert _non_ascii(screen_text(app)) == []
        await pilot.press("escape", "ctrl+p")
        await wait_for(pilot, lambda: isinstance(app.screen, CommandPalette), what="the command palette")
        await wait_for(pilot, lambda: "Pause or resume training" in screen_text(app), what="the palette's commands")
        assert _non_ascii(screen_text(app)) == [], screen_text(app)  # its search icon is an emoji
        await pilot.press(*"keys", "enter")  # Textual's key panel, opened from the palette
        await wait_for(pilot, lambda: "Focus Next" in screen_text(app), what="the key panel")
        assert _non_ascii(screen_text(app)) == [], screen_text(app)


async def test_without_ascii_the_same_screen_uses_unicode():
    """The control for the test above: the unicode glyphs it removes are really there by default."""
    from .conftest import make_app, screen_text, settled

    app = make_app("--hidden", "8,8")
    async with app.run_test(size=(160, 50)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        text = screen_text(app)
        assert "‖param‖" in text and "lr×2" in text and "╭" in text


@pytest.mark.parametrize(
    "env,plain",
    [
        ({"TERM": "xterm-256color", "LANG": "en_US.UTF-8"}, False),
        ({"TERM": "xterm"}, False),
        ({"TERM": "dumb", "LANG": "en_US.UTF-8"}, True),
        ({"TERM": "vt100"}, True),
        ({"TERM": "linux"}, True),
        ({"TERM": "xterm", "LANG": "en_US.ISO-8859-1"}, True),
        ({"TERM": "xterm", "LC_ALL": "C", "LANG": "en_US.UTF-8"}, True),
        ({"TERM": "xterm", "LC_CTYPE": "de_DE.utf8"}, False),
    ],
)
def test_plain_terminals_are_recognised(env, plain):
    from ffnn_tui.tui.plain import plain_terminal

    assert plain_terminal(env) is plain


@needs_script
@pytest.mark.parametrize("term,expected", [("dumb", "standard"), ("xterm-256color", None)])
def test_term_dumb_does_not_get_truecolor(tmp_path, term, expected):
    """main() sets TEXTUAL_COLOR_SYSTEM before Textual is imported, unless the user set it."""
    probe = (
        "import os, sys; from ffnn_tui.tui import cli; cli.run = lambda argv: 0; cli.main([]);"
        "import textual.constants as c; print(os.environ.get('TEXTUAL_COLOR_SYSTEM'), c.COLOR_SYSTEM)"
    )
    env = {k: v for k, v in _env().items() if k != "TEXTUAL_COLOR_SYSTEM"}
    env["TERM"] = term
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env).stdout.split()
    assert out == ([expected, expected] if expected else ["None", "auto"])
    env["TEXTUAL_COLOR_SYSTEM"] = "truecolor"  # the user's choice wins
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env).stdout.split()
    assert out == ["truecolor", "truecolor"]


async def test_no_color_curves_differ_by_marker(monkeypatch):
    """NO_COLOR=1: the test curve is drawn with dots, the train curve in braille, so they read apart."""
    from ffnn_tui.tui.widgets.loss_plot import LossPlot

    from .conftest import make_app, settled

    monkeypatch.setenv("NO_COLOR", "1")
    app = make_app("--dataset", "moons")
    assert app.no_color
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        for expected in range(1, 9):
            await pilot.press("n")
            await settled(pilot, app, expected)
        plot = app.query_one(LossPlot).plain_text()
        title = str(app.query_one(LossPlot).border_title)
    braille = {c for c in plot if 0x2801 <= ord(c) <= 0x28FF}
    assert braille and "·" in plot
    assert "·· test" in title and "── train" in title  # the legend shows which marker is which


def test_the_ascii_filter_keeps_every_width_in_cells():
    """What Textual draws, as ASCII of the same width: Textual laid the line out for the original."""
    from rich.cells import cell_len

    from ffnn_tui.tui.ascii import ascii_cells

    for text in ("🔎 Search for commands…", "▔▔▁▁ ╭─╮ │▏▇", "中文 é", "m̂W1 / (√v̂W1 + ε)", "plain"):
        out = ascii_cells(text)
        assert out.isascii() and cell_len(out) == cell_len(text), (text, out)
    assert ascii_cells("🔎 Search") == ">  Search"


def test_the_step_view_spells_its_maths_in_ascii():
    """Under --ascii the adam lines read as maths: dW1^2, not dW12; sqrt, hat and eps spelled out."""
    from ffnn_tui.core.probes import StepRow
    from ffnn_tui.tui.plain import to_ascii
    from ffnn_tui.tui.widgets.step import step_text

    rows = (
        StepRow("update", "vW1 = 0.999 vW1 + 0.001 dW1²", "(2, 8)", "‖vW1‖", 0.5),
        StepRow("update", "W1 -= lr * m̂W1 / (√v̂W1 + ε)", "lr 0.01, t 2", "‖ΔW1‖", 0.25),
    )
    text = to_ascii(step_text(rows, 2, 100, ascii=True).plain)
    assert "dW1^2" in text and "m_hatW1 / (sqrt v_hatW1 + eps)" in text and "?" not in text, text
    assert "dW1²" in step_text(rows, 2, 100).plain  # unicode terminals keep the symbols


def test_curve_markers():
    from ffnn_tui.tui.widgets.loss_plot import curve_markers

    m = curve_markers(ascii=False)
    assert m["train"] != m["test"]  # NO_COLOR or not: the marker tells them apart
    m = curve_markers(ascii=True)
    assert m["train"] != m["test"] and all(v.isascii() and len(v) == 1 for v in m.values())
