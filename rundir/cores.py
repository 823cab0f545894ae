"""Share this machine's CPU cores between the toolkit's processes.

torch's CPU threads spin at every parallel region's barrier; when another process holds one of their cores,
each region waits for a descheduled thread. Measured here (cpu preset, 1,000 steps, 2 cores): one run alone
with 2 threads 14 s; two such runs at once 50-59 s, against 34 s for the same two one after the other; two
1-thread runs at once 21 s. Results also depend on the thread count (different summation order), so it cannot
adapt to the load mid-run without breaking determinism.

So a run's thread count is fixed in its configuration, and a run holds one lease per thread for its whole
life: one lock file per core under a per-user directory, taken with `fcntl.flock` (released by the kernel
when the process ends). A run that cannot get its cores waits instead of overcommitting them. Other programs
are not covered: keep heavy non-toolkit work off the machine while training on CPU.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterator


def available() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def lease_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return Path(base) / f"circuit-efficiency-cores-{os.getuid()}"


def _try_take(d: Path, n: int, total: int) -> list[int]:
    """Lock `n` free core slots at once (under a gate lock, so two waiting runs never hold half each)."""
    gate = os.open(d / "gate", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(gate, fcntl.LOCK_EX)
        held = []
        for i in range(total):
            fd = os.open(d / f"core-{i}", os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            held.append(fd)
            if len(held) == n:
                return held
        for fd in held:
            os.close(fd)
        return []
    finally:
        os.close(gate)


def check(n: int) -> None:
    """ValueError unless 1 <= n <= available(): a run's thread count, checked on the machine that runs it."""
    total = available()
    if not 1 <= n <= total:
        raise ValueError(f"threads={n} is not allowed: must lie in [1, {total}] (the cores this process may use)")


@contextlib.contextmanager
def lease(n: int, on_wait: Callable[[], None] | None = None, poll_seconds: float = 0.25) -> Iterator[None]:
    """Hold `n` of this machine's cores (1 <= n <= available()) for the duration of the block."""
    check(n)
    total = available()
    d = lease_dir()
    d.mkdir(parents=True, exist_ok=True)
    held = _try_take(d, n, total)
    if not held and on_wait is not None:
        on_wait()
    while not held:
        time.sleep(poll_seconds)
        held = _try_take(d, n, total)
    try:
        yield
    finally:
        for fd in held:
            os.close(fd)
