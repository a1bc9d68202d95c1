"""Per-step metrics files: CSV or JSON Lines, columns run,step,epoch,train_loss,test_loss,train_acc,test_acc.

`run` tells runs in one file apart: the dashboard's reset starts the steps at 1 again, in run 2.

Row k describes update k: train_loss is the loss of the forward pass that produced it, and the
other columns are measured on the same parameters. A value that was not measured (no test set)
is an empty CSV cell or a JSON null.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path

from .errors import InputError, clip_path
from .files import user_path

COLUMNS = ("run", "step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc")
Row = tuple[int, int, float, float, float, float]
"""(step, epoch, train_loss, test_loss, train_acc, test_acc): one metrics row, before its run number."""


def _cell(v: float) -> str:
    if isinstance(v, int):
        return str(v)
    return "" if not math.isfinite(v) else repr(float(v))


class MetricsError(InputError):
    """A metrics file a resumed run cannot continue; str() is one line."""


def _run_and_step(line: bytes, jsonl: bool) -> tuple[int, int] | None:
    """(run, step) of a whole row as written here (run first, then step); None for anything else."""
    if not line.endswith(b"\n"):
        return None  # cut short by a kill mid-write
    m = re.match(rb'\{"run": (\d+), "step": (\d+),' if jsonl else rb"(\d+),(\d+),", line)
    return (int(m.group(1)), int(m.group(2))) if m else None


def last_run(path: str | Path) -> int:
    """The run number of the file's last whole row (0 when it has none, or is not there)."""
    jsonl = Path(path).suffix.lower() == ".jsonl"
    run = 0
    try:
        with open(user_path(path), "rb") as fh:
            for line in fh:
                if (row := _run_and_step(line, jsonl)) is not None:  # (a torn last line is not a row)
                    run = row[0]
    except FileNotFoundError:
        pass
    return run


def resume_cut(path: str | Path, step: int, run: int | None = None) -> int:
    """The size to cut a metrics file to so that a run resumed at `step` of run number `run`
    continues it exactly: just after the last row of (run, step); at step 0, after the earlier
    runs' rows (after the header, when there are none). Rows after it were written after the
    checkpoint (a kill -9 came later) and would repeat. `run` None (a checkpoint that does not
    record it): the last row of `step` in any run, and for step 0 the header. Raises MetricsError
    when rows are missing (none of `step`, or none at all for a checkpoint past step 0), since
    appending would leave a gap, and when a line is not a row of this file's format (CSV or JSON Lines)."""
    jsonl = Path(path).suffix.lower() == ".jsonl"
    header = (",".join(COLUMNS) + "\n").encode()
    header_end, offset, cut, last, before = 0, 0, None, None, None
    with open(user_path(path), "rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            offset += len(line)
            row = _run_and_step(line, jsonl)
            if row is None:
                if not line.endswith(b"\n"):
                    continue  # a torn last line: cut below
                if lineno == 1 and not jsonl and line == header:
                    header_end = offset
                    continue
                raise MetricsError(
                    f"--metrics {clip_path(path)}:{lineno}: not a {'JSON Lines' if jsonl else 'CSV'} "
                    "metrics row written by ffnn-tui; use a new --metrics file"
                )
            last = row
            if row[1] == step and (run is None or row[0] == run):
                cut = offset
            if run is not None and row[0] < run:
                before = offset  # the end of an earlier run's rows: where run `run` begins
    if step == 0:
        return header_end if before is None else before
    if cut is None:
        ends = (
            f"its rows end at {_at(last[1], None if run is None else last[0])}"
            if last is not None
            else "it has no rows"
        )
        raise MetricsError(
            f"--metrics {clip_path(path)}: has no row for {_at(step, run)}, the checkpoint's ({ends}); "
            "rows are missing: use a new --metrics file"
        )
    return cut


def _at(step: int, run: int | None) -> str:
    """'step 20 of run 2', or 'step 20' where the checkpoint does not record its run."""
    return f"step {step}" if run is None else f"step {step} of run {run}"


class MetricsWriter:
    """Appends rows to a .csv or .jsonl file; `append=True` continues a resumed run's file from
    `step`, the checkpoint's (see resume_cut)."""

    def __init__(self, path: str | Path, append: bool = False, step: int = 0, run: int | None = None):
        self.path = user_path(path)
        self.jsonl = self.path.suffix.lower() == ".jsonl"
        if append and self.path.exists():
            os.truncate(self.path, resume_cut(self.path, step, run))
        fresh = not append or not self.path.exists() or self.path.stat().st_size == 0
        self.fh = open(self.path, "w" if fresh else "a", encoding="utf-8", buffering=1 << 16)
        if fresh and not self.jsonl:
            self.fh.write(",".join(COLUMNS) + "\n")
        self.fh.flush()
        self.good = self.fh.tell()
        """Size of the file up to its last whole row."""

    def write(self, rows: list[Row], run: int = 1) -> None:
        """Rows of (step, epoch, train_loss, test_loss, train_acc, test_acc) of run number `run`,
        flushed. A failed write (a full disk) is cut back to the last whole row before the OSError
        goes up, so the file never ends in a torn row."""
        cells = [(run, *row) for row in rows]
        if self.jsonl:
            text = "".join(
                json.dumps({k: (v if isinstance(v, int) or math.isfinite(v) else None) for k, v in zip(COLUMNS, row)})
                + "\n"
                for row in cells
            )
        else:
            text = "".join(",".join(map(_cell, row)) + "\n" for row in cells)
        try:
            self.fh.write(text)
            self.fh.flush()
        except OSError:
            self._cut_to_last_row()
            raise
        self.good = self.fh.tell()

    def _cut_to_last_row(self) -> None:
        try:
            os.ftruncate(self.fh.fileno(), self.good)
        except OSError:
            pass  # the file may be gone or unwritable; nothing more to do

    def close(self) -> None:
        """Close the file; after a failed write, drop what is still buffered instead of raising again."""
        try:
            self.fh.flush()
        except OSError:
            self._cut_to_last_row()
        try:
            self.fh.close()
        except OSError:
            pass  # the buffer could not be written: already cut back to whole rows
