"""The training process: the dashboard's Trainer runs in a child process, driven by the app's
thread worker through two one-way pipes.

Why a process: the step loop then runs in a main thread of its own, exactly as `--headless` runs
it. In a thread beside the UI it shared the GIL with every redraw, and torch's OpenMP pool ran
noticeably slower outside the main thread. A process can also be killed, so a step that hangs
is recovered by starting a fresh one, and nothing it prints can reach the terminal.

    app thread worker  --(command, arg)-->  child: reader thread -> Control -> train_loop
                       <--Snapshot|Note|GradChecks|Exit--
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from dataclasses import dataclass, replace
from typing import Callable

from ..core.config import RunConfig

STOP_WAIT = 5.0
"""Seconds the parent waits for the child to stop (and save) before killing it."""


@dataclass(frozen=True)
class Exit:
    """The child's last word: why it stopped ('' when asked to)."""

    reason: str


def child_main(cfg: RunConfig, commands, events, ui_hz: float) -> None:
    """Entry point of the training process."""
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_IGN)  # the app decides when to stop (and saves first)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing printed here, by Python or by C++, may reach the terminal
    os.dup2(devnull, 2)
    from .worker import Control, train_loop
    from ..core.trainer import trainer_for

    send_lock = threading.Lock()

    def post(event) -> None:
        with send_lock:
            events.send(event)

    try:
        trainer = trainer_for(cfg)
    except Exception as e:  # validated in the parent already; this is a real failure
        post(Exit(f"could not build the run: {type(e).__name__}: {e}"))
        return
    control = Control(paused=cfg.paused)

    def read_commands() -> None:
        """Feed commands into Control; a closed pipe means the app is gone: stop (and save)."""
        try:
            while True:
                command, arg = commands.recv()
                if command == "stop":
                    break
                control.send(command, arg)
        except (EOFError, OSError):
            pass
        control.stop()

    threading.Thread(target=read_commands, daemon=True, name="commands").start()
    try:
        train_loop(trainer, control, post, lambda: False, ui_hz)
        post(Exit(""))
    except Exception as e:
        post(Exit(f"the training process failed: {type(e).__name__}: {e}"))


def prepare() -> None:
    """Start multiprocessing's resource tracker now, while sys.stderr is still the real one: once
    Textual has replaced it, the tracker cannot be started ('bad value(s) in fds_to_keep')."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class EngineProcess:
    """The parent's handle: start the child, send commands, relay its events, stop or kill it."""

    def __init__(self, cfg: RunConfig, ui_hz: float):
        ctx = mp.get_context("spawn")  # fork after torch's thread pools start is unsafe
        self._commands_r, self._commands = ctx.Pipe(duplex=False)
        self._events, self._events_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(target=child_main, args=(cfg, self._commands_r, self._events_w, ui_hz),
                                daemon=True, name="ffnn-tui-trainer")
        self.proc.start()
        self._commands_r.close()
        self._events_w.close()
        self._lock = threading.Lock()

    def send(self, command: str, arg=None) -> None:
        with self._lock:
            try:
                self._commands.send((command, arg))
            except (OSError, ValueError):  # the child is gone; the relay reports it
                pass

    def relay(self, emit: Callable[[object], None], stopped: Callable[[], bool]) -> str:
        """Pass the child's events to emit() until it exits or stopped(); return why it ended."""
        while not stopped():
            try:
                if not self._events.poll(0.2):
                    if not self.proc.is_alive():
                        return f"the training process ended unexpectedly (exit code {self.proc.exitcode})"
                    continue
                event = self._events.recv()
            except (EOFError, OSError):
                self.proc.join(1.0)
                return f"the training process ended unexpectedly (exit code {self.proc.exitcode})"
            if isinstance(event, Exit):
                return event.reason
            emit(event)
        return ""

    def stop(self, timeout: float = STOP_WAIT) -> None:
        """Ask the child to stop (it saves when --save is set); kill it if it does not."""
        self.send("stop")
        deadline_left = timeout
        self.proc.join(deadline_left)
        if self.proc.is_alive():
            self.kill()

    def kill(self) -> None:
        self.proc.kill()
        self.proc.join(2.0)


def fresh(cfg: RunConfig) -> RunConfig:
    """The options for starting over: same run, not resumed, not from --init-params, paused."""
    return replace(cfg, resume=None, init_params=None, paused=True)
