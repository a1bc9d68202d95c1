"""Per-step metrics files: CSV or JSON Lines, columns step,epoch,train_loss,test_loss,train_acc,test_acc.

Row k describes update k: train_loss is the loss of the forward pass that produced it, and the
other columns are measured on the same parameters. A value that was not measured (no test set)
is an empty CSV cell or a JSON null.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

COLUMNS = ("step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc")


def _cell(v) -> str:
    if isinstance(v, int):
        return str(v)
    return "" if not math.isfinite(v) else repr(float(v))


class MetricsWriter:
    """Appends rows to a .csv or .jsonl file; `append=True` continues a resumed run's file."""

    def __init__(self, path: str | Path, append: bool = False):
        self.path = Path(path).expanduser()
        self.jsonl = self.path.suffix.lower() == ".jsonl"
        fresh = not append or not self.path.exists() or self.path.stat().st_size == 0
        self.fh = open(self.path, "w" if fresh else "a", encoding="utf-8", buffering=1 << 16)
        if fresh and not self.jsonl:
            self.fh.write(",".join(COLUMNS) + "\n")
        self.fh.flush()
        self.good = self.fh.tell()
        """Size of the file up to its last whole row."""

    def write(self, rows: list[tuple]) -> None:
        """Rows of (step, epoch, train_loss, test_loss, train_acc, test_acc), flushed. A failed
        write (a full disk) is cut back to the last whole row before the OSError goes up, so the
        file never ends in a torn row."""
        if self.jsonl:
            text = "".join(json.dumps({k: (v if isinstance(v, int) or math.isfinite(v) else None)
                                       for k, v in zip(COLUMNS, row)}) + "\n" for row in rows)
        else:
            text = "".join(",".join(map(_cell, row)) + "\n" for row in rows)
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
