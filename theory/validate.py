"""Input checks shared by the library and the CLIs: each raises ValueError naming parameter, value and range.

Ranges are generous but finite, so that no accepted input overflows float64 downstream (a norm of 1e308 squared
is inf; 1e-320 is subnormal and its logarithm loses all precision):
- magnitudes (norms, weight decay, dataset sizes, step sizes): [1e-100, 1e100];
- exponents kappa and q: [1e-3, 1e3];
- class counts: integers in [2, 1e9].
"""
from __future__ import annotations

import math
from typing import Sequence

TINY, HUGE = 1e-100, 1e100  # magnitude range of positive inputs
EXPONENT_RANGE = (1e-3, 1e3)  # kappa and q
MAX_CLASSES = 10**9


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def positive(name: str, value: float, lo: float = TINY, hi: float = HUGE) -> float:
    if not (_real(value) and lo <= value <= hi):
        raise ValueError(f"{name}={value!r} is not allowed: must be a number in [{lo:g}, {hi:g}]")
    return float(value)


def nonnegative(name: str, value: float, hi: float = HUGE) -> float:
    if not (_real(value) and (value == 0 or TINY <= value <= hi)):
        raise ValueError(f"{name}={value!r} is not allowed: must be 0 or a number in [{TINY:g}, {hi:g}]")
    return float(value)


def exponent(name: str, value: float) -> float:
    return positive(name, value, *EXPONENT_RANGE)


def classes(name: str, value: int, minimum: int = 2) -> int:
    if not (_real(value) and int(value) == value and minimum <= value <= MAX_CLASSES):
        raise ValueError(f"{name}={value!r} is not allowed: must be an integer in [{minimum}, {MAX_CLASSES:.0e}]")
    return int(value)


def norms(name: str, values: Sequence[float]) -> list[float]:
    if len(values) == 0:
        raise ValueError(f"{name} is empty: give at least one norm > 0")
    return [positive(f"{name}[{i}]", v) for i, v in enumerate(values)]


def finite_result(what: str, value: float, inputs: str) -> float:
    """A computed number that must be finite; otherwise the inputs that produced it are named."""
    if not (isinstance(value, (int, float)) and math.isfinite(value)):
        raise ValueError(f"{inputs}: {what} = {value} is not a finite number (the inputs are too extreme for float64)")
    return value
