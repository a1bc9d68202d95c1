"""A million generated points: the dashboard steps mini-batches and draws a sample of the points."""

from __future__ import annotations

from ffnn_tui.tui.engine.snapshot import PLOT_POINTS

from .conftest import make_app, settled


async def test_a_million_points_draw_a_sample_and_stay_responsive():
    app = make_app("--samples", "1000000", "--batch-size", "4096", "--hidden", "16")
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("n", "t")
        await settled(pilot, app, 1)
        kinds = [p[3] for p in app.snapshot.points]
        assert 0 < kinds.count("train") <= PLOT_POINTS and 0 < kinds.count("test") <= PLOT_POINTS
        assert app.snapshot.activations[0] == ("X", (4096, 2))  # a mini-batch, not the million
        await pilot.press("l")
        assert app.log_scale
