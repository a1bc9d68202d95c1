"""The flag a signal sets in a headless run, installed before anything heavy is imported.

Importing torch takes seconds on a loaded machine; a SIGTERM in that time used to end the process
with no message. The flag is installed first thing, so a signal while torch loads or the data is
read still ends with the run's checkpoint at step 0 and exit 128+N. Torch-free on purpose.
"""

from __future__ import annotations

import signal

# Every catchable signal that ends a process by default: the run stops between steps and saves.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGHUP", "SIGINT", "SIGQUIT", "SIGUSR1", "SIGUSR2", "SIGALRM")
)


class StopFlag:
    """Set by a stop signal; the run loop checks it between steps and exits 128+N."""

    def __init__(self) -> None:
        self.signum = 0

    def __call__(self, signum: int, frame: object) -> None:
        self.signum = signum

    def install(self) -> StopFlag:
        for sig in STOP_SIGNALS:
            signal.signal(sig, self)
        return self
