"""SVG snapshots of the dashboard (pytest-textual-snapshot), fixed seed, steps/s hidden.

Review `snapshot_report.html` before accepting changes with `pytest --snapshot-update`.
"""

from __future__ import annotations

from .conftest import make_app, settled, wait_for


def _stepped(app, steps: int):
    async def run_before(pilot):
        await settled(pilot, app, 0)
        for k in range(1, steps + 1):
            await pilot.press("n")
            await settled(pilot, app, k)
    return run_before


class TestFrames:
    def test_first_frame(self, snap_compare):
        """Paused at step 0 at 120x36: every pane visible."""
        app = make_app()
        assert snap_compare(app, run_before=_stepped(app, 0), terminal_size=(120, 36))

    def test_after_three_steps(self, snap_compare):
        """Three presses of n: step 3, a short loss curve, updated norms."""
        app = make_app()
        assert snap_compare(app, run_before=_stepped(app, 3), terminal_size=(120, 36))

    def test_diverged_run(self, snap_compare):
        """A huge lr, stepped with n until the loss is nan: DIVERGED, and why."""
        app = make_app("--lr", "1e6")

        async def run_before(pilot):
            await settled(pilot, app, 0)
            while app.snapshot.state != "DIVERGED":
                step = app.snapshot.step
                await pilot.press("n")
                await wait_for(pilot, lambda: app.snapshot.step == step + 1 or app.snapshot.state == "DIVERGED")
            await pilot.pause()

        assert snap_compare(app, run_before=run_before, terminal_size=(120, 36))


class TestSizes:
    def test_80x24(self, snap_compare):
        """Small terminal: status line, loss pane and boundary pane (shapes hidden)."""
        app = make_app()
        assert snap_compare(app, run_before=_stepped(app, 2), terminal_size=(80, 24))

    def test_160x50(self, snap_compare):
        """Large terminal, two hidden layers, 3-class spiral with test points shown."""
        app = make_app("--dataset", "spiral", "--classes", "3", "--hidden", "16,16", "--samples", "300")

        async def run_before(pilot):
            await _stepped(app, 2)(pilot)
            await pilot.press("t")
            await pilot.pause()

        assert snap_compare(app, run_before=run_before, terminal_size=(160, 50))

    def test_too_small(self, snap_compare):
        """Below 40x12 a short message replaces the panes."""
        app = make_app()

        async def run_before(pilot):
            await wait_for(pilot, lambda: app.snapshot is not None)
            await pilot.pause()

        assert snap_compare(app, run_before=run_before, terminal_size=(36, 10))
