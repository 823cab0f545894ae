"""Share this machine's CPU cores between the toolkit's processes.

torch's CPU threads spin at every parallel region's barrier; when another process holds one of their cores,
each region waits for a descheduled thread. Measured here (cpu preset, 1,000 steps, 2 cores): one run alone
with 2 threads 14 s; two such runs at once 50-59 s, against 34 s for the same two one after the other; two
1-thread runs at once 21 s. Results also depend on the thread count (different summation order), so it cannot
adapt to the load mid-run without breaking determinism.

So a run's thread count is fixed in its configuration, and a run holds one lease per thread for its whole
life: one lock file per core under a per-user directory, taken through rundir.locks (released by the kernel
when the process ends). A run that cannot get its cores waits instead of overcommitting them, for at most
GROK_CORES_WAIT seconds (default 120; then it runs anyway, saying so: slower, with the same numbers), and
GROK_CORES=off skips leasing altogether (a machine with cores to spare, a notebook that must never wait). Only
CPU training leases; a GPU run never does. Other programs are not covered: keep heavy non-toolkit work off the
machine while training on CPU.
"""
from __future__ import annotations

import contextlib
import getpass
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from rundir import locks


def available() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def lease_dir() -> Path:
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    user = os.getuid() if hasattr(os, "getuid") else getpass.getuser()
    return Path(base) / f"circuit-efficiency-cores-{user}"


def _try_take(d: Path, n: int, total: int) -> list[int]:
    """Lock `n` free core slots at once (under a gate lock, so two waiting runs never hold half each)."""
    gate = os.open(d / "gate", os.O_RDWR | os.O_CREAT, 0o666)
    try:
        locks.lock(gate)
        held = []
        for i in range(total):
            fd = os.open(d / f"core-{i}", os.O_RDWR | os.O_CREAT, 0o666)
            if not locks.try_lock(fd):
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


OFF_ENV = "GROK_CORES"  # "off": never lease (a workstation with cores to spare, a notebook that must not wait)
WAIT_ENV = "GROK_CORES_WAIT"  # seconds a run waits for its cores before it runs without them
DEFAULT_WAIT_SECONDS = 120.0


@dataclass
class Lease:
    """What a lease got: `held` (the cores are this run's), `waited` (seconds spent waiting for them) and, when
    not held, `why` (leasing off, or the wait ran out)."""
    held: bool = False
    waited: float = 0.0
    why: str | None = None


def wait_bound() -> float:
    """Seconds a run waits for its cores: GROK_CORES_WAIT, else DEFAULT_WAIT_SECONDS (ValueError if malformed)."""
    text = os.environ.get(WAIT_ENV)
    if text is None or text.strip() == "":
        return DEFAULT_WAIT_SECONDS
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not (value >= 0 and value != float("inf")):
        raise ValueError(f"{WAIT_ENV}={text!r} is not allowed: give seconds, a number >= 0")
    return value


def leasing_on() -> bool:
    """False when GROK_CORES=off (also 0, no, false)."""
    return os.environ.get(OFF_ENV, "").strip().lower() not in ("off", "0", "no", "false")


@contextlib.contextmanager
def lease(n: int, on_wait: Callable[[float], None] | None = None, poll_seconds: float = 0.25,
          max_wait: float | None = None) -> Iterator[Lease]:
    """Hold `n` of this machine's cores (1 <= n <= available()) for the duration of the block, waiting at most
    `max_wait` seconds (default: wait_bound()) for other runs to free them; after that, or with leasing off
    (GROK_CORES=off), the block runs without holding them. `on_wait(bound)` is called once if it has to wait.
    Yields a Lease saying what happened."""
    check(n)
    got = Lease()
    if not leasing_on():
        got.why = f"{OFF_ENV}=off"
        yield got
        return
    bound = wait_bound() if max_wait is None else max_wait
    total = available()
    d = lease_dir()
    d.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    held = _try_take(d, n, total)
    if not held:
        if on_wait is not None:
            on_wait(bound)
        while not held and time.monotonic() - t0 < bound:
            time.sleep(min(poll_seconds, max(bound - (time.monotonic() - t0), 0.0)))
            held = _try_take(d, n, total)
        got.waited = time.monotonic() - t0
    got.held = bool(held)
    if not held:
        got.why = f"still held by other runs after {bound:g} s"
    try:
        yield got
    finally:
        for fd in held:
            os.close(fd)
