"""The one owner of a run directory (the README's 'Results on disk').

`RunDir.open(path, config, overwrite=...)` makes the directory, takes an exclusive lock on `<dir>/.lock`
(rundir.locks: released by the kernel when the process ends, however it ends), removes temporaries left by a
killed writer, and compares `config` with the configuration already recorded there. A second process that
opens the same directory gets a ValueError naming the process holding it. A directory made by a call whose
checks then fail is removed again, so a refused command leaves nothing behind.
"""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any, Iterable

from rundir import locks
from rundir.files import TMP_SUFFIX, is_finished, read_json, read_object, to_jsonable, write_json
from rundir.provenance import provenance, stamped

RESULT_FILES = ("summary.json", "checkpoint.pt", "metrics.csv", "sweep.csv")  # removed by overwrite, summary first
JOBS_FILE = "jobs.json"  # a sweep's submitted jobs (neural.cluster)
OWNED_FILES = RESULT_FILES + ("config.json", ".lock", JOBS_FILE)  # a run directory's own: nothing else writes them


def owned_files(path: Path) -> set[str]:
    """The names of files the run or experiment directory `path` owns (none if it is not one: it holds none of
    OWNED_FILES): OWNED_FILES and the tables its config.json lists."""
    path = Path(path)
    if not any((path / name).exists() for name in OWNED_FILES):
        return set()
    tables = []
    if (path / "config.json").is_file():
        try:
            tables = read_json(path / "config.json").get("tables") or []
        except (ValueError, AttributeError):
            pass
    return set(OWNED_FILES) | {t for t in tables if isinstance(t, str)}


class RunDir:
    """A locked run directory. `state` is "new", "unfinished" (a configuration is recorded, no summary) or
    "finished" (summary.json exists). Use as a context manager, or call `release()`."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fd: int | None = None
        self._created = False
        self._top: Path | None = None
        self.state = "new"

    @classmethod
    def open(cls, path: Path, config: dict, *, overwrite: bool = False, extendable: Iterable[str] = (),
             results: Iterable[str] = ()) -> "RunDir":
        """Lock `path` for this process and check `config` against the recorded one (keys in `extendable`,
        e.g. the step count, may differ). With `overwrite`, earlier results (RESULT_FILES and `results`) are
        removed instead."""
        d = cls(path)
        d._lock()
        try:
            d._check(config, overwrite, set(extendable), tuple(results))
        except BaseException:
            d.release()
            raise
        return d

    # ---------------------------------------------------------------- lock
    def _lock(self) -> None:
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"out={str(self.path)!r} is a file, not a directory: choose another --out")
        if self.path.resolve() == Path.cwd().resolve():
            raise ValueError(f"out={str(self.path)!r} is the working directory itself (an empty --out is read as "
                             f"'.'): name a directory for the results")
        existed = self.path.exists()
        top = self.path.absolute()
        while not top.parent.exists():  # the outermost folder this call makes
            top = top.parent
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            self._created = not existed
            self._top = top
            fd = os.open(self.path / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as e:
            self._remove_if_created()
            raise ValueError(f"out={str(self.path)!r} cannot be written: {e.strerror or e}") from None
        if not locks.try_lock(fd):
            holder = locks.read_note(fd) or "unknown"
            os.close(fd)
            raise ValueError(f"out={str(self.path)!r} is being written by another process (pid {holder}): "
                             f"wait for it to finish or choose another --out")
        locks.write_note(fd, str(os.getpid()))
        self._fd = fd
        for tmp in self.path.glob(f".*{TMP_SUFFIX}"):  # a killed writer's half-made files
            tmp.unlink(missing_ok=True)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is not None:
            self._remove_if_created()
        self.release()

    def _remove_if_created(self) -> None:
        """Remove a directory this object made, with the empty folders above it that it made too, if nothing but
        its lock and the configuration this call recorded were written there (a run refused before it produced
        anything): a refused command leaves nothing behind. Empty folders inside (sub-runs that were refused in
        turn) do not count as results."""
        if not (self._created and self.path.is_dir()):
            return
        files = [p for p in self.path.rglob("*") if not p.is_dir()]
        if any(p.parent != self.path or p.name not in (".lock", "config.json") for p in files):
            return
        shutil.rmtree(self.path, ignore_errors=True)
        parent = self.path.absolute().parent
        while self._top is not None and parent.is_relative_to(self._top):
            try:
                parent.rmdir()  # only while empty
            except OSError:
                break
            parent = parent.parent

    # ---------------------------------------------------------------- configuration
    def recorded_config(self) -> dict | None:
        f = self.path / "config.json"
        return read_object(f, {"config": dict})["config"] if f.exists() else None

    def _check(self, config: dict, overwrite: bool, extendable: set[str], results: tuple[str, ...] = ()) -> None:
        if overwrite:
            for name in RESULT_FILES + results:
                (self.path / name).unlink(missing_ok=True)
            self.state = "new"
            return
        recorded = self.recorded_config()
        if recorded is None:
            self.state = "finished" if is_finished(self.path) else "new"
            if self.state == "finished":
                raise ValueError(f"out={str(self.path)!r} holds a summary but no config.json: "
                                 f"pass --overwrite to replace it")
            return
        wanted = json.loads(json.dumps(to_jsonable(config)))
        differ = sorted(k for k in set(wanted) | set(recorded)
                        if k not in extendable and wanted.get(k) != recorded.get(k))
        if differ:
            diffs = ", ".join(f"{k}: recorded {recorded.get(k)!r}, asked {wanted.get(k)!r}" for k in differ[:4])
            raise ValueError(f"out={str(self.path)!r} holds a {'finished' if is_finished(self.path) else 'unfinished'} "
                             f"run with a different configuration ({diffs}); choose another --out or pass --overwrite")
        self.state = "finished" if is_finished(self.path) else "unfinished"

    # ---------------------------------------------------------------- writes
    def write_config(self, record: dict[str, Any]) -> None:
        """config.json: `record` must hold the run's identity under "config"."""
        write_json(self.path / "config.json", stamped(record))

    def finish(self, summary: dict) -> None:
        """summary.json, written last: its presence marks the run finished. It records how it was made
        (rundir.provenance: command line, versions, time)."""
        write_json(self.path / "summary.json", stamped({**summary, "provenance": provenance()}))
