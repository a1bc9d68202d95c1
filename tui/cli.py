"""The `ffnn-tui` command: the dashboard (default), `--headless`, `bench` and `serve`.

Exit codes: 0 done; 1 unexpected error; 2 bad usage or input (one line on stderr, no traceback);
3 the run diverged (headless); 128+N when ended by signal N.
"""

from __future__ import annotations

import errno
import os
import sys

from .stop_flag import StopFlag

EXIT_USAGE = 2


def _error(message: str, code: int = EXIT_USAGE) -> int:
    from ..core.errors import one_line

    print(f"ffnn-tui: error: {one_line(message)}", file=sys.stderr)
    return code


NO_TERMINAL = "the dashboard needs a terminal; use ssh -t, or --headless"


def terminal_missing() -> bool:
    """True when the dashboard has no terminal to talk to: stdin is not one, or the stream Textual
    draws on (sys.__stderr__ in Textual 8) is not one, or stdout is redirected (`ffnn-tui | cat`,
    `ffnn-tui > log`: the output was meant for a file, which is --headless). Textual's web driver
    (`ffnn-tui serve`, TEXTUAL_DRIVER set) talks through pipes by design."""
    if os.environ.get("TEXTUAL_DRIVER"):
        return False
    streams = (sys.__stdin__, sys.__stdout__, sys.__stderr__)
    try:
        return not all(s is not None and s.isatty() for s in streams)
    except (ValueError, OSError):  # a closed stream
        return True


def run_config(argv: list[str]):
    """The run's options, validated (one-line InputErrors). Sources, weakest first: defaults <
    a resumed checkpoint's options < --config file < flags. Nothing is built: the checkpoint's
    options are read without its tensors, and no data is generated or read."""
    return _run_config(argv)[0]


def _run_config(argv: list[str], claim: bool = False):
    """(RunConfig, --dump-config given); the device is checked only when the run is to happen, and
    with `claim` (the run is about to start here) its output files are locked against other runs."""
    from ..core.checkpoint import CheckpointError, peek_config
    from ..core.config import config_from_dict, load_toml, merge
    from ..core.device import resolve_device
    from ..core.errors import InputError, clip, clip_path
    from ..core.files import claim_output
    from .flags import parse_flags

    flags = parse_flags(argv)
    dump = flags.pop("dump_config", False)
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
    _warn_ignored(cfg, {**toml, **flags})

    def source(name: str) -> str:  # where a value came from, as merge() names a bad value's source
        if name in flags or not (name in toml or name in base):
            return f"--{name}"
        return f"{clip_path(flags['config'])}: {name}" if name in toml else f"{clip_path(resume)}: config.{name}"

    if not dump:
        resolve_device(cfg.device, source("device"))  # an absent device is bad input, found before anything starts
    if claim and not dump:
        for name in ("save", "metrics", "export"):  # another run writing one of them: stop before starting
            if getattr(cfg, name):
                claim_output(source(name), getattr(cfg, name))
    return cfg, dump


def _warn_ignored(cfg, given: dict) -> None:
    """A warning line on stderr when --data makes explicitly given generator options meaningless,
    and when --headless, which always runs flat out, is given a --speed."""
    if cfg.headless and cfg.speed != "max":
        print(f"ffnn-tui: warning: --speed {cfg.speed} is ignored: --headless runs flat out", file=sys.stderr)
    ignored = [f"--{k} {given[k]}" for k in ("dataset", "noise") if k in given]
    if cfg.data and ignored:
        print(
            f"ffnn-tui: warning: --data {cfg.data} is used; {' and '.join(ignored)} "
            f"{'is' if len(ignored) == 1 else 'are'} ignored",
            file=sys.stderr,
        )


def build_trainer(argv: list[str]):
    """The Trainer a command line describes (raises the core's one-line errors)."""
    from ..core.run import open_trainer

    return open_trainer(run_config(argv))


def run(argv: list[str], stop: StopFlag | None = None) -> int:
    """Everything except the subcommands; `stop` is the signal flag main() installed first thing."""
    from ..core.files import release_outputs

    try:
        return _run(argv, stop)
    finally:
        release_outputs()  # another run may write the files now


def _run(argv: list[str], stop: StopFlag | None) -> int:
    """run(), its output files locked from the moment its options are known."""
    from ..core.errors import InputError

    try:
        cfg, dump = _run_config(argv, claim=True)
        if dump:
            sys.stdout.write(cfg.to_toml())
            return 0
        if not cfg.headless:
            if stop is not None and stop.signum and not cfg.save:  # nothing to save: no need to start
                return 128 + stop.signum
            if terminal_missing():  # before the training process starts, as htop and btop refuse
                return _error(NO_TERMINAL)
            from .ending import run_dashboard  # the training process builds the run: files are read once

            return run_dashboard(cfg, stop)  # the flag holds a signal until the app's handlers replace it
        from ..core.run import open_trainer

        stop = stop or StopFlag().install()  # before building: a signal while the data loads still saves
        tr = open_trainer(cfg)
    except InputError as e:
        return _error(str(e))
    from .headless import run_headless

    try:
        return run_headless(tr, stop)
    except InputError as e:  # a save or export the disk refused (ENOSPC): one line, not exit 1
        return _error(str(e))


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point (also `python -m ffnn_tui`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    stop = None if argv[:1] in (["bench"], ["serve"]) else StopFlag().install()  # before torch loads
    # Textual reads these at import. A key's redraw waits for the next screen update, up to 1/FPS
    # seconds; updates happen only when something changed, so 60 costs no more than 30 did.
    os.environ.setdefault("TEXTUAL_FPS", "60")
    from .plain import set_color_system

    set_color_system()  # TERM=dumb must not get truecolor; also read at import
    shut = _reserve_closed_streams()
    try:  # a path the locale cannot encode (€ under latin-1) was an UnicodeEncodeError, exit 1
        sys.stdout.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]  # as stderr's
    except (AttributeError, ValueError):  # not a text stream we can reconfigure
        pass
    sys.stdout = out = WatchedStdout(sys.stdout, shut)
    try:
        code = _main(argv, stop)
    finally:
        sys.stdout = out.stream
    if out.fails() and code == 0 and out.error:  # --version or --help into a full device (argparse is silent)
        code = _stdout_error(out.error)
    return code


class WatchedStdout:
    """sys.stdout that remembers a write it could not make: argparse's --help and --version
    swallow the OSError of `>/dev/full`, and an exit code 0 would claim the text was written."""

    def __init__(self, stream, shut: bool = False):
        self.stream, self.shut = stream, shut
        self.error: OSError | None = None

    def write(self, text: str) -> int:
        try:
            if self.shut:  # `>&-`: what would be printed cannot be, as on a full device
                raise OSError(errno.EBADF, "standard output is closed")
            return self.stream.write(text)
        except OSError as e:
            self.error = self.error or e
            raise

    def flush(self) -> None:
        try:
            self.stream.flush()
        except OSError as e:
            self.error = self.error or e
            raise

    def fails(self) -> bool:
        """True when something printed did not reach stdout; stdout then points at /dev/null so
        Python's own flush at exit stays quiet."""
        try:
            self.flush()
        except OSError:
            pass
        if self.error is None:
            return False
        _silence_stdout()
        return not isinstance(self.error, BrokenPipeError)  # `| head` ends quietly

    def __getattr__(self, name: str):
        return getattr(self.stream, name)


def _reserve_closed_streams() -> bool:
    """A stream closed by the caller (`>&-`, `2>&-`) is None in Python, and print(file=None)
    writes to stdout: errors and progress would land in the summary, and the next file opened
    would take its descriptor. Each closed one gets /dev/null; True when stdout was closed."""
    shut = sys.stdout is None
    for fd, name in ((1, "stdout"), (2, "stderr")):
        if getattr(sys, name) is None:
            null = os.open(os.devnull, os.O_WRONLY)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
            setattr(sys, name, open(fd, "w", closefd=False))
    return shut


def _main(argv: list[str], stop: StopFlag | None) -> int:
    try:
        if argv[:1] == ["bench"]:
            from .bench import main as bench_main

            return bench_main(argv[1:])
        if argv[:1] == ["serve"]:
            from .serve import main as serve_main

            return serve_main(argv[1:])
        code = run(argv, stop)
    except SystemExit as e:  # --help
        code = e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        code = 130
    except BrokenPipeError:  # the reader went away (`| head`): end quietly, as SIGPIPE would
        _silence_stdout()
        code = 128 + 13
    except OSError as e:
        if isinstance(sys.stdout, WatchedStdout) and sys.stdout.error is e:
            return _stdout_error(e)  # --dump-config or bench into a full device
        return _unexpected(e)
    except Exception as e:  # noqa: BLE001 - the last line of defence: one line, exit 1
        return _unexpected(e)
    return code


def _unexpected(e: Exception) -> int:
    """The last line of defence: a bug gets one line and exit 1 (the traceback on request)."""
    if os.environ.get("FFNN_TUI_DEBUG"):
        raise e
    return _error(f"unexpected {type(e).__name__}: {e} (set FFNN_TUI_DEBUG=1 for the traceback)", 1)


def _stdout_error(e: OSError) -> int:
    return _error(f"cannot write to standard output ({e.strerror or e})")


def _silence_stdout() -> None:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
