"""One progress bar for every long loop: a redrawn bar on a terminal, sparse whole lines in a log file.

tqdm redraws with carriage returns every fraction of a second; written into a file (`make demo > log`) that is
thousands of '\\r' fragments. Off a terminal this bar prints one complete line (count, rate, ETA) at most every
LOG_INTERVAL seconds, and the final line when it closes.
"""
from __future__ import annotations

import sys

from tqdm import tqdm

TTY_INTERVAL = 0.5  # seconds between redraws on a terminal
LOG_INTERVAL = 30.0  # seconds between lines in a log file


class _Lines:
    """A stream that drops tqdm's bare '\\n' and '\\r' (cursor moves), keeping whole lines only."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text: str) -> None:
        if text.strip():
            self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


class _LineBar(tqdm):
    """tqdm that writes each refresh as its own line (for files and pipes)."""

    def display(self, msg=None, pos=None):  # noqa: D102 (tqdm's hook)
        text = self.__str__() if msg is None else msg
        if text.strip():
            self.fp.write(text.strip() + "\n")
            self.fp.flush()
        return True


def bar(total: int, *, desc: str, unit: str, initial: int = 0, leave: bool = True) -> tqdm:
    """A progress bar on stderr: redrawn on a terminal, a line every LOG_INTERVAL seconds in a log file."""
    if sys.stderr.isatty():
        return tqdm(total=total, initial=initial, desc=desc, unit=unit, file=sys.stderr, leave=leave,
                    mininterval=TTY_INTERVAL)
    return _LineBar(total=total, initial=initial, desc=desc, unit=unit, file=_Lines(sys.stderr), leave=True,
                    mininterval=LOG_INTERVAL, maxinterval=LOG_INTERVAL, ascii=True)
