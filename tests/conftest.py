"""Shared test setup: quiet torch threads so two test processes don't fight over the 2 cores."""

import os

os.environ.setdefault("TEXTUAL_ANIMATIONS", "none")
