"""Drawing in the browser mode: in headless chromium, a click on the boundary pane of `ffnn-tui
serve` adds a point, a right click removes it, and ctrl+s saves the points as a CSV."""

from __future__ import annotations

import time

import pytest

from ffnn_tui.core.data import read_csv
from ffnn_tui.tui.widgets.boundary import POINT_GLYPHS

from .test_draw_in_tmux import boundary_box, free_cell
from .test_serve import SCREEN_TEXT, XTERM_HOOK, chromium_path, serve, wait_for_screen  # noqa: F401 - serve is a fixture

pytestmark = [pytest.mark.terminal, pytest.mark.browser, pytest.mark.slow]


def cell_centre(page, x: int, y: int) -> tuple[float, float]:
    """Page pixels of the centre of terminal cell (x, y), from the xterm.js screen's size."""
    box = page.locator(".xterm-screen").bounding_box()
    cols, rows = page.evaluate("() => { const t = window.__ffnnTerminals[0]; return [t.cols, t.rows]; }")
    return box["x"] + (x + 0.5) * box["width"] / cols, box["y"] + (y + 0.5) * box["height"] / rows


def wait_cell(page, x: int, y: int, want, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = page.evaluate(SCREEN_TEXT).splitlines()[y]
        if want(line[x] if x < len(line) else " "):
            return
        time.sleep(0.2)
    raise AssertionError(f"cell ({x}, {y}) never changed; the screen was:\n{page.evaluate(SCREEN_TEXT)}")


def test_drawing_in_headless_chromium(serve, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (the test extra)")
    executable = chromium_path()
    s = serve("--", "--paused")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=executable, args=["--no-sandbox"], headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.add_init_script(XTERM_HOOK)
            page.goto(s.url + "/")
            screen = wait_for_screen(page, "PAUSED", "step 0", "decision boundary")
            x, y = free_cell(screen, boundary_box(screen))
            page.mouse.click(*cell_centre(page, x, y))
            wait_cell(page, x, y, lambda c: c == POINT_GLYPHS[0])
            wait_for_screen(page, "draw class 0 o")
            page.mouse.click(*cell_centre(page, x, y), button="right")
            wait_cell(page, x, y, lambda c: c not in POINT_GLYPHS)
            page.mouse.click(*cell_centre(page, x, y))
            wait_cell(page, x, y, lambda c: c == POINT_GLYPHS[0])
            page.keyboard.press("Control+s")
            wait_for_screen(page, "Save the points as CSV")
            page.keyboard.press("Enter")  # the default: points.csv in the server's folder
            wait_for_screen(page, "points saved")
        finally:
            browser.close()
    X, y = read_csv(tmp_path / "points.csv")
    assert X.shape == (81, 2) and int(y[64]) == 0  # 64 training rows of 80 points, then the drawn one
