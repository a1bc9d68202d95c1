"""Where a run computes: the device, the dtype, and how many CPU threads a step gets.

One place for the three, so the trainer, the run loop and the benchmark agree.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import re

import torch

from .errors import InputError, clip

DEVICE_NAME = re.compile(r"auto|cpu|cuda(:\d+)?|mps")
DEVICE_CHOICES = "expected auto, cpu, cuda, cuda:N or mps"

DTYPES = {"float32": torch.float32, "float64": torch.float64}
SMALL_WORK = 200_000
"""Below this many multiply-adds per forward pass the CPU engine runs on one intra-op thread."""
DEFAULT_THREADS = torch.get_num_threads()


class DeviceError(InputError):
    """A device that is not here; str() is one line."""


def resolve_device(name: str, label: str = "--device") -> torch.device:
    """'auto' picks cuda, then mps, then cpu; an explicit device that is absent is a DeviceError
    whose line starts with label (`run.pt: config.device` when the name came from a checkpoint)."""
    if not DEVICE_NAME.fullmatch(name):  # `bench --device xpu` reaches here unvalidated
        raise DeviceError(f"{label} {clip(name)}: {DEVICE_CHOICES}")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name.startswith("cuda"):
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = int(name.split(":")[1]) if ":" in name else 0
        if index >= count:
            found = f"{count} CUDA device(s) found" if count else "no CUDA device found"
            raise DeviceError(f"{label} {name}: not available here ({found}); try --device cpu or auto")
    if name == "mps" and not mps_available():
        raise DeviceError(f"{label} {name}: not available here (no Apple GPU); try --device cpu or auto")
    return torch.device(name)


def mps_available() -> bool:
    return bool(getattr(torch.backends, "mps", None) and torch.backends.mps.is_available())


def threads_for(work: int, drawing: bool = False) -> int:
    """Intra-op threads for a step of `work` multiply-adds: 1 for tiny steps, where waking a second
    thread costs more than it saves (a 2-8-2 step ran 2x faster on one thread), else torch's
    default, and one fewer while the dashboard draws a snapshot: a step's OpenMP barriers stall
    whenever the renderer takes one of its cores (10k x 64 beside the dashboard: 0.33-0.86 of
    headless on all cores, 0.75 on one fewer), and between redraws the cores are free."""
    if work < SMALL_WORK:
        return 1
    if drawing:
        return max(1, DEFAULT_THREADS - 1)
    return DEFAULT_THREADS


def claim_threads(device: torch.device, work: int, drawing: bool = False) -> None:
    """Set torch's intra-op threads; call it from the thread that runs the steps."""
    if device.type == "cpu":
        keep_freed_memory()
        torch.set_num_threads(threads_for(work, drawing))


HEAP_KEEPS = 32 << 20
"""Bytes: freed blocks smaller than this stay in the process's heap (glibc's largest mmap threshold)."""


@functools.cache
def keep_freed_memory() -> bool:
    """Ask glibc to serve blocks under HEAP_KEEPS from the heap and to keep what is freed there:
    a CPU step frees and makes the same few (N, H) tensors every time, and by default each came
    back as fresh pages from the OS (10k x 64: about 140 page faults a step). Once per process;
    False where libc is not glibc (macOS, musl) and nothing changed."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
    return bool(mallopt(M_MMAP_THRESHOLD, HEAP_KEEPS)) and bool(mallopt(M_TRIM_THRESHOLD, 4 * HEAP_KEEPS))


def sync(device: torch.device) -> None:
    """Wait for queued kernels (timing on a GPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize()
