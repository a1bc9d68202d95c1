"""What a path the user names may be. Inputs are regular files of bounded size: a FIFO would hang
the read and /dev/zero would fill the memory. Outputs are files this process can create or
replace, checked at start-up so a bad path ends the run before it starts (exit 2, one line)
instead of after it. Each error names its source: `--data x.csv`, `cfg.toml: data`, `run.pt: config.data`.
"""

from __future__ import annotations

import fcntl
import glob
import hashlib
import os
import stat
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable, Iterator

from .errors import InputError, clip, clip_path

MAX_CSV_BYTES = 8 << 30
"""50,000,000 points (the most --samples allows) of full-precision rows fit well inside it."""
MAX_TOML_BYTES = 1 << 20
MAX_CHECKPOINT_BYTES = 32 << 30
"""9 layers of 4096x4096 float64 weights, twice over for adam's moments, fit inside it."""


class PathError(InputError):
    """A path that cannot serve as the input or output it was given for; str() is one line."""

    def __init__(self, label: str, path: object, reason: str):
        super().__init__(f"{label} {clip_path(path)}: {reason}")
        self.reason = reason
        """What is wrong, without the label: config.py re-labels it with the value's source."""


_fail = PathError


def user_path(path: str | Path) -> Path:
    """path with `~` expanded as the shell does: `~nosuchuser/x` stays as written (a name that is then
    not found), where pathlib's expanduser raises RuntimeError (an "unexpected" exit 1)."""
    return Path(os.path.expanduser(path))


def open_input(label: str, path: str | Path, max_bytes: int) -> BinaryIO:
    """Open a regular file of at most max_bytes for reading. O_NONBLOCK makes opening a FIFO
    return at once; fstat of what was opened (not of the name) then decides."""
    if str(path) == "":
        raise _fail(label, path, "empty path; expected a file")
    try:
        fd = os.open(user_path(path), os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise _fail(label, path, "no such file") from None
    except IsADirectoryError:
        raise _fail(label, path, "is a folder; expected a file") from None
    except OSError as e:
        raise _fail(label, path, f"cannot read ({e.strerror})") from None
    info = os.fstat(fd)
    if stat.S_ISDIR(info.st_mode):
        os.close(fd)
        raise _fail(label, path, "is a folder; expected a file")
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise _fail(label, path, "is not a regular file (a FIFO, device or socket); expected a file")
    if info.st_size > max_bytes:
        os.close(fd)
        raise _fail(label, path, f"is {info.st_size:,} bytes; at most {max_bytes:,} are read")
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")


def check_input(label: str, path: str | Path, max_bytes: int) -> None:
    """Raise PathError unless path is a readable regular file of at most max_bytes."""
    open_input(label, path, max_bytes).close()


def temp_prefix(target: Path) -> str:
    """The prefix of this process's temp files beside target: the pid lets a later save tell
    whose they are (core/checkpoint.py removes those of dead writers); the name is cut so the
    temp name fits wherever the name itself does."""
    return f".{target.name[:180]}.{os.getpid()}."


def check_output(label: str, path: str | Path, *, replaced: bool) -> None:
    """Raise PathError unless this process can write path: a regular file or a new name in an
    existing folder it can create files in (`replaced`: written to a temp file and renamed over
    the target, as checkpoints are; else opened in place, as metrics files are). Symlinks are
    followed: it is their target that gets written."""
    if str(path) == "":
        raise _fail(label, path, "empty path; expected a file")
    if str(path).endswith(os.sep):  # Path() drops the slash: `--save out/` would write a file named out
        raise _fail(label, path, "ends in /, a folder; expected a file path")
    given = user_path(path)
    limit = os.pathconf(given.parent, "PC_NAME_MAX") if given.parent.is_dir() else 255
    if len(os.fsencode(given.name)) > limit:
        raise _fail(label, path, f"file name longer than {limit} bytes")
    try:
        target = given.resolve()
    except (RuntimeError, OSError) as e:  # a symlink loop: Python raises RuntimeError (3.11) or OSError
        raise _fail(label, path, f"cannot follow it ({clip(e, 60)})") from None
    folder = target.parent
    if target.is_dir():
        raise _fail(label, path, "is a folder; expected a file path")
    if not folder.is_dir():
        raise _fail(label, path, f"folder {clip_path(folder)} does not exist")
    if target.exists() and not target.is_file():
        raise _fail(label, path, "is not a regular file (a FIFO, device or socket); expected a file")
    try:
        if target.exists() and not replaced:
            open(target, "ab").close()  # appending nothing changes nothing
        else:
            fd, probe = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=folder)
            os.close(fd)
            os.unlink(probe)
    except OSError as e:
        raise _fail(label, path, f"cannot write there ({e.strerror})") from None


_CLAIMS: dict[str, int] = {}
"""Resolved path -> file descriptor of its lock, open (so held) until the run ends."""


def claim_output(label: str, path: str | Path) -> None:
    """Hold an advisory lock on the output path until the run ends (release_outputs), or raise
    PathError when another ffnn-tui run holds it: two runs writing one metrics file interleave
    their rows, and of two checkpoints one is silently lost. The lock is a file named by the hash
    of the path's resolved target (~ and symlinks followed) in a per-user folder of the temp dir,
    so nothing is left beside the user's files; where that folder cannot be had, nothing is locked.
    A file that exists is locked by its inode as well, so a hard link to it is refused too."""
    taken: list[str] = []
    for key, fd in _lock_files(path):
        holder = _take_lock(fd)
        if holder is not None:
            os.close(fd)
            for done in taken:
                os.close(_CLAIMS.pop(done))
            raise _fail(label, path, f"another ffnn-tui run is writing it{holder}; choose another file")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
        except OSError:
            pass  # the pid is a courtesy for the refusal's message; the lock holds without it
        _CLAIMS[key] = fd
        taken.append(key)


def output_in_use(path: str | Path) -> str | None:
    """None when no run holds path (checked, not kept), else ' (pid N)' naming the one that does
    (or '' when its pid is unknown)."""
    for _, fd in _lock_files(path):
        try:
            holder = _take_lock(fd)
        finally:
            os.close(fd)  # which lets go of it if it was taken
        if holder is not None:
            return holder
    return None


def _lock_files(path: str | Path) -> Iterator[tuple[str, int]]:
    """(key, an open descriptor of its lock file) for each key of path this process does not hold
    already (a second flock of ours would refuse us) and that has a usable lock file (where none
    can be had the run goes unguarded rather than refused)."""
    for key in _lock_keys(path):
        if key not in _CLAIMS and (fd := _lock_file(key)) is not None:
            yield key, fd


def _lock_keys(path: str | Path) -> list[str]:
    """What a run writing path locks: its resolved name and, when it is an existing file, its
    inode (a hard link has another name but the same inode)."""
    target = user_path(path).resolve()
    keys = [str(target)]
    try:
        st = os.stat(target)
    except OSError:
        return keys
    if stat.S_ISREG(st.st_mode):
        keys.append(f"inode:{st.st_dev}:{st.st_ino}")
    return keys


def _lock_file(target: str) -> int | None:
    """An open descriptor of target's lock file, or None where there can be none (a lock file
    that is not a regular file, such as a FIFO put there, is not used)."""
    folder = Path(tempfile.gettempdir()) / f"ffnn-tui-locks-{os.getuid()}"
    name = hashlib.sha256(os.fsencode(target)).hexdigest()[:32] + ".lock"
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        if folder.stat().st_uid != os.getuid():  # made by someone else: not ours to trust
            return None
        fd = os.open(folder / name, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError:
        return None
    try:
        if stat.S_ISREG(os.fstat(fd).st_mode):
            return fd
    except OSError:
        pass
    os.close(fd)
    return None


def _take_lock(fd: int) -> str | None:
    """Lock fd's file: None when it is now ours, else ' (pid N)' of the run that holds it."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return None
    except OSError:
        try:
            holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        except OSError:
            holder = ""
        return f" (pid {holder})" if holder.isdigit() else ""


def release_outputs() -> None:
    """Let go of every lock claim_output took (the run has ended; exiting does the same)."""
    while _CLAIMS:
        os.close(_CLAIMS.popitem()[1])


def same_file(a: str | Path, b: str | Path) -> bool:
    """Whether two paths name one file, after ~ and symlinks (or the same name if neither exists yet)."""
    pa, pb = user_path(a), user_path(b)
    try:
        return os.path.samefile(pa, pb)
    except OSError:
        return pa.resolve() == pb.resolve()


def write_atomic(write: Callable[[BinaryIO], object], path: str | Path) -> None:
    """write(fh) to a temp file beside path, fsync, rename; the folder is fsynced too, so a crash
    (even kill -9) mid-write leaves the previous file whole. Checkpoints (core/checkpoint.py) and
    the app's rescue copy of the last step (tui/engine) both write this way. A symlink
    is written through: the temp file goes beside its resolved target and is renamed onto it (a
    rename onto the link itself would replace the link, or fail across filesystems)."""
    target = user_path(path).resolve()
    folder = target.parent
    remove_stale_temps(target)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(target), suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes 0600; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def remove_stale_temps(target: Path) -> None:
    """Remove temp files of target's saves whose writer is dead: a kill -9 mid-save leaves one
    (`.NAME.PID.XXXX.tmp`), and nothing else would ever remove it. Live writers' are kept."""
    stem = temp_prefix(target).rsplit(".", 2)[0]  # `.NAME` without this pid
    for tmp in target.parent.glob(f"{glob.escape(stem)}.*.tmp"):
        pid = tmp.name[len(stem) + 1 :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
