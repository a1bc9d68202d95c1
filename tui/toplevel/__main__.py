"""`python -m ffnn_tui`: the same command as `ffnn-tui`."""

import sys

from ffnn_tui.tui.cli import main

sys.exit(main())
