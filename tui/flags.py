"""The command line's flags: one per RunConfig field, grouped, with defaults shown, one-line errors
(with "did you mean") instead of argparse's usage-and-exit. TOML keys are the same names.
"""

from __future__ import annotations

import argparse
import difflib
import re

from ..core.backprop import BACKPROPS
from ..core.config import DTYPES, ConfigError, RunConfig, _format, parse_features, parse_hidden, version
from ..core.data import DATASETS
from ..core.errors import clip
from ..core.features import FEATURES
from ..core.network import ACTIVATIONS, INITS
from ..core.optim import OPTIMIZERS


class OneLineParser(argparse.ArgumentParser):
    """argparse that raises ConfigError (one line) instead of printing usage and exiting."""

    def error(self, message: str):
        raise ConfigError(message)


def _number(kind):
    def convert(text: str):
        try:
            return kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{clip(text)!r}: expected {'an integer' if kind is int else 'a number'}"
            ) from None

    convert.__name__ = kind.__name__
    return convert


def _hidden_arg(text: str) -> tuple[int, ...]:
    try:
        return parse_hidden(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(f"{clip(text)}: {e.allowed}") from None


def _features_arg(text: str) -> tuple[str, ...]:
    try:
        return parse_features(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(f"{clip(text)}: {e.allowed}") from None


EXAMPLES = """\
examples:
  ffnn-tui --dataset spiral --classes 3 --hidden 32,32 --optimizer adam --lr 0.01
  ffnn-tui --headless --dataset moons --noise 0.1 --epochs 2000 --metrics run.csv --save run.pt
  ffnn-tui --dataset xor --hidden 16 --dump-config > xor.toml && ffnn-tui --config xor.toml --headless --export xor.npz

subcommands: 'ffnn-tui bench --help' (throughput against the tutorial's loop),
'ffnn-tui serve --help' (the dashboard in a browser)"""


def build_parser() -> argparse.ArgumentParser:
    """Flags for every RunConfig field; absent flags stay absent so the TOML file can fill them.
    Grouped as --help shows them; every option's help ends with its default."""
    p = OneLineParser(
        prog="ffnn-tui",
        argument_default=argparse.SUPPRESS,
        add_help=True,
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Watch a from-scratch feed-forward network learn, live in your terminal.",
        epilog=EXAMPLES,
    )
    p.add_argument(
        "-V", "--version", action="version", version=f"ffnn-tui {version()}", help="print the version and exit"
    )
    defaults = RunConfig()

    def group(title: str):
        g = p.add_argument_group(title)

        def add(flag: str, help: str, default: str | None = None, **kw):
            name = flag[2:].replace("-", "_")
            if default is None:
                value = getattr(defaults, name, None)
                default = "off" if value is False else "none" if value is None else _format(value)
            g.add_argument(flag, help=f"{help} (default: {default})", **kw)

        return add

    add = group("data")
    add("--dataset", f"one of {', '.join(DATASETS)}", choices=DATASETS, metavar="NAME")
    add("--data", "your own points: rows x1,x2,label; overrides --dataset and --noise", metavar="FILE.csv")
    add("--samples", "points to generate (train + test)", type=_number(int), metavar="N")
    add("--noise", "Gaussian jitter added to generated points", type=_number(float), metavar="F")
    add("--classes", "classes for spiral, blobs and circles (2..10)", type=_number(int), metavar="K")
    add("--test-fraction", "held-out fraction (0..0.9)", type=_number(float), metavar="F")
    add = group("model")
    add(
        "--features",
        f"the network's input columns, a comma list of {', '.join(FEATURES)}",
        type=_features_arg,
        metavar="F[,F...]",
    )
    add(
        "--hidden",
        "hidden layer widths, e.g. 8 or 16,16; 0 = none (a linear model)",
        type=_hidden_arg,
        metavar="W[,W...]",
    )
    add("--activation", f"one of {', '.join(ACTIVATIONS)}", choices=ACTIVATIONS, metavar="NAME")
    add("--init", f"one of {', '.join(INITS)}", choices=INITS, metavar="NAME")
    add = group("training")
    add("--lr", "learning rate", type=_number(float), metavar="F")
    add("--optimizer", f"one of {', '.join(OPTIMIZERS)}", choices=OPTIMIZERS, metavar="NAME")
    add("--weight-decay", "L2 weight decay, on every parameter (biases included)", type=_number(float), metavar="F")
    add("--l1", "L1 penalty F * sum|p|, on every parameter (biases included)", type=_number(float), metavar="F")
    add("--batch-size", "mini-batch size; 0 = full batch", type=_number(int), metavar="N")
    add("--backprop", "manual (hand-derived) or autograd", choices=BACKPROPS, metavar="MODE")
    add("--seed", "seed for data, split, weights and batch order", type=_number(int), metavar="N")
    add("--device", "auto, cpu, cuda, cuda:N or mps", metavar="DEV")
    add("--dtype", "float32 or float64", choices=DTYPES, metavar="T")
    add = group("run control")
    add("--epochs", "stop after N epochs; 0 = until stopped", type=_number(int), metavar="N")
    add("--headless", "no UI: progress on stderr, summary on stdout", action="store_true")
    add("--quiet", "headless: no progress lines, only the summary and errors", action="store_true")
    add("--resume", "continue a saved run", metavar="PATH")
    add("--init-params", "start from these parameters", metavar="PATH")
    add("--config", "read options from a TOML file (flags win)", metavar="FILE.toml")
    add(
        "--dump-config",
        "print the run's options as TOML (what --config reads) and exit",
        default="off",
        action="store_true",
    )
    add = group("output")
    add("--metrics", "one row per step to FILE.csv or FILE.jsonl", metavar="FILE")
    add("--save", "checkpoint written at the end, on c and on signals", metavar="PATH")
    add("--save-every", "also save every N steps (needs --save)", type=_number(int), metavar="N")
    add(
        "--export",
        "weights to PATH.safetensors, .npz or .json: at the end (headless), on e (dashboard)",
        metavar="PATH",
    )
    add = group("dashboard")
    add("--paused", "start the dashboard paused at step 0", action="store_true")
    add("--ui-hz", "dashboard redraws per second (0.5..60)", type=_number(float), metavar="HZ")
    add(
        "--ascii",
        "ASCII only: no box drawing, braille or symbols (automatic under TERM=dumb, vt100, linux "
        "or a non-UTF-8 locale)",
        action="store_true",
    )
    return p


def did_you_mean(parser: argparse.ArgumentParser, message: str) -> str:
    """'; did you mean --lr?' for the first unknown --flag in argparse's message ('' when nothing is close).
    A prefix of exactly one flag is suggested first, since abbreviations are not accepted (allow_abbrev=False)."""
    m = re.search(r"unrecognized arguments: .*?(--[\w-]+)", message)
    if not m:
        return ""
    typed = m.group(1).split("=")[0]
    options = [o for a in parser._actions for o in a.option_strings if o.startswith("--")]
    prefixed = [o for o in options if o.startswith(typed)]
    close = prefixed if len(prefixed) == 1 else difflib.get_close_matches(typed, options, n=1, cutoff=0.6)
    return f"; did you mean {close[0]}?" if close else ""


def _with_choice_errors(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    try:
        return parser.parse_args(argv)
    except ConfigError as e:
        msg = str(e)
        m = re.match(r"argument (--[\w-]+): (?:invalid choice: (.*?) \(choose from (.*)\)|(.*))$", msg)
        if m and m.group(2) is not None:
            raise ConfigError(
                f"{m.group(1)} {clip(m.group(2).strip(chr(39)))}: expected one of {m.group(3).replace(chr(39), '')}"
            ) from None
        if m:
            raise ConfigError(f"{m.group(1)} {m.group(4)}") from None
        raise ConfigError(f"{msg}{did_you_mean(parser, msg)} (see ffnn-tui --help)") from None


def parse_flags(argv: list[str]) -> dict:
    """Only the flags given on the command line, as {field: value}."""
    return vars(_with_choice_errors(build_parser(), argv))
