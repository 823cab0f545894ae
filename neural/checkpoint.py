"""A run's checkpoint.pt and metrics.csv: the state to resume from, and the history, kept apart.

checkpoint.pt holds the state (weights, AdamW's moments and counter, step, which members are live, diverged or
converged) and the size metrics.csv had when it was written: tensors and plain values only, loaded with
weights_only=True, so opening one never runs code. Its size does not grow with the run. metrics.csv is only ever
appended to; a process killed between an append and the next checkpoint leaves rows past the recorded size, which
the resumed run cuts off and measures again (bit-identical on CPU)."""
from __future__ import annotations

import io
import pickle
import warnings
from pathlib import Path

import torch

import rundir

KEYS = ("config", "step", "params", "opt", "active", "diverged")
ROW_INTS = ("step", "member")  # the metrics table's integer columns


def load(path: Path, dev: torch.device | str = "cpu") -> dict:
    """A run's checkpoint.pt, loaded with weights_only=True. ValueError (naming the file) if it is unreadable,
    unsafe or incomplete. A checkpoint written before metrics were appended holds its rows itself ("rows")."""
    state = safe_load(path, "checkpoint", dev)
    missing = [k for k in KEYS if not isinstance(state, dict) or k not in state]
    if not missing and "metrics_bytes" not in state and "rows" not in state:
        missing = ["metrics_bytes"]
    if missing:
        raise ValueError(f"checkpoint={str(path)!r} is not a grok-neural checkpoint: missing {', '.join(missing)}")
    return state


def safe_load(path: Path, param: str, dev: torch.device | str = "cpu"):
    """torch.load with weights_only=True; every failure is a one-line ValueError naming `param` and the file."""
    try:
        with warnings.catch_warnings():  # files pickled with protocol > 2 load fine; the warning is noise
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location=dev, weights_only=True)
    except pickle.UnpicklingError as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{param}={str(path)!r} was refused: it holds objects other than tensors and plain values, "
                         f"and loading it could run code ({first[:160]})") from None
    except (RuntimeError, EOFError, OSError, ValueError, AttributeError, TypeError, KeyError, IndexError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ValueError(f"{param}={str(path)!r} cannot be read as a torch file (truncated or not a checkpoint: "
                         f"{first[:160]})") from None


def save(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    rundir.atomic_write_bytes(path, buf.getvalue())


def read_rows(run_dir: Path, saved: dict) -> list[dict]:
    """The metric rows a checkpoint stands for: its own (older checkpoints), or metrics.csv's first
    `metrics_bytes` bytes, each row holding the metrics measured there (blank cells left out)."""
    if "rows" in saved:
        return list(saved["rows"])
    if saved["metrics_bytes"] == 0:
        return []
    rows = rundir.read_rows(Path(run_dir) / "metrics.csv", upto=saved["metrics_bytes"])
    return [{k: int(v) if k in ROW_INTS else v for k, v in r.items() if v is not None} for r in rows]
