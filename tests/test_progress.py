"""Progress off a terminal: whole lines, few of them (a log file is not flooded with carriage-return redraws)."""
import io
import sys

from rundir import progress


def test_a_log_file_gets_sparse_whole_lines(monkeypatch):
    log = io.StringIO()  # not a terminal
    monkeypatch.setattr(sys, "stderr", log)
    bar = progress.bar(5000, desc="train", unit="step")
    for _ in range(5000):
        bar.update(1)
    bar.close()
    text = log.getvalue()
    lines = text.splitlines()
    assert "\r" not in text and text.endswith("\n")
    assert 1 <= len(lines) <= 3  # the first line and the last: fewer than one per LOG_INTERVAL seconds
    assert lines[-1].startswith("train") and "5000/5000" in lines[-1]


def test_a_terminal_gets_a_redrawn_bar(monkeypatch):
    class Tty(io.StringIO):
        def isatty(self):
            return True

    tty = Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    bar = progress.bar(10, desc="sweep", unit="member")
    bar.update(10)
    bar.close()
    assert "\r" in tty.getvalue() and "10/10" in tty.getvalue()
