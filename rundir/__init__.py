"""Run directories on disk (the README's 'Results on disk'), shared by `simulate` and `neural`.

runs/<package>/<experiment>/<run-name>/{config.json, metrics.csv, checkpoint.*, summary.json}. Every write
is atomic (temporary file, then rename), so an interrupted process never leaves a half-written file; a run
with a summary.json is finished and is not overwritten unless asked. `RunDir` (owner.py) is the one owner of
a run directory: it locks it, checks the configuration and cleans up; `cores` shares the CPU between runs.
"""
from __future__ import annotations

import csv
import io
import json
import math
import os
import datetime
import platform
import shlex
import signal
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

PACKAGES = ("numpy", "scipy", "sympy", "torch", "matplotlib", "typer")


TMP_SUFFIX = ".tmp"  # temporaries are ".<name>.<random>.tmp" beside their target; RunDir removes leftovers
KILL_AT_ENV = "CIRCUIT_EFFICIENCY_KILL_AT"  # fault injection for tests: "NAME[:K]" = SIGKILL at the K-th write of NAME
_writes: dict[str, int] = {}


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fault_point(path: Path) -> None:
    """Tests set CIRCUIT_EFFICIENCY_KILL_AT=NAME[:K] to have this process killed (SIGKILL, no cleanup) after the
    K-th write of a file called NAME is on disk under its temporary name but not yet renamed."""
    spec = os.environ.get(KILL_AT_ENV)
    if not spec:
        return
    name, _, k = spec.partition(":")
    if path.name != name:
        return
    _writes[name] = _writes.get(name, 0) + 1
    if _writes[name] == int(k or 1):
        os.kill(os.getpid(), signal.SIGKILL)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` so that a reader (or a kill) sees the old file or the new one, never a mix.
    The file gets the permissions a plain open() would give (0666 less the umask)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), 0o666 & ~_umask())
            os.fsync(f.fileno())
        _fault_point(path)
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
    """A JSON file; a missing, unreadable or malformed one is a ValueError that names the file."""
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ValueError(f"{path} is not a readable JSON file ({e})") from None


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
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
        header, body = rows[0], rows[1:]
        return {name: np.array([float(r[k]) if r[k] != "" else np.nan for r in body], dtype=float)
                for k, name in enumerate(header)}
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, IndexError, ValueError, csv.Error) as e:
        raise ValueError(f"{path} is not a metrics table written by this toolkit ({type(e).__name__}: {e})") from None


TEXT_COLUMNS = ("ensemble", "parent", "task", "kind", "class")  # always text: a hash like 0123456789e1 is a name


def read_rows(path: Path, text: Sequence[str] = TEXT_COLUMNS, required: Sequence[str] = ()) -> list[dict[str, Any]]:
    """A table written by `write_csv` as dicts: numbers as float, empty cells as None, other text as str; the
    columns named in `text` stay text (an ensemble's digest may be all digits, or read as 1e5). ValueError naming
    the file and the problem when a `required` column is missing or a row is cut short or too long."""
    def cell(v: str) -> Any:
        if v == "":
            return None
        try:
            return float(v)
        except ValueError:
            return {"True": True, "False": False}.get(v, v)

    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            header = reader.fieldnames or []
            missing = [c for c in required if c not in header]
            if missing:
                raise ValueError(f"{path} lacks column(s) {', '.join(missing)}: not a table this command can read")
            rows = []
            for line, row in enumerate(reader, start=2):
                if None in row or any(v is None for v in row.values()):
                    raise ValueError(f"{path} line {line} has {len(row) - (None in row) + len(row.get(None) or [])} "
                                     f"cells, the header {len(header)}: the table is cut short or malformed")
                rows.append({k: (v or None) if k in text else cell(v) for k, v in row.items()})
            return rows
    except FileNotFoundError:
        raise ValueError(f"{path} does not exist") from None
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise ValueError(f"{path} is not a table written by this toolkit ({e})") from None


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


def is_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / "summary.json").exists()


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


from rundir.owner import OWNED_FILES, RunDir, owned_files  # noqa: E402, F401  (owner.py uses the helpers above)
