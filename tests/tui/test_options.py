"""The options screen (`o`): every field applies, live ones keep the weights and the step, the
others start over; bad values get the flag's one-line message and apply nothing; escape cancels."""

from __future__ import annotations

import shlex

import pytest
import torch
from textual.widgets import Input, Select, Switch

from ffnn_tui.tui.widgets.options import FIELDS, OptionsScreen

from .conftest import make_app, screen_text, settled, wait_for

SIZE = (120, 36)

EDITS = [
    # (option, what to set in the form, the option's value after applying, starts over)
    ("lr", "0.5", 0.5, False),
    ("optimizer", "adam", "adam", False),
    ("weight_decay", "0.001", 0.001, False),
    ("l1", "0.002", 0.002, False),
    ("batch_size", "16", 16, False),
    ("activation", "tanh", "tanh", False),
    ("backprop", True, "autograd", False),
    ("epochs", "500", 500, False),
    ("dataset", "spiral", "spiral", True),
    ("classes", "3", 3, True),
    ("samples", "120", 120, True),
    ("noise", "0.1", 0.1, True),
    ("test_fraction", "0.25", 0.25, True),
    ("hidden", "16,16", (16, 16), True),
    ("features", "x1^2,x2^2", ("x1^2", "x2^2"), True),
    ("init", "he", "he", True),
    ("seed", "7", 7, True),
]


def test_every_option_of_the_form_is_exercised():
    assert {e[0] for e in EDITS} | {"speed"} == {name for name, _ in FIELDS}


async def open_options(pilot, app) -> OptionsScreen:
    await pilot.press("o")
    await wait_for(pilot, lambda: isinstance(app.screen, OptionsScreen), what="the options screen")
    await pilot.pause()
    return app.screen


async def fill(pilot, screen: OptionsScreen, name: str, value) -> None:
    """Set one field as a person would: type into an Input, pick in a Select, flip a Switch."""
    widget = screen.query_one(f"#{name}")
    if isinstance(widget, Input):
        widget.focus()
        widget.value = ""
        await pilot.press(*value)
    elif isinstance(widget, Select):
        widget.value = value
    elif isinstance(widget, Switch):
        widget.value = value
    await pilot.pause()


def verdict(screen: OptionsScreen) -> str:
    return str(screen.query_one("#verdict").render())


async def steps(pilot, app, n: int) -> None:
    for _ in range(n):
        target = app.snapshot.step + 1
        await pilot.press("n")
        await settled(pilot, app, target)


async def test_each_field_applies_live_or_by_starting_over():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        for name, typed, value, starts_over in EDITS:
            await steps(pilot, app, 2)
            run, step = app.snapshot.run_id, app.snapshot.step
            W1 = app.engine.trainer.params["W1"].clone()
            screen = await open_options(pilot, app)
            await fill(pilot, screen, name, typed)
            said = verdict(screen)
            assert ("starts over" in said) == starts_over and name in said, said
            await pilot.press("ctrl+a")
            await wait_for(pilot, lambda n=name, v=value: getattr(app.snapshot.config, n) == v, what=f"{name} applied")
            assert not isinstance(app.screen, OptionsScreen)
            if starts_over:
                assert app.snapshot.run_id == run + 1 and app.snapshot.step == 0, name
            else:
                assert app.snapshot.run_id == run and app.snapshot.step == step, name
                assert torch.equal(app.engine.trainer.params["W1"], W1), f"{name} changed the weights"
            last = shlex.split(app.snapshot.command)[-1]
            assert last.endswith(f"{name}={_flag_value(value)}"), app.snapshot.command
        assert app.snapshot.changes[-1] == (0, "seed 7")  # the loss curve marks the last edit


def _flag_value(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


async def test_several_fields_apply_as_one_edit_and_the_form_says_which_start_over():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await steps(pilot, app, 3)
        screen = await open_options(pilot, app)
        await fill(pilot, screen, "lr", "0.2")
        await fill(pilot, screen, "optimizer", "momentum")
        await fill(pilot, screen, "hidden", "4")
        said = verdict(screen)
        assert "live, the weights stay: optimizer, lr" in said and "starts over" in said and "hidden" in said
        await pilot.press("enter")  # in an Input: applies
        await wait_for(pilot, lambda: app.snapshot.config.hidden == (4,), what="the new net")
        assert app.snapshot.config.lr == 0.2 and app.snapshot.step == 0 and app.snapshot.run_id == 2
        assert app.snapshot.command.endswith("--at 3:hidden=4,optimizer=momentum,lr=0.2")


BAD = [
    ("lr", "fast", "--lr 'fast': expected a number"),
    ("lr", "-1", "--lr -1.0: expected a finite number > 0"),
    ("hidden", "5000", "--hidden 5000: expected widths like 8 or 16,16"),
    ("samples", "1.5", "--samples '1.5': expected an integer"),
    ("classes", "3", "--classes 3: dataset linear has 2 classes"),
    ("test_fraction", "2", "--test-fraction 2.0: expected a number 0..0.9"),
    ("features", "x3", "--features x3: unknown feature 'x3'"),
]


@pytest.mark.parametrize("name,typed,message", BAD, ids=[f"{b[0]}={b[1]}" for b in BAD])
async def test_a_bad_value_shows_the_flags_message_and_applies_nothing(name, typed, message):
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        before = app.snapshot.config
        screen = await open_options(pilot, app)
        await fill(pilot, screen, name, typed)
        assert message in verdict(screen)
        await pilot.press("ctrl+a")
        await pilot.pause()
        assert isinstance(app.screen, OptionsScreen)  # still open, the message shown
        assert message in screen_text(app).replace("\n", " ") or message[:40] in screen_text(app)
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, OptionsScreen), what="the form to close")
        assert app.engine.pending == 0 and app.snapshot.config == before


async def test_escape_cancels():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        screen = await open_options(pilot, app)
        await fill(pilot, screen, "lr", "0.9")
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, OptionsScreen), what="the form to close")
        await steps(pilot, app, 1)
        assert app.snapshot.config.lr == 0.07 and app.snapshot.command == app.cfg.to_command_line()


async def test_the_speed_field_sets_the_pace_without_an_edit():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        screen = await open_options(pilot, app)
        await fill(pilot, screen, "speed", "10")
        await pilot.press("ctrl+a")
        await wait_for(pilot, lambda: app.snapshot.config.speed == "10", what="speed 10")
        assert "--at" not in app.snapshot.command
