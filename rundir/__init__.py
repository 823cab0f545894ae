"""Run directories on disk (DESIGN.md 'Results on disk'), shared by `simulate` and `neural`.

runs/<package>/<experiment>/<run-name>/{config.json, metrics.csv, checkpoint.*, summary.json}. Every write
is atomic (temporary file, then rename), so an interrupted process never leaves a half-written file; a run
with a summary.json is finished and is not overwritten unless asked.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import platform
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib", "typer")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode())


def to_jsonable(x: Any) -> Any:
    """Plain JSON types: numpy scalars and arrays become numbers and lists; inf and nan become strings."""
    if isinstance(x, dict):
        return {str(k): to_jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_jsonable(v) for v in x]
    if isinstance(x, np.ndarray):
        return to_jsonable(x.tolist())
    if isinstance(x, (np.integer,)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(x) else str(float(x))
    if isinstance(x, Path):
        return str(x)
    return x


def write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=2) + "\n")


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text())


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A tidy table with a header row; readable by numpy.genfromtxt(names=True) and pandas.read_csv."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    atomic_write_text(path, buf.getvalue())


def _cell(v: Any) -> Any:
    if isinstance(v, (float, np.floating)):
        return repr(float(v))
    if v is None:
        return ""
    return v


def read_csv(path: Path) -> dict[str, np.ndarray]:
    """Columns of a table written by `write_csv`, as float arrays (empty cells are nan)."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    header, body = rows[0], rows[1:]
    return {name: np.array([float(r[k]) if r[k] != "" else np.nan for r in body]) for k, name in enumerate(header)}


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


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def is_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / "summary.json").exists()


def claim(run_dir: Path, overwrite: bool) -> Path:
    """Make `run_dir`; refuse to overwrite a finished run unless `overwrite`."""
    run_dir = Path(run_dir)
    if is_finished(run_dir) and not overwrite:
        raise FileExistsError(f"{run_dir} holds a finished run; pass --overwrite to replace it")
    run_dir.mkdir(parents=True, exist_ok=True)
    if overwrite:  # until the new summary is written, the directory must not look finished
        (run_dir / "summary.json").unlink(missing_ok=True)
    return run_dir


def log_spaced_steps(total: int, dense_until: int = 1000, n_log: int = 500) -> np.ndarray:
    """Every step up to `dense_until`, then at least `n_log` log-spaced steps up to `total` (inclusive)."""
    dense = np.arange(0, min(dense_until, total) + 1)
    if total <= dense_until:
        return dense
    late = np.unique(np.round(np.geomspace(dense_until, total, n_log + 1)).astype(int))
    # rounding merges near-equal steps; top up with linear steps so at least n_log remain after dense_until
    if len(late) - 1 < n_log:
        late = np.unique(np.concatenate([late, np.linspace(dense_until, total, n_log + 1).round().astype(int)]))
    return np.unique(np.concatenate([dense, late]))
