"""The status line: state word, run description, progress and metrics."""

from __future__ import annotations

import math

from rich.text import Text
from textual.widgets import Static

from ...core.state import State
from ..engine.snapshot import Snapshot
from .boundary import POINT_GLYPHS

STATE_STYLE = {
    State.RUNNING: "bold black on green",
    State.PAUSED: "bold black on yellow",
    State.DIVERGED: "bold white on red",
    State.FAILED: "bold white on red",
    State.DONE: "bold black on cyan",
    State.STALLED: "bold white on magenta",
    State.STARTING: "bold black on grey70",
}


def _num(v: float, fmt: str = ".4f") -> str:
    return format(v, fmt) if math.isfinite(v) else "-"


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%" if math.isfinite(v) else "-"


REWOUND_STYLE = "bold white on blue"


def status_text(
    s: Snapshot | None,
    state: State,
    show_rate: bool = True,
    note: str = "",
    *,
    draw_class: int | None = None,
    now: int | None = None,
) -> Text:
    """Two lines: what runs and how far it is; then losses, accuracies and any reason. `now` set:
    s is a rewound frame of a run now at step `now`. `draw_class`: the class a click draws."""
    t = Text(no_wrap=True, overflow="ellipsis")
    if s is not None and now is not None:
        t.append(f" REWOUND to step {s.step} of {now} ", style=REWOUND_STYLE)
        t.append("  press any training key to return", style="bold")
    else:
        t.append(f" {state} ", style=STATE_STYLE.get(state, "bold"))
    if s is None:  # no numbers yet: the reason the run could not start, or that it is starting
        t.append(f"  {note}" if note else "  building the run...", style="bold red" if note else "")
        return t
    rate = f"  {s.steps_per_sec:,.0f} steps/s" if show_rate and state is State.RUNNING and now is None else ""
    m = s.metrics
    t.append(f"  {s.dataset}  {s.arch}  {s.device}  {s.config.optimizer} lr {s.config.lr:.4g}  ")
    t.append(f"step {s.step}  epoch {s.epoch}", style="bold")
    t.append(rate)
    if s.config.speed != "max":  # slow motion: the pace asked for
        t.append(f"  speed {s.config.speed}/s", style="bold magenta")
    if draw_class is not None:
        t.append(f"  draw class {draw_class} {POINT_GLYPHS[draw_class % len(POINT_GLYPHS)]}", style="bold")
    t.append("\n loss ")
    t.append(f"train {_num(m.train_loss)}", style="bold")
    t.append(f" test {_num(m.test_loss)}   acc ")
    t.append(f"train {_pct(m.train_acc)}", style="bold")
    t.append(f" test {_pct(m.test_acc)}")
    failed = s.state in (State.DIVERGED, State.FAILED)
    reason = note or (s.reason if failed else "")
    if reason:
        t.append(f"   {reason}", style="bold red")
        if failed:
            t.append(" - press r to reset", style="bold")
    return t


class StatusLine(Static):
    """Dataset, architecture, device, lr, optimizer, step, epoch, losses, accuracies, steps/s, state."""

    DEFAULT_CSS = "StatusLine { height: 2; }"
    _shown_text: object = None

    def show(
        self,
        s: Snapshot | None,
        state: State,
        show_rate: bool,
        note: str = "",
        *,
        draw_class: int | None = None,
        now: int | None = None,
    ) -> None:
        text = status_text(s, state, show_rate, note, draw_class=draw_class, now=now)
        if text != self._shown_text:  # the same text again (a key for another pane): no repaint
            self._shown_text = text
            self.update(text, layout=False)  # two lines tall whatever they say: no layout of the screen
