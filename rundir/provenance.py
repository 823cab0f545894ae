"""How a result was made: package versions, Python, platform, git commit, command line and time; and what its
runs cost (compute_seconds), written into every summary.json."""
from __future__ import annotations

import datetime
import platform
import shlex
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from rundir.files import read_json, write_json

PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib", "typer")
DISTRIBUTION = "circuit-efficiency"
SCHEMA_VERSION = 1  # of config.json and summary.json: raised when a reader could no longer read an older file
CHECKOUT = Path(__file__).resolve().parents[1]  # the folder holding the toolkit's packages


def toolkit_version() -> str:
    """This toolkit's version, from the installed distribution's metadata ("0+unknown" when it runs uninstalled)."""
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def stamped(record: dict) -> dict:
    """A config.json or summary.json record with the toolkit's version and the files' schema version first."""
    return {"schema_version": SCHEMA_VERSION, "toolkit_version": toolkit_version(), **record}


def environment() -> dict[str, Any]:
    """Package versions, Python, platform and the git commit, recorded in every config.json."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    commit, dirty = _git_state()
    return {"toolkit": toolkit_version(), "python": platform.python_version(), "platform": platform.platform(),
            "packages": versions, "git_commit": commit, "git_dirty": dirty}


def provenance() -> dict[str, Any]:
    """How a result was made, for its summary.json: this process's command line, the environment and the time."""
    return {"command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), "environment": environment(),
            "written_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def write_sweep_summary(sweep_dir: Path, summary: dict, sources: Sequence[Path] = ()) -> dict:
    """summary.json of a sweep (or of a result computed from sweeps) with its compute_seconds (training time of the
    runs below the sweep, or below `sources`) and provenance; returns what it wrote."""
    sources = list(sources) or [sweep_dir]
    summary = stamped({**summary, "compute_seconds": sum(compute_seconds(s) for s in sources),
                       "core_wait_seconds": sum(compute_seconds(s, "core_wait_seconds_this_session")
                                                for s in sources),
                       "provenance": provenance()})
    write_json(Path(sweep_dir) / "summary.json", summary)
    return summary


def compute_seconds(root: Path, key: str = "wall_seconds_this_session") -> float:
    """Training time recorded by every run below `root` (each run's last session; resumed runs count their last
    session only): what a sweep cost, however many times its command was re-run to reuse it. `key` sums another
    per-run number instead (the time its runs waited for CPU cores)."""
    total = 0.0
    for path in sorted(Path(root).glob("*/**/summary.json")):
        try:
            total += float(read_json(path).get(key) or 0)
        except (ValueError, AttributeError, TypeError):
            continue
    return total


def _git_state() -> tuple[str | None, bool | None]:
    """(commit, dirty) of the toolkit's own git checkout when it runs from one, else (None, None): a wheel or a
    site-packages install has no .git beside its packages, and a repository that merely encloses the working
    folder (or the install) is not the toolkit's."""
    if not ((CHECKOUT / ".git").exists() and (CHECKOUT / "pyproject.toml").is_file()
            and (CHECKOUT / "rundir" / "provenance.py").is_file()):
        return None, None
    try:
        head = subprocess.run(["git", "-C", str(CHECKOUT), "rev-parse", "--verify", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        status = subprocess.run(["git", "-C", str(CHECKOUT), "status", "--porcelain", "--untracked-files=no"],
                                capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None, None
    commit = head.stdout.strip()
    if head.returncode != 0 or len(commit) != 40:
        return None, None
    return commit, bool(status.stdout.strip()) if status.returncode == 0 else None
