"""`ffnn-tui serve`: bad input ends before serving, the warning for an exposed host, the session
limit, and no dashboard process outliving its tab or the server. Servers bind to 127.0.0.1 only
and are always stopped (and their process trees killed) by the fixture.

Every process a test's server starts carries FFNN_SERVE_TEST=<tag> in its environment, so the
tests find exactly their own processes in /proc, even after they have been reparented."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import pytest

from .tmux import ffnn_tui_command

pytestmark = pytest.mark.terminal


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def tagged_processes(tag: str) -> dict[int, list[str]]:
    """pid -> argv of every live process whose environment holds FFNN_SERVE_TEST=tag."""
    mark = f"FFNN_SERVE_TEST={tag}".encode()
    found = {}
    for d in Path("/proc").iterdir():
        if not d.name.isdigit():
            continue
        try:
            if mark in (d / "environ").read_bytes().split(b"\0"):
                found[int(d.name)] = (d / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def dashboards(tag: str) -> list[int]:
    """The dashboard processes (python -m ffnn_tui.tui.cli) among a server's processes."""
    return [pid for pid, argv in tagged_processes(tag).items() if argv[1:3] == ["-m", "ffnn_tui.tui.cli"]]


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def run_serve(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    """Run `ffnn-tui serve ARGS` expecting it to end by itself (a served page would time out)."""
    if ffnn_tui_command() is None:
        pytest.skip("the ffnn-tui console script is not installed (pip install -e .)")
    return subprocess.run([ffnn_tui_command(), "serve", *args], capture_output=True, text=True, timeout=timeout)


def assert_one_error_line(r: subprocess.CompletedProcess, *words: str) -> None:
    lines = r.stderr.splitlines()
    assert r.returncode == 2, r
    assert len(lines) == 1 and lines[0].startswith("ffnn-tui: error: "), r.stderr
    for w in words:
        assert w in lines[0], r.stderr


class Served:
    """A running `ffnn-tui serve --port P ARGS` and the tag that marks all of its processes."""

    def __init__(self, args: list[str], cwd: Path):
        self.tag = uuid.uuid4().hex
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = cwd / "serve.log"
        env = dict(os.environ, FFNN_SERVE_TEST=self.tag)
        self.proc = subprocess.Popen(
            [ffnn_tui_command(), "serve", "--port", str(self.port), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log.open("w"),
            stderr=subprocess.STDOUT,
        )
        wait_until(self.listening, 30, f"the server on port {self.port}; log:\n{self.log.read_text()}")

    def listening(self) -> bool:
        assert self.proc.poll() is None, f"serve ended with {self.proc.returncode}:\n{self.log.read_text()}"
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def stop(self, sig: int = signal.SIGINT, timeout: float = 15) -> float:
        """Signal the server; return how long it took to exit."""
        start = time.monotonic()
        self.proc.send_signal(sig)
        self.proc.wait(timeout)
        return time.monotonic() - start

    def kill_everything(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pid in tagged_processes(self.tag):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture
def serve(tmp_path):
    """Factory: serve(*args) starts ffnn-tui serve on a free 127.0.0.1 port; killed after the test."""
    pytest.importorskip("textual_serve", reason="needs the serve extra: pip install -e '.[serve]'")
    if ffnn_tui_command() is None:
        pytest.skip("the ffnn-tui console script is not installed (pip install -e .)")
    started = []

    def start(*args: str) -> Served:
        s = Served(list(args), tmp_path)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill_everything()


# --- bad input: one line on stderr, exit 2, nothing served ----------------------------------------


def test_a_bad_dashboard_flag_exits_2_before_serving():
    assert_one_error_line(run_serve("--port", str(free_port()), "--", "--lr", "abc"), "--lr", "abc")


def test_headless_after_the_dashes_exits_2():
    assert_one_error_line(run_serve("--port", str(free_port()), "--", "--headless"), "--headless")


@pytest.mark.parametrize(
    "args,words",
    [
        (["--max-sessions", "0"], ["--max-sessions"]),
        (["--public-url", "example.com:8000"], ["--public-url"]),
        (["--port", "70000"], ["--port"]),
    ],
)
def test_bad_serve_flags_exit_2(args, words):
    assert_one_error_line(run_serve(*args), *words)


def test_a_port_in_use_exits_2():
    pytest.importorskip("textual_serve", reason="needs the serve extra")
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        assert_one_error_line(run_serve("--port", str(port)), f"--port {port}")


# --- --host beyond this machine ------------------------------------------------------------------


@pytest.mark.parametrize(
    "host,loopback",
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("192.168.1.5", False),
        ("myhost.example", False),
    ],
)
def test_which_hosts_count_as_this_machine_only(host, loopback):
    from ffnn_tui.tui.serve import is_loopback

    assert is_loopback(host) is loopback


def test_a_non_loopback_host_warns_about_no_authentication():
    """Run with the port already taken, so the warning is printed but nothing is ever exposed."""
    pytest.importorskip("textual_serve", reason="needs the serve extra")
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = held.getsockname()[1]
        r = run_serve("--host", "0.0.0.0", "--port", str(port))
    warning, error = r.stderr.splitlines()
    assert warning.startswith("ffnn-tui: warning: --host 0.0.0.0")
    assert "no authentication" in warning and f"ssh -L {port}:127.0.0.1:{port}" in warning
    assert error.startswith("ffnn-tui: error: ") and r.returncode == 2


def test_no_warning_on_loopback():
    with socket.create_server(("127.0.0.1", 0)) as held:
        r = run_serve("--host", "127.0.0.1", "--port", str(held.getsockname()[1]))
    assert "warning" not in r.stderr


# --- a running server ----------------------------------------------------------------------------


async def get(url: str) -> str:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.get(url) as response:
        return await response.text()


async def read_until(ws, text: bytes, timeout: float = 60) -> bytes:
    """What a tab's socket receives, up to text (the dashboard's output, or a refusal)."""
    import aiohttp

    received = b""
    deadline = time.monotonic() + timeout
    while text not in received:
        message = await ws.receive(timeout=max(0.1, deadline - time.monotonic()))
        assert message.type == aiohttp.WSMsgType.BINARY, f"{message} after {received[-500:]!r}"
        received += message.data
    return received


async def test_public_url_goes_into_the_page(serve):
    s = serve("--public-url", "https://ffnn.example:9443")
    page = await get(s.url + "/")
    assert "wss://ffnn.example:9443/ws" in page and "https://ffnn.example:9443/static/" in page
    assert await asyncio.to_thread(s.stop) < 10


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_max_sessions_refuses_a_further_tab_and_a_signal_ends_every_dashboard(serve, sig):
    import aiohttp

    s = serve("--max-sessions", "1", "--", "--paused")
    async with aiohttp.ClientSession() as http:
        first = await http.ws_connect(s.url + "/ws?width=100&height=30")
        assert b"PAUSED" in await read_until(first, b"PAUSED")
        second = await http.ws_connect(s.url + "/ws?width=100&height=30")
        assert b"--max-sessions 1" in await read_until(second, b"reload this page", timeout=10)
        await asyncio.sleep(1.0)
        assert len(dashboards(s.tag)) == 1, tagged_processes(s.tag)
        took = await asyncio.to_thread(s.stop, sig)
    assert took < 10, f"the server took {took:.1f} s to stop with a tab open"
    assert tagged_processes(s.tag) == {}, "processes outlived the server"


@pytest.mark.slow
async def test_a_tab_whose_save_another_tab_writes_is_refused(serve, tmp_path):
    """Every tab runs the same flags: with --save, a second tab would write the first one's
    checkpoint. It is refused, with the reason in the tab, and no second dashboard starts."""
    import aiohttp

    s = serve("--", "--paused", "--save", str(tmp_path / "run.pt"))
    async with aiohttp.ClientSession() as http:
        first = await http.ws_connect(s.url + "/ws?width=100&height=30")
        await read_until(first, b"PAUSED")
        second = await http.ws_connect(s.url + "/ws?width=100&height=30")
        said = await read_until(second, b"reload this page", timeout=10)
        assert b"another ffnn-tui run (pid" in said and b"run.pt" in said, said
        await asyncio.sleep(1.0)
        assert len(dashboards(s.tag)) == 1, tagged_processes(s.tag)
        await asyncio.to_thread(s.stop)
    assert tagged_processes(s.tag) == {}


@pytest.mark.slow
async def test_closing_a_tab_ends_its_dashboard_even_a_frozen_one(serve):
    """A dashboard that no longer answers (SIGSTOP) still goes, with its training process, when its
    tab closes: its process group is killed after the grace period."""
    import aiohttp

    s = serve("--", "--paused")
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(s.url + "/ws?width=100&height=30")
        await read_until(ws, b"PAUSED")
        [dashboard] = dashboards(s.tag)
        os.kill(dashboard, signal.SIGSTOP)
        await ws.close()
    await asyncio.to_thread(wait_until, lambda: not dashboards(s.tag), 20, "the frozen dashboard to be killed")
    server_only = await asyncio.to_thread(
        wait_until, lambda: list(tagged_processes(s.tag)) == [s.proc.pid], 10, "only the server to be left"
    )
    assert server_only and s.proc.poll() is None
    await asyncio.to_thread(s.stop)
    assert tagged_processes(s.tag) == {}


@pytest.mark.slow
async def test_closing_a_tab_saves_its_run_first(serve, tmp_path):
    """Closing a tab asks its dashboard to quit as q does: --save is written. textual-serve's quit
    ended the app at once, the training process killed unsaved, so the checkpoint never appeared."""
    import aiohttp
    import torch

    ckpt = tmp_path / "tab.pt"
    s = serve("--", "--paused", "--save", str(ckpt))
    async with aiohttp.ClientSession() as http:
        ws = await http.ws_connect(s.url + "/ws?width=100&height=30")
        await read_until(ws, b"PAUSED")
        await ws.close()
    await asyncio.to_thread(wait_until, lambda: not dashboards(s.tag), 20, "the dashboard to end")
    assert torch.load(ckpt, weights_only=True)["format"] == "ffnn-tui/1"
    await asyncio.to_thread(s.stop)


@pytest.mark.slow
async def test_a_reloaded_tab_waits_for_its_own_dashboard_to_save(serve, tmp_path):
    """A reload closes the tab's socket and opens a new one at once. With --save, the new one was
    refused with 'another ffnn-tui run (pid N) is writing run.pt ... Close that tab', N being the
    reloaded tab's own dashboard, still quitting and saving; the only tab was locked out (and a
    few quick reloads hit --max-sessions the same way). A new tab now waits for the dashboards
    whose tabs have gone to end first."""
    import aiohttp

    s = serve("--max-sessions", "1", "--", "--paused", "--save", str(tmp_path / "run.pt"))
    async with aiohttp.ClientSession() as http:
        first = await http.ws_connect(s.url + "/ws?width=100&height=30")
        await read_until(first, b"PAUSED")
        await first.close()
        again = await http.ws_connect(s.url + "/ws?width=100&height=30")
        try:
            said = await asyncio.wait_for(read_until(again, b"PAUSED", timeout=30), 40)
        except asyncio.TimeoutError:
            pytest.fail("the reloaded tab got no dashboard (refused while its own one was saving)")
        assert b"reload this page" not in said, said
        await again.close()
    await asyncio.to_thread(s.stop)
    assert tagged_processes(s.tag) == {}


# --- the page in a real browser ------------------------------------------------------------------

XTERM_HOOK = """(() => {
  // textual.js keeps its xterm.js Terminal to itself; every Terminal sets this._core in its
  // constructor, so a setter on Object.prototype catches each one for screen_text() to read.
  const found = [];
  window.__ffnnTerminals = found;
  Object.defineProperty(Object.prototype, "_core", {configurable: true, set(value) {
    Object.defineProperty(this, "_core", {value, writable: true, configurable: true, enumerable: true});
    found.push(this);
  }});
})();"""

SCREEN_TEXT = """() => {
  for (const t of window.__ffnnTerminals || []) {
    const b = t.buffer && t.buffer.active;
    if (!b || typeof b.getLine !== "function") continue;
    const rows = [];
    for (let i = 0; i < t.rows; i++) {
      const line = b.getLine(b.viewportY + i);
      rows.push(line ? line.translateToString(true) : "");
    }
    return rows.join("\\n");
  }
  return null;
}"""


def chromium_path() -> str:
    import shutil

    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium); .ci/run installs it")
    return path


def wait_for_screen(page, *texts: str, timeout: float = 60) -> str:
    """Poll the xterm.js buffer until every text is on screen."""
    deadline = time.monotonic() + timeout
    screen = None
    while time.monotonic() < deadline:
        screen = page.evaluate(SCREEN_TEXT)
        if screen is not None and all(t in screen for t in texts):
            return screen
        time.sleep(0.2)
    if screen is None:
        raise AssertionError("found no xterm.js terminal in the page (has textual.js changed?)")
    raise AssertionError(f"{texts} never appeared; the screen was:\n{screen}")


@pytest.mark.browser
@pytest.mark.slow
def test_the_dashboard_in_headless_chromium(serve):
    """Load the page, see the paused dashboard, space runs it, q ends it and its process; then
    SIGINT stops the server and no ffnn-tui process is left."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
    executable = chromium_path()
    s = serve("--", "--paused")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(XTERM_HOOK)
            page.goto(s.url + "/")
            wait_for_screen(page, "PAUSED", "step 0")
            page.click("#terminal")
            page.keyboard.press("Space")
            wait_for_screen(page, "RUNNING")
            page.keyboard.press("q")
            page.wait_for_selector("body.-closed", timeout=20_000)  # textual.js: "Session ended."
        finally:
            browser.close()
    wait_until(lambda: not dashboards(s.tag), 15, "the dashboard to end after q")
    assert s.stop(signal.SIGINT) < 10
    assert tagged_processes(s.tag) == {}, "processes outlived the server"
