"""Pilot helpers: apps start paused and are driven with keys; waits are on conditions, never sleeps."""

from __future__ import annotations

import time

import pytest

from ffnn_tui.tui.app import FfnnApp
from ffnn_tui.tui.cli import build_trainer


def make_app(*argv: str, paused: bool = True, show_rate: bool = False) -> FfnnApp:
    """The dashboard for these flags, paused at step 0 unless told otherwise."""
    trainer = build_trainer(["--device", "cpu", *argv])
    return FfnnApp(trainer.cfg, trainer=trainer, paused=paused, show_rate=show_rate)


async def wait_for(pilot, condition, timeout: float = 15.0, what: str = "condition") -> None:
    """Let the app run until condition() is true (polling the app's own loop, not sleeping blind)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.01)


async def settled(pilot, app: FfnnApp, step: int | None = None) -> None:
    """Wait until the worker has posted a snapshot (at `step`, if given) and the app drew it."""
    await wait_for(
        pilot,
        lambda: (
            app.snapshot is not None
            and (step is None or app.snapshot.step == step)
            and app.snapshot.views == app.views_shown()
            and (app.snapshot.grid is not None or "boundary" not in app.snapshot.views)
        ),
        what=f"snapshot at step {step}",
    )
    await pilot.pause()


def screen_text(app: FfnnApp) -> str:
    """The plain text of every line currently on the screen, as a person would read it."""
    strips = app.screen._compositor.render_strips()
    return "\n".join("".join(seg.text for seg in strip) for strip in strips)


@pytest.fixture
def app_factory():
    return make_app
