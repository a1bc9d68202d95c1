"""Rewind: while paused, `[`/`]` (outside the neurons view, where they page) and shift+left/right
move through the film of the run (tui/film.py); the boundary, the neuron maps and a cursor on the
loss curve show that moment. Any key that trains returns to now. A mixin of FfnnApp.
"""

from __future__ import annotations

from .dashboard import Dashboard
from .engine.snapshot import Frame
from .film import Film


class Rewind(Dashboard):
    """The film and where in it the dashboard is (mixed into FfnnApp)."""

    def init_rewind(self) -> None:
        self.film = Film()
        self.rewound: int | None = None
        """Index of the frame shown; None at now."""

    def on_frame(self, frame: Frame) -> None:
        self.film.add(frame)

    def rewound_view(self):
        """(the snapshot to draw, the step of now when rewound, else None)."""
        s = self.snapshot
        if self.rewound is None or s is None or self.film.run_id != s.run_id or self.rewound >= len(self.film):
            self.rewound = None
            return s, None
        return self.film.snapshot_at(self.rewound, s), s.step

    def to_now(self) -> None:
        """Back to the run as it is: every key that trains (or changes the run) calls this first."""
        if self.rewound is not None:
            self.rewound = None
            self._draw()

    def action_bracket(self, delta: int) -> None:
        """`[` / `]`: page the neurons view's units there; rewind everywhere else."""
        if self.view == "neurons":
            self.action_page(delta)
        else:
            self.action_rewind(delta)

    def action_rewind(self, delta: int) -> None:
        """One frame back (-1) or forward (+1); forward from the newest frame is now. Pauses a run."""
        s = self.snapshot
        if s is None:
            return
        if self.running:
            self.action_toggle_pause()
        frames = self.film.frames if self.film.run_id == s.run_id else []
        if self.rewound is None:
            i = self.film.index_before(s.step) if delta < 0 and frames else None
            if i is None:
                if delta < 0:
                    self.notify("nothing filmed before this step: take a step (n) or run (space)", timeout=3)
                return
        else:
            i = max(0, self.rewound + delta)
            if i >= len(frames) or frames[i].step >= s.step:
                self.to_now()
                return
        self.rewound = i
        self._draw()
