"""`ffnn-tui serve [--host H] [--port P] [-- DASHBOARD FLAGS]`: the dashboard in a browser through
textual-serve, bound to 127.0.0.1 unless told otherwise. Needs the `serve` extra."""

from __future__ import annotations

import argparse
import shlex

from ..core.config import ConfigError, OneLineParser
import sys


def main(argv: list[str]) -> int:
    ap = OneLineParser(prog="ffnn-tui serve", description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    ap.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    ap.add_argument("flags", nargs=argparse.REMAINDER, help="dashboard flags, after --")
    try:
        a = ap.parse_args(argv)
    except ConfigError as e:
        print(f"ffnn-tui serve: error: {e}", file=sys.stderr)
        return 2
    if not 1 <= a.port <= 65535:
        print(f"ffnn-tui: error: --port {a.port}: expected 1..65535", file=sys.stderr)
        return 2
    try:
        from textual_serve.server import Server
    except ImportError:
        print("ffnn-tui: error: serve needs textual-serve: pip install textual-serve", file=sys.stderr)
        return 2
    flags = a.flags[1:] if a.flags[:1] == ["--"] else a.flags
    command = shlex.join([sys.executable, "-m", "ffnn_tui.tui.cli", *flags])
    Server(command, host=a.host, port=a.port, title="ffnn-tui").serve()
    return 0
