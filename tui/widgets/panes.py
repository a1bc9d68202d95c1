"""The panes together: status line on top, loss and boundary side by side, shapes below.

`show()` draws a snapshot, redrawing only the panes whose inputs changed since they were last
drawn (the loss curve and the boundary are the costly ones).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical

from ...core.state import State
from ..engine.snapshot import Snapshot
from .boundary import BoundaryPane
from .loss_plot import LossPlot
from .shapes import ShapesPane
from .status import StatusLine


class Panes(Vertical):
    """Every pane of the dashboard."""

    DEFAULT_CSS = "Panes { height: 1fr; }"

    def __init__(self, show_rate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.show_rate = show_rate
        self._drawn: dict[str, object] = {}

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield LossPlot(id="loss")
            yield BoundaryPane(id="boundary")
        yield ShapesPane(id="shapes")

    def on_mount(self) -> None:
        self.query_one("#loss").border_title = "loss"
        self.query_one("#shapes").border_title = "shapes"
        self.query_one("#boundary").border_title = "decision boundary"
        self.status(None, State.STARTING)

    def status(self, s: Snapshot | None, state: State, note: str = "") -> None:
        self.query_one(StatusLine).show(s, state, self.show_rate, note=note)

    def show(self, s: Snapshot, state: State, *, check: tuple, log_scale: bool, show_test: bool) -> None:
        self.status(s, state)
        if self._changed("loss", (s.run_id, s.step, len(s.curve_steps), log_scale)):
            self.query_one(LossPlot).show(s, log_scale)
        if self._changed("shapes", (s.run_id, s.step, check)):  # hidden when compact: no render cost
            self.query_one(ShapesPane).show(s, check)
        if self._changed("boundary", (s.grid, s.points, show_test)):
            self.query_one(BoundaryPane).show(s, show_test)

    def _changed(self, pane: str, key) -> bool:
        if self._drawn.get(pane) == key:
            return False
        self._drawn[pane] = key
        return True
