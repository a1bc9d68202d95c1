"""What a snapshot costs the UI: the panes it changes are painted again, and nothing is laid out
again (a layout re-renders every widget on the screen: 40-90 ms a snapshot on a loaded 2-core
machine, and the key pressed meanwhile waited for it)."""

from __future__ import annotations

import pytest
from textual.screen import Screen

from .conftest import make_app, settled


@pytest.mark.parametrize("view", ["1", "2", "3", "4", "5", "6"])
async def test_steps_repaint_the_panes_without_laying_out_the_screen(monkeypatch, view):
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        await pilot.press(view)
        for step in (1, 2):  # the shapes table gets its gradient columns: its size changes once
            await pilot.press("n")
            await settled(pilot, app, step)
        await pilot.pause()
        layouts: list[int] = []
        refresh_layout = Screen._refresh_layout
        monkeypatch.setattr(
            Screen, "_refresh_layout", lambda self, *a, **k: (layouts.append(1), refresh_layout(self, *a, **k))[1]
        )
        for step in range(3, 9):
            await pilot.press("n")
            await settled(pilot, app, step)
            await pilot.pause()
        await pilot.press("l")  # a key that redraws the loss plot
        await pilot.pause()
        assert layouts == []
