"""Exclusive locks on open files, released when the descriptor closes or the process ends however it ends:
`fcntl.flock` on POSIX, `msvcrt.locking` (first byte) on Windows. The run-directory owner and the core leases
take their locks here, so that importing the toolkit never needs a POSIX-only module."""
from __future__ import annotations

import os
import time

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None
    import msvcrt


def try_lock(fd: int) -> bool:
    """Take the exclusive lock on `fd` if it is free; False if another descriptor holds it."""
    if fcntl is not None:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        return True
    except OSError:
        return False


def lock(fd: int, poll_seconds: float = 0.05) -> None:
    """Take the exclusive lock on `fd`, waiting for it."""
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX)
        return
    while not try_lock(fd):
        time.sleep(poll_seconds)


def write_note(fd: int, text: str) -> None:
    """Replace what the locked file holds (the holder's pid, for a refusal message)."""
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, text.encode())


def read_note(fd: int) -> str:
    """What the lock's holder wrote (empty if nothing, or unreadable while locked on Windows)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 64).decode(errors="replace").strip()
    except OSError:
        return ""
