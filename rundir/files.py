"""The file format of results on disk: atomic writes (a reader or a kill sees the old file or the new one), JSON
with plain types, and tidy CSV tables, each read back with one-line errors naming the file."""
from __future__ import annotations

import csv
import io
import json
import math
import os
import signal
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

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
    The file gets the permissions a plain open() would give (0666 less the umask). A file system that refuses
    (read-only, full, gone) is a ValueError naming the file (as out=, the option that chose where it goes) and
    why; the old file, if any, stays as it was."""
    path = Path(path)
    try:
        _write_replacing(path, data)
    except OSError as e:
        raise ValueError(f"out={str(path)!r} cannot be written: {e.strerror or e} (nothing there was "
                         f"changed)") from None


def _temporary_beside(path: Path) -> tuple[int, str]:
    """A new temporary file in `path`'s folder (made if missing), named so that a later writer clears it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TMP_SUFFIX)


def _write_replacing(path: Path, data: bytes) -> None:
    fd, tmp = _temporary_beside(path)
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


def check_file_target(path: Path, param: str = "out") -> Path:
    """Before any work: ValueError naming `param` unless a file can be written at `path` (not a directory, its
    folder makes and takes a file), so that a command never runs for long and then fails at its last write."""
    path = Path(path)
    if str(path) in ("", ".") or path.is_dir():
        raise ValueError(f"{param}={str(path)!r} is a directory: name the file to write")
    try:
        fd, tmp = _temporary_beside(path)
        os.close(fd)
        os.unlink(tmp)
    except OSError as e:
        raise ValueError(f"{param}={str(path)!r} cannot be written: {e.strerror or e}") from None
    return path


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


def read_object(path: Path, keys: dict[str, type | tuple[type, ...]] | None = None) -> dict:
    """A JSON file that must hold an object, with `keys` of those types (bool is not an int); a ValueError naming
    the file and the first key that is missing or of another type (a file edited by hand is caught where it is
    read, once, instead of deep in the code that uses it)."""
    record = read_json(path)
    if not isinstance(record, dict):
        raise ValueError(f"{path} holds a JSON {type(record).__name__}, not an object: it was edited or cut short; "
                         f"re-run its command with --overwrite")
    for key, kind in (keys or {}).items():
        value = record.get(key)
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if key not in record or not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            what = "lacks" if key not in record else f"has a malformed ({type(value).__name__})"
            raise ValueError(f"{path} {what} {key!r}: it was edited or cut short; re-run its command with --overwrite")
    return record


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """A tidy table with a header row; readable by numpy.genfromtxt(names=True) and pandas.read_csv."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    atomic_write_text(path, buf.getvalue())


def append_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, at: int) -> int:
    """Append `rows` to a table that `write_csv` or this function wrote, after cutting it back to `at` bytes (the
    size a checkpoint recorded: rows a killed process appended after its last checkpoint are dropped, and so is a
    half-written line). At 0 (or a file not there) the header is written first. The cost does not grow with the
    table: nothing already written is rewritten. Returns the file's size after."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    if at == 0 or not path.exists():
        at = 0
        w.writerow(columns)
    for row in rows:
        w.writerow([_cell(v) for v in row])
    try:
        with open(path, "r+b" if path.exists() else "wb") as f:
            f.truncate(at)
            f.seek(at)
            f.write(buf.getvalue().encode())
            f.flush()
            os.fsync(f.fileno())
            size = f.tell()
    except OSError as e:  # the checkpoint still records where the table ended: a resume cuts back to it
        raise ValueError(f"out={str(path)!r} cannot be written: {e.strerror or e} (the run resumes from its last "
                         f"checkpoint once it can)") from None
    _fault_point(path)
    return size


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




def read_rows(path: Path, text: Sequence[str] = (), required: Sequence[str] = (),
              upto: int | None = None) -> list[dict[str, Any]]:
    """A table written by `write_csv` or `append_csv` (its first `upto` bytes, if given) as dicts: numbers as
    float, empty cells as None, other text as str; the columns named in `text` stay text (a sweep's results name
    each ensemble by a digest that may be all digits, or read as 1e5: each experiment declares such columns,
    neural.protocol.Experiment.text_columns). ValueError naming the file and the problem when a
    `required` column is missing or a row is cut short or too long."""
    def cell(v: str) -> Any:
        if v == "":
            return None
        try:
            return float(v)
        except ValueError:
            return {"True": True, "False": False}.get(v, v)

    try:
        with open(path, "rb") as f:
            content = (f.read() if upto is None else f.read(upto)).decode()
        reader = csv.DictReader(io.StringIO(content, newline=""))
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


def is_finished(run_dir: Path) -> bool:
    return (Path(run_dir) / "summary.json").exists()
