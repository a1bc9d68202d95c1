import shutil

import pytest

from .tmux import Terminal, ffnn_tui_command


@pytest.fixture
def terminal(tmp_path):
    """Factory: terminal(args) starts the installed ffnn-tui in tmux; closed after the test."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install -y tmux); .ci/run installs it")
    if ffnn_tui_command() is None:
        pytest.skip("the ffnn-tui console script is not installed (pip install -e .)")
    opened = []

    def start(*args: str, size=(120, 36), env=None, prefix=()) -> Terminal:
        t = Terminal(list(args), tmp_path, size, env, prefix)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()
