"""Where files go when the user names no path: a per-user data folder, not the working directory.

`c` without --save, `e` without --export and screenshots land in
platformdirs.user_data_dir("ffnn-tui"): ~/.local/share/ffnn-tui on Linux ($XDG_DATA_HOME/ffnn-tui
when that is set), ~/Library/Application Support/ffnn-tui on macOS.
"""

from __future__ import annotations

from pathlib import Path

import platformdirs

from ..core.files import user_path

APP_NAME = "ffnn-tui"


def data_dir(create: bool = False) -> Path:
    """The per-user data folder (absolute); created when asked."""
    folder = user_path(platformdirs.user_data_dir(APP_NAME, appauthor=False)).resolve()
    if create:
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def default_file(name: str) -> Path:
    """data_dir()/name, the folder created."""
    return data_dir(create=True) / name
