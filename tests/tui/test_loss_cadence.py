"""While training, the loss plot (the costliest pane) redraws for new data at most every
LOSS_PERIOD; keys, edits, pauses and the end of a run redraw it at once."""

from __future__ import annotations

from dataclasses import replace

from ffnn_tui.core.state import State
from ffnn_tui.tui.widgets import panes as panes_module
from ffnn_tui.tui.widgets.loss_plot import LossPlot
from ffnn_tui.tui.widgets.panes import LOSS_PERIOD, Panes

from .conftest import make_app, settled


async def test_the_loss_plot_redraws_for_new_data_at_most_every_period(monkeypatch):
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        clock = [panes_module.time.monotonic() + 1000.0]
        monkeypatch.setattr(panes_module.time, "monotonic", lambda: clock[0])
        drawn: list[int] = []
        plot = app.query_one(LossPlot)
        show = plot.show
        monkeypatch.setattr(plot, "show", lambda s, *a, **k: (drawn.append(s.step), show(s, *a, **k))[1])
        panes, s0 = app.query_one(Panes), app.snapshot

        def arrive(step: int, state: State = State.RUNNING, **options) -> None:
            s = replace(s0, step=step, state=state)
            panes.show(s, state, check=(), log_scale=options.get("log", False), show_test=False)

        arrive(1)
        assert drawn == [1]
        clock[0] += LOSS_PERIOD / 2
        arrive(2)  # new data only, too soon: not drawn
        assert drawn == [1]
        arrive(3, log=True)  # a key changed how it looks: drawn at once
        assert drawn == [1, 3]
        clock[0] += LOSS_PERIOD / 4
        arrive(4, state=State.PAUSED, log=True)  # not training: every snapshot is drawn
        assert drawn == [1, 3, 4]
        arrive(5, log=True)
        assert drawn == [1, 3, 4]
        clock[0] += LOSS_PERIOD
        arrive(6, log=True)  # the period has passed
        assert drawn == [1, 3, 4, 6]
        arrive(7, state=State.DONE, log=True)  # the end of the run
        assert drawn == [1, 3, 4, 6, 7]
