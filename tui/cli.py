"""The `ffnn-tui` command: the dashboard (default), `--headless`, `bench` and `serve`.

Exit codes: 0 done; 1 unexpected error; 2 bad usage or input (one line on stderr, no traceback);
3 the run diverged (headless); 128+N when ended by signal N.
"""

from __future__ import annotations

import os
import sys

EXIT_USAGE = 2


def _error(message: str, code: int = EXIT_USAGE) -> int:
    print(f"ffnn-tui: error: {message}", file=sys.stderr)
    return code


def run_config(argv: list[str]):
    """The run's options, validated (one-line InputErrors). Sources, weakest first: defaults <
    a resumed checkpoint's options < --config file < flags. Nothing is built: the checkpoint's
    options are read without its tensors, and no data is generated or read."""
    from ..core.checkpoint import CheckpointError, peek_config
    from ..core.config import config_from_dict, load_toml, merge, parse_flags
    from ..core.device import resolve_device
    from ..core.errors import InputError, clip, clip_path

    flags = parse_flags(argv)
    toml = load_toml(flags["config"]) if "config" in flags else {}
    resume = flags.get("resume", toml.get("resume"))
    base = {}
    if resume:
        try:
            base = config_from_dict(peek_config(resume), origin=resume)
        except ValueError as e:
            if isinstance(e, InputError):
                raise
            raise CheckpointError(f"--resume {clip_path(resume)}: its config is unusable ({clip(e)})") from None
    cfg = merge(flags, toml, base, toml_path=flags.get("config"), base_path=resume)
    resolve_device(cfg.device)  # an absent device is bad input, found before anything starts
    return cfg


def build_trainer(argv: list[str]):
    """The Trainer a command line describes (raises the core's one-line errors)."""
    from ..core.run import open_trainer

    return open_trainer(run_config(argv))


def run(argv: list[str]) -> int:
    """Everything except the subcommands."""
    from ..core.errors import InputError

    try:
        cfg = run_config(argv)
        if not cfg.headless:
            from .app import run_dashboard  # the training process builds the run: files are read once

            return run_dashboard(cfg)
        from ..core.run import open_trainer

        tr = open_trainer(cfg)
    except InputError as e:
        return _error(str(e))
    from .headless import StopFlag, run_headless

    stop = StopFlag()
    stop.install()
    return run_headless(tr, stop)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (also `python -m ffnn_tui`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TEXTUAL_FPS", "30")  # Textual reads these at import
    try:
        if argv[:1] == ["bench"]:
            from .bench import main as bench_main

            return bench_main(argv[1:])
        if argv[:1] == ["serve"]:
            from .serve import main as serve_main

            return serve_main(argv[1:])
        code = run(argv)
    except SystemExit as e:  # --help
        code = e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # the reader went away (`| head`): end quietly, as SIGPIPE would
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 128 + 13
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if os.environ.get("FFNN_TUI_DEBUG"):
            raise
        code = _error(f"unexpected {type(e).__name__}: {e} (set FFNN_TUI_DEBUG=1 for the traceback)", 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
