"""Drawing your own data: a click on the boundary pane adds a training point of the chosen class,
a right click (or shift+click) removes the nearest one, `0`-`9` pick the class while the pane is
focused, and ctrl+s writes every point to a CSV that `--data` replays, and that the reproduce line
names (`--at STEP:points=FILE`, core/schedule.py). A mixin of FfnnApp: each
edit is a command for the training loop, which changes the trainer's data and keeps its weights.
"""

from __future__ import annotations

from pathlib import Path

from textual import events

from .dashboard import Dashboard
from .engine.protocol import DrawPoint, ErasePoint, PointsSaved, SavePoints
from .widgets.boundary import POINT_GLYPHS, BoundaryPane
from .widgets.panes import Panes
from .widgets.path_prompt import PathPrompt


class Canvas(Dashboard):
    """The drawing state and its keys (mixed into FfnnApp)."""

    def init_canvas(self) -> None:
        self.draw_class = 0
        """The class a left click on the boundary adds."""
        self.points_edited = False
        """Points were drawn or removed since the last save (ctrl+s): the run's data is not a file yet."""
        self.points_file: str | None = None
        """Where the points were last saved (absolute), for the prompt and for reproducing the run."""
        self.points_saved_at: int | None = None
        """The step of that save."""

    def drawing(self) -> bool:
        """Drawing mode: the boundary pane is focused (then 0-9 pick the class, not the view)."""
        return isinstance(self.focused, BoundaryPane)

    def show_draw_class(self) -> None:
        """The status line names the class a click draws, while drawing or once points were drawn."""
        shown = self.draw_class if self.drawing() or self.points_edited or self.points_file else None
        panes = self.query_one(Panes)
        if panes.draw_class != shown:
            panes.draw_class = shown
            panes.status(self.snapshot, self.state())

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.show_draw_class()

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        self.show_draw_class()

    def on_boundary_pane_clicked(self, event: BoundaryPane.Clicked) -> None:
        if self.snapshot is None:
            return
        if self._ended():
            self.notify(f"the run is {self.state()}; press r to reset, then draw", severity="warning")
            return
        self.to_now()  # a drawing changes the run as it is now
        if event.erase:
            self.send(ErasePoint(event.col, event.row, event.cols, event.rows))
        elif self.draw_class >= self.snapshot.classes:
            self.notify(self._no_such_class(self.draw_class), severity="warning")
            return
        else:
            self.send(DrawPoint(event.col, event.row, event.cols, event.rows, self.draw_class))
        self.points_edited = True
        self.show_draw_class()

    def _no_such_class(self, k: int) -> str:
        K = self.snapshot.classes if self.snapshot is not None else 2
        return f"class {k}: this net has {K} classes (0-{K - 1}); start with --classes {k + 1} to draw more"

    def action_pick_class(self, k: int) -> None:
        if self.snapshot is not None and k >= self.snapshot.classes:
            self.notify(self._no_such_class(k), severity="warning")
            return
        self.draw_class = k
        self.notify(f"drawing class {k} ({POINT_GLYPHS[k % len(POINT_GLYPHS)]})", timeout=2)
        self.show_draw_class()

    def action_stop_drawing(self) -> None:
        self.set_focus(None)

    def action_save_points(self) -> None:
        """Ask for a path, then write every point (train, then test) there as x1,x2,label rows."""

        def save_to(path: str | None) -> None:
            if path:
                self.send(SavePoints(path))

        self.push_screen(
            PathPrompt("Save the points as CSV (replay them with --data):", "points.csv", self._points_name()),
            save_to,
        )

    def _points_name(self) -> str:
        """The prompt's default: points.csv, then the last file while the points are the same; a new
        drawing after a save gets a file of its own (points-step40.csv): the earlier one replays from the last."""
        if self.points_file is None or not self.points_edited:
            return self.points_file or "points.csv"
        last, step = Path(self.points_file), self.snapshot.step if self.snapshot is not None else 0
        return str(last.with_name(f"{last.stem.split('-step')[0]}-step{step}{last.suffix}"))

    def on_points_saved(self, saved: PointsSaved) -> None:
        self.points_file, self.points_saved_at = saved.path, saved.step
        self.points_edited = False
        self.show_draw_class()
