"""Live edits as a schedule, so a run steered by hand can be replayed: `--at STEP:key=value`.

Every change made during a run (the dashboard's `+`/`-`, `a`, `d`, `r`, `R`, the options screen)
is an Edit: the step it took effect at and the options it set. The run's options keep the
edits still to come in `at` (a checkpoint carries them); core/run.py's RunLoop applies each at
exactly its step and records the ones made by hand, so the reproducing command line lists them all.

    --at 5000:lr=0.14 --at 9000:activation=tanh --at 12000:dataset=spiral,classes=3

- Edits apply in the order given. One edit may set several options (`key=value` pairs joined by
  commas); they change together, at most one start over.
- Live options keep the weights (LIVE). Any other option needs new data or new weights, so the
  run starts over (START_OVER), as `d` does: the next run begins at step 0 (the metrics file's
  `run` + 1), and the steps of the edits after it count from there. Within one run, steps never
  decrease. An edit that sets a START_OVER option starts over even when the value is the same
  one (that is how `r` is written: `STEP:seed=S`).
- Drawn points (the canvas) are a live edit `points=FILE.csv` (POINTS): from that step on the run
  trains on FILE's training rows, weights and optimizer state kept, as the dashboard did (`data=`
  stays a start over, a new run on a CSV). FILE is what ctrl+s wrote: every point, the training
  rows first, then the run's test rows, which never change, so the first rows less as many as the
  run has test rows are the training set (core/data.py drawn_set checks the tail is the test set).
  A drawing (the clicks between two steps) is recorded at its step with no file (`STEP:points=`,
  RunLoop.drew) until ctrl+s names it (RunLoop.name_drawing); while one is unnamed the command line
  says it cannot reproduce the run. Only the current drawing can be named: an earlier one's set is
  gone, so save after each drawing you want to replay (each to its own file).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields, replace
from typing import Any

from .config import CHOICES, ConfigError, RunConfig, _fail, _format, parse_features, parse_hidden
from .data import held_out, read_csv
from .errors import InputError, clip_path
from .files import user_path

POINTS = "points"
"""The edit a drawing is: `points=FILE.csv`, the training set from FILE (not an option of RunConfig)."""
LIVE = ("lr", "optimizer", "weight_decay", "l1", "batch_size", "activation", "backprop", "epochs", POINTS)
"""Options an edit changes while the weights stay."""
START_OVER = ("dataset", "data", "samples", "noise", "classes", "test_fraction", "hidden", "features", "init", "seed")
"""Options whose edit starts the run over (new data or new weights, same seed)."""
EDITABLE = LIVE + START_OVER
SYNTAX = "expected STEP:key=value[,key=value...], e.g. 5000:lr=0.14"
_TYPES = {f.name: f.type for f in fields(RunConfig)}


@dataclass(frozen=True)
class Edit:
    """Options set at a step of a run."""

    step: int
    """The run's step count when it takes effect (before that step's update)."""
    changes: tuple[tuple[str, str], ...]
    """(key, value as written on the command line), in order."""

    def __str__(self) -> str:
        """`5000:lr=0.14`: the --at value, read back by parse_edit to the same Edit."""
        return f"{self.step}:" + ",".join(f"{k}={v}" for k, v in self.changes)

    @classmethod
    def of(cls, step: int, changes: dict[str, Any]) -> Edit:
        """An Edit from typed values (0.14, (16, 16), 'tanh')."""
        return cls(step, tuple((k, _format(v)) for k, v in changes.items()))

    def values(self) -> dict[str, Any]:
        """{key: typed value}."""
        return {k: parse_value(k, v) for k, v in self.changes}

    @property
    def starts_over(self) -> bool:
        return any(k in START_OVER for k, _ in self.changes)

    def label(self) -> str:
        """What the loss curve's marker says: `lr 0.14`, `tanh`, `spiral classes 3`."""
        words = []
        for k, v in self.values().items():
            if k == "lr":
                words.append(f"lr {v:.3g}")
            elif k == POINTS:
                words.append(k)  # as the dashboard marks a drawing
            elif k in ("activation", "dataset", "optimizer"):
                words.append(str(v))
            else:
                words.append(f"{k} {_format(v)}")
        return " ".join(words)


def parse_value(key: str, text: str) -> Any:
    """A value as a flag reads it: numbers, hidden widths, names; raises ValueError or ConfigError."""
    if key == POINTS:
        return text
    kind = _TYPES[key]
    if key == "hidden":
        return parse_hidden(text)
    if key == "features":
        return parse_features(text)
    if "float" in kind:
        return float(text)
    if "int" in kind:
        return int(text)
    return text


def parse_edit(text: str) -> Edit:
    """`5000:lr=0.14,optimizer=adam` -> Edit; a bad one is a ConfigError naming --at and the text."""
    m = re.fullmatch(r"\s*(\d+):(.+)", str(text), re.S)
    if not m:
        raise _fail("at", text, SYNTAX)
    pairs: list[tuple[str, str]] = []
    for part in re.split(r",(?=\s*[a-z][a-z0-9_-]*=)", m.group(2)):
        key, eq, value = part.partition("=")
        key = key.strip().replace("-", "_")
        if not eq:
            raise _fail("at", text, SYNTAX)
        if key not in EDITABLE:
            raise _fail("at", text, f"{key!r} cannot change during a run; expected one of {', '.join(EDITABLE)}")
        if key in dict(pairs):
            raise _fail("at", text, f"{key} is set twice")
        if key == POINTS and not value.strip():
            raise _fail("at", text, "points: expected the CSV the drawn points were saved to (ctrl+s)")
        try:
            parse_value(key, value)
        except ConfigError as e:  # (a ValueError too)
            raise _fail("at", text, f"{key} {value}: {e.allowed}") from None
        except ValueError:
            kind = "an integer" if "int" in _TYPES[key] else "a number"
            raise _fail("at", text, f"{key} {value!r}: expected {kind}") from None
        if key in CHOICES and value not in CHOICES[key]:
            raise _fail("at", text, f"{key} {value}: expected one of {', '.join(CHOICES[key])}")
        pairs.append((key, value))
    return Edit(int(m.group(1)), tuple(pairs))


def edited(cfg: RunConfig, changes: dict[str, Any]) -> RunConfig:
    """The options after an edit. A new dataset drops --data and, as `d` does, has 2 classes unless
    it can have more (or classes is set too); a start over no longer resumes or starts from --init-params."""
    new = replace(cfg, **{k: v for k, v in changes.items() if k != POINTS})  # points: the trainer's data only
    if "dataset" in changes and "data" not in changes:
        new = replace(new, data=None)
        if "classes" not in changes and changes["dataset"] not in ("spiral", "blobs", "circles"):
            new = replace(new, classes=2)
    if any(k in START_OVER for k in changes):
        new = replace(new, resume=None, init_params=None)
    return new


def check_schedule(cfg: RunConfig) -> None:
    """Each --at entry is well formed, its steps do not decrease within a run, and the options it
    leads to pass validation; an error names the entry (`--at 5000:lr=-1: expected a finite number > 0`)."""
    from .config import validate

    current, step = replace(cfg, at=()), 0
    csvs: dict[str, tuple[int, int]] = {}  # data= files read so far: (rows, classes)
    for text in cfg.at:
        e = parse_edit(text)
        if e.step < step:
            raise _fail(
                "at",
                text,
                f"comes after an edit at step {step} of the same run; list edits in the order they apply "
                "(after a start over, steps count from 0 again)",
            )
        for key, value in e.changes:
            if key == POINTS and not user_path(value).exists():  # (a FIFO or a folder: _check_csvs says so)
                raise _fail("at", text, "no such file (expected the CSV ctrl+s saved the drawn points to)")
        try:
            current = validate(edited(current, e.values()))
        except ConfigError as err:
            raise _fail("at", text, err.allowed or str(err)) from None
        _check_csvs(text, e, current, csvs)
        step = 0 if e.starts_over else e.step


def _check_csvs(text: str, e: Edit, cfg: RunConfig, csvs: dict[str, tuple[int, int]]) -> None:
    """The CSVs an edit names are read now, before the run starts, not when its step comes: a
    `data=` file as --data is read, with something left to train on; a `points=` file as a drawing
    of this run (cfg, the options the edit leads to): rows, labels below the run's classes, more
    rows than its test points. That its last rows are those test points is checked when the edit
    applies, when the points exist (exit 2, the checkpoint kept). csvs gathers the data= files' sizes."""
    for key, value in e.changes:
        if key not in ("data", POINTS):
            continue
        label = "--data" if key == "data" else POINTS
        try:
            _, y = read_csv(value, label)  # (N, 2), (N,)
        except InputError as err:
            raise _fail("at", text, str(err).removeprefix(f"{label} {clip_path(value)}: ")) from None
        rows, classes = y.shape[0], int(y.max()) + 1
        if key == "data":
            csvs[value] = (rows, classes)
            if held_out(rows, cfg.test_fraction) >= rows:
                raise _fail("at", text, f"test_fraction {cfg.test_fraction} leaves no training points out of {rows}")
            continue
        run_rows, run_classes = (cfg.samples, cfg.classes) if cfg.data is None else csvs.get(cfg.data, (None, None))
        if run_classes is not None and classes > run_classes:
            raise _fail("at", text, f"labels must be below the run's {run_classes} classes")
        if run_rows is not None and rows <= held_out(run_rows, cfg.test_fraction):
            raise _fail(
                "at",
                text,
                f"its last rows are not this run's {held_out(run_rows, cfg.test_fraction)} test points "
                f"(it has {rows} rows; not saved from it)",
            )
