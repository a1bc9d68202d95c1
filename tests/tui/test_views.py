"""The views beside the loss plot, driven through Pilot: keys 1-6, paging, the weights cycle, the
mouse over a weight, the step view after each `n`, and the loss plot's x-axis key. Only the views
shown are measured."""

from __future__ import annotations

import pytest
from textual.widgets import ContentSwitcher

from ffnn_tui.tui.engine.protocol import VIEWS
from ffnn_tui.tui.widgets.loss_plot import LABEL_LINES, LossPlot, marker_labels
from ffnn_tui.tui.widgets.step import StepPane
from ffnn_tui.tui.widgets.weights import WeightsPane

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)
SPIRAL = ("--dataset", "spiral", "--classes", "3", "--hidden", "16,16", "--samples", "300")
EXPECT = {
    "boundary": "decision boundary",
    "neurons": "layer 1: 8 units",
    "weights": "W1 (2, 8)",
    "health": "layer health",
    "confusion": "t\\p",
    "step": "dW1 = X.T @ dz1",
}


async def _view(pilot, app, key: str, step: int) -> None:
    await pilot.press(key)
    await settled(pilot, app, step)


async def test_each_view_key_shows_its_view_and_measures_only_it():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        for key, view in enumerate(VIEWS, start=1):
            await _view(pilot, app, str(key), 1)
            s = app.snapshot
            assert s.views == (view,)
            assert EXPECT[view] in screen_text(app), view
            measured = {
                "boundary": s.grid,
                "neurons": s.neurons,
                "weights": s.weights,
                "health": s.health,
                "confusion": s.confusion,
                "step": s.step_rows,
            }
            assert [v for v, data in measured.items() if data is not None] == [view]  # dead marks: the maps' own pass
            if view != "boundary":
                assert app.query_one(ContentSwitcher).current == view


async def test_the_step_view_follows_every_n():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await _view(pilot, app, "6", 0)
        assert "press n" in screen_text(app)
        for step in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, step)
            text = screen_text(app)
            assert f"step {step}, just taken" in text
            loss = next(r for r in app.snapshot.step_rows if r.label == "loss").value
            assert f"= {loss:.4g}" in text


async def test_at_80x24_the_step_view_keeps_its_shapes_and_scrolls_to_its_last_row():
    app = make_app(*SPIRAL, "--optimizer", "adam")
    async with app.run_test(size=(80, 24)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        await _view(pilot, app, "6", 1)
        text = screen_text(app)
        assert "shape" in text and "(240, 16)" in text and "‖lhs‖" in text
        pane = app.query_one(StepPane)
        assert pane.max_scroll_y > 0 and "b1..b3: the same" not in text
        pane.scroll_end(animate=False)
        await pilot.pause()
        text = screen_text(app)
        assert "b1..b3: the same with db1..db3" in text and "‖ΔW‖" in text


async def test_page_keys_move_through_a_wide_layer():
    app = make_app(*SPIRAL)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await _view(pilot, app, "2", 0)
        first = [u.unit for u in app.snapshot.neurons.layers[0].units]
        assert first[0] == 0 and len(first) < 16 and "more (key ] pages)" in screen_text(app)
        await pilot.press("right_square_bracket")
        await wait_for(pilot, lambda: app.snapshot.neurons.layers[0].units[0].unit == len(first), what="next page")
        await pilot.pause()
        assert f"h1[{len(first)}]" in screen_text(app)
        await pilot.press("left_square_bracket")
        await wait_for(pilot, lambda: app.snapshot.neurons.layers[0].units[0].unit == 0, what="previous page")
        assert app.snapshot.neurons.layers[-1].units[0].unit == 0  # the 3 output units all fit: never paged


async def test_w_cycles_weights_gradients_and_the_last_update():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await _view(pilot, app, "3", 0)
        W1 = app.engine.trainer.params["W1"].clone()
        await pilot.press("n")
        await settled(pilot, app, 1)
        for which, title in (("grads", "∂W1 (2, 8)"), ("updates", "ΔW1 (2, 8)"), ("params", "W1 (2, 8)")):
            await pilot.press("w")
            await wait_for(pilot, lambda: app.snapshot.weights and app.snapshot.weights[0].which == which, what=which)  # noqa: B023 - awaited in this iteration
            await pilot.pause()
            assert title in screen_text(app)
            if which == "updates":
                change = (app.engine.trainer.params["W1"] - W1).reshape(-1).tolist()
                shown = [v for row in app.snapshot.weights[0].values for v in row]
                assert shown == pytest.approx(change, abs=1e-6)  # float32: -lr * dW1 against a difference of W1s
                assert "ΔW: the change step 1 made" in screen_text(app)


async def test_the_mouse_over_a_weight_shows_its_value():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await _view(pilot, app, "3", 0)
        pane = app.query_one(WeightsPane)
        await pilot.hover(pane, offset=(2, 3))  # a note, the legend, W1's title, then W1's first row; column 1
        await pilot.pause()
        value = app.engine.trainer.params["W1"][0, 1].item()
        assert f"W1[0,1] = {value:.4g}" in screen_text(app)


async def test_x_cycles_the_step_axis():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for step in (1, 2):
            await pilot.press("n")
            await settled(pilot, app, step)
        plot = app.query_one(LossPlot)
        for title in ("log steps", "last 1000 steps", "loss  ──"):
            await pilot.press("x")
            await pilot.pause()
            assert title in plot.border_title


async def test_live_changes_are_marked_and_the_test_loss_is_on_the_grid():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for step in (1, 2, 3):
            await pilot.press("n")
            await settled(pilot, app, step)
        await pilot.press("+")
        await wait_for(pilot, lambda: app.snapshot.changes == ((3, "lr 0.14"),), what="the lr change")
        assert app.snapshot.curve_test_steps == (1, 2, 4)  # metrics rows 1, 2, 4: weights after 0, 1, 3 steps
        await pilot.press("d")  # a new dataset is a new run: its curve starts at a marker naming it
        await wait_for(pilot, lambda: app.snapshot.changes == ((0, "diagonal"),), what="the dataset change")


def test_close_change_labels_stack_and_never_overlap():
    changes = [(10, "lr 0.14"), (11, "lr 0.28"), (12, "lr 0.56"), (13, "tanh"), (60, "relu"), (95, "lr 1.12")]
    placed = marker_labels(changes, 0, 100, 50)
    assert [p[1] for p in placed[:3]] == [0, 1, 2]  # three changes a column apart: three lines
    assert "tanh" not in [p[2] for p in placed]  # a fourth has no free line: left out
    assert ("relu" in [p[2] for p in placed]) and all(line == 0 for _, line, w in placed if w in ("relu", "lr 1.12"))
    for line in range(LABEL_LINES):  # on each line, labels (centred on their column) keep a blank between them
        spans = sorted((x / 100 * 49 - len(w) / 2, x / 100 * 49 + len(w) / 2) for x, l, w in placed if l == line)
        assert all(b + 1 <= a2 for (_, b), (a2, _) in zip(spans, spans[1:]))


async def test_close_changes_are_labelled_legibly_on_screen():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for step in range(1, 21):
            await pilot.press("n")
            await settled(pilot, app, step)
            if step in (10, 11):  # two changes a step apart: about 3 columns of a 20-step plot
                await pilot.press("+")
        await wait_for(pilot, lambda: len(app.snapshot.changes) == 2, what="two lr changes")
        await pilot.pause()
        text = screen_text(app)
        assert "lr 0.14" in text and "lr 0.28" in text  # each label whole, none written over the other


async def test_wide_terminal_shows_the_boundary_beside_the_view():
    app = make_app(*SPIRAL)
    async with app.run_test(size=(160, 50)) as pilot:
        await settled(pilot, app, 0)
        await _view(pilot, app, "2", 0)
        assert app.snapshot.views == ("boundary", "neurons")
        assert app.snapshot.grid is not None and app.snapshot.neurons is not None
        text = screen_text(app)
        assert "decision boundary" in text and "layer 1: 16 units" in text


LINEAR = ("--hidden", "0", "--features", "x1,x2,x1^2", "--l1", "0.001")
"""A linear model on three features, with an L1 penalty."""
EXPECT_LINEAR = {
    "boundary": "decision boundary",
    "neurons": "no hidden neurons: a linear model",
    "weights": "W1 (3, 2)",
    "health": "W1 ‖g‖",
    "confusion": "t\\p",
    "step": "X = [x1, x2, x1^2]",
}


async def test_every_view_shows_a_linear_model_on_features():
    """--hidden 0 --features x1,x2,x1^2: each view draws (no hidden layer assumed anywhere), the
    status line says 3-2 linear, and the shapes pane lists the points before the feature tensor X."""
    app = make_app(*LINEAR)
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n")
        await settled(pilot, app, 1)
        assert "3-2 linear" in screen_text(app)
        assert "points (64, 2)  X (64, 3)  logits (64, 2)" in screen_text(app)
        for key, view in enumerate(VIEWS, start=1):
            await _view(pilot, app, str(key), 1)
            assert EXPECT_LINEAR[view] in screen_text(app), view
            if view == "neurons":
                assert [layer.output for layer in app.snapshot.neurons.layers] == [True]
        assert "dW1 = X.T @ dlogits + 0.001 * sign(W1)" in screen_text(app)
