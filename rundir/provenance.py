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


def environment() -> dict[str, Any]:
    """Package versions, Python, platform and the git commit, recorded in every config.json."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"python": platform.python_version(), "platform": platform.platform(), "packages": versions,
            "git_commit": _git_commit()}


def provenance() -> dict[str, Any]:
    """How a result was made, for its summary.json: this process's command line, the environment and the time."""
    return {"command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]]), "environment": environment(),
            "written_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}


def write_sweep_summary(sweep_dir: Path, summary: dict, sources: Sequence[Path] = ()) -> dict:
    """summary.json of a sweep (or of a result computed from sweeps) with its compute_seconds (training time of the
    runs below the sweep, or below `sources`) and provenance; returns what it wrote."""
    sources = list(sources) or [sweep_dir]
    summary = {**summary, "compute_seconds": sum(compute_seconds(s) for s in sources), "provenance": provenance()}
    write_json(Path(sweep_dir) / "summary.json", summary)
    return summary


def compute_seconds(root: Path) -> float:
    """Training time recorded by every run below `root` (each run's last session; resumed runs count their last
    session only): what a sweep cost, however many times its command was re-run to reuse it."""
    total = 0.0
    for path in sorted(Path(root).glob("*/**/summary.json")):
        try:
            total += float(read_json(path).get("wall_seconds_this_session") or 0)
        except (ValueError, AttributeError, TypeError):
            continue
    return total


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None
