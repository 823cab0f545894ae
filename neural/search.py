"""Adaptive search for a seed's critical dataset size: D_crit found where it is, not on a fixed grid (issue 33).

The search spends members where the transition is. Each round proposes at most `per_round` sizes D' that a
caller trains together (one sweep stage); `measure(sizes) -> accuracies` is the caller's (a sweep; in tests, a
planted curve). Accuracies are test accuracies at convergence, and D_crit is where they first cross `level` (1/2)
going up in D', log-linear between measured sizes: `crossing`, which also reads a fixed grid (the ungrokking sweeps).

- **Bracketing.** The first round measures `per_round` geometric sizes over [lo, hi]. While every accuracy is at or
  above the level the next round extends below the smallest measured size by the same span ratio (down to `floor`);
  while every one is below it, above the largest (up to `ceiling`). A bound reached without a crossing ends the
  search: D_crit lies outside [floor, ceiling], which the result says.
- **Narrowing.** With a bracket a < b (accuracy below the level at a, at or above it at b, the first such pair
  along every size measured so far, so that a dip above D_crit does not move it), the next round measures
  `per_round` sizes geometrically inside (a, b): each round narrows the bracket by a factor of per_round + 1 in log.
- **Stopping rule.** Stop when b / a <= 1 + `precision` or b - a <= 1 (sizes are whole pairs), or when
  `max_rounds` are spent (then `finished` is False and the bracket is what was reached). For an accuracy that is
  monotone in D' the true crossing lies in the final bracket, so the reported D_crit is within `precision` of it
  (relative), sharp or gradual alike.

`grid_members` says how many sizes a fixed geometric grid over the same range needs for the same bracket width,
the comparison the issue asks for.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Generator, Hashable

import numpy as np


@dataclass
class SearchResult:
    d_crit: float | None  # log-linear crossing inside the final bracket; None when no crossing was found
    bracket: tuple[int, int] | None  # (a, b): accuracy below the level at a, at or above it at b
    points: list[tuple[int, float]] = field(default_factory=list)  # every (D', accuracy) measured, by D'
    rounds: int = 0
    finished: bool = False  # the stopping rule was met (not the round budget)
    why: str = ""  # how the search ended, in words

    @property
    def members(self) -> int:
        """Sizes trained (one member each, per seed)."""
        return len(self.points)


def upward_index(acc, level: float = 0.5) -> int | None:
    """The first k with acc[k - 1] < level <= acc[k] along an ascending grid (None if the curve never crosses
    `level` going up)."""
    return next((k for k in range(1, len(acc)) if acc[k - 1] < level <= acc[k]), None)


def interpolate(a: float, acc_a: float, b: float, acc_b: float, level: float = 0.5) -> float:
    """Where the accuracy crosses `level` between (a, acc_a) and (b, acc_b), linearly in log D'."""
    t = (level - acc_a) / (acc_b - acc_a)
    return float(math.exp(math.log(a) + t * (math.log(b) - math.log(a))))


def crossing(D, acc, level: float = 0.5) -> float | None:
    """The first D where `acc` crosses `level` from below going up the (ascending) grid, interpolated linearly
    in log D; None if it never does (all above: D_crit below the grid; all below: above it). D_crit on a grid."""
    k = upward_index(acc, level)
    return None if k is None else interpolate(D[k - 1], acc[k - 1], D[k], acc[k], level)


def first_crossing(points: list[tuple[int, float]], level: float = 0.5) -> tuple[int, int] | None:
    """The adjacent pair (a, b) of the measured sizes, in ascending order, where the accuracy first crosses `level`
    going up."""
    k = upward_index([acc for _, acc in points], level)
    return None if k is None else (points[k - 1][0], points[k][0])


def geometric(lo: float, hi: float, n: int, inside: bool = False) -> list[int]:
    """`n` sizes geometric over [lo, hi] (strictly inside it when `inside`), rounded to whole pairs."""
    if inside:
        values = np.geomspace(lo, hi, n + 2)[1:-1]
    else:
        values = np.geomspace(lo, hi, n)
    return sorted({int(round(v)) for v in values})


def rounds(lo: int, hi: int, *, floor: int = 1, ceiling: int | None = None, per_round: int = 3,
           precision: float = 0.05, max_rounds: int = 8, level: float = 0.5
           ) -> Generator[list[int], list[float], SearchResult]:
    """One seed's search as a generator: it yields the sizes of each round, is sent their accuracies, and returns
    the SearchResult (the module docstring's rule). Driving it from outside lets a caller train the rounds of
    several seeds together (`lockstep`). ValueError naming the first setting out of range."""
    ceiling = hi if ceiling is None else ceiling
    if not 1 <= floor <= lo < hi <= ceiling:
        raise ValueError(f"lo={lo}, hi={hi} are not allowed: need 1 <= floor ({floor}) <= lo < hi <= ceiling "
                         f"({ceiling})")
    if per_round < 1:
        raise ValueError(f"per_round={per_round} is not allowed: must be >= 1")
    if not 0 < precision < 1:
        raise ValueError(f"precision={precision} is not allowed: must lie in (0, 1)")
    if max_rounds < 1:
        raise ValueError(f"max_rounds={max_rounds} is not allowed: must be >= 1")
    measured: dict[int, float] = {}
    proposal = geometric(lo, hi, max(per_round, 2))
    out = SearchResult(None, None)
    for out.rounds in range(1, max_rounds + 1):
        fresh = [d for d in proposal if d not in measured]
        if fresh:
            accuracies = yield fresh
            measured.update(zip(fresh, (float(a) for a in accuracies)))
        points = sorted(measured.items())
        out.points = points
        bracket = first_crossing(points, level)
        if bracket is None:
            smallest, largest = points[0][0], points[-1][0]
            span = max(largest / smallest, 1 + precision)
            if all(acc >= level for _, acc in points):
                if smallest <= floor:
                    out.why = f"accuracy is at or above {level} down to the floor D' = {floor}: D_crit lies below"
                    return out
                proposal = geometric(max(floor, smallest / span), smallest, per_round + 1)[:-1] or [floor]
            elif all(acc < level for _, acc in points):
                if largest >= ceiling:
                    out.why = f"accuracy stays below {level} up to the ceiling D' = {ceiling}: D_crit lies above"
                    return out
                proposal = geometric(largest, min(ceiling, largest * span), per_round + 1)[1:] or [ceiling]
            else:  # above the level at the small end, below it at the large end: no upward crossing
                out.why = "accuracy falls through the level with D' (no upward crossing)"
                return out
            continue
        a, b = bracket
        out.bracket = bracket
        out.d_crit = interpolate(a, measured[a], b, measured[b], level)
        if b / a <= 1 + precision or b - a <= 1:
            out.finished = True
            out.why = f"bracket [{a}, {b}] within {precision:.0%} after {out.rounds} round(s)"
            return out
        proposal = [d for d in geometric(a, b, per_round, inside=True) if a < d < b]
    out.why = (f"round budget {max_rounds} spent: bracket {list(out.bracket)}" if out.bracket else
               f"round budget {max_rounds} spent without a crossing")
    return out


def lockstep(searches: dict[Hashable, Generator], measure: Callable[[dict[Hashable, list[int]]],
                                                                      dict[Hashable, list[float]]]
             ) -> dict[Hashable, SearchResult]:
    """Drive several searches (`rounds` generators, by key) round by round: each round's sizes of every search
    still going are measured together, `measure({key: sizes}) -> {key: accuracies}` (one sweep stage)."""
    results: dict[Hashable, SearchResult] = {}
    asked: dict[Hashable, list[int]] = {}
    for key, gen in searches.items():
        try:
            asked[key] = next(gen)
        except StopIteration as stop:
            results[key] = stop.value
    while asked:
        answers = measure(asked)
        following = {}
        for key, sizes in asked.items():
            try:
                following[key] = searches[key].send(answers[key])
            except StopIteration as stop:
                results[key] = stop.value
        asked = following
    return {key: results[key] for key in searches}


def search(measure: Callable[[list[int]], list[float]], lo: int, hi: int, **settings) -> SearchResult:
    """One seed's search with `measure(sizes) -> accuracies` called once a round (`rounds` says the rule and its
    settings)."""
    return lockstep({0: rounds(lo, hi, **settings)}, lambda asked: {0: measure(asked[0])})[0]


def grid_members(lo: float, hi: float, precision: float) -> int:
    """Sizes a fixed geometric grid over [lo, hi] needs for neighbours at most 1 + `precision` apart."""
    return int(math.ceil(math.log(hi / lo) / math.log1p(precision))) + 1
