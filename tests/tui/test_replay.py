"""Live edits are reproducible: a dashboard run steered by keys prints a command (help screen)
whose headless run writes the very same metrics file."""

from __future__ import annotations

import shlex

from ffnn_tui.tui.cli import main
from ffnn_tui.tui.widgets.help import HelpScreen
from ffnn_tui.tui.widgets.path_prompt import PathPrompt

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)


async def steps(pilot, app, n: int) -> None:
    for _ in range(n):
        target = app.snapshot.step + 1
        await pilot.press("n")
        await settled(pilot, app, target)


async def test_a_steered_dashboard_run_and_the_headless_run_of_its_command_write_identical_metrics(tmp_path):
    dash, head = tmp_path / "dash.csv", tmp_path / "head.csv"
    app = make_app("--epochs", "6", "--metrics", str(dash))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await steps(pilot, app, 2)
        await pilot.press("+", "+")  # two edits at step 2
        await wait_for(pilot, lambda: app.snapshot.config.lr == 0.28, what="lr 0.28")
        await steps(pilot, app, 2)
        await pilot.press("a")  # relu -> tanh at step 4, the weights stay
        await wait_for(pilot, lambda: app.snapshot.config.activation == "tanh", what="tanh")
        await steps(pilot, app, 2)  # DONE at step 6
        await pilot.press("d")  # a new run on diagonal, after the end
        await wait_for(pilot, lambda: app.snapshot.run_id == 2, what="the diagonal run")
        await steps(pilot, app, 6)
        command = app.snapshot.command
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        shown = screen_text(app)
        await pilot.press("escape")
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    assert command.endswith("--at 2:lr=0.14 --at 2:lr=0.28 --at 4:activation=tanh --at 6:dataset=diagonal")
    assert "--activation" not in command  # relu -> tanh at step 4 is not a tanh run
    assert "4:activation=tanh" in shown and "--activation tanh" not in shown
    argv = shlex.split(command)[1:]
    argv[argv.index("--metrics") + 1] = str(head)
    assert main(["--headless", "--quiet", *argv]) == 0
    rows = dash.read_text()
    assert rows.count("\n") == 1 + 6 + 6 and "\n2,6," in rows
    assert head.read_text() == rows


async def test_the_dashboard_applies_a_scheduled_edit_at_its_step_and_marks_the_loss_curve():
    app = make_app("--at", "2:activation=tanh,lr=0.5")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await steps(pilot, app, 1)
        assert app.snapshot.config.activation == "relu"
        await steps(pilot, app, 2)
        assert app.snapshot.config.activation == "tanh" and app.snapshot.config.lr == 0.5
        assert app.snapshot.changes == ((2, "tanh lr 0.5"),)
        assert app.snapshot.command.endswith("--at 2:activation=tanh,lr=0.5")


async def draw_and_save(pilot, app, cells: list[tuple[int, int]], path) -> str:
    """Click training points in at the current step, then ctrl+s them to `path` through the prompt
    (returns the path the prompt offered)."""
    from .test_canvas import click_cell, n_train

    n = n_train(app) + len(cells)
    for col, row in cells:
        await click_cell(pilot, app, col, row)
    await wait_for(pilot, lambda: n_train(app) == n, what="the drawn points")
    if path is None:
        return ""
    await pilot.press("ctrl+s")
    await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), what="the path prompt")
    offered = app.screen.query_one("#path").value
    app.screen.query_one("#path").value = str(path)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.points_file == str(path), what="the points to be saved")
    return offered


async def test_a_dashboard_run_with_drawn_points_and_the_headless_run_of_its_command_write_identical_metrics(tmp_path):
    dash, head = tmp_path / "dash.csv", tmp_path / "head.csv"
    first, second = tmp_path / "first.csv", tmp_path / "first-step4.csv"
    app = make_app("--epochs", "10", "--metrics", str(dash))
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await steps(pilot, app, 2)
        await draw_and_save(pilot, app, [(4, 4), (6, 3)], first)  # a drawing at step 2
        await steps(pilot, app, 2)
        await pilot.press("+")  # a live edit between the drawings
        await wait_for(pilot, lambda: app.snapshot.config.lr == 0.14, what="lr 0.14")
        offered = await draw_and_save(pilot, app, [(8, 5)], second)  # another at step 4, in its own file
        await steps(pilot, app, 3)
        command = app.snapshot.command
        await pilot.press("q")
        await wait_for(pilot, lambda: not app.is_running, what="quit")
    assert offered == str(second)  # not first.csv, which the drawing at step 2 replays from
    assert command.endswith(f"--at 2:points={first} --at 4:lr=0.14 --at 4:points={second}")
    argv = shlex.split(command)[1:]
    argv[argv.index("--metrics") + 1] = str(head)
    argv[argv.index("--epochs") + 1] = "7"  # the dashboard stopped at step 7
    assert main(["--headless", "--quiet", *argv]) == 0
    rows = dash.read_text()
    assert rows.count("\n") == 1 + 7
    assert head.read_text() == rows


async def test_an_unsaved_drawing_makes_the_reproduce_line_say_so(tmp_path):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await steps(pilot, app, 1)
        await draw_and_save(pilot, app, [(4, 4)], None)
        await wait_for(pilot, lambda: "not saved" in app.snapshot.command, what="the command to say so")
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="help")
        await pilot.pause()
        shown = screen_text(app)
    assert "drawn points not saved yet (step 1): ctrl+s" in shown
    assert "--at" not in app.snapshot.command
