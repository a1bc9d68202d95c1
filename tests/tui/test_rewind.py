"""Rewind: the training loop films the run at log-spaced steps; while paused `[`/`]` (outside the
neurons view) and shift+left/right move through the film, and any training key returns to now."""

from __future__ import annotations

from ffnn_tui.core.inside import NeuronMaps
from ffnn_tui.core.probes import BoundaryGrid, Metrics
from ffnn_tui.tui.engine.snapshot import Frame
from ffnn_tui.tui.film import FILM_CAP, CompactGrid, Film, deep_size, next_frame_step
from ffnn_tui.tui.widgets.panes import Panes
from ffnn_tui.tui.widgets.status import StatusLine

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)


def status(app) -> str:
    return str(app.query_one(StatusLine).render())


def shown_step(app) -> int | None:
    """The step of the rewound frame on screen, None at now."""
    rewound = app.query_one(Panes).rewound
    return rewound[0].step if rewound else None


async def stepped(pilot, app, steps: int) -> None:
    await settled(pilot, app, 0)
    for k in range(1, steps + 1):
        await pilot.press("n")
        await settled(pilot, app, k)
    await wait_for(pilot, lambda: app.film.steps()[-1:] == [11], what="the frame of step 11")


def test_the_films_steps_are_log_spaced():
    steps = [0]
    while len(steps) < 30:
        steps.append(next_frame_step(steps[-1]))
    assert steps[:16] == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19]
    s, count = 0, 1
    while s < 10**7:
        s, count = next_frame_step(s), count + 1
    assert count < 180  # ten million steps fit in the film without thinning


def frame(step: int, cols: int = 56, rows: int = 24) -> Frame:
    grid = BoundaryGrid(
        tuple(tuple((r + c + step) % 2 for c in range(cols)) for r in range(rows)),
        tuple(tuple(((r * c + step) % 97) / 97 for c in range(cols)) for r in range(rows)),
    )
    return Frame(1, step, step, Metrics(0.5, 0.6, 0.9, 0.8), grid)


def test_the_film_is_bounded_keeps_its_ends_and_gives_back_the_grids():
    film, steps = Film(), []
    s = 0
    for _ in range(3 * FILM_CAP):
        film.add(frame(s, 4, 3))
        steps.append(s)
        s += 1
    assert len(film) <= FILM_CAP
    assert film.steps()[0] == 0 and film.steps()[-1] == steps[-1]
    assert film.steps() == sorted(film.steps())
    grid = frame(7).grid
    assert CompactGrid.of(grid).grid() == BoundaryGrid(
        grid.klass, tuple(tuple(float(_f32(c)) for c in r) for r in grid.conf)
    )


def _f32(v: float) -> float:
    import struct

    return struct.unpack("f", struct.pack("f", v))[0]


def test_a_new_run_starts_a_new_film():
    film = Film()
    film.add(frame(0))
    film.add(frame(1))
    film.add(Frame(2, 0, 0, Metrics(1, 1, 0.5, 0.5), None))
    assert film.run_id == 2 and film.steps() == [0]


def test_a_frame_of_the_boundary_pane_at_120x36_is_small():
    """What a frame costs: the boundary of a 120x36 dashboard (56x24 cells) and the numbers."""
    film = Film()
    for s in range(FILM_CAP):
        film.add(frame(s))
    per_frame = film.nbytes() / len(film)
    assert per_frame < 8_000, per_frame  # about 7 KB: 5 bytes a cell and the numbers
    assert deep_size(frame(0)) > 5 * per_frame  # the tuples as they arrive are much bigger


async def test_brackets_move_through_the_film_and_any_training_key_returns_to_now():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await stepped(pilot, app, 12)
        assert app.film.steps() == list(range(12))  # 0..11; the next frame is at 13
        grid0 = app.film.snapshot_at(0, app.snapshot).grid
        await pilot.press("left_square_bracket")
        assert shown_step(app) == 11
        assert "REWOUND to step 11 of 12" in status(app)
        assert "decision boundary at step 11 (rewound)" in screen_text(app)
        await pilot.press("left_square_bracket", "left_square_bracket", "shift+left")
        assert shown_step(app) == 8
        await pilot.press("right_square_bracket")
        assert shown_step(app) == 9
        assert app.snapshot.step == 12 and app.engine.trainer.step_count == 12  # rewinding trains nothing
        for _ in range(12):
            await pilot.press("shift+left")
        assert shown_step(app) == 0
        assert app.query_one(Panes).rewound[0].grid == grid0
        await pilot.press("shift+right", "shift+right")
        assert shown_step(app) == 2
        await pilot.press("n")  # a training key: back to now, and the step is taken
        assert shown_step(app) is None
        await settled(pilot, app, 13)
        assert "REWOUND" not in status(app) and "step 13" in status(app)
        await pilot.press("left_square_bracket")
        assert shown_step(app) == 11  # step 13 itself is a frame; `[` goes before now
        for _ in range(4):
            await pilot.press("right_square_bracket")  # forward past the newest frame: now
        assert shown_step(app) is None


async def test_rewinding_a_running_run_pauses_it_first():
    app = make_app(paused=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.step > 30, what="a running start")
        await pilot.press("shift+left")
        assert not app.running
        assert shown_step(app) is not None and shown_step(app) < app.snapshot.step
        await pilot.press("space")
        assert shown_step(app) is None and app.running
        await pilot.press("space")  # paused again: a run still training while the test app closes races its teardown
        await wait_for(pilot, lambda: not app.engine.loop_running, what="the loop to pause")


async def test_in_the_neurons_view_brackets_page_and_shift_arrows_rewind_the_maps():
    app = make_app("--hidden", "16")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("2")
        await stepped(pilot, app, 12)
        assert isinstance(app.film.frames[-1].neurons, NeuronMaps)
        await pilot.press("right_square_bracket")
        assert app.page == 1 and shown_step(app) is None
        await pilot.press("shift+left")
        assert shown_step(app) == 11
        await pilot.pause()
        assert app.query_one(Panes).rewound[0].neurons is app.film.frames[11].neurons
