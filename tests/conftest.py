"""Shared test setup: quiet torch threads so two test processes don't fight over the 2 cores."""

import os

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
# Files saved without a path (c, e, screenshots) go to the per-user data folder: never the real one in tests.
os.environ["XDG_DATA_HOME"] = __import__("tempfile").mkdtemp(prefix="ffnn-tui-tests-data-")
