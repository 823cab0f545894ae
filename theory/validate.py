"""Input checks shared by the library and the CLI: each raises ValueError naming parameter, value and range."""
from __future__ import annotations

import math
from typing import Sequence


def positive(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name}={value!r} is not allowed: must be a finite number > 0")
    return float(value)


def nonnegative(name: str, value: float) -> float:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name}={value!r} is not allowed: must be a finite number >= 0")
    return float(value)


def classes(name: str, value: int) -> int:
    if int(value) != value or value < 2:
        raise ValueError(f"{name}={value!r} is not allowed: must be an integer >= 2")
    return int(value)


def norms(name: str, values: Sequence[float]) -> list[float]:
    if len(values) == 0:
        raise ValueError(f"{name} is empty: give at least one norm > 0")
    return [positive(f"{name}[{i}]", v) for i, v in enumerate(values)]
