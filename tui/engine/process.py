"""The process engine (the default): the training loop in a child process of its own, driven
through two one-way pipes.

Why a process: the step loop then runs in a main thread of its own, exactly as `--headless`
runs it. In a thread beside the UI it shared the GIL with every redraw, and torch's OpenMP pool
ran noticeably slower outside the main thread. A process can also be killed, so a step that
hangs is recovered by starting a fresh one, and nothing it prints can reach the terminal.

    app: send() --Command--> child: reader thread -> Inbox -> TrainingLoop
    app: relay thread <--Snapshot | Note | GradChecks | Exited-- child
"""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import threading
from typing import Callable

from ...core.config import RunConfig
from ..stop_flag import STOP_SIGNALS  # the app saves, restores the terminal and exits 128+N on each
from . import STOP_WAIT, Engine, file_stamp
from .protocol import Command, Event, Exited, Stop

POLL = 0.2
"""Seconds between checks that the child is still alive while no event arrives."""


def child_main(cfg: RunConfig, commands, events, ui_hz: float, after_runs: bool = False) -> None:
    """Entry point of the training process: build the run (reading the CSV and the checkpoint
    once), then train until Stop or until the app's end of the pipe closes."""
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)  # the app decides when to stop (and saves first)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing printed here, by Python or by C++, may reach the terminal
    os.dup2(devnull, 2)
    from ...core.errors import InputError
    from ...core.run import open_trainer
    from .loop import Inbox, TrainingLoop

    send_lock = threading.Lock()

    def emit(event: Event) -> None:
        with send_lock:
            events.send(event)

    try:
        trainer = open_trainer(cfg, after_runs)
    except InputError as e:  # the options were valid but a file was not
        emit(Exited(str(e), bad_input=True))
        return
    except Exception as e:
        emit(Exited(f"could not build the run: {type(e).__name__}: {e}"))
        return
    inbox = Inbox()

    def read_commands() -> None:
        """Feed commands into the inbox; a closed pipe means the app is gone: stop (and save)."""
        try:
            while not isinstance(command := commands.recv(), Stop):
                inbox.put(command)
        except (EOFError, OSError):
            pass
        inbox.put(Stop())

    threading.Thread(target=read_commands, daemon=True, name="commands").start()
    try:
        TrainingLoop(trainer, emit, running=not cfg.paused, ui_hz=ui_hz).run(inbox)
        emit(Exited(""))
    except Exception as e:
        emit(Exited(f"the training process failed: {type(e).__name__}: {e}"))


def prepare() -> None:
    """Start multiprocessing's resource tracker now, while sys.stderr is still the real one: once
    Textual has replaced it, the tracker cannot be started ('bad value(s) in fds_to_keep')."""
    from multiprocessing import resource_tracker

    resource_tracker.ensure_running()


class ProcessEngine(Engine):
    """The parent's handle: start the child, send commands, relay its events, stop or kill it."""

    def __init__(self, emit: Callable[[Event], None], cfg: RunConfig, *, ui_hz: float, after_runs: bool = False):
        super().__init__(emit, cfg.save)
        ctx = mp.get_context("spawn")  # fork after torch's thread pools start is unsafe
        self._commands_r, self._commands = ctx.Pipe(duplex=False)
        self._events, self._events_w = ctx.Pipe(duplex=False)
        self.proc = ctx.Process(
            target=child_main,
            args=(cfg, self._commands_r, self._events_w, ui_hz, after_runs),
            daemon=True,
            name="ffnn-tui-trainer",
        )
        self._lock = threading.Lock()
        self._silenced = threading.Event()
        self._relay = threading.Thread(target=self._relay_events, daemon=True, name="ffnn-tui-relay")

    def start(self) -> None:
        self.proc.start()
        self._commands_r.close()
        self._events_w.close()
        self._relay.start()

    def send(self, command: Command) -> None:
        with self._lock:
            try:
                self._commands.send(command)
            except (OSError, ValueError):  # the child is gone; the relay reports it
                pass

    def _relay_events(self) -> None:
        """Pass the child's events on until its Exited (or its death, reported as one)."""
        while not self._silenced.is_set():
            try:
                if not self._events.poll(POLL):
                    if not self.proc.is_alive():
                        break
                    continue
                event = self._events.recv()
            except (EOFError, OSError):
                self.proc.join(1.0)
                break
            self.heard(event)
            if not self._silenced.is_set():
                self.emit(event)
            if isinstance(event, Exited):
                return
        if not self._silenced.is_set():
            self.emit(Exited(f"the training process ended unexpectedly (exit code {self.proc.exitcode})"))

    def stop(self, timeout: float = STOP_WAIT) -> bool:
        before = file_stamp(self.save_path) if self.save_path else None
        code = self.proc.exitcode  # < 0: killed before the stop (kill -9, the OOM killer), so it never saved
        self.send(Stop())
        self.proc.join(timeout)
        ended = not self.proc.is_alive()
        if not ended:
            self.kill()
            self.rescue(timeout, before)
        elif code is not None and code < 0:
            self.rescue(0, before, killed=-code)
        self._relay.join(POLL * 2)
        return ended

    def kill(self, wait: float = 0.0) -> None:
        self._silenced.set()
        if self.proc.pid is not None:
            self.proc.kill()
            self.proc.join(2.0)
