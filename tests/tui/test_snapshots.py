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
                await wait_for(pilot, lambda: app.snapshot.step == step + 1 or app.snapshot.state == "DIVERGED")  # noqa: B023 - awaited in this iteration
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


SPIRAL = ("--dataset", "spiral", "--classes", "3", "--hidden", "16,16", "--samples", "300")


def _viewed(app, key: str, steps: int = 3):
    async def run_before(pilot):
        await _stepped(app, steps)(pilot)
        await pilot.press(key)
        await settled(pilot, app, steps)

    return run_before


class TestViews:
    """Each view at 120x36 after three steps, on the tutorial net and on a 2-16-16-3 spiral."""

    @staticmethod
    def _check(snap_compare, key, argv=(), size=(120, 36)):
        app = make_app(*argv)
        return snap_compare(app, run_before=_viewed(app, key), terminal_size=size)

    def test_neurons(self, snap_compare):
        """2: one tile per unit, layer 1 then the output."""
        assert self._check(snap_compare, "2")

    def test_weights(self, snap_compare):
        """3: Hinton diagrams of W1, b1, W2, b2."""
        assert self._check(snap_compare, "3")

    def test_health(self, snap_compare):
        """4: gradient bars, update ratios, dead units."""
        assert self._check(snap_compare, "4")

    def test_confusion(self, snap_compare):
        """5: train and test confusion side by side."""
        assert self._check(snap_compare, "5")

    def test_step(self, snap_compare):
        """6: the third step written out."""
        assert self._check(snap_compare, "6")

    def test_spiral_boundary(self, snap_compare):
        """1 on 2-16-16-3: three classes shaded, the points on top (the tutorial's: TestFrames)."""
        assert self._check(snap_compare, "1", SPIRAL)

    def test_spiral_neurons(self, snap_compare):
        """2 on 2-16-16-3: the first page of each wide layer, what is left out said."""
        assert self._check(snap_compare, "2", SPIRAL)

    def test_spiral_weights(self, snap_compare):
        """3 on 2-16-16-3: W2 and W3 pooled to fit, and saying so."""
        assert self._check(snap_compare, "3", SPIRAL)

    def test_spiral_health(self, snap_compare):
        """4 on 2-16-16-3."""
        assert self._check(snap_compare, "4", SPIRAL)

    def test_spiral_confusion(self, snap_compare):
        """5 on 2-16-16-3: 3x3 matrices."""
        assert self._check(snap_compare, "5", SPIRAL)

    def test_spiral_step(self, snap_compare):
        """6 on 2-16-16-3: three layers of equations."""
        assert self._check(snap_compare, "6", SPIRAL)

    def test_step_80x24(self, snap_compare):
        """6 at 80x24: two thirds of the width, every result's shape, the update under ‖ΔW‖."""
        assert self._check(snap_compare, "6", size=(80, 24))

    def test_neurons_80x24(self, snap_compare):
        """2 at 80x24: fewer tiles across, the tabs abbreviated."""
        assert self._check(snap_compare, "2", size=(80, 24))


class TestRewind:
    def test_rewound_frame(self, snap_compare):
        """20 steps, then `[` three times: the boundary of step 15, the REWOUND line and a cursor on the loss curve."""
        app = make_app()

        async def run_before(pilot):
            await _stepped(app, 20)(pilot)
            await wait_for(pilot, lambda: app.film.steps()[-1:] == [19], what="the frame of step 19")
            await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")
            await pilot.pause()

        assert snap_compare(app, run_before=run_before, terminal_size=(120, 36))
