"""Every key of the dashboard, driven through Textual's Pilot. The app starts paused; `n` steps it."""

from __future__ import annotations

import math

import pytest
import torch

from ffnn_tui.core.state import ENDED
from ffnn_tui.tui.engine.protocol import GradChecks
from ffnn_tui.tui.messages import EngineEvent
from ffnn_tui.tui.widgets.boundary import POINT_GLYPHS, BoundaryPane
from ffnn_tui.tui.widgets.loss_plot import LossPlot
from ffnn_tui.tui.widgets.status import StatusLine

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)


def status(app) -> str:
    return str(app.query_one(StatusLine).render())


async def test_starts_paused_at_step_zero():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        assert app.snapshot.step == 0
        assert "PAUSED" in status(app) and "step 0" in status(app)
        assert app.engine.trainer.step_count == 0


async def test_n_takes_exactly_one_step_per_press():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for expected in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, expected)
        assert app.engine.trainer.step_count == 3
        assert "step 3" in status(app)


async def test_space_runs_and_pauses():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("space")
        assert app.running
        await wait_for(pilot, lambda: app.snapshot.step > 50, what="training to run")
        await pilot.press("space")
        assert not app.running
        await wait_for(pilot, lambda: not app.engine.loop_running)
        await wait_for(pilot, lambda: app.snapshot.step == app.engine.trainer.step_count, what="a final snapshot")
        paused_at = app.engine.trainer.step_count
        await pilot.press("l")  # any UI round trip; the worker must not step meanwhile
        await pilot.pause(0.2)
        assert app.engine.trainer.step_count == paused_at
        assert "PAUSED" in status(app)


def footer(app) -> str:
    return screen_text(app).splitlines()[-1]


async def test_the_footer_says_resume_while_paused_and_pause_while_running():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        assert "space Resume" in footer(app) and "Pause" not in footer(app)
        await pilot.press("space")
        await wait_for(pilot, lambda: "space Pause" in footer(app), what="the Pause label")
        await pilot.press("space")
        await wait_for(pilot, lambda: "space Resume" in footer(app), what="the Resume label")


async def test_step_key_is_greyed_out_while_running():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        assert app.check_action("step", ()) is True
        await pilot.press("space")
        assert app.check_action("step", ()) is None  # None = shown disabled in the footer
        await pilot.press("space")
        assert app.check_action("step", ()) is True


async def test_r_resets_to_the_same_initial_numbers():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        W1 = app.engine.trainer.params["W1"].clone()
        for expected in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, expected)
        first_loss = app.snapshot.curve_train[0]
        assert not torch.equal(app.engine.trainer.params["W1"], W1)
        await pilot.press("r")
        await settled(pilot, app, 0)
        assert torch.equal(app.engine.trainer.params["W1"], W1)
        await pilot.press("n")
        await settled(pilot, app, 1)
        assert app.snapshot.curve_train[0] == first_loss


async def test_R_starts_over_with_a_new_seed():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        W1 = app.engine.trainer.params["W1"].clone()
        await pilot.press("n")
        await settled(pilot, app, 1)
        await pilot.press("R")
        await wait_for(
            pilot,
            lambda: (
                app.engine.trainer.cfg.seed != 0
                and app.snapshot.step == 0
                and f"--seed {app.engine.trainer.cfg.seed}" in app.snapshot.config.to_command_line()
            ),
        )
        assert not torch.equal(app.engine.trainer.params["W1"], W1)


async def test_plus_and_minus_double_and_halve_the_lr():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("+")
        await wait_for(pilot, lambda: math.isclose(app.snapshot.config.lr, 0.14))
        assert "lr 0.14" in status(app)
        await pilot.press("-", "-")
        await wait_for(pilot, lambda: math.isclose(app.snapshot.config.lr, 0.035))
        assert app.engine.trainer.optimizer.lr == pytest.approx(0.035)


async def test_a_swaps_the_activation_without_a_reset():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "n")
        await settled(pilot, app, 2)
        W1 = app.engine.trainer.params["W1"].clone()
        await pilot.press("a")
        await wait_for(pilot, lambda: "tanh" in app.snapshot.arch)
        assert app.snapshot.step == 2  # no reset
        assert torch.equal(app.engine.trainer.params["W1"], W1)
        await pilot.press("n")
        await settled(pilot, app, 3)
        assert "2-8-2 tanh" in status(app)


async def test_d_switches_dataset():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("d")
        await wait_for(pilot, lambda: app.snapshot.dataset == "diagonal")
        await pilot.press("d")
        await wait_for(pilot, lambda: app.snapshot.dataset == "xor")
        assert "xor" in status(app) and app.snapshot.step == 0


async def test_g_runs_a_gradient_check_and_shows_it():
    messages = []
    app = make_app("--hidden", "8,8", "--activation", "tanh")
    async with app.run_test(size=SIZE, message_hook=messages.append) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "g")
        checks = lambda: [m.event for m in messages if isinstance(m, EngineEvent) and isinstance(m.event, GradChecks)]
        await wait_for(pilot, checks, what="gradient check")
        rows = checks()[0].rows
        assert [r[0] for r in rows] == ["W1", "b1", "W2", "b2", "W3", "b3"]
        assert all(rel < 1e-6 for _, _, rel in rows)
        await pilot.pause()
        assert "manual vs autograd" in screen_text(app)
        assert "rel " in screen_text(app)


async def test_l_toggles_the_log_scale():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "n")
        await settled(pilot, app, 2)
        await pilot.press("l")
        assert app.log_scale
        await pilot.pause()
        assert app.query_one(LossPlot).border_title.startswith("log loss")
        assert "log loss" in screen_text(app)
        await pilot.press("l")
        assert not app.log_scale


async def test_t_toggles_test_points():
    app = make_app("--samples", "400")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        pane = app.query_one(BoundaryPane)
        without = pane.plain_text()
        await pilot.press("t")
        await pilot.pause()
        with_test = pane.plain_text()
        assert app.show_test
        count = lambda text: sum(text.count(g) for g in POINT_GLYPHS[:2])
        assert count(with_test) > count(without)
        await pilot.press("t")
        await pilot.pause()
        assert pane.plain_text() == without


async def test_c_saves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "run.pt"
    app = make_app("--save", str(path))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "n", "c")
        await wait_for(pilot, lambda: path.exists(), what="the checkpoint file")
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["format"] == "ffnn-tui/1" and ckpt["step"] == 2


async def test_question_mark_opens_help_and_any_key_closes_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("question_mark")
        assert app.screen.__class__.__name__ == "HelpScreen"
        assert "Reproduce this run" in screen_text(app)
        await pilot.press("x")
        assert app.screen.__class__.__name__ != "HelpScreen"


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit(key):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press(key)
        await wait_for(pilot, lambda: not app.is_running, what="the app to exit")
    assert app.return_code == 0


async def test_epochs_end_in_done():
    app = make_app("--epochs", "30", paused=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.state == "DONE", what="DONE")
        await pilot.pause()
        assert app.engine.trainer.step_count == 30
        assert "DONE" in status(app)
        assert not app.running


async def test_divergence_pauses_in_diverged_and_r_recovers():
    app = make_app("--lr", "1e6", paused=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.state == "DIVERGED", what="DIVERGED")
        await pilot.pause()
        text = status(app)
        assert "DIVERGED" in text and "loss became nan" in text and "press r" in text
        assert not app.running
        await pilot.press("space")  # refuses to run a diverged net
        assert not app.running
        await pilot.press("minus")
        await pilot.press("r")
        await wait_for(pilot, lambda: app.snapshot.state not in ENDED and app.snapshot.step == 0, what="reset")
        await pilot.press("n")
        await settled(pilot, app, 1)
        assert "PAUSED" in status(app)


async def test_metrics_are_written_by_the_dashboard_too(tmp_path):
    path = tmp_path / "dash.csv"
    app = make_app("--metrics", str(path))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for expected in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, expected)
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    rows = path.read_text().splitlines()
    assert rows[0] == "run,step,epoch,train_loss,test_loss,train_acc,test_acc"
    assert [r.split(",")[1] for r in rows[1:]] == ["1", "2", "3"]


async def test_a_palette_that_lost_its_list_gathers_nothing_instead_of_ending_the_app():
    """The race an adversarial key storm hit once: the gathering worker ran after the palette had
    closed, and Textual's own code failed on the missing CommandList (exit 1). Unmounted, the
    palette has no list: Textual's gathering raises, ours ends quietly."""
    from textual.command import CommandPalette
    from textual.css.query import NoMatches

    from ffnn_tui.tui.commands import Palette, gather_if_open

    closed = Palette()
    with pytest.raises(NoMatches):
        await CommandPalette._gather_commands.__wrapped__(closed, "")
    await gather_if_open(closed, "")
