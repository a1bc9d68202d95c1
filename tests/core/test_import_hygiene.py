"""core/ never imports the UI stack: each of its modules, imported alone in a fresh interpreter,
leaves textual, rich, plotext and textual_plotext out of sys.modules."""

from __future__ import annotations

import importlib.util
import json
import os
import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import ffnn_tui.core

UI_PACKAGES = ("textual", "rich", "plotext", "textual_plotext")

CORE_MODULES = ["ffnn_tui.core"] + sorted(
    f"ffnn_tui.core.{m.name}" for m in pkgutil.iter_modules(ffnn_tui.core.__path__)
)

PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
banned = {banned!r}
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in banned)))
""".format(banned=UI_PACKAGES)


def _exists(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


CONTROLS = [m for m in ("textual", "ffnn_tui.tui.app") if _exists("textual") and _exists(m)]
"""Modules that DO pull in the UI: they prove the probe can see an offending import."""


@pytest.fixture(scope="module")
def ui_modules_after_import() -> dict[str, subprocess.CompletedProcess]:
    """Import every module in its own fresh interpreter, one per core at a time, to save wall time."""

    def probe(name: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-c", PROBE, name], capture_output=True, text=True, timeout=120)

    names = CORE_MODULES + CONTROLS
    with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
        return dict(zip(names, pool.map(probe, names)))


def ui_modules(results: dict[str, subprocess.CompletedProcess], module: str) -> list[str]:
    p = results[module]
    assert p.returncode == 0, f"importing {module} failed:\n{p.stderr}"
    return json.loads(p.stdout.strip().splitlines()[-1])


def test_discovery_finds_the_engine():
    expected = (
        "data",
        "network",
        "backprop",
        "optim",
        "config",
        "trainer",
        "checkpoint",
        "probes",
        "inside",
        "run",
        "fast",
        "device",
        "cuda_graphs",
        "state",
        "errors",
        "history",
        "metrics",
    )
    for name in expected:
        assert f"ffnn_tui.core.{name}" in CORE_MODULES
    assert "ffnn_tui.core.boundary" not in CORE_MODULES  # the glyphs moved to tui/widgets/boundary.py


@pytest.mark.parametrize("module", CORE_MODULES)
def test_core_module_does_not_import_the_ui(ui_modules_after_import, module):
    found = ui_modules(ui_modules_after_import, module)
    assert found == [], f"{module} imports {found}"


@pytest.mark.parametrize("module", ["textual", "ffnn_tui.tui.app"])
def test_control_is_seen_importing_the_ui(ui_modules_after_import, module):
    if module not in CONTROLS:
        pytest.skip(f"{module} (or textual itself) is not installed")
    assert "textual" in ui_modules(ui_modules_after_import, module)
