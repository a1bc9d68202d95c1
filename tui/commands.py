"""The command palette (ctrl+p): every dashboard action, the ones with a key and the ones without
(save as..., export, screenshot). Textual's own system commands (theme, quit, keys) sit beside them."""

from __future__ import annotations

from functools import partial
from typing import Callable

from textual import work
from textual.command import CommandList, CommandPalette, DiscoveryHit, Hit, Hits, Provider
from textual.css.query import NoMatches

from .file_actions import FileActions
from .keys import BINDINGS
from .widgets.modal import may_close, nothing


def dashboard_commands(app: FileActions) -> list[tuple[str, str, Callable[[], object]]]:
    """(title, help, callback) for every bound action, then the actions that have no key."""
    commands: list[tuple[str, str, Callable[[], object]]] = []
    for b in BINDINGS:
        if b.id and b.tooltip:
            key = b.key_display or b.key.split(",")[0]
            commands.append((b.tooltip, f"key: {key}", partial(app.run_action, b.action)))
    commands += [
        ("Save checkpoint as...", "write a checkpoint to a path you type", app.action_save_as),
        ("Export weights as...", "type a path ending in .safetensors, .npz or .json", app.action_export_as),
        ("Screenshot", "save an SVG of the screen to the data folder", app.action_screenshot_to_data),
    ]
    return commands


class DashboardCommands(Provider):
    """Every dashboard action, by name."""

    def commands(self) -> list[tuple[str, str, Callable[[], object]]]:
        """The dashboard's commands (none on an app without its actions)."""
        return dashboard_commands(self.app) if isinstance(self.app, FileActions) else []

    async def discover(self) -> Hits:
        for title, help_text, callback in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            if (score := matcher.match(title)) > 0:
                yield Hit(score, matcher.highlight(title), callback, text=title, help=help_text)


class Palette(CommandPalette):
    """Textual's palette, safe from its own race: a palette closed before its command-gathering
    worker ran made that worker fail on the missing CommandList, and a failed worker ends the app
    with exit 1 (seen once in an adversarial key storm of ctrl+p and escape during start-up)."""

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        await gather_if_open(self, search_value)

    def dismiss(self, result=None):
        """Once, and only while on top (tui/widgets/modal.py: Textual pops whatever is on top)."""
        return super().dismiss(result) if may_close(self) else nothing()


async def gather_if_open(palette: CommandPalette, search_value: str) -> None:
    """CommandPalette's own gathering, ending quietly when the palette has already lost its list."""
    try:
        await CommandPalette._gather_commands.__wrapped__(palette, search_value)  # type: ignore[attr-defined]  # functools.wraps
    except NoMatches:
        if palette.query(CommandList):
            raise
