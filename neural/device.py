"""Which device a run trains on: `--device auto|cpu|cuda|cuda:N`, checked before anything is allocated, and the
rule that a run is resumed on the device it started on.

Float results differ across devices (CUDA against CPU, one GPU model against another; even CPUs round float32
matrix products differently), and training amplifies the difference, so a run resumed elsewhere would not end
where an uninterrupted one does. Resuming on another device is therefore refused unless asked for, and then
recorded."""
from __future__ import annotations

import re

import torch

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
