"""The dashboard's actions that write files or open screens: save, export (each also "as…" from
the command palette), screenshot, help. A mixin of FfnnApp.
"""

from __future__ import annotations

from .dashboard import Dashboard
from .engine.protocol import Export, Save
from .paths import data_dir
from .widgets.help import HelpScreen
from .widgets.path_prompt import PathPrompt


class FileActions(Dashboard):
    """Keys and palette commands that write files or show help (mixed into FfnnApp)."""

    def action_save(self) -> None:
        if not self._engine_gone("save a checkpoint"):
            self.send(Save(self.cfg.save))

    def action_export(self) -> None:
        if not self._engine_gone("export the weights"):
            self.send(Export(self.cfg.export))

    def _engine_gone(self, what: str) -> bool:
        """The training process has ended (FAILED: killed, or it raised): it holds the weights, so
        `c` and `e` have nothing to write. Say so, rather than send them into the void."""
        if self.engine_failure:
            self.notify(f"cannot {what}: the training process has ended; r starts over", severity="warning")
        return bool(self.engine_failure)

    def action_save_as(self) -> None:
        """Command palette: ask for a path, then save a checkpoint there."""

        def save_to(path: str | None) -> None:
            if path and not self._engine_gone("save a checkpoint"):
                self.send(Save(path))

        self.push_screen(PathPrompt("Save a checkpoint to:", "run.pt", self.cfg.save or ""), save_to)

    def action_export_as(self) -> None:
        """Command palette: ask for a path (.safetensors, .npz or .json), then export the weights there."""

        def export_to(path: str | None) -> None:
            if path and not self._engine_gone("export the weights"):
                self.send(Export(path))

        self.push_screen(
            PathPrompt(
                "Export the weights to (.safetensors, .npz or .json):", "weights.safetensors", self.cfg.export or ""
            ),
            export_to,
        )

    def action_screenshot_to_data(self) -> None:
        """Command palette: an SVG of the screen in the data folder, its path in a notification."""
        try:
            path = self.save_screenshot(path=str(data_dir(create=True)))
        except OSError as e:
            self.notify(f"could not save the screenshot: {e}", severity="error")
        else:
            self.notify(f"screenshot saved: {path}", title="screenshot")

    def get_system_commands(self, screen):
        """Textual's system commands (theme, quit, keys, ...), less its Screenshot: ours goes to the data folder."""
        yield from (c for c in super().get_system_commands(screen) if c.title != "Screenshot")

    def reproduce_command(self) -> str:
        """The command that reproduces the run, live edits included (from the training loop)."""
        s = self.snapshot
        return s.command if s is not None and s.command else self.cfg.to_command_line()

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.reproduce_command(), folder=str(data_dir())))
