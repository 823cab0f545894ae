"""Which device a run trains on: `--device auto|cpu|cuda|cuda:N`, checked before anything is allocated, and the
rule that a run is resumed on the device it started on.

Float results differ across devices (CUDA against CPU, one GPU model against another; even CPUs round float32
matrix products differently), and training amplifies the difference, so a run resumed elsewhere would not end
where an uninterrupted one does. Resuming on another device is therefore refused unless asked for, and then
recorded."""
from __future__ import annotations

import contextlib
import os
import re

from rundir.lazy import lazy

torch = lazy("torch")  # imported when a device is resolved, not for --help

# cuBLAS is deterministic only with a fixed workspace; it reads this when its first handle is made, so it is set
# when this module is imported, before any CUDA work (a value the user set is kept).
os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")

CHOICES = "auto (CUDA when visible, else the CPU), cpu, cuda or cuda:N"
_PATTERN = re.compile(r"auto|cpu|cuda(?::(\d+))?")


def check_spec(spec: str) -> str:
    """The spec, normalised, if it is one of CHOICES (ValueError naming --device otherwise). Says nothing about
    whether this machine has that device: a SLURM job resolves it where it runs."""
    text = str(spec).strip().lower()
    if not _PATTERN.fullmatch(text):
        raise ValueError(f"device={spec!r} is not allowed: choose {CHOICES}")
    return text


def resolve(spec: str = "auto") -> torch.device:
    """The torch device for a spec on this machine (ValueError if it has no such device). CUDA devices carry
    their index, so the record says which GPU."""
    text = check_spec(spec)
    if text == "cpu" or (text == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise ValueError(f"device={spec!r} is not available: torch sees no CUDA device on this machine "
                         f"(torch {torch.__version__}, CUDA build {torch.version.cuda}); use --device cpu or auto")
    count = torch.cuda.device_count()
    index = _PATTERN.fullmatch(text).group(1)
    k = int(index) if index is not None else torch.cuda.current_device()
    if k >= count:
        raise ValueError(f"device={spec!r} is not available: this machine has {count} CUDA device(s), "
                         f"cuda:0 to cuda:{count - 1}")
    return torch.device("cuda", k)


def describe(dev: torch.device) -> str:
    """The device and, for a GPU, its model: what the run directory records."""
    return f"{dev} ({torch.cuda.get_device_name(dev)})" if dev.type == "cuda" else str(dev)


def check_resume(recorded: str | None, dev: torch.device, path, allow: bool) -> bool:
    """Whether a run recorded on `recorded` (as `describe` writes it) is being resumed on another kind of device:
    another type, or another GPU model (another index of the same model is the same device). Refused
    (ValueError) unless `allow`. A record without a model (written before models were) matches by type."""
    if recorded is None:
        return False
    now = describe(dev)
    kind, _, model = recorded.partition(" (")
    if kind.split(":")[0] == dev.type and (not model or model.rstrip(")") == now.partition(" (")[2].rstrip(")")):
        return False
    if not allow:
        raise ValueError(f"out={str(path)!r} was trained on {recorded}; resuming it on {now} would not continue with "
                         f"the same numbers (float results differ across devices): resume with "
                         f"--device {recorded.split(' ')[0]}, or pass --allow-device-change to continue here anyway "
                         f"(recorded in its config.json)")
    return True


def check_precision(precision: str, dev: torch.device) -> None:
    """ValueError if `precision` has no meaning on `dev`: TF32 is a CUDA matmul mode (a CPU has none)."""
    if precision == "tf32" and dev.type != "cuda":
        raise ValueError(f"precision='tf32' is not available on {dev}: TF32 is a mode of NVIDIA GPUs' matrix units; "
                         f"use precision float32 (exact) or bf16 on a CPU")


def numerics(precision: str, dev: torch.device) -> dict:
    """What a run's numbers depend on beyond its configuration, as config.json records it."""
    return {"precision": precision, "matmul": {"tf32": "tf32", "float64": "float64"}.get(precision, "float32"),
            "deterministic_algorithms": dev.type == "cuda"}


@contextlib.contextmanager
def numerics_mode(precision: str, dev: torch.device):
    """Within: float32 matrix products exact (TF32 only when precision is 'tf32') and, on CUDA, deterministic
    algorithms (the attention's scatter-adds and cuBLAS), so that the same seed gives the same numbers on the same
    GPU. The previous settings are restored after."""
    if dev.type != "cuda":
        yield
        return
    before = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32,
              torch.are_deterministic_algorithms_enabled())
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = precision == "tf32"
    torch.use_deterministic_algorithms(True)
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = before[:2]
        torch.use_deterministic_algorithms(before[2])
