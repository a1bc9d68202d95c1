"""`ffnn-tui serve [--host H] [--port P] [--public-url URL] [--max-sessions N] [-- DASHBOARD FLAGS]`:
the dashboard in a browser through textual-serve, bound to 127.0.0.1 unless told otherwise.
Needs the `serve` extra.

Every browser tab runs its own `ffnn-tui` dashboard process. Each one is started in a process
group of its own, so that it and its training process can always be ended: when its tab closes,
and when the server stops (ctrl+c, SIGTERM). There is no authentication: anyone who can reach the
port can start training runs and write files as this user.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import os
import shlex
import signal
import socket
import sys

from ..core.config import ConfigError
from ..core.errors import clip, one_line
from .flags import OneLineParser

DEFAULT_MAX_SESSIONS = 4
QUIT_WAIT = 6.0
"""Seconds a dashboard gets to quit by itself (it stops its training process, which may be saving
a checkpoint, within 5 s) before its whole process group is killed."""


def _error(message: str) -> int:
    print(f"ffnn-tui: error: {one_line(message)}", file=sys.stderr)
    return 2


DESCRIPTION = (
    "The dashboard in a browser, one per tab, through textual-serve. No authentication: keep "
    "--host 127.0.0.1 and use an SSH port forward."
)


def parse_args(argv: list[str]) -> argparse.Namespace:
    """serve's own flags; the dashboard's come after `--` (raises ConfigError, one line)."""
    ap = OneLineParser(prog="ffnn-tui serve", description=DESCRIPTION)
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    ap.add_argument(
        "--public-url",
        default=None,
        metavar="URL",
        help="the URL the browser uses to reach this server, e.g. behind a forwarded port (default http://HOST:PORT)",
    )
    ap.add_argument(
        "--max-sessions",
        type=int,
        default=DEFAULT_MAX_SESSIONS,
        metavar="N",
        help=f"dashboards running at once; a further tab is refused (default {DEFAULT_MAX_SESSIONS})",
    )
    ap.add_argument("flags", nargs=argparse.REMAINDER, help="dashboard flags, after --")
    a = ap.parse_args(argv)
    if not 1 <= a.port <= 65535:
        raise ConfigError(f"--port {a.port}: expected 1..65535")
    if a.max_sessions < 1:
        raise ConfigError(f"--max-sessions {a.max_sessions}: expected at least 1")
    if a.public_url is not None and not a.public_url.startswith(("http://", "https://")):
        raise ConfigError(f"--public-url {a.public_url!r}: expected an http:// or https:// URL")
    a.flags = a.flags[1:] if a.flags[:1] == ["--"] else a.flags
    return a


def dashboard_outputs(flags: list[str]) -> tuple[list[str], str | None]:
    """(the files every tab's run writes: --save, --metrics, --export; None), or ([], why the
    dashboard flags are unusable). Checked before serving: a dashboard that exits at once on bad
    flags leaves the browser on a page that waits forever."""
    from ..core.errors import InputError
    from .cli import run_config

    try:
        cfg = run_config(flags)
    except InputError as e:
        return [], str(e)
    if cfg.headless:
        return [], "--headless: serve shows the dashboard; run headless jobs without serve"
    return [path for name in ("save", "metrics", "export") if (path := getattr(cfg, name))], None


def busy_output(outputs: list[str]) -> str | None:
    """Why a new tab cannot start: one of the files another run (another tab's) is writing."""
    from ..core.errors import clip_path
    from ..core.files import output_in_use

    for path in outputs:
        if (holder := output_in_use(path)) is not None:
            return f"another ffnn-tui run{holder} is writing {clip_path(path)}, which this tab's run would write too"
    return None


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, port: int) -> str:
    """The one-line warning for a non-loopback --host: the page has no authentication."""
    return (
        f"ffnn-tui: warning: --host {one_line(host)} has no authentication: anyone who can reach port {port} "
        f"can run training and write files as this user; prefer --host 127.0.0.1 and an SSH port "
        f"forward: ssh -L {port}:127.0.0.1:{port} HOST"
    )


def host_error(host: str, port: int) -> str | None:
    """Why --host names no address to listen on (`--host ''`, a name that does not resolve), or None."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        return f"--host {clip(host)}: {e.strerror}"
    return None


def port_error(host: str, port: int) -> str | None:
    """Why (host, port) cannot be bound, or None. Binding ourselves first gives one clear line
    instead of the server's traceback."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        return f"--host {clip(host)}: {e.strerror}"
    for family, kind, proto, _, address in addresses:
        try:
            with socket.socket(family, kind, proto) as s:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
                s.bind(address)
        except OSError as e:
            return f"--port {port}: cannot listen on {host}: {e.strerror}"
    return None


def kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Signal a whole process group; gone already is fine."""
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def make_server(command: str, host: str, port: int, public_url: str | None, max_sessions: int, outputs: list[str]):
    """A textual-serve Server that runs each dashboard in its own process group, ends it with its
    tab and on shutdown, and refuses tabs beyond max_sessions, or whose run's `outputs` another
    run is writing (two tabs of `serve -- --save run.pt`)."""
    from aiohttp import web
    from textual_serve.app_service import AppService
    from textual_serve.server import Server, to_int

    class DashboardSession(AppService):
        """One tab's dashboard process, in a new session (process group) of its own."""

        async def _open_app_process(self, width: int = 80, height: int = 24):
            self._process = await asyncio.create_subprocess_shell(
                self.command,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._build_environment(width, height),
                start_new_session=True,
            )  # ctrl+c at the server's terminal is ours to pass on
            self._stdin = self._process.stdin
            return self._process

        async def stop(self) -> None:
            """Ask the dashboard to quit (it saves when --save is set); after QUIT_WAIT seconds, or
            once it has quit, kill what is left of its process group."""
            try:
                await asyncio.wait_for(asyncio.shield(super().stop()), QUIT_WAIT)
            except (asyncio.TimeoutError, OSError):
                pass
            if self._process is not None:
                kill_group(self._process.pid)
                try:  # reaps it; bounded in case something outside the group holds its pipes
                    await asyncio.wait_for(self._process.wait(), 5.0)
                except asyncio.TimeoutError:
                    pass

    class DashboardServer(Server):
        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title="ffnn-tui", public_url=public_url)
            self.sessions: set[DashboardSession] = set()
            self.websockets: set[web.WebSocketResponse] = set()
            self.groups: set[int] = set()
            """Process groups started and not yet known to be gone: the last resort in main()."""
            self.closing: set[asyncio.Event] = set()
            """One per session whose tab has gone and whose dashboard is still quitting (saving)."""

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            """textual-serve's handler, with a session limit and a stop that always ends the process."""
            websocket = web.WebSocketResponse(heartbeat=15)
            await websocket.prepare(request)
            self.websockets.add(websocket)
            try:
                if self.closing:  # a reloaded tab: its own dashboard is still quitting and saving
                    waits = [asyncio.ensure_future(e.wait()) for e in self.closing]
                    await asyncio.wait(waits, timeout=QUIT_WAIT + 6)
                    for w in waits:
                        w.cancel()
                if len(self.sessions) >= max_sessions:
                    await self.refuse(
                        websocket,
                        f"{max_sessions} dashboard(s) already running here (--max-sessions {max_sessions}). "
                        "Close one of their tabs, then reload this page.",
                    )
                elif (busy := busy_output(outputs)) is not None:
                    await self.refuse(websocket, f"{busy}. Close that tab, then reload this page.")
                else:
                    await self.run_session(
                        websocket,
                        to_int(request.query.get("width", "80"), 80),
                        to_int(request.query.get("height", "24"), 24),
                    )
            finally:
                self.websockets.discard(websocket)
                await websocket.close()
            return websocket

        async def run_session(self, websocket: web.WebSocketResponse, width: int, height: int) -> None:
            """Start a dashboard for this tab, relay it until the tab or the dashboard goes, end it."""
            session = DashboardSession(
                self.command,
                write_bytes=websocket.send_bytes,
                write_str=websocket.send_str,
                close=websocket.close,  # type: ignore[arg-type]  # as textual-serve passes it; its bool is unused
                download_manager=self.download_manager,
                debug=self.debug,
            )
            self.sessions.add(session)
            try:
                await session.start(width, height)
                if session._process is not None:  # start() raises when it cannot start one
                    self.groups.add(session._process.pid)
                await self._process_messages(websocket, session)
            except (asyncio.CancelledError, ConnectionError):
                pass
            finally:
                closed = asyncio.Event()
                self.closing.add(closed)
                try:
                    await asyncio.shield(session.stop())
                finally:
                    self.sessions.discard(session)
                    self.closing.discard(closed)
                    closed.set()
                if session._process is not None:
                    self.groups.discard(session._process.pid)

        async def refuse(self, websocket: web.WebSocketResponse, why: str) -> None:
            """Say why in the tab's terminal (closing would cover it with 'Session ended') and keep
            the socket open, with no process behind it, until the tab goes."""
            await websocket.send_bytes(("\r\n ffnn-tui: " + why + "\r\n").encode())
            async for _ in websocket:
                pass

        async def on_shutdown(self, app: web.Application) -> None:
            """End every dashboard and close every tab's socket, so that the server stops now
            instead of waiting for open tabs."""
            await asyncio.gather(*(s.stop() for s in list(self.sessions)), return_exceptions=True)
            await asyncio.gather(*(w.close() for w in list(self.websockets)), return_exceptions=True)

    return DashboardServer()


def main(argv: list[str]) -> int:
    try:
        a = parse_args(argv)
    except ConfigError as e:
        return _error(str(e))
    outputs, problem = dashboard_outputs(a.flags)
    if problem is not None:
        return _error(problem)
    try:
        import textual_serve  # noqa: F401
    except ImportError:
        return _error("serve needs textual-serve: pip install textual-serve")
    if (problem := host_error(a.host, a.port)) is not None:  # a name that is no address: one line, no warning
        return _error(problem)
    if not is_loopback(a.host):
        print(exposure_warning(a.host, a.port), file=sys.stderr)
    if (problem := port_error(a.host, a.port)) is not None:
        return _error(problem)
    command = shlex.join([sys.executable, "-m", "ffnn_tui.tui.cli", *a.flags])
    server = make_server(command, a.host, a.port, a.public_url, a.max_sessions, outputs)
    try:
        server.serve()
    except OSError as e:  # lost a race for the port, or the address went away
        return _error(f"--host {a.host} --port {a.port}: {e.strerror or e}")
    finally:
        for pgid in server.groups:  # the last resort: nothing outlives the server
            kill_group(pgid)
    return 0
