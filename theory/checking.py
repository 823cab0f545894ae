"""A statement checked numerically on instances: the machinery shared by every theorem and lemma.

A `Statement` carries its text as printed in the paper, an optional sympy form, an instance sampler and a
margin function. The margin of an instance is >= 0 exactly when the statement holds there (up to `tol`,
which absorbs floating-point rounding); it is scaled to be relative, so margins of different instances
compare. `check` evaluates many instances, reports the worst margin, and for a failing statement shrinks
the failing instance to the simplest one that still fails, then checks the corrected statement if any.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import sympy as sp

Instance = dict[str, Any]


@dataclass(frozen=True)
class Report:
    """What a check found. `holds` is the verdict; `counterexample` is the simplest failing instance found."""

    name: str
    statement: str
    instances: int
    worst_margin: float
    holds: bool
    counterexample: Instance | None = None
    correction: str | None = None
    corrected: "Report | None" = None
    steps: list["Report"] = field(default_factory=list)
    sympy: str | None = None  # the statement's sympy form, where one exists

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "statement": self.statement,
            "sympy": self.sympy,
            "instances": self.instances,
            "worst_margin": _finite(self.worst_margin),
            "holds": self.holds,
            "counterexample": _jsonable(self.counterexample),
            "correction": self.correction,
            "corrected": self.corrected.to_json() if self.corrected else None,
            "steps": [s.to_json() for s in self.steps],
        }


@dataclass(frozen=True)
class Statement:
    """A claim of the paper, as printed, with what is needed to test it on many instances."""

    name: str
    printed: str  # the statement as the paper prints it
    sample: Callable[[np.random.Generator, int], list[Instance]]  # instances covering interior and edges
    margin: Callable[[Instance], float]  # >= -tol iff the claim holds at the instance (relative scale)
    in_domain: Callable[[Instance], bool] = lambda inst: True  # the hypotheses, for shrinking
    tol: float = 1e-9
    sympy_form: Callable[[], sp.Basic] | None = None
    correction: str | None = None  # what the corrected statement changes
    corrected: "Statement | None" = None

    max_shrink: int = 10  # failing instances to shrink (each shrink re-evaluates the margin many times)

    def holds_at(self, inst: Instance) -> bool:
        m = self.margin(inst)
        return bool(np.isfinite(m) and m >= -self.tol)

    def admits(self, inst: Instance) -> bool:
        """Whether `inst` satisfies the hypotheses; an instance where they cannot be evaluated does not."""
        try:
            with np.errstate(all="ignore"):
                return bool(self.in_domain(inst))
        except (ZeroDivisionError, OverflowError, ValueError, TypeError):
            return False

    def check(self, n_instances: int, seed: int = 0) -> Report:
        rng = np.random.default_rng(seed)
        insts = self.sample(rng, n_instances)
        margins = np.array([self.margin(i) for i in insts], dtype=float)
        bad = ~(np.isfinite(margins) & (margins >= -self.tol))
        worst = float(np.nanmin(np.where(np.isfinite(margins), margins, -np.inf)))
        counterexample = None
        if bad.any():
            counterexample = min((shrink(self, insts[k]) for k in np.flatnonzero(bad)[: self.max_shrink]),
                                 key=complexity)
        corrected = self.corrected.check(n_instances, seed) if (self.corrected and bad.any()) else None
        return Report(self.name, self.printed, len(insts), worst, not bad.any(), counterexample,
                      self.correction if bad.any() else None, corrected,
                      sympy=str(self.sympy_form()) if self.sympy_form else None)


def complexity(inst: Instance) -> float:
    """How 'big' an instance is: simple numbers (0, 1, 2, small integers) are smallest."""
    total = 0.0
    for v in inst.values():
        for x in np.ravel(np.asarray(v, dtype=float)):
            total += abs(x) + (0 if float(x).is_integer() else 10) + (0 if x >= 0 else 1)
    return total


def shrink(stmt: Statement, inst: Instance, rounds: int = 5) -> Instance:
    """Greedily replace scalar parameters by simpler values while the instance stays a counterexample."""
    best = dict(inst)
    for _ in range(rounds):
        changed = False
        for key, value in list(best.items()):
            if np.ndim(value) != 0:
                continue
            v = float(value)
            for cand in (0.0, 1.0, -1.0, 2.0, 0.5, float(round(v)), round(v, 1), round(v, 3)):
                if cand == v or complexity({key: cand}) >= complexity({key: v}):
                    continue
                trial = {**best, key: cand}
                if stmt.admits(trial) and not stmt.holds_at(trial):
                    best, changed = trial, True
                    break
        if not changed:
            break
    return best


def _finite(x: float) -> float | str:
    return x if np.isfinite(x) else str(x)


def _jsonable(inst: Instance | None):
    if inst is None:
        return None
    return {k: (np.asarray(v).tolist() if np.ndim(v) else float(v)) for k, v in inst.items()}
