"""How the dashboard runs and ends: run it in this terminal, then make sure the process ends even
when an engine is stuck in a step or the terminal has gone away."""

from __future__ import annotations

import asyncio
import os
import sys
import threading

from ..core.config import RunConfig
from .dashboard import Dashboard
from .engine import STOP_WAIT

QUIT_WAIT = STOP_WAIT + 2.0
"""Seconds quitting waits for the engine to stop (and save) before leaving without it."""
FORCE_EXIT_AFTER = 2.0
"""Seconds after quitting with a stuck engine before the process ends itself."""


class Ending(Dashboard):
    """Quit, signals and shutdown (mixed into FfnnApp)."""

    async def action_quit(self) -> None:
        await self.shutdown(0)

    def on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM: stop the engine, save if --save, restore the terminal, exit 128+N.
        A second signal, or a shutdown that cannot finish (the terminal is gone), ends the process."""
        code = 128 + signum
        if self.exit_code:  # already shutting down: the user insists
            force_exit(self.exit_code)
        if self.exit_guard is not None:
            self.exit_guard(code, QUIT_WAIT + FORCE_EXIT_AFTER)
        self.run_worker(self.shutdown(code), group="shutdown")

    async def shutdown(self, code: int) -> None:
        """Stop the engine (it saves the checkpoint when --save is set) and exit with `code`."""
        if self.exit_code:
            return
        self.exit_code = code
        try:
            ended = await asyncio.wait_for(asyncio.to_thread(self.engine.stop, STOP_WAIT), timeout=QUIT_WAIT)
        except Exception:  # a hung engine must not block quitting
            ended = False
        self.farewell = self.farewell or self.engine.farewell  # e.g. saved the last completed step instead
        if not ended and self.exit_guard is not None:
            self.exit_guard(code, FORCE_EXIT_AFTER)
        self.exit(return_code=code)


def run_dashboard(cfg: RunConfig) -> int:
    """Run the app in this terminal, training in a child process; return its exit code."""
    from .app import FfnnApp
    from .plain import plain_terminal

    app = FfnnApp(cfg, ascii=cfg.ascii or plain_terminal())
    app.exit_guard = exit_guard
    app.run()
    if app.farewell:
        print(app.farewell, file=sys.stderr, flush=True)
    return app.return_code if app.return_code is not None else app.exit_code


def exit_guard(code: int, after: float) -> None:
    """End the process with `code` after `after` seconds unless it has ended by then: an engine
    stuck in a step blocks interpreter exit, and a terminal that has gone away (SIGHUP) can leave
    Textual's shutdown waiting on its writer for ever."""
    timer = threading.Timer(after, force_exit, args=(code,))
    timer.daemon = True
    timer.start()


def force_exit(code: int) -> None:
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)
