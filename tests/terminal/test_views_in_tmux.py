"""The installed ffnn-tui in a real terminal: every view key shows its view after a step, `]`
pages the neurons, `w` cycles the weights, `x` the loss plot's step axis."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.terminal

SPIRAL = ("--dataset", "spiral", "--classes", "3", "--hidden", "16,16", "--samples", "300")
VIEWS = {
    "1": "decision boundary",
    "2": "layer 2: 16 units",
    "3": "W3 (16, 3)",
    "4": "layer health",
    "5": "t\\p",
    "6": "dW1 = X.T @ dz1",
}


def test_every_view_key(terminal):
    t = terminal("--paused", *SPIRAL)
    t.wait_for("step 0 ")
    t.keys("n")
    t.wait_for("step 1 ")
    for key, text in VIEWS.items():
        t.keys(key)
        t.wait_for(text)
    t.keys("2", "]")
    t.wait_for("h1[5]")
    t.keys("w")
    t.wait_for("∂W1 (2, 16)")
    t.keys("x")
    t.wait_for("log steps")
    t.keys("q")
    assert t.wait_exit() == 0
