"""The engine protocol: every command and event survives the pipe (pickle) and is dispatched;
the dashboard's loop and headless share one run loop (identical metrics files)."""

from __future__ import annotations

import dataclasses
import pickle
import typing

import pytest

from ffnn_tui.core.config import RunConfig
from ffnn_tui.core.state import State
from ffnn_tui.core.trainer import Trainer
from ffnn_tui.tui.cli import main
from ffnn_tui.tui.engine import protocol
from ffnn_tui.tui.engine.loop import Inbox, TrainingLoop
from ffnn_tui.tui.engine.protocol import (
    CheckGradients,
    Exited,
    GradChecks,
    Heartbeat,
    LastCheckpoint,
    NextActivation,
    NextDataset,
    Note,
    Pause,
    Reset,
    Resize,
    Resume,
    Save,
    ScaleLr,
    ShowViews,
    Step,
    Stop,
)
from ffnn_tui.tui.engine.snapshot import SnapshotMaker
from ffnn_tui.tui.messages import EngineEvent

from .conftest import make_app, settled, wait_for

COMMANDS = [
    Pause(),
    protocol.Drawn(),
    Resume(),
    Step(),
    Reset(),
    Reset(seed=7),
    ScaleLr(2.0),
    NextActivation(),
    NextDataset(),
    protocol.ChangeSpeed(-1),
    protocol.Apply((("lr", 0.1), ("hidden", (16, 16)))),
    Resize(40, 12),
    ShowViews(("neurons", "step"), 56, 30, page=1, which="grads"),
    CheckGradients(),
    Save("ck.pt"),
    protocol.Export("w.json"),
    protocol.DrawPoint(3, 4, 20, 8, 1),
    protocol.ErasePoint(3, 4, 20, 8),
    protocol.SavePoints("pts.csv"),
    Stop(),
]


def test_every_command_and_event_type_is_listed():
    assert {type(c) for c in COMMANDS} == set(typing.get_args(protocol.Command))
    assert set(typing.get_args(protocol.Event)) == {
        protocol.Snapshot,
        Note,
        GradChecks,
        Exited,
        Heartbeat,
        LastCheckpoint,
        protocol.PointsSaved,
        protocol.Frame,
    }


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: repr(c))
def test_commands_pickle_and_dispatch(command, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert pickle.loads(pickle.dumps(command)) == command
    assert dataclasses.is_dataclass(command) and type(command).__dataclass_params__.frozen
    tr = Trainer(RunConfig(device="cpu"))
    events = []
    loop = TrainingLoop(tr, events.append, running=False, ui_hz=4)
    state = lambda: (
        tr.step_count,
        tr.cfg,
        tr.run_id,
        tr.data_edits,
        loop.running,
        loop.looker.size,
        loop.looker.views,
        loop.stopping,
        loop.drawing_since,
    )  # noqa: E731
    if isinstance(command, protocol.Drawn):
        loop.drawing_since = 0.0  # a snapshot is being drawn
    before = state()
    from ffnn_tui.core.run import RunLoop

    loop.apply(command, RunLoop(tr))
    after = state()
    if isinstance(command, Pause):
        assert after == before  # already paused: nothing to change
    else:
        assert after != before or events, f"{command} had no effect"
    if isinstance(command, Save):
        assert (tmp_path / "ck.pt").exists() and isinstance(events[-1], Note)
    if isinstance(command, protocol.Export):
        assert (tmp_path / "w.json").exists() and isinstance(events[-1], Note)
    if isinstance(command, protocol.SavePoints):
        assert (tmp_path / "pts.csv").exists() and isinstance(events[0], protocol.PointsSaved)
    if isinstance(command, CheckGradients):
        assert isinstance(events[-1], GradChecks)


async def test_events_pickle_and_the_app_dispatches_each():
    tr = Trainer(RunConfig(device="cpu"))
    maker = SnapshotMaker()
    maker.size = (20, 8)
    events = [
        maker.make(tr, State.PAUSED),
        Note("hello there", title="t"),
        GradChecks((("W1", 1e-9, 1e-9),)),
        Heartbeat(1, 2.4),
        Exited("the training process ended unexpectedly (exit code -9)"),
        protocol.PointsSaved("/tmp/pts.csv", 3, 81),
        maker.frame(tr),
    ]
    for e in events:
        assert repr(pickle.loads(pickle.dumps(e))) == repr(e)  # repr: nan != nan
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settled(pilot, app, 0)
        snap, note, checks, beat, exited, saved, frame = events
        app.post_message(EngineEvent(frame, app.engine))
        await wait_for(pilot, lambda: app.film.steps() == [0] and app.film.run_id == frame.run_id, what="the frame")
        app.post_message(EngineEvent(saved, app.engine))
        await wait_for(pilot, lambda: app.points_file == "/tmp/pts.csv", what="the points file")
        app.post_message(EngineEvent(snap, app.engine))
        await wait_for(pilot, lambda: app.snapshot is snap, what="the snapshot")
        app.post_message(EngineEvent(note, app.engine))
        await wait_for(pilot, lambda: any(n.message == "hello there" for n in app._notifications), what="the note")
        app.post_message(EngineEvent(checks, app.engine))
        await wait_for(pilot, lambda: app.check == checks.rows, what="the gradient check")
        app.post_message(EngineEvent(beat, app.engine))
        await wait_for(
            pilot, lambda: "step 1: 2s so far" in str(app.query_one("StatusLine").render()), what="the heartbeat"
        )
        app.post_message(EngineEvent(note, object()))  # a replaced engine's late word is dropped
        app.post_message(EngineEvent(exited, app.engine))
        await wait_for(pilot, lambda: app.state() is State.FAILED, what="FAILED")
        assert app.engine_failure == exited.reason


def test_headless_and_the_dashboard_loop_write_identical_metrics(tmp_path):
    """Both drive core/run.py's RunLoop: same options, same rows, byte for byte."""
    args = ["--dataset", "moons", "--hidden", "8,8", "--epochs", "7", "--batch-size", "16", "--samples", "100"]
    assert main(["--headless", *args, "--metrics", str(tmp_path / "headless.csv")]) == 0

    cfg = RunConfig(
        dataset="moons",
        hidden=(8, 8),
        epochs=7,
        batch_size=16,
        samples=100,
        device="auto",
        metrics=str(tmp_path / "engine.csv"),
    )
    tr = Trainer(cfg)
    inbox, events = Inbox(), []

    def emit(event):
        events.append(event)
        if isinstance(event, protocol.Snapshot) and event.state is State.DONE:
            inbox.put(Stop())

    TrainingLoop(tr, emit, running=True, ui_hz=60).run(inbox)
    assert tr.step_count == 7 * 5
    headless = (tmp_path / "headless.csv").read_text()
    assert headless.count("\n") == 1 + 35
    assert (tmp_path / "engine.csv").read_text() == headless


def test_a_failed_commands_os_error_reads_as_what_and_where():
    """`c` with an unusable HOME said 'Save failed: FileNotFoundError: [Errno 2] ... '/proc/.local''."""
    from ffnn_tui.tui.engine.loop import _reason

    e = FileNotFoundError(2, "No such file or directory", "/proc/.local/share/ffnn-tui")
    assert _reason(e) == "No such file or directory: /proc/.local/share/ffnn-tui"
    assert _reason(ValueError("odd")) == "ValueError: odd"
