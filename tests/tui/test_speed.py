"""Slow motion: --speed paces the dashboard's loop in frames of k steps, < and > change it live,
the status line shows it, and headless ignores it with a warning. No timings are asserted: the
tests look at which steps the snapshots show."""

from __future__ import annotations

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.cli import main, run_config
from ffnn_tui.tui.engine import protocol
from ffnn_tui.tui.engine.loop import Inbox, Pace, TrainingLoop
from ffnn_tui.tui.widgets.status import StatusLine

from .conftest import make_app, settled, wait_for


def test_a_pace_shows_every_step_up_to_its_frame_rate_then_every_kth():
    assert (Pace(1, 10).k, Pace(10, 10).k, Pace(100, 10).k, Pace(1000, 10).k) == (1, 1, 10, 100)
    assert Pace(1000, 60).k == 100  # a higher --ui-hz: frames of 17 steps would not land on round steps
    assert Pace(1000, 10).steps(30) == 70  # the step counter lands on multiples of k
    slow = Pace(1, 10)
    assert slow.wait() == 0  # the first frame is due at once
    slow.took()
    assert slow.wait() > 0  # the next one a period (1 s) later


def paced_run(speed: str, epochs: int) -> list[protocol.Snapshot]:
    """The dashboard's loop running at `speed` until DONE; every snapshot it sent."""
    tr = Trainer(RunConfig(device="cpu", epochs=epochs, speed=speed))
    inbox, shots = Inbox(), []

    def emit(event):
        if isinstance(event, protocol.Snapshot):
            shots.append(event)
            if event.state is State.DONE:
                inbox.put(protocol.Stop())

    TrainingLoop(tr, emit, running=True, ui_hz=4).run(inbox)
    return shots


def test_at_10_steps_a_second_every_step_is_shown():
    steps = [s.step for s in paced_run("10", epochs=4)]
    assert steps[-1] == 4
    assert {1, 2, 3, 4} <= set(steps)


def test_at_1000_steps_a_second_every_100th_step_is_shown():
    steps = [s.step for s in paced_run("1000", epochs=300)]
    assert {100, 200, 300} <= set(steps)
    assert all(step % 100 == 0 for step in steps)


def test_speed_flag_and_toml_are_checked_and_headless_ignores_it(tmp_path, capsys):
    assert run_config(["--speed", "10"]).speed == "10"
    toml = tmp_path / "c.toml"
    toml.write_text("speed = 100\n")
    assert run_config(["--config", str(toml)]).speed == "100"
    assert main(["--speed", "7", "--headless"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--speed 7" in err and "max, 1000, 100, 10 or 1" in err
    toml.write_text('speed = "fast"\n')
    assert main(["--config", str(toml), "--headless"]) == 2
    assert f"{toml.name}: speed fast" in capsys.readouterr().err
    assert main(["--headless", "--device", "cpu", "--epochs", "3", "--speed", "1", "--quiet"]) == 0
    out, err = capsys.readouterr()
    assert "--speed 1 is ignored" in err and "steps 3" in out


async def test_less_and_greater_change_the_speed_and_the_status_line_shows_it():
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        assert "speed" not in str(app.query_one(StatusLine).render())
        await pilot.press("<", "<")
        await wait_for(pilot, lambda: app.snapshot.config.speed == "100", what="speed 100")
        assert "speed 100/s" in str(app.query_one(StatusLine).render())
        await pilot.press(">", ">", ">")  # max is the fastest: the third press stays there
        await wait_for(pilot, lambda: app.snapshot.config.speed == "max" and app.engine.pending == 0)
        assert "speed" not in str(app.query_one(StatusLine).render())
