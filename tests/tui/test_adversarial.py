"""Findings of the second adversarial pass (issue 13, "Done when"): each test failed before its fix."""

from __future__ import annotations

import errno
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ffnn_tui.core import checkpoint as checkpoint_mod, export as export_mod
from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.run import save
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.engine.protocol import Export, Save, SavePoints
from ffnn_tui.tui.widgets.options import OptionsScreen

from .conftest import make_app, settled, wait_for
from .test_cli import RUN, assert_usage_error, cli, write  # noqa: F401 - cli is a fixture
from .test_key_bursts import burst


def _checkpoint(tmp_path, edit) -> Path:
    ck = tmp_path / "run.pt"
    save(Trainer(RunConfig(device="cpu")), ck)
    obj = torch.load(ck, weights_only=True)
    edit(obj)
    torch.save(obj, ck)
    return ck


@pytest.mark.parametrize("value", ["a\nb.csv", "a\rb.csv", "a\x1b[2Jb.csv"])
def test_control_characters_in_a_value_keep_the_error_on_one_line(cli, value):
    line = assert_usage_error(cli(*RUN, "--data", value), "no such file")
    assert "\r" not in line and "\x1b" not in line and "a\\" in line


def test_an_output_path_ending_in_a_slash_is_refused(cli, tmp_path):
    assert_usage_error(cli(*RUN, "--epochs", "1", "--save", f"{tmp_path}/newdir/"), "--save", "folder")
    assert not (tmp_path / "newdir").exists()


@pytest.mark.parametrize("key", ["lr", "seed", "noise"])
def test_a_toml_integer_beyond_float_range_is_one_line(cli, tmp_path, key):
    cfg = write(tmp_path / "cfg.toml", f"{key} = 1{'0' * 400}\n")
    assert_usage_error(cli(*RUN, "--epochs", "1", "--config", cfg), f"cfg.toml: {key} 1000")


def test_a_checkpoint_integer_beyond_float_range_is_one_line(cli, tmp_path):
    ck = _checkpoint(tmp_path, lambda o: o["config"].update(lr=10**400))
    assert_usage_error(cli(*RUN, "--epochs", "1", "--resume", ck), "run.pt: config.lr 1000")


def test_a_history_of_unequal_lengths_is_a_damaged_checkpoint(cli, tmp_path):
    ck = _checkpoint(tmp_path, lambda o: o["history"].update(step=list(range(100_000))))
    assert_usage_error(cli(*RUN, "--epochs", "1", "--resume", ck), "run.pt", "damaged history")


def test_an_absent_device_names_the_file_it_came_from(cli, tmp_path):
    cfg = write(tmp_path / "cfg.toml", 'device = "cuda:7"\n')
    assert_usage_error(cli(*RUN[:1], "--epochs", "1", "--config", cfg), "cfg.toml: device cuda:7")
    ck = _checkpoint(tmp_path, lambda o: o["config"].update(device="cuda:7"))
    assert_usage_error(cli(*RUN[:1], "--epochs", "1", "--resume", ck), "run.pt: config.device cuda:7")
    assert_usage_error(cli(*RUN[:1], "--epochs", "1", "--resume", ck, "--device", "cuda:7"), "--device cuda:7")


@pytest.mark.parametrize(
    ("flag", "name", "reason"),
    [
        ("--data", "x.csv", "no such file"),
        ("--config", "x.toml", "no such file"),
        ("--resume", "x.pt", "no such file"),
        ("--init-params", "x.pt", "no such file"),
        ("--save", "x.pt", "does not exist"),
        ("--metrics", "x.csv", "does not exist"),
        ("--export", "x.json", "does not exist"),
        ("--at", "1:points=~nosuchuser/x.csv", "no such file"),
    ],
)
def test_a_tilde_of_an_unknown_user_is_a_name_not_found(cli, flag, name, reason):
    """`~nosuchuser/x.csv` stays as written, as the shell leaves it (pathlib's expanduser raised
    RuntimeError: exit 1, "unexpected RuntimeError: Could not determine home directory")."""
    value = name if flag == "--at" else f"~nosuchuser/{name}"
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, value), "~nosuchuser", reason)


def _no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_checkpoint_the_disk_refuses_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint_mod, "write_atomic", _no_space)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--save", tmp_path / "a.pt"), "a.pt", "No space left")


def test_a_checkpoint_torch_cannot_finish_is_one_line(cli, tmp_path, monkeypatch):
    def short_write(obj, fh):
        raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 2048 vs 1942")

    monkeypatch.setattr(checkpoint_mod.torch, "save", short_write)
    r = cli(*RUN, "--epochs", "1", "--save", tmp_path / "a.pt", "--save-every", "1")
    assert_usage_error(r, "a.pt", "disk full")


def test_an_export_the_disk_refuses_is_one_line(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(export_mod.os, "replace", _no_space)
    assert_usage_error(cli(*RUN, "--epochs", "1", "--export", tmp_path / "w.json"), "w.json", "No space left")
    assert list(tmp_path.iterdir()) == []


def _folder_gone_before_writing(monkeypatch, folder: Path) -> None:
    """The export's folder is removed after the start-up check, just before the weights are written."""
    metadata = export_mod.metadata

    def then_gone(*args):
        folder.rmdir()
        return metadata(*args)

    monkeypatch.setattr(export_mod, "metadata", then_gone)


def test_an_export_whose_folder_went_away_names_the_path_typed(cli, tmp_path, monkeypatch):
    """It was exit 1, "unexpected FileNotFoundError", naming the temp file (`.w.json.3zpt578r.tmp.json`)."""
    (tmp_path / "gone").mkdir()
    _folder_gone_before_writing(monkeypatch, tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    line = assert_usage_error(cli(*RUN, "--epochs", "1", "--export", "gone/w.json"), "--export gone/w.json: ")
    assert "No such file or directory" in line and ".tmp" not in line


async def test_a_dashboard_export_whose_folder_went_away_names_the_path_typed(tmp_path, monkeypatch):
    (tmp_path / "gone").mkdir()
    _folder_gone_before_writing(monkeypatch, tmp_path / "gone")
    monkeypatch.chdir(tmp_path)
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        app.send(Export("gone/w.json"))
        said = lambda: [str(n.message) for n in app._notifications if "gone/w.json" in str(n.message)]  # noqa: E731
        await wait_for(pilot, said, what="the export's error")
    assert ".tmp" not in said()[0] and "ExportError" not in said()[0], said()


def _closed(stream: str, *argv: str) -> subprocess.CompletedProcess:
    close = {"stdout": "1", "stderr": "2"}[stream]
    cmd = f'exec {sys.executable} -m ffnn_tui "$@" {close}>&-'
    return subprocess.run(["sh", "-c", cmd, "sh", *argv], capture_output=True, text=True, timeout=120)


def test_a_closed_stdout_is_one_line_and_the_checkpoint_is_kept(tmp_path):
    p = _closed("stdout", "--headless", "--epochs", "2", "--save", str(tmp_path / "a.pt"))
    assert p.returncode == 2 and p.stderr.count("\n") == 1 and "standard output" in p.stderr, p.stderr
    assert (tmp_path / "a.pt").exists()
    p = _closed("stdout", "--help")
    assert p.returncode == 2 and "Traceback" not in p.stderr, p.stderr


def test_a_closed_stderr_does_not_send_errors_into_stdout(tmp_path):
    p = _closed("stderr", "--headless", "--lr", "x")
    assert p.returncode == 2 and p.stdout == ""
    p = _closed("stderr", "--headless", "--epochs", "2")
    assert p.returncode == 0 and p.stdout.startswith("ffnn-tui: linear") and "error" not in p.stdout


@pytest.mark.parametrize("argv", [["bench", "--device", "cu\nda"], ["serve", "--host", "a\nb", "--port", "8"]])
def test_bench_and_serve_errors_stay_one_line(cli, argv):
    r = cli(*argv)
    assert r.code == 2 and len([x for x in r.err_lines if "error" in x]) == 1, r.err
    assert all(x.startswith("ffnn-tui: ") for x in r.err_lines), r.err


async def test_quitting_while_the_options_form_is_built_is_a_clean_exit():
    """`o` and ctrl+c in one burst: the app ended while the form composed, and its on_mount failed
    on the missing fields (exit 1 with a traceback, seen in a key storm during start-up)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        burst(app, "o", "ctrl+c")
        await pilot.pause(0.5)
    assert app.return_code == 0
    assert not any(isinstance(s, OptionsScreen) for s in app.screen_stack)


async def test_a_path_typed_in_the_dashboard_is_checked_as_an_output_flag_is(tmp_path):
    """Save checkpoint as... and Export weights as... wrote to any path: the rename replaced a FIFO
    (or, run as root, /dev/null) with a regular file, and the run's --data CSV with a checkpoint.
    They are now checked as --save and --export are, as ctrl+s's points file already was."""
    data = write(tmp_path / "pts.csv", "".join(f"{i % 7 * 0.1},{i % 5 * 0.2},{i % 2}\n" for i in range(40)))
    before = Path(data).read_text()
    fifo, fifo_json = tmp_path / "fifo.pt", tmp_path / "fifo.json"
    os.mkfifo(fifo)
    os.mkfifo(fifo_json)
    app = make_app("--data", str(data))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        sent = [
            (Save(str(fifo)), "not a regular file"),
            (Export(str(fifo_json)), "not a regular file"),
            (Save(str(data)), "is the run's --data file"),
            (SavePoints(str(fifo)), "not a regular file"),
        ]
        for command, note in sent:
            app.send(command)
            await wait_for(pilot, lambda note=note: any(note in str(n.message) for n in app._notifications), what=note)
            app.clear_notifications()
    assert stat.S_ISFIFO(fifo.stat().st_mode) and stat.S_ISFIFO(fifo_json.stat().st_mode)
    assert Path(data).read_text() == before


@pytest.mark.parametrize("opens", ["help", "prompt", "options", "palette"])
async def test_a_screen_closed_twice_at_once_closes_once(opens):
    """Two keys that close a screen in one moment (Enter and Escape of a paste; a storm of keys sent
    0.02 s apart once ended the app with ScreenStackError): Textual's dismiss() pops whatever is
    on top, so the second one popped the main screen. Each modal screen now closes once."""
    from ffnn_tui.tui.commands import Palette
    from ffnn_tui.tui.widgets.help import HelpScreen
    from ffnn_tui.tui.widgets.options import OptionsScreen
    from ffnn_tui.tui.widgets.path_prompt import PathPrompt

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        main = app.screen
        screen = {
            "help": lambda: HelpScreen("ffnn-tui"),
            "prompt": lambda: PathPrompt("Save a checkpoint to:", "run.pt", ""),
            "options": lambda: OptionsScreen(app.cfg),
            "palette": lambda: Palette(id="--command-palette"),
        }[opens]()
        app.push_screen(screen)
        await pilot.pause()
        assert app.screen is screen
        screen.dismiss()
        screen.dismiss()  # the second key, before the first pop has completed
        await pilot.pause()
        assert app.screen is main and app.is_running
        screen.dismiss()  # and once it is gone, nothing
        await pilot.pause()
        assert app.screen is main and app.is_running


@pytest.mark.parametrize("flag", ["--l1", "--weight-decay"])
@pytest.mark.parametrize("value", ["3e38", "1e308", "1000001"])
def test_a_penalty_above_its_limit_is_refused_naming_the_limit(cli, flag, value):
    """`--l1 1e308` said "expected a finite number >= 0", which it is: the message now says the real range."""
    assert_usage_error(cli(*RUN, "--epochs", "1", flag, value), f"{flag} ", ": expected a number 0..1,000,000")


def test_bench_names_the_l1_limit_too(cli):
    assert_usage_error(cli("bench", "--l1", "1e308"), "--l1 1e+308: ", "0..1,000,000")


@pytest.mark.parametrize("command", ["show_help_panel", "change_theme"])
async def test_a_palette_command_that_runs_as_the_app_ends_is_a_clean_exit(command):
    """The palette runs the command picked with `call_later`; picked in the same moment as ctrl+c
    (a key storm: ctrl+p, a few letters, enter, ctrl+c in one burst), it ran after the screens
    had gone: Textual's Keys panel was a MountError and its theme list a failed worker (exit 1)."""
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        app.call_later(getattr(app, f"action_{command}"))
        app.exit()
        await pilot.pause(0.3)
    assert app.return_code == 0


@pytest.mark.parametrize("host", ["", "a b", "no-such-host.invalid"])
def test_a_serve_host_that_cannot_be_bound_is_one_line_with_no_warning_first(cli, host):
    """The no-authentication warning came first, then the error: two lines for one bad flag."""
    line = assert_usage_error(cli("serve", "--host", host, "--port", "8"), "--host ")
    assert "warning" not in line and ("''" in line or host in line), line


async def test_a_screen_under_another_neither_closes_the_one_on_top_nor_sticks():
    """A key for the help screen handled after the palette opened over it (a storm: `?` then
    ctrl+p and more keys in one burst): a screen under a modal counts as current in Textual, and
    its dismiss() popped the palette and marked the help screen closed, so no key closed it again."""
    from ffnn_tui.tui.commands import Palette
    from ffnn_tui.tui.widgets.help import HelpScreen

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        main, help_screen, palette = app.screen, HelpScreen("ffnn-tui"), Palette(id="--command-palette")
        app.push_screen(help_screen)
        await pilot.pause()
        app.push_screen(palette)
        await pilot.pause()
        help_screen.dismiss()  # the late key for the help screen
        await pilot.pause()
        assert app.screen is palette
        palette.dismiss()
        await pilot.pause()
        assert app.screen is help_screen
        await pilot.press("escape")  # the help screen still closes
        await pilot.pause()
        assert app.screen is main and app.is_running


@pytest.mark.parametrize("key,what", [("c", "save a checkpoint"), ("e", "export the weights")])
async def test_save_or_export_after_the_training_process_died_says_why_not(tmp_path, key, what):
    """After kill -9 of the training process (FAILED), `c` and `e` were sent to the dead process and
    nothing at all was said: no file, no note (the fourth adversarial pass)."""
    from ffnn_tui.tui.engine.protocol import Exited

    app = make_app("--export", str(tmp_path / "w.json"))
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        app.on_engine_exited(Exited("the training process ended unexpectedly (exit code -9)"))
        await pilot.press(key)
        await wait_for(pilot, lambda: any(what in str(n.message) for n in app._notifications), what=what)
    assert not (tmp_path / "w.json").exists()
