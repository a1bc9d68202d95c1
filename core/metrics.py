"""Per-step metrics files: CSV or JSON Lines, columns run,step,epoch,train_loss,test_loss,train_acc,test_acc.

`run` tells runs in one file apart: the dashboard's reset starts the steps at 1 again, in run 2.

Row k describes update k: train_loss is the loss of the forward pass that produced it, and the
other columns are measured on the same parameters. A value that was not measured (no test set)
is an empty CSV cell or a JSON null.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

COLUMNS = ("run", "step", "epoch", "train_loss", "test_loss", "train_acc", "test_acc")


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

    def write(self, rows: list[tuple], run: int = 1) -> None:
        """Rows of (step, epoch, train_loss, test_loss, train_acc, test_acc) of run number `run`."""
        rows = [(run, *row) for row in rows]
        if self.jsonl:
            for row in rows:
                rec = {k: (v if isinstance(v, int) or math.isfinite(v) else None) for k, v in zip(COLUMNS, row)}
                self.fh.write(json.dumps(rec) + "\n")
        else:
            self.fh.write("".join(",".join(map(_cell, row)) + "\n" for row in rows))

    def close(self) -> None:
        self.fh.flush()
        self.fh.close()
