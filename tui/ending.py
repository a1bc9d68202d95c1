"""How the dashboard runs and ends: run it in this terminal, then make sure the process ends even
when an engine is stuck in a step or the terminal has gone away."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import sys
import termios
import threading
import time
from typing import Any, Callable

from textual import messages

from ..core.config import RunConfig
from .dashboard import Dashboard
from .engine import STOP_WAIT
from .stop_flag import StopFlag

QUIT_WAIT = STOP_WAIT + 2.0
"""Seconds quitting waits for the engine to stop (and save) before leaving without it."""
FORCE_EXIT_AFTER = 2.0
"""Seconds after quitting with a stuck engine before the process ends itself."""
INSIST_WAIT = 1.0
"""Seconds a second signal (or the exit guard) gives the training process to stop on its own before
it is killed, its last completed step saved from the kept bytes if it was not saved (Engine.rescue)."""


class Ending(Dashboard):
    """Quit, signals and shutdown (mixed into FfnnApp)."""

    async def action_quit(self) -> None:
        await self.shutdown(0)

    def signal_arrived(self, loop: asyncio.AbstractEventLoop, signum: int, frame: object = None) -> None:
        """The signal handler proper: Python runs it in the main thread even while the event loop is
        stuck (a terminal that stopped reading fills Textual's write queue and blocks the loop), so
        it arms the exit guard first, then hands the orderly shutdown to the loop."""
        if self.exit_guard is not None and not self.exit_code:
            self.exit_guard(128 + signum, QUIT_WAIT + FORCE_EXIT_AFTER)
        loop.call_soon_threadsafe(self.on_signal, signum)

    def on_signal(self, signum: int) -> None:
        """SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM: stop the engine, save if --save, restore the terminal, exit 128+N.
        A second signal, or a shutdown that cannot finish (the terminal is gone), ends the process."""
        code = 128 + signum
        if self.terminal_lost and signum == signal.SIGHUP:  # the hangup check_terminal already handles
            return
        if self.exit_code:  # already shutting down: the user insists
            force_exit(self.exit_code, lambda: self.farewell, lambda: restore_terminal(self._driver), self.end_engine)
        self.run_worker(self.shutdown(code), group="shutdown")

    async def _on_exit_app(self, message: messages.ExitApp) -> None:  # type: ignore[override]  # Textual passes the message to a handler that takes it
        """Textual's exit. One that did not come through App.exit (shutdown's last act, which sets
        the return code) came from the driver: in a browser, textual-serve's quit when the tab
        closes or the server stops. It ended the app at once, the engine killed on unmount and
        --save never written; it now quits as q does, the run saved first, then exits."""
        if self.return_code is None:
            message.prevent_default()  # not App's handler, yet: shutdown ends with App.exit
            self.run_worker(self.shutdown(self.exit_code), group="shutdown")

    def watch_terminal(self) -> None:
        """On mount: remember the terminal the app reads, if it reads one (not under the test
        driver nor in a browser), for check_terminal."""
        fd = getattr(self._driver, "fileno", None)
        self.terminal_fd = fd if isinstance(fd, int) and os.isatty(fd) else None

    def check_terminal(self) -> None:
        """Once a second (the watchdog): a terminal that has gone away ends the run as SIGHUP does
        (saved, exit 129). The kernel sends SIGHUP only to the terminal's own session, so a
        dashboard outside it (`setsid`) got none: it ran on for ever, no checkpoint written, its
        input thread spinning a core on the hung-up terminal (which reads as end of file)."""
        if self.terminal_fd is None or self.exit_code or self.terminal_lost:
            return
        if os.isatty(self.terminal_fd):  # a hung-up terminal fails isatty (EIO)
            return
        self.terminal_lost = True
        if self.exit_guard is not None:
            self.exit_guard(128 + signal.SIGHUP, QUIT_WAIT + FORCE_EXIT_AFTER)
        self.run_worker(self.shutdown(128 + signal.SIGHUP), group="shutdown")

    def end_engine(self) -> None:
        """For an exit that cannot wait for the orderly stop: the training process gets INSIST_WAIT
        seconds to stop (and save), then is killed, and its last completed step is saved if it was
        not (or a line says why not). Without this a slow step's process outlived the app for a
        minute, orphaned, holding gigabytes."""
        try:
            self.engine.stop(INSIST_WAIT)
        finally:
            self.farewell = self.farewell or self.engine.farewell

    def signal_before_mount(self, stop: StopFlag | None) -> None:
        """A signal that came while the app started (the flag main() installed held it): handled now
        that the engine runs, as any later one is (the run saved, exit 128+N)."""
        if stop is not None and stop.signum:
            self.on_signal(stop.signum)

    async def shutdown(self, code: int) -> None:
        """Stop the engine (it saves the checkpoint when --save is set) and exit with `code`."""
        if self.exit_code:
            return
        self.exit_code = code
        try:
            await asyncio.wait_for(asyncio.to_thread(self.engine.stop, STOP_WAIT), timeout=QUIT_WAIT)
        except Exception:  # a hung engine must not block quitting
            pass
        self.farewell = self.farewell or self.engine.farewell  # e.g. saved the last completed step instead
        if self.engine.save_failed:  # the run's checkpoint was not written: exit 2, as headless does
            code = self.exit_code = 2
        if self.exit_guard is not None:  # the run is saved: restoring the terminal may not hang the exit
            self.exit_guard(code, FORCE_EXIT_AFTER)  # (a terminal that hung up can leave Textual's writer waiting)
        self.exit(return_code=code)


def run_dashboard(cfg: RunConfig, stop: StopFlag | None = None) -> int:
    """Run the app in this terminal, training in a child process; return its exit code. `stop`:
    the flag main() installed, which holds a signal that comes before the app's own handlers."""
    from .app import FfnnApp
    from .plain import plain_terminal

    app = FfnnApp(cfg, ascii=cfg.ascii or plain_terminal())
    app.early_signal = stop
    app.exit_guard = lambda code, after: exit_guard(
        code, after, lambda: app.farewell, lambda: restore_terminal(app._driver), app.end_engine
    )
    app.run()
    if app.farewell:
        print(app.farewell, file=sys.stderr, flush=True)
    return app.return_code if app.return_code is not None else app.exit_code


def exit_guard(
    code: int,
    after: float,
    last_words: Callable[[], str] = str,
    restore: Callable[[], object] = str,
    end_engine: Callable[[], object] = str,
) -> None:
    """End the process with `code` after `after` seconds unless it has ended by then: an engine
    stuck in a step blocks interpreter exit, and a terminal that has gone away (SIGHUP) can leave
    Textual's shutdown waiting on its writer for ever. last_words(): the farewell line, if any;
    restore(): put the terminal back first (see restore_terminal); end_engine(): before all, end
    the training process, its run saved (see Ending.end_engine)."""
    timer = threading.Timer(after, force_exit, args=(code, last_words, restore, end_engine))
    timer.daemon = True
    timer.start()


def force_exit(
    code: int,
    last_words: Callable[[], str] = str,
    restore: Callable[[], object] = str,
    end_engine: Callable[[], object] = str,
) -> None:
    try:
        end_engine()
    except Exception:  # the exit must happen whatever the engine does
        pass
    try:
        restore()
        if words := last_words():
            print(words, file=sys.__stderr__)  # (Textual holds sys.stderr while the app runs)
        for stream in (sys.stdout, sys.stderr, sys.__stderr__):
            if stream is not None:
                stream.flush()
    except Exception:  # a closed or gone terminal: the exit code still says it
        pass
    finally:
        os._exit(code)


LEAVE_APPLICATION_MODE = (
    "\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse off
    "\x1b[?2004l\x1b[?7h\x1b[<u"  # bracketed paste off, line wrap on, kitty keyboard off
    "\x1b[?1049l\x1b[?25h\x1b[?1004l"  # main screen, cursor shown, focus events off
)
"""What Textual's LinuxDriver writes when it stops application mode."""


def restore_terminal(driver: Any) -> None:
    """Put the terminal back as Textual's own shutdown does, for an exit that cannot wait on it (a
    second signal while shutting down, the exit guard): the tty's modes from before the app, then
    the escapes that leave the alternate screen and turn the mouse off. Written without blocking
    and without raising: the terminal may have gone away or stopped reading. A driver that is not
    a terminal's (tests, the browser) has no attrs_before, and nothing is written."""
    attrs = getattr(driver, "attrs_before", None)
    if attrs is None:
        return
    try:
        termios.tcsetattr(driver.fileno, termios.TCSANOW, attrs)
    except (termios.error, OSError, ValueError):
        pass
    try:
        fd = sys.__stderr__.fileno()  # type: ignore[union-attr]  # (None: no stderr, caught below)
        os.set_blocking(fd, False)  # (shared with the shell: blocking again below)
        try:
            write_for(fd, LEAVE_APPLICATION_MODE.encode(), 1.0)
        finally:
            os.set_blocking(fd, True)
    except (OSError, ValueError, AttributeError):
        pass


def write_for(fd: int, data: bytes, seconds: float) -> None:
    """Write data to a non-blocking fd, waiting while it is full (Textual's writer may have just
    filled the terminal's buffer) for at most `seconds`."""
    deadline = time.monotonic() + seconds
    while data and time.monotonic() < deadline:
        try:
            data = data[os.write(fd, data) :]
        except BlockingIOError:
            select.select([], [fd], [], 0.05)
