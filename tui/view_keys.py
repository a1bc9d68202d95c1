"""The keys that change what the dashboard shows, not the run: the view beside the loss plot
(1-6), the neurons' page, the weights' kind, the loss plot's scales, the test points.

A mixin of FfnnApp: the app tells the engine which views are on screen (ShowViews), so only
those are measured.
"""

from __future__ import annotations

from .dashboard import Dashboard
from .engine.protocol import ShowViews
from .widgets.panes import Panes, ViewSwitcher

WHICH = ("params", "grads", "updates")
"""What the weights view's `w` cycles through."""
X_AXES = ("all", "log", "last")
"""What the loss plot's `x` cycles through: every step, log10 steps, the last 1000 steps."""


class ViewKeys(Dashboard):
    """View state and the keys that change it (mixed into FfnnApp)."""

    def init_views(self) -> None:
        self.view = "boundary"
        """The view beside the loss plot (keys 1-6)."""
        self.wide = False
        self.view_size = (0, 0)
        """The view pane's content size in cells."""
        self.page = 0
        self.which = "params"
        self.x_axis = "all"
        self.log_scale = False
        self.show_test = False
        self.shown: ShowViews | None = None
        """The last ShowViews sent."""

    def on_view_switcher_resized(self, event: ViewSwitcher.Resized) -> None:
        if event.cols and event.rows:
            self.view_size = (event.cols, event.rows)
            self.show_views()

    def views_shown(self) -> tuple[str, ...]:
        """The views on screen: the chosen one, and the boundary beside it when wide."""
        if self.wide and self.view != "boundary":
            return ("boundary", self.view)
        return (self.view,)

    def show_views(self, force: bool = False) -> None:
        """Tell the engine what is on screen (when it changed): only those views are measured."""
        shown = ShowViews(self.views_shown(), *self.view_size, page=self.page, which=self.which)
        if force or shown != self.shown:
            self.shown = shown
            self.send(shown)

    def action_log_scale(self) -> None:
        self.log_scale = not self.log_scale
        self._draw()

    def action_test_points(self) -> None:
        self.show_test = not self.show_test
        self._draw()

    def action_x_axis(self) -> None:
        self.x_axis = X_AXES[(X_AXES.index(self.x_axis) + 1) % len(X_AXES)]
        self._draw()

    def action_view(self, view: str) -> None:
        self.view = view
        self.set_class(view != "boundary", "-view")
        self.set_class(view == "step", "-step")  # the equations get the wider column (app.tcss)
        self.query_one(Panes).set_view(view, self.wide)
        self.show_views()
        self._draw()

    def action_page(self, delta: int) -> None:
        self.page += delta
        if self.view != "neurons":
            self.action_view("neurons")
        self.show_views()

    def action_which_weights(self) -> None:
        self.which = WHICH[(WHICH.index(self.which) + 1) % len(WHICH)]
        if self.view != "weights":
            self.action_view("weights")
        self.show_views()
