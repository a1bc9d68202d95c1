"""The panes together: status line on top; the loss plot beside the views (decision boundary,
neurons, weights, health, confusion, step), one at a time, two side by side when wide; shapes below.

`show()` draws a snapshot, redrawing only the panes whose inputs changed since they were last
drawn (the loss curve and the boundary are the costly ones).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import ContentSwitcher, Static

from ...core.state import State
from ..engine.protocol import VIEWS
from ..engine.snapshot import Snapshot
from .boundary import BoundaryPane
from .confusion import ConfusionPane
from .health import HealthPane
from .loss_plot import LossPlot
from .neurons import NeuronsPane
from .shapes import ShapesPane
from .status import StatusLine
from .step import StepPane
from .titles import set_title
from .weights import WeightsPane

TITLES = {
    "boundary": "decision boundary",
    "neurons": "neurons",
    "weights": "weights",
    "health": "layer health",
    "confusion": "confusion",
    "step": "the step, written out",
}
SHORT = {
    "boundary": "bound",
    "neurons": "neur",
    "weights": "wts",
    "health": "hlth",
    "confusion": "conf",
    "step": "step",
}
WHICH_TITLE = {"params": "weights", "grads": "gradients", "updates": "last update"}
LOSS_PERIOD = 0.5
"""Seconds between redraws of the loss plot while training, when only its data changed (with
plotext it was the costliest pane, about 29 ms a redraw on a 2-core machine; our own chart takes
2-3 ms, and twice a second is still live)."""


def tabs_text(current: str, width: int) -> Text:
    """`1 boundary  2 neurons ...` with the current view reversed; short names when narrow."""
    only_current = tuple(SHORT[v] if v == current else "" for v in VIEWS)
    for names in (VIEWS, tuple(SHORT[v] for v in VIEWS), only_current):
        t = Text(no_wrap=True, overflow="crop")
        for i, (v, name) in enumerate(zip(VIEWS, names), start=1):
            t.append(" " if i > 1 else "")
            t.append(f" {i} {name} ".replace("  ", " "), style="bold reverse" if v == current else "dim")
        if t.cell_len <= width:
            break
    return t


class ViewSwitcher(ContentSwitcher):
    """The views beside the boundary; tells the app its content size (the engine sizes the probes)."""

    @dataclass
    class Resized(Message):
        cols: int
        rows: int

    def on_resize(self, event: events.Resize) -> None:
        self.post_message(self.Resized(self.content_size.width, self.content_size.height))


class Panes(Vertical):
    """Every pane of the dashboard."""

    DEFAULT_CSS = "Panes { height: 1fr; }"

    def __init__(self, show_rate: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.show_rate = show_rate
        self._drawn: dict[str, object] = {}
        self.view = "boundary"
        self.draw_class: int | None = None
        """The class a click on the boundary draws, shown on the status line while drawing."""
        self.rewound: tuple[Snapshot, int] | None = None
        """(the rewound frame as shown, the step of now) while rewound; None at now."""
        self._loss_at = -LOSS_PERIOD
        """time.monotonic() of the loss plot's last redraw."""

    def compose(self) -> ComposeResult:
        yield StatusLine(id="status")
        with Horizontal(id="body"):
            yield LossPlot(id="loss")
            with Vertical(id="right"):
                yield Static(id="tabs")
                with Horizontal(id="views-row"):
                    yield BoundaryPane(id="boundary")
                    with ViewSwitcher(id="views", initial="neurons"):
                        yield NeuronsPane(id="neurons")
                        yield WeightsPane(id="weights")
                        yield HealthPane(id="health")
                        yield ConfusionPane(id="confusion")
                        yield StepPane(id="step")
        yield ShapesPane(id="shapes")

    def on_mount(self) -> None:
        set_title(self.query_one("#loss"), "loss")
        set_title(self.query_one("#shapes"), "shapes")
        set_title(self.query_one("#boundary"), TITLES["boundary"])
        self.set_view("boundary", wide=False)
        self.status(None, State.STARTING)

    def on_resize(self, event: events.Resize) -> None:
        self._tabs()

    def _tabs(self) -> None:
        tabs = self.query_one("#tabs", Static)
        tabs.update(tabs_text(self.view, tabs.content_size.width or 60))

    def set_view(self, view: str, wide: bool) -> None:
        """Show `view`; when wide the boundary stays and the view appears beside it."""
        self.view = view
        other = view != "boundary"
        self.query_one("#boundary").display = wide or not other
        switcher = self.query_one(ViewSwitcher)
        switcher.display = other
        if other:
            switcher.current = view
            set_title(switcher, TITLES[view])
        self._tabs()

    def status(self, s: Snapshot | None, state: State, note: str = "") -> None:
        """The status line of s; while rewound, of the rewound frame (whatever s is: it is now)."""
        now = None
        if self.rewound is not None:
            s, now = self.rewound
        self.query_one(StatusLine).show(s, state, self.show_rate, note=note, draw_class=self.draw_class, now=now)

    def show(
        self,
        s: Snapshot,
        state: State,
        *,
        check: tuple,
        log_scale: bool,
        show_test: bool,
        x_axis: str = "all",
        now: int | None = None,
    ) -> None:
        """Draw s; `now` set: s is a rewound frame of the run now at that step (a cursor on the
        loss curve marks s.step, the boundary and neuron maps are the frame's)."""
        self.rewound = (s, now) if now is not None else None
        self.status(s, state)
        cursor = s.step if now is not None else None
        looks = (s.run_id, s.changes, log_scale, x_axis, cursor)  # what a key or an edit changes
        if self._loss_due(state, looks) and self._changed(
            "loss", (*looks, s.step, len(s.curve_steps), len(s.curve_test))
        ):
            self._loss_at = time.monotonic()
            self.query_one(LossPlot).show(s, log_scale, x_axis, cursor=cursor)
        if self._changed("shapes", (s.run_id, s.step, check, s.activations)):  # hidden when compact: no render cost
            self.query_one(ShapesPane).show(s, check)
        boundary = self.query_one("#boundary")
        set_title(boundary, TITLES["boundary"] + (f" at step {s.step} (rewound)" if now is not None else ""))
        if s.grid is not None and self._changed("boundary", (s.grid, s.points, show_test)):
            self.query_one(BoundaryPane).show(s, show_test)
        if self.view != "boundary" and self.view in s.views and self._changed("view", self._view_inputs(s)):
            self.show_view(s)
        if self.view == "neurons" and now is not None and s.neurons is None:
            set_title(self.query_one(ViewSwitcher), f"neurons: not filmed at step {s.step} (view not shown then)")
        elif self.view == "neurons":
            set_title(self.query_one(ViewSwitcher), TITLES["neurons"])

    def _loss_due(self, state: State, looks: tuple) -> bool:
        """While training, new data alone redraws the loss plot every LOSS_PERIOD at most (the other
        panes follow every snapshot); anything else that changes it redraws it at once."""
        drawn = self._drawn.get("loss")
        if state != State.RUNNING or not isinstance(drawn, tuple) or drawn[: len(looks)] != looks:
            return True
        return time.monotonic() - self._loss_at >= LOSS_PERIOD

    def _view_inputs(self, s: Snapshot) -> tuple:
        """What the chosen view draws from: the same probes again (reused while a big net trains
        flat out) redraw nothing."""
        data = {"neurons": (s.neurons, s.dead), "step": s.step_rows, "weights": s.weights}
        return (self.view, s.run_id, s.probe_step, data.get(self.view, getattr(s, self.view, None)))

    def show_view(self, s: Snapshot) -> None:
        """The chosen view's part of the snapshot (measured only while the view is shown)."""
        switcher = self.query_one(ViewSwitcher)
        match self.view:
            case "neurons" if s.neurons is not None:
                self.query_one(NeuronsPane).show(s.neurons, s.dead)
            case "weights" if s.weights is not None:
                which = s.weights[0].which if s.weights else "params"
                note = ""
                if which == "updates" and s.weights:
                    note = f"ΔW: the change step {s.probe_step} made (W after it - W before)"
                elif not s.weights:
                    note = {
                        "grads": "no gradients yet: take a step (n)",
                        "updates": "no update seen yet: take a step (n)",
                    }.get(which, "")
                self.query_one(WeightsPane).show(s.weights, note)
                set_title(switcher, f"{WHICH_TITLE[which]} (w cycles)")
            case "health" if s.health is not None:
                self.query_one(HealthPane).show(s.health)
            case "confusion" if s.confusion is not None:
                self.query_one(ConfusionPane).show(*s.confusion)
            case "step" if s.step_rows is not None:
                self.query_one(StepPane).show(s.step_rows, s.probe_step)

    def _changed(self, pane: str, key) -> bool:
        if self._drawn.get(pane) == key:
            return False
        self._drawn[pane] = key
        return True
