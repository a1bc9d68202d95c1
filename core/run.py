"""The one run loop: headless, the dashboard's training process and the benchmark all drive a
Trainer through it. It owns what every driver needs alike: the chunk of steps to take between
looks, the schedule of live edits (`--at`, applied at exactly their steps, and the edits made
by hand, recorded), the metrics file, `--save-every`, and the final save. When to look, when to
pause and when to stop is the driver's business.

    with RunLoop(trainer, cfg) as run:       # opens the metrics file
        while run.can_step and not stopping():
            run.advance()                    # a chunk of steps, then a periodic save if one is due
    # leaving the block flushed the losses, closed the metrics file and saved the checkpoint
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .checkpoint import CheckpointError, check_fits, checkpoint_of, load_checkpoint, load_params, restore, save_atomic
from .config import ConfigError, RunConfig
from .device import SMALL_WORK
from .errors import clip, clip_path
from .files import user_path
from .metrics import MetricsWriter, Row, last_run, resume_cut
from .schedule import POINTS, Edit, parse_edit
from .trainer import Trainer

SMALL_CHUNK = 8
"""Steps per advance() on tiny CPU steps, where the driver's own loop would otherwise show."""


def open_trainer(cfg: RunConfig, after_runs: bool = False) -> Trainer:
    """The Trainer a validated config describes, started from --init-params or continued from
    --resume (each file read once). Raises the core's one-line InputErrors. `after_runs`: a fresh
    run that follows the runs already in its --metrics file (the dashboard starting over in a new
    training process), as the next run number; the file is continued, not emptied."""
    tr = Trainer(cfg)
    if after_runs and cfg.metrics and not cfg.resume:
        tr.run_id = tr.resumed_run = last_run(cfg.metrics) + 1
    if cfg.init_params:
        params = load_params(cfg.init_params)
        check_fits(tr.params, params, f"--init-params {cfg.init_params}")
        tr.restore_params(params)
    if cfg.resume:
        restore(tr, load_checkpoint(cfg.resume), cfg.resume)
        if cfg.metrics and user_path(cfg.metrics).exists():
            resume_cut(cfg.metrics, tr.step_count, tr.resumed_run)  # rows missing is bad input, found before the run
        if cfg.at and (first := parse_edit(cfg.at[0])).step < tr.step_count:
            raise ConfigError(
                f"--at {clip(first)}: the run resumes at step {tr.step_count}; an edit must come at or after it"
            )
    return tr


def save(tr: Trainer, path: str | Path) -> None:
    """Write the run's checkpoint atomically; a full disk is a one-line CheckpointError (the previous file stays whole)."""
    ckpt = checkpoint_of(tr)
    try:
        save_atomic(ckpt, path)
    except OSError as e:
        raise CheckpointError(f"checkpoint {clip_path(path)}: cannot write it ({e.strerror or e})") from None
    except RuntimeError:  # torch's zip writer reports a short write (ENOSPC) as a RuntimeError
        raise CheckpointError(
            f"checkpoint {clip_path(path)}: cannot write it (a short write: is the disk full, or the file past ulimit -f?)"
        ) from None


class RunLoop:
    """Drives one Trainer: chunks of steps, metrics rows, periodic and final saves."""

    def __init__(self, tr: Trainer, cfg: RunConfig | None = None):
        cfg = cfg or tr.cfg
        self.tr = tr
        self.metrics_path = cfg.metrics
        self.append = bool(cfg.resume) or tr.resumed_run is not None
        """A resumed run (or one after the file's runs: open_trainer's after_runs) continues its metrics file."""
        self.save_path = cfg.save
        self.save_every = cfg.save_every
        self.writer: MetricsWriter | None = None
        self.metrics_error = ""
        """Why the metrics file stopped (a full disk), once it has; the driver shows it. Training goes on."""
        self.origin = tr.cfg
        """The options the run started from (the full schedule goes in its `at` for the command line)."""
        self.pending: list[Edit] = [parse_edit(text) for text in tr.cfg.at]
        """Edits still to come, in order (the trainer's cfg.at says the same, for checkpoints)."""
        self.done: list[Edit] = []
        """Edits applied so far, scheduled or by hand, in order."""
        self.marks: list[tuple[int, int, str]] = []
        """(run id, step, label) of each applied edit: a start over marks the new run at step 0."""

    def __enter__(self) -> "RunLoop":
        self.open()
        return self

    def open(self) -> None:
        """Open the metrics file (when --metrics is set); every step then also writes a row."""
        if self.metrics_path:
            self.writer = MetricsWriter(
                self.metrics_path, append=self.append, step=self.tr.step_count, run=self.tr.resumed_run
            )
            self.tr.track_metrics, self.tr.on_rows = True, self._write_rows

    def _write_rows(self, rows: list[Row]) -> None:
        """Metrics are a record of the run, not the run: a failed write stops the file (cut back to
        its last whole row) and is reported once, and training and the final save go on. Rows reach
        the writer at flush time, and a reset starts run_id + 1 with nothing pending."""
        if self.writer is None:  # installed only while the file is open; closing uninstalls it
            return
        try:
            self.writer.write(rows, run=self.tr.run_id)
        except OSError as e:
            self.metrics_error = f"metrics file {self.metrics_path} stopped at step {rows[0][0] - 1}: {e.strerror or e}"
            self._close_metrics()

    def _close_metrics(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
            self.tr.track_metrics, self.tr.on_rows = False, None

    def __exit__(self, *exc: object) -> None:
        self.finish()

    @property
    def can_step(self) -> bool:
        """Whether a step can be taken now, once the edits due at this step are applied (a start
        over due when the run has ended begins the next run)."""
        self._apply_due()
        return self.tr.outcome is None

    # ----- the schedule -----
    def edit(self, changes: dict[str, Any]) -> Edit:
        """An edit made by hand (a key, the options screen, drawn points as data=CSV), applied now
        and recorded at this step, so the command line replays it."""
        e = Edit.of(self.tr.step_count, changes)
        self._apply(e)
        return e

    def drew(self) -> None:
        """Points were drawn or removed by hand (the trainer's set has changed): the clicks between
        two steps are one drawing, recorded at this step as `points=` with no file until ctrl+s names it."""
        e = Edit(self.tr.step_count, ((POINTS, ""),))
        if not (self.done and self.done[-1] == e):
            self.done.append(e)

    def _drawing(self) -> int | None:
        """Index in done of the drawing the training set is now (None: no drawing since the last start over)."""
        for i in range(len(self.done) - 1, -1, -1):
            if self.done[i].starts_over:
                return None
            if self.done[i].changes[0][0] == POINTS:
                return i
        return None

    def name_drawing(self, path: str) -> None:
        """The current training set was saved to `path`: its drawing, if not named yet, replays from it."""
        i = self._drawing()
        if i is not None and self.done[i].changes == ((POINTS, ""),):
            self.done[i] = Edit(self.done[i].step, ((POINTS, path),))

    def replays_from(self, path: str) -> int | None:
        """The step of an earlier drawing that replays from `path` (overwriting it would break the command line)."""
        current = self._drawing()
        return next((e.step for i, e in enumerate(self.done) if e.changes == ((POINTS, path),) and i != current), None)

    def _apply(self, e: Edit) -> None:
        tr = self.tr
        tr.flush()  # the rows before the edit belong to the run as it was
        tr.edit(e.values())
        tr.cfg = replace(tr.cfg, at=tuple(map(str, self.pending)))  # what a checkpoint still has to do
        self.done.append(e)
        self.marks.append((tr.run_id, tr.step_count, e.label()))

    def _apply_due(self) -> None:
        while self.pending and self.pending[0].step <= self.tr.step_count:
            self._apply(self.pending.pop(0))

    def schedule(self) -> tuple[str, ...]:
        """Every edit of the run, applied and to come, as --at values."""
        return tuple(map(str, self.done + self.pending))

    def command_line(self) -> str:
        """The command that reproduces the run, live edits included; while a drawing is not saved, what is missing."""
        unsaved = [str(e.step) for e in self.done if e.changes == ((POINTS, ""),)]
        if unsaved:
            return f"drawn points not saved yet (step {', '.join(unsaved)}): ctrl+s after each drawing"
        return replace(self.origin, at=self.schedule()).to_command_line()

    def marks_of_run(self) -> tuple[tuple[int, str], ...]:
        """(step, label) of the current run's edits, for the loss curve's markers."""
        return tuple((step, label) for run, step, label in self.marks if run == self.tr.run_id)

    def chunk(self) -> int:
        """Steps per advance(): a captured CUDA graph's length, a few tiny CPU steps, else one."""
        tr = self.tr
        return max(tr.preferred_chunk(), SMALL_CHUNK if tr.device.type == "cpu" and tr.work() < SMALL_WORK else 1)

    def advance(self, n: int | None = None) -> int:
        """Take a chunk of steps (or n), then save if a --save-every boundary was crossed. An eager
        chunk ends at the next boundary, so each save is of its step (a CUDA-graph chunk cannot be cut)."""
        self._apply_due()
        before = self.tr.step_count
        n = n or self.chunk()
        if self.pending:  # stop where the next edit is due
            n = min(n, self.pending[0].step - before)
        if self.save_every and self.save_path and self.tr.preferred_chunk() == 1:
            n = min(n, self.save_every - before % self.save_every)
        taken = self.tr.advance(n)
        self._periodic_save(before)
        return taken

    def step_once(self) -> None:
        """One step, its loss copied out at once (the dashboard's `n`)."""
        if self.can_step:  # (applies the edits due first)
            before = self.tr.step_count
            self.tr.step()
            self.tr.flush()
            self._periodic_save(before)

    def _periodic_save(self, before: int) -> None:
        every = self.save_every
        if every and self.save_path and self.tr.step_count // every > before // every:
            save(self.tr, self.save_path)

    def finish(self) -> None:
        """Flush, close the metrics file, write the final checkpoint (when --save is set). Once."""
        try:
            if self.writer is not None:
                self.tr.flush()
                self._close_metrics()
        finally:
            if self.save_path:
                path, self.save_path = self.save_path, None
                save(self.tr, path)
