"""`ffnn-tui --headless`: the same Trainer with no UI. Progress lines on stderr about twice a
second, a final summary on stdout, metrics rows to a file, checkpoints at the end and on signals.
"""

from __future__ import annotations

import math
import os
import signal
import sys
import time

from ..core.probes import sample_metrics
from ..core.run import RunLoop
from ..core.state import State
from ..core.trainer import Trainer
from .stop_flag import StopFlag

PROGRESS_EVERY = 0.5  # seconds between progress lines
EXIT_DIVERGED = 3
EXIT_USAGE = 2  # also: the summary could not be written to stdout


def say(line: str) -> None:
    """A line on stderr, a courtesy: once stderr is gone (`2>&1 >/dev/null | head -1`, `2>/dev/full`)
    lines are dropped and the run goes on to its end and its checkpoint. stderr is pointed at
    /dev/null so nothing else fails on it either (Python's own flush at exit included)."""
    try:
        print(line, file=sys.stderr, flush=True)
    except OSError:  # BrokenPipeError, ENOSPC, EBADF
        sys.stderr = open(os.devnull, "w")


def _pct(v: float) -> str:
    return f"{100 * v:.1f}%" if math.isfinite(v) else "-"


def progress_line(tr: Trainer, rate: float) -> str:
    """step 1200  epoch 1200  loss 0.1234  acc 96.2%/95.0%  12,345 steps/s"""
    m = sample_metrics(tr)
    train_loss, train_acc, test_acc = m.train_loss, m.train_acc, m.test_acc
    return (
        f"step {tr.step_count}  epoch {tr.epoch}  loss {train_loss:.4f}  "
        f"acc {_pct(train_acc)}/{_pct(test_acc)}  {rate:,.0f} steps/s"
    )


def eta(tr: Trainer, rate: float) -> str:
    """'  37%  ETA 0:12' (m:ss, or h:mm:ss) when --epochs is set; '' otherwise."""
    total = tr.cfg.epochs * tr.steps_per_epoch
    if not total:
        return ""
    done = min(tr.step_count / total, 1.0)
    left = (total - tr.step_count) / rate if rate > 0 else math.inf
    if not math.isfinite(left):
        return f"  {100 * done:.0f}%  ETA ?"
    h, m, sec = int(left) // 3600, int(left) // 60 % 60, int(left) % 60
    return f"  {100 * done:.0f}%  ETA " + (f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}")


def export_at_end(tr: Trainer) -> None:
    """--export: the final weights, named in a line on stderr."""
    from ..core.export import export_weights

    if tr.cfg.export:
        path = export_weights(tr.params, tr.cfg, tr.step_count, tr.cfg.export)
        if not tr.cfg.quiet:
            print(f"ffnn-tui: weights exported to {path}", file=sys.stderr)


def summary(tr: Trainer, seconds: float, steps: int, command: str | None = None) -> str:
    """The final summary on stdout: what was trained, how it ended, and how to reproduce it.

    steps/s counts only the `steps` taken in this process (a resumed run's earlier ones are not timed).
    """
    m = sample_metrics(tr)  # all four on the final weights
    train_loss, test_loss, train_acc, test_acc = m.train_loss, m.test_loss, m.train_acc, m.test_acc
    rate = steps / seconds if seconds > 0 else 0.0
    lines = [
        f"ffnn-tui: {tr.cfg.data or tr.cfg.dataset} {tr.cfg.arch(tr.data.classes)} on {tr.device}, "
        f"{tr.cfg.optimizer} lr {tr.cfg.lr:g}, backprop {tr.cfg.backprop}",
        f"steps {tr.step_count}  epochs {tr.epoch}  time {seconds:.2f}s  {rate:,.0f} steps/s",
        f"train loss {train_loss:.6f}  test loss {test_loss:.6f}"
        if math.isfinite(test_loss)
        else f"train loss {train_loss:.6f}",
        f"train acc {_pct(train_acc)}  test acc {_pct(test_acc)}",
        f"reproduce: {command or tr.cfg.to_command_line()}",
    ]
    return "\n".join(lines)


def run_headless(tr: Trainer, stop: StopFlag) -> int:
    """Train until done, diverged or signalled (the run loop saves at the end); return the exit code."""
    cfg = tr.cfg
    tr.claim_threads()
    t0 = last = time.perf_counter()
    s0 = s_last = tr.step_count
    warned = False
    with RunLoop(tr) as run:
        while run.can_step and not stop.signum:
            run.advance()
            if run.metrics_error and not warned:
                say(f"ffnn-tui: warning: {run.metrics_error}; training goes on")
                warned = True
            if (now := time.perf_counter()) - last >= PROGRESS_EVERY:
                tr.flush()
                rate = (tr.step_count - s_last) / (now - last)
                if not cfg.quiet:
                    say(progress_line(tr, rate) + eta(tr, rate))
                last, s_last = now, tr.step_count
        tr.flush()
        elapsed = time.perf_counter() - t0
    if run.metrics_error and not warned:
        say(f"ffnn-tui: warning: {run.metrics_error}")
    export_at_end(tr)
    summary_lost = not print_summary(summary(tr, elapsed, tr.step_count - s0, run.command_line()))
    if stop.signum:
        say(
            f"ffnn-tui: stopped by signal {signal.Signals(stop.signum).name} at step {tr.step_count}"
            + (f"; checkpoint saved to {cfg.save}" if cfg.save else "")
        )
        return 128 + stop.signum
    if tr.outcome is State.DIVERGED:
        say(f"ffnn-tui: the run diverged: {tr.reason}")
        return EXIT_DIVERGED
    return EXIT_USAGE if summary_lost else 0


def print_summary(text: str) -> bool:
    """The summary on stdout; False, with one line on stderr, when stdout cannot take it
    (`>/dev/full`). The run itself has ended and its checkpoint is saved by then."""
    try:
        print(text, flush=True)
        return True
    except BrokenPipeError:  # the reader went away (`| head`): the command line ends quietly, 141
        raise
    except OSError as e:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # quiet at exit too
        say(f"ffnn-tui: error: cannot write the summary to standard output ({e.strerror or e})")
        return False
