"""Drawing with the mouse in a real terminal: tmux passes SGR mouse reports (what a terminal
sends for a click, over SSH too) to the installed ffnn-tui, and the point appears on the screen."""

from __future__ import annotations

import pytest

from ffnn_tui.tui.widgets.boundary import POINT_GLYPHS

pytestmark = pytest.mark.terminal

TITLE = "decision boundary"


def boundary_box(screen: str) -> tuple[int, int, int, int]:
    """(left, top, width, height) of the boundary pane's content, 0-based screen cells."""
    lines = screen.splitlines()
    top = next(i for i, line in enumerate(lines) if TITLE in line)
    left = lines[top].rindex("╭", 0, lines[top].index(TITLE))
    right = lines[top].index("╮", left)
    bottom = next(i for i in range(top + 1, len(lines)) if lines[i][left] == "╰")
    return left + 1, top + 1, right - left - 1, bottom - top - 1


def free_cell(screen: str, box) -> tuple[int, int]:
    """A content cell (x, y) away from every point glyph, so a new point there is plain to see."""
    left, top, width, height = box
    lines = screen.splitlines()
    glyph_at = lambda x, y: lines[y][x] if x < len(lines[y]) else " "  # noqa: E731
    for y in range(top + 1, top + height - 1):
        for x in range(left + 1, left + width - 1):
            near = {glyph_at(x + dx, y + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)}
            if not near & set(POINT_GLYPHS):
                return x, y
    raise AssertionError("no free cell in the boundary pane")


def click(t, x: int, y: int, button: int = 0) -> None:
    """An SGR mouse press and release at screen cell (x, y), 0-based (the report is 1-based)."""
    t.tmux("send-keys", "-l", f"\x1b[<{button};{x + 1};{y + 1}M\x1b[<{button};{x + 1};{y + 1}m")


def cell(t, x: int, y: int) -> str:
    line = t.screen().splitlines()[y]
    return line[x] if x < len(line) else " "


def wait_cell(t, x: int, y: int, want) -> None:
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if want(cell(t, x, y)):
            return
        time.sleep(0.05)
    raise AssertionError(f"cell ({x}, {y}) is {cell(t, x, y)!r}; screen:\n{t.screen()}")


def test_a_click_draws_a_point_and_a_right_click_removes_it(terminal):
    t = terminal("--paused")
    screen = t.wait_for("step 0 ")
    box = boundary_box(screen)
    x, y = free_cell(screen, box)
    click(t, x, y)  # focuses the pane and draws class 0
    wait_cell(t, x, y, lambda c: c == POINT_GLYPHS[0])
    t.wait_for("draw class 0 o")
    t.keys("1")  # the pane is focused: 1 picks class 1, not a view
    t.wait_for("draw class 1 x")
    x2, y2 = free_cell(t.screen(), box)
    click(t, x2, y2)
    wait_cell(t, x2, y2, lambda c: c == POINT_GLYPHS[1])
    click(t, x2, y2, button=2)  # right button: remove the nearest point, the one just drawn
    wait_cell(t, x2, y2, lambda c: c not in POINT_GLYPHS)
    assert cell(t, x, y) == POINT_GLYPHS[0]
    t.keys("n")
    t.wait_for("step 1 ")
    t.keys("q")
    assert t.wait_exit() == 0
