"""Drawing your own data: clicks on the boundary pane add and remove training points, 0-9 pick the
class while the pane is focused, ctrl+s writes the points as a --data CSV."""

from __future__ import annotations

import torch

from ffnn_tui.core import probes
from ffnn_tui.core.data import read_csv
from ffnn_tui.tui.cli import build_trainer
from ffnn_tui.tui.widgets.boundary import POINT_GLYPHS, BoundaryPane
from ffnn_tui.tui.widgets.path_prompt import PathPrompt

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)


def pane_of(app) -> BoundaryPane:
    return app.query_one(BoundaryPane)


def border(app) -> tuple[int, int]:
    """Offset of the pane's first content cell from its top-left corner (the border)."""
    pane = pane_of(app)
    return pane.content_region.x - pane.region.x, pane.content_region.y - pane.region.y


async def click_cell(pilot, app, col: int, row: int, **kwargs) -> None:
    dx, dy = border(app)
    await pilot.click("#boundary", offset=(col + dx, row + dy), **kwargs)


def n_train(app) -> int:
    return app.engine.trainer.data.X_train.shape[0]


def cell_of_point(app, i: int) -> tuple[int, int]:
    """(row, col) of training point i on the boundary pane's grid now."""
    tr, pane = app.engine.trainer, pane_of(app)
    ext = app.engine.loop.looker.extent
    cols, rows = pane.content_size
    return probes.place_points(tr.data.X_train[i : i + 1].float(), ext, cols, rows)[0]


def screen_cell(app, col: int, row: int) -> str:
    """The character on screen at the pane's content cell (col, row)."""
    region = pane_of(app).content_region
    return screen_text(app).splitlines()[region.y + row][region.x + col]


async def test_a_left_click_adds_a_training_point_there_and_the_weights_stay():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        n, W1 = n_train(app), app.engine.trainer.params["W1"].clone()
        await click_cell(pilot, app, 5, 3)
        await wait_for(pilot, lambda: n_train(app) == n + 1, what="the point to be added")
        assert app.engine.trainer.data.y_train[-1].item() == 0  # the current class
        assert cell_of_point(app, n) == (3, 5)  # exactly where the click was
        assert torch.equal(app.engine.trainer.params["W1"], W1)  # the net keeps its weights
        await wait_for(pilot, lambda: (3, 5, 0, "train") in app.snapshot.points, what="the point in a snapshot")
        await pilot.pause()
        assert screen_cell(app, 5, 3) == POINT_GLYPHS[0]
        await pilot.press("n")  # and it trains on the new set
        await settled(pilot, app, 1)
        assert app.engine.trainer.batch == n + 1
        await click_cell(pilot, app, 6, 3)
        await wait_for(pilot, lambda: n_train(app) == n + 2, what="a second point")
        await pilot.press("plus")
        await click_cell(pilot, app, 7, 3)
        await wait_for(pilot, lambda: n_train(app) == n + 3, what="a third point")
        await wait_for(pilot, lambda: len(app.snapshot.changes) == 3, what="the markers")
        assert [what for _, what in app.snapshot.changes] == ["points", "lr 0.14", "points"]  # one per drawing


async def test_digits_pick_the_class_while_the_boundary_is_focused_and_views_otherwise():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await click_cell(pilot, app, 2, 2)  # the click focuses the pane: drawing mode
        assert app.drawing()
        await pilot.press("1")
        assert app.draw_class == 1 and app.view == "boundary"
        assert "draw class 1 x" in screen_text(app)
        n = n_train(app)
        await click_cell(pilot, app, 8, 6)
        await wait_for(pilot, lambda: n_train(app) == n + 1, what="a class-1 point")
        assert app.engine.trainer.data.y_train[-1].item() == 1
        await pilot.press("5")  # this net has 2 classes
        assert app.draw_class == 1
        await pilot.press("escape")  # drawing ends: the digits pick views again
        assert not app.drawing()
        await pilot.press("2")
        assert app.view == "neurons"


async def test_a_right_click_or_shift_click_removes_the_nearest_training_point():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        n = n_train(app)
        row, col = cell_of_point(app, 7)
        target = app.engine.trainer.data.X_train[7].clone()
        await click_cell(pilot, app, col, row, button=3)
        await wait_for(pilot, lambda: n_train(app) == n - 1, what="the point to be removed")
        left = app.engine.trainer.data.X_train
        assert not any(torch.equal(p, target) for p in left)  # (no two points share a place here)
        row, col = cell_of_point(app, 0)
        await click_cell(pilot, app, col, row, shift=True)
        await wait_for(pilot, lambda: n_train(app) == n - 2, what="a shift+click to remove")


async def test_ctrl_s_writes_the_points_as_a_data_csv_that_replays(tmp_path):
    app = make_app("--test-fraction", "0.25")
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        n = n_train(app) + 1
        await click_cell(pilot, app, 4, 4)
        await wait_for(pilot, lambda: n_train(app) == n, what="the drawn point")
        assert app.points_edited
        await pilot.press("ctrl+s")
        await wait_for(pilot, lambda: isinstance(app.screen, PathPrompt), what="the path prompt")
        prompt = app.screen.query_one("#path")
        prompt.value = str(tmp_path / "drawn.csv")
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.points_file is not None, what="the points to be saved")
        assert app.points_file == str(tmp_path / "drawn.csv") and not app.points_edited
        X, y = read_csv(tmp_path / "drawn.csv")
        tr = app.engine.trainer
        assert X.shape == (n + tr.data.X_test.shape[0], 2)
        assert torch.equal(X[:n].to(tr.dtype), tr.data.X_train) and torch.equal(y[:n], tr.data.y_train)
    replay = build_trainer(["--device", "cpu", "--data", str(tmp_path / "drawn.csv")])
    assert replay.data.X_train.shape[0] + replay.data.X_test.shape[0] == X.shape[0]
