"""RunConfig: every option of a run, from defaults < --config file.toml < flags, validated once.

A bad value raises ConfigError with one line naming the option, the value and what is allowed.
`to_command_line()` prints the exact command that reproduces the run.
"""

from __future__ import annotations

import difflib
import json
import math
import os
import resource
import shlex
import tomllib
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .backprop import BACKPROPS
from .data import DATASETS, MAX_CLASSES, TWO_CLASS_ONLY, held_out
from .device import DEVICE_CHOICES, DEVICE_NAME
from .errors import InputError, clip, clip_path
from .features import DEFAULT_FEATURES, FEATURES
from .files import (
    MAX_CHECKPOINT_BYTES,
    MAX_CSV_BYTES,
    MAX_TOML_BYTES,
    PathError,
    check_input,
    check_output,
    open_input,
    same_file,
)
from .network import ACTIVATIONS, INITS
from .optim import OPTIMIZERS

DTYPES = ("float32", "float64")
DTYPE_BYTES = {"float32": 4, "float64": 8}
MAX_SAMPLES = 50_000_000
MAX_WIDTH = 4096
MAX_LAYERS = 8
EXPORT_SUFFIXES = (".safetensors", ".npz", ".json")
DEFAULT_UI_HZ = 4.0  # chosen by measurement: see the README's Performance section
SPEEDS = ("1", "10", "100", "1000", "max")
"""The dashboard's paces, slowest first: steps per second, or flat out."""


class ConfigError(InputError):
    """A bad option; str() is the one line shown to the user. `name`, `value` and `allowed` let
    merge() name the value's source instead of the flag: `cfg.toml: lr`, `run.pt: config.lr`."""

    def __init__(self, message: str, name: str | None = None, value: object = None, allowed: str = ""):
        super().__init__(message)
        self.name, self.value, self.allowed = name, value, allowed


@dataclass(frozen=True)
class RunConfig:
    """Every option of a run. Field names are the TOML keys; flags are the same with '-' for '_'."""

    dataset: str = "linear"
    """Generated dataset (ignored when `data` is set)."""
    data: str | None = None
    """CSV file of rows x1,x2,label."""
    samples: int = 80
    """Number of generated points (train + test)."""
    noise: float = 0.0
    """Std-dev of Gaussian jitter added to generated points."""
    classes: int = 2
    """Number of classes for spiral, blobs and circles."""
    test_fraction: float = 0.2
    """Fraction of points held out for testing."""
    features: tuple[str, ...] = DEFAULT_FEATURES
    """The network's input columns, computed from each point (x1, x2): core/features.py."""
    hidden: tuple[int, ...] = (8,)
    """Hidden layer widths; () is the linear model (no hidden layer, `--hidden 0`)."""
    activation: str = "relu"
    init: str = "normal"
    lr: float = 0.07
    optimizer: str = "sgd"
    weight_decay: float = 0.0
    """L2 penalty: adds weight_decay * p to every parameter's gradient (biases included), in the optimizer."""
    l1: float = 0.0
    """L1 penalty l1 * sum |p| over every parameter (biases included, as weight_decay): its gradient
    l1 * sign(p) is added in the backward pass. The reported loss is the data loss without it."""
    batch_size: int = 0
    """0 = full batch, as in the tutorial."""
    backprop: str = "manual"
    epochs: int = 0
    """Stop after this many epochs; 0 = until paused or quit."""
    seed: int = 0
    device: str = "auto"
    dtype: str = "float32"
    at: tuple[str, ...] = ()
    """Edits still to come, in order: `STEP:key=value[,key=value...]` (core/schedule.py)."""
    headless: bool = False
    metrics: str | None = None
    save: str | None = None
    save_every: int = 0
    """Save a checkpoint every N steps (needs --save); 0 = only at the end and on signals."""
    resume: str | None = None
    init_params: str | None = None
    paused: bool = False
    ui_hz: float = DEFAULT_UI_HZ
    export: str | None = None
    """Weights file (.safetensors, .npz or .json) written at the end of a headless run; the dashboard's `e`."""
    quiet: bool = False
    """Headless: no progress lines."""
    ascii: bool = False
    """Dashboard: ASCII only (also chosen automatically on plain terminals)."""
    speed: str = "max"
    """Dashboard: steps per second (one of SPEEDS); max = flat out. Headless ignores it."""
    config: str | None = field(default=None, compare=False)
    """The TOML file the options came from, if any (not part of the run's identity)."""

    # ----- derived -----
    def arch(self, classes: int | None = None) -> str:
        """'2-8-2 relu'; a linear model (no hidden layer) is '2-2 linear'."""
        widths = [len(self.features), *self.hidden, classes or self.classes]
        return "-".join(map(str, widths)) + f" {self.activation if self.hidden else 'linear'}"

    def to_command_line(self) -> str:
        """The command that reproduces this run (options that differ from the defaults, plus the seed)."""
        parts = ["ffnn-tui"]
        default = RunConfig()
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "config" or (value == getattr(default, f.name) and f.name != "seed"):
                continue
            flag = "--" + f.name.replace("_", "-")
            if f.name == "at":
                continue
            if isinstance(value, bool):
                parts.append(flag)
            else:
                parts += [flag, _format(value)]
        parts += [part for edit in self.at for part in ("--at", edit)]  # last: one per edit, in the order they apply
        return shlex.join(parts)

    def to_toml(self) -> str:
        """The run as a TOML file that `--config` reads back to the same RunConfig (None options are left out)."""
        lines = [f"# ffnn-tui {version()}: {self.to_command_line()}"]
        default = RunConfig()
        for f in fields(self):
            value = getattr(self, f.name)
            unused = self.data and f.name in ("dataset", "noise") and value == getattr(default, f.name)
            if f.name != "config" and value is not None and not unused:  # (an unused default would warn)
                lines.append(f"{f.name} = {_toml_value(value)}")
        return "\n".join(lines) + "\n"

    def to_dict(self) -> dict[str, Any]:
        """Plain types only (for checkpoints and TOML)."""
        d = asdict(self)
        d["hidden"] = list(self.hidden)
        d["at"] = list(self.at)
        d["features"] = list(self.features)
        return d


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # floats keep every digit: 0.07, 1e-05 (valid TOML); ints stay ints
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(map(_toml_value, value)) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def _format(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value)) or "0"  # no hidden layer: --hidden 0
    if isinstance(value, float):
        return repr(value) if value != int(value) or abs(value) >= 1e16 else str(value)
    return str(value)


CHOICES = {
    "dataset": DATASETS,
    "activation": ACTIVATIONS,
    "init": INITS,
    "optimizer": OPTIMIZERS,
    "backprop": BACKPROPS,
    "dtype": DTYPES,
}
_TYPES = {f.name: f.type for f in fields(RunConfig)}


PATHS = ("data", "metrics", "save", "resume", "init_params", "config")
"""Options that name files: their values are quoted by their tail, where the file name is."""


def _fail(name: str, value: object, allowed: str) -> ConfigError:
    return ConfigError(f"--{name.replace('_', '-')} {_shown(name, value)}: {allowed}", name, value, allowed)


def _shown(name: str | None, value: object) -> str:
    return clip_path(value) if name in PATHS and isinstance(value, str) else clip(value)


def parse_hidden(value: object) -> tuple[int, ...]:
    """'16,16', 16, [16, 16] -> (16, 16); 0, '0' or [] -> () (no hidden layer); raises ConfigError."""
    allowed = (
        f"expected widths like 8 or 16,16 (1..{MAX_WIDTH} each, at most {MAX_LAYERS} layers), or 0 for no hidden layer"
    )
    if isinstance(value, bool):
        raise _fail("hidden", value, allowed)
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        try:
            items = [int(v) for v in value.split(",")]
        except ValueError:
            raise _fail("hidden", value, allowed) from None
    elif isinstance(value, (list, tuple)) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        items = list(value)
    else:
        raise _fail("hidden", value, allowed)
    if items in ([0], []):
        return ()  # the linear model: logits = X @ W1 + b1
    if not 1 <= len(items) <= MAX_LAYERS or not all(1 <= v <= MAX_WIDTH for v in items):
        raise _fail("hidden", value, allowed)
    return tuple(items)


def steps_per_second(speed: str) -> float | None:
    """The pace a --speed asks for; None for max (flat out)."""
    return None if speed == "max" else float(speed)


def parse_features(value: object) -> tuple[str, ...]:
    """'x1,x2,x1^2' or ['x1', 'x2', 'x1^2'] -> ('x1', 'x2', 'x1^2'): known names, none twice, at
    least one; spaces are ignored. Raises ConfigError (naming the closest name to a mistyped one)."""
    allowed = "expected a comma list of " + ", ".join(FEATURES)
    if isinstance(value, str):
        items = value.split(",")
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        items = list(value)
    else:
        raise _fail("features", value, allowed)
    names = tuple("".join(v.split()) for v in items)
    if not names or not all(names):
        raise _fail("features", value, allowed)
    for name in names:
        if name not in FEATURES:
            close = difflib.get_close_matches(name, FEATURES, n=1, cutoff=0.5)
            hint = f"unknown feature {clip(name)!r}" + (f" (did you mean {close[0]}?)" if close else "")
            raise _fail("features", value, f"{hint}; {allowed}")
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    if twice:
        raise _fail("features", value, f"{twice[0]} is given twice; {allowed}")
    return names


def _coerce(name: str, value: object) -> object:
    """Check a TOML value's type against the field's; ints are accepted for floats."""
    kind = _TYPES[name]
    if name == "hidden":
        return parse_hidden(value)
    if name == "speed" and isinstance(value, int) and not isinstance(value, bool):
        return str(value)  # speed = 100 reads as --speed 100
    if name == "at":
        if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            return tuple(value)
        raise _fail(name, value, 'expected a list of edits like ["5000:lr=0.14", "9000:activation=tanh"]')
    if name == "features":
        return parse_features(value)
    if "bool" in kind:
        if isinstance(value, bool):
            return value
        raise _fail(name, value, "expected true or false")
    if "int" in kind:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise _fail(name, value, "expected an integer")
    if "float" in kind:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if isinstance(value, int) and abs(value) > 1e308:  # float() of 10**400 raises OverflowError
                raise _fail(name, value, "expected a finite number")
            return float(value)
        raise _fail(name, value, "expected a number")
    if isinstance(value, str):
        return value
    raise _fail(name, value, "expected a string")


MAX_PENALTY = 1e6
"""The largest --weight-decay and --l1 (bench --l1 too): far beyond any useful penalty; the range is said in the error."""
PENALTY_RANGE = f"expected a number 0..{MAX_PENALTY:,.0f}"


def _check_range(name: str, value: float, lo: float, hi: float, what: str) -> None:
    if not (lo <= value <= hi and math.isfinite(value)):  # compared first: isfinite(10**400) raises
        raise _fail(name, value, what)


def validate(cfg: RunConfig) -> RunConfig:
    """Raise ConfigError for the first bad option; return cfg unchanged otherwise."""
    for name, choices in CHOICES.items():
        if getattr(cfg, name) not in choices:
            raise _fail(name, getattr(cfg, name), "expected one of " + ", ".join(choices))
    parse_hidden(cfg.hidden)
    parse_features(cfg.features)
    _check_range("samples", cfg.samples, 2, MAX_SAMPLES, f"expected an integer 2..{MAX_SAMPLES:,}")
    _check_range("noise", cfg.noise, 0, 100, "expected a number 0..100")
    _check_range("classes", cfg.classes, 2, MAX_CLASSES, f"expected an integer 2..{MAX_CLASSES}")
    if cfg.data is None and cfg.dataset in TWO_CLASS_ONLY and cfg.classes != 2:
        raise _fail(
            "classes", cfg.classes, f"dataset {cfg.dataset} has 2 classes; use spiral, blobs or circles for more"
        )
    _check_range("test_fraction", cfg.test_fraction, 0, 0.9, "expected a number 0..0.9")
    if cfg.data is None and held_out(cfg.samples, cfg.test_fraction) >= cfg.samples:  # a CSV's rows: when read
        raise _fail("test_fraction", cfg.test_fraction, f"leaves no training points out of {cfg.samples} samples")
    if not (math.isfinite(cfg.lr) and cfg.lr > 0):
        raise _fail("lr", cfg.lr, "expected a finite number > 0")
    _check_range("weight_decay", cfg.weight_decay, 0, MAX_PENALTY, PENALTY_RANGE)
    _check_range("l1", cfg.l1, 0, MAX_PENALTY, PENALTY_RANGE)
    _check_range("batch_size", cfg.batch_size, 0, MAX_SAMPLES, "expected an integer >= 0 (0 = full batch)")
    _check_range("epochs", cfg.epochs, 0, 10**12, "expected an integer >= 0 (0 = until stopped)")
    _check_range("seed", cfg.seed, 0, 2**63 - 1, "expected an integer 0..2^63-1")
    _check_range("save_every", cfg.save_every, 0, 10**12, "expected an integer >= 0")
    _check_range("ui_hz", cfg.ui_hz, 0.5, 60, "expected a number of redraws per second, 0.5..60")
    if cfg.speed not in SPEEDS:
        raise _fail("speed", cfg.speed, "expected max, 1000, 100, 10 or 1 (steps per second)")
    if not DEVICE_NAME.fullmatch(cfg.device):
        raise _fail("device", cfg.device, DEVICE_CHOICES)
    if cfg.metrics and Path(cfg.metrics).suffix.lower() not in (".csv", ".jsonl"):
        raise _fail("metrics", cfg.metrics, "expected a file name ending in .csv or .jsonl")
    if cfg.export is not None and Path(cfg.export).suffix.lower() not in EXPORT_SUFFIXES:
        raise _fail("export", cfg.export, "expected a file name ending in " + ", ".join(EXPORT_SUFFIXES))
    if cfg.save_every and not cfg.save:
        raise _fail("save_every", cfg.save_every, "needs --save PATH to know where to write")
    if cfg.resume and cfg.init_params:
        raise _fail("init_params", cfg.init_params, "cannot be combined with --resume (resume restores the parameters)")
    _check_memory(cfg)
    _check_files(cfg)
    _check_no_overwrite(cfg)
    if cfg.at:
        from .schedule import check_schedule  # (it imports this module)

        check_schedule(cfg)
    return cfg


def _check_memory(cfg: RunConfig) -> None:
    """Refuse generated data that surely cannot fit in this machine's RAM (found now, not as a
    crash mid-allocation): a lower bound, the points and one batch's activations forward and back."""
    if cfg.data is not None:
        return  # a CSV's size is checked as a file
    item = DTYPE_BYTES[cfg.dtype]
    rows = cfg.batch_size or cfg.samples
    need = cfg.samples * (2 + len(cfg.features) + cfg.classes) * item + 2 * rows * sum(cfg.hidden) * item
    ram, whose = _memory_limit()
    if need > ram:
        raise _fail(
            "samples",
            cfg.samples,
            f"with --hidden {_format(cfg.hidden)} needs at least "
            f"{need / 2**30:,.1f} GiB, more than {whose} {ram / 2**30:,.1f} GiB "
            "(use fewer --samples, a smaller --batch-size or narrower --hidden)",
        )


def _memory_limit() -> tuple[int, str]:
    """(bytes, whose): the machine's RAM, or this process's address-space limit (`ulimit -v`)
    where that is lower, since an allocation past it fails as surely."""
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY and soft < ram:
        return soft, "this process's limit (ulimit -v) of"
    return ram, "this machine's"


INPUT_BYTES = {
    "data": MAX_CSV_BYTES,
    "resume": MAX_CHECKPOINT_BYTES,
    "init_params": MAX_CHECKPOINT_BYTES,
    "config": MAX_TOML_BYTES,
}
"""What each input option reads, at most."""


def _check_files(cfg: RunConfig) -> None:
    """Inputs are readable regular files of bounded size; outputs can be written. Checked here,
    before anything runs, so a path that would fail at the end of a run fails at its start."""
    for name, limit in INPUT_BYTES.items():
        if getattr(cfg, name) is not None:
            try:
                check_input("", getattr(cfg, name), limit)
            except PathError as e:
                raise _fail(name, getattr(cfg, name), e.reason) from None
    for name in ("save", "metrics", "export"):
        if getattr(cfg, name) is not None:
            try:
                check_output("", getattr(cfg, name), replaced=name in ("save", "export"))
            except PathError as e:
                raise _fail(name, getattr(cfg, name), e.reason) from None


def _check_no_overwrite(cfg: RunConfig) -> None:
    """No output may replace an input (or the other output): --metrics pts.csv would write over
    the data. --save equal to --resume is allowed: that is how a run continues in place."""
    outputs = [n for n in ("save", "metrics", "export") if getattr(cfg, n)]
    for out in outputs:
        for other in ("data", "config", "resume", "init_params", "save", "metrics", "export"):
            if other == out or (out, other) == ("save", "resume") or not getattr(cfg, other):
                continue
            if same_file(getattr(cfg, out), getattr(cfg, other)):
                raise _fail(
                    out, getattr(cfg, out), f"is also the --{other.replace('_', '-')} file; writing it would destroy it"
                )


def load_toml(path: str) -> dict[str, object]:
    """Read a TOML file of RunConfig keys; unknown keys and wrong types are ConfigErrors that
    name the file and the key (`cfg.toml: lr x: expected a number`)."""
    try:
        with open_input("--config", path, MAX_TOML_BYTES) as fh:
            raw = tomllib.loads(fh.read().decode("utf-8-sig"))  # a BOM (Windows editors) is not TOML
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"--config {clip_path(path)}: not valid TOML ({clip(e, 120)})") from None
    except RecursionError:  # tomllib recurses once per nesting level
        raise ConfigError(f"--config {clip_path(path)}: nested too deeply to be a config") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"--config {clip_path(path)}: cannot read ({clip(e, 120)})") from None
    known = {f.name for f in fields(RunConfig)} - {"config"}
    values = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in known:
            raise ConfigError(
                f"--config {clip_path(path)}: unknown key {clip(key)!r} (known: {', '.join(sorted(known))})"
            )
        try:
            values[name] = _coerce(name, value)
        except ConfigError as e:
            raise _relabel(e, f"{clip_path(path)}: {clip(key)}") from None
    return values


def _relabel(e: ConfigError, label: str) -> ConfigError:
    """The same error, naming where the value came from instead of the flag."""
    return ConfigError(f"{label} {_shown(e.name, e.value)}: {e.allowed}", e.name, e.value, e.allowed)


def version() -> str:
    """The installed distribution's version ('unknown' when running from an uninstalled tree)."""
    from importlib.metadata import PackageNotFoundError, version as dist_version

    try:
        return dist_version("ffnn-tui")
    except PackageNotFoundError:
        return "unknown"


RUNTIME_ONLY = (
    "headless",
    "metrics",
    "save",
    "save_every",
    "resume",
    "init_params",
    "paused",
    "ui_hz",
    "config",
    "export",
    "quiet",
    "ascii",
    "speed",
)
"""Options that say how to run, not what to train; a resumed run does not inherit them."""


Values = Mapping[str, object]
"""Option values by field name: flags, a TOML file's or a checkpoint's."""


def config_from_dict(saved: Values, origin: str = "checkpoint") -> dict[str, object]:
    """The training options of a saved config (a checkpoint's), type-checked like TOML values;
    an error names `origin: config.key`."""
    known = {f.name for f in fields(RunConfig)} - set(RUNTIME_ONLY)
    values = {}
    for k, v in saved.items():
        if k in known and v is not None:
            try:
                values[k] = _coerce(k, v)
            except ConfigError as e:
                raise _relabel(e, f"{clip_path(origin)}: config.{k}") from None
    return values


def merge(
    flags: Values,
    toml: Values,
    base: Values | None = None,
    *,
    toml_path: str | None = None,
    base_path: str | None = None,
) -> RunConfig:
    """defaults < base (a resumed checkpoint's config) < --config file < flags, validated. An error
    names where the bad value came from: `--lr`, `cfg.toml: lr` or `run.pt: config.lr`."""
    base = base or {}
    values: dict[str, Any] = {**base, **toml, **flags}  # of unchecked types until validate()
    try:
        return validate(replace(RunConfig(), **values))
    except ConfigError as e:
        if e.name in flags or e.name is None:
            raise
        if e.name in toml and toml_path is not None:
            raise _relabel(e, f"{clip_path(toml_path)}: {e.name}") from None
        if e.name in base and base_path is not None:
            raise _relabel(e, f"{clip_path(base_path)}: config.{e.name}") from None
        raise
