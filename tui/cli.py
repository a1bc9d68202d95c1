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


def build_trainer(argv: list[str]):
    """Parse flags (with --config and --resume), build the Trainer; raises the core's one-line errors."""
    from ..core.checkpoint import CheckpointError, load_checkpoint, load_params
    from ..core.config import config_from_dict, load_toml, merge, parse_flags
    from ..core.trainer import Trainer

    flags = parse_flags(argv)
    toml = load_toml(flags["config"]) if "config" in flags else {}
    resume = flags.get("resume", toml.get("resume"))
    ckpt = load_checkpoint(resume) if resume else None
    base = {}
    if ckpt is not None:
        try:
            base = config_from_dict(ckpt["config"])
        except ValueError as e:
            raise CheckpointError(f"--resume {resume}: its config is unusable ({e})") from None
    cfg = merge(flags, toml, base)
    tr = Trainer(cfg)
    if cfg.init_params:
        params = load_params(cfg.init_params)
        _check_shapes(tr, params, f"--init-params {cfg.init_params}")
        tr.restore_params(params)
    if ckpt is not None:
        _check_shapes(tr, ckpt["params"], f"--resume {cfg.resume}")
        try:
            tr.restore(ckpt)
        except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as e:
            raise CheckpointError(f"--resume {cfg.resume}: damaged history, optimizer or rng section "
                                  f"({type(e).__name__}: {' '.join(str(e).split())[:80]})") from None
    return tr


def _check_shapes(tr, params: dict, what: str) -> None:
    """The loaded tensors must fit the network the flags describe."""
    from ..core.checkpoint import CheckpointError

    want = {k: tuple(v.shape) for k, v in tr.params.items()}
    got = {k: tuple(v.shape) for k, v in params.items()}
    if want != got:
        hidden = ",".join(str(params[f"W{k}"].shape[1]) for k in range(1, len(params) // 2))
        raise CheckpointError(f"{what}: parameters are {_arch(got)} but the run is {_arch(want)}; "
                              f"pass --hidden {hidden} and matching data")


def _arch(shapes: dict) -> str:
    L = len(shapes) // 2
    return "-".join([str(shapes["W1"][0])] + [str(shapes[f"W{k}"][1]) for k in range(1, L + 1)])


def run(argv: list[str]) -> int:
    """Everything except the subcommands."""
    from ..core.checkpoint import CheckpointError
    from ..core.config import ConfigError
    from ..core.data import DataError

    try:
        tr = build_trainer(argv)
    except (ConfigError, DataError, CheckpointError) as e:
        return _error(str(e))
    if tr.cfg.headless:
        from .headless import StopFlag, run_headless

        stop = StopFlag()
        stop.install()
        return run_headless(tr, stop)
    from .app import run_dashboard

    return run_dashboard(tr)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point."""
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
    except BrokenPipeError:
        code = 1
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, exit 1
        if os.environ.get("FFNN_TUI_DEBUG"):
            raise
        code = _error(f"unexpected {type(e).__name__}: {e} (set FFNN_TUI_DEBUG=1 for the traceback)", 1)
    return code


if __name__ == "__main__":
    sys.exit(main())
