"""Keys that arrive together (a paste, a laggy link, a key held down) are each handled once."""

from __future__ import annotations

from textual import events

from ffnn_tui.tui.widgets.help import HelpScreen

from .conftest import make_app, settled, wait_for

SIZE = (120, 36)


def burst(app, *keys: str) -> None:
    """Queue several key events at once, as a terminal delivers keys read in one go (pilot.press
    would wait for the app to go idle after each)."""
    for key in keys:
        event = events.Key(key, key)
        event.set_sender(app)
        app._driver.send_message(event)


async def test_two_keys_at_once_on_the_help_screen_close_it_once():
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settled(pilot, app, 0)
        await pilot.press("question_mark")
        await wait_for(pilot, lambda: isinstance(app.screen, HelpScreen), what="the help screen")
        burst(app, "l", "l")
        await wait_for(pilot, lambda: not isinstance(app.screen, HelpScreen), what="the help screen to close")
        await pilot.pause(0.1)
        assert app.is_running and app.return_code is None  # no ScreenStackError
        assert len(app.screen_stack) == 1
        await pilot.press("l")  # the dashboard answers keys again
        assert app.log_scale
