"""What a training run did, from its logged curves: plateaus, and a phase class with censoring (prediction P4).

Pure functions on one member's evaluations (steps ascending). Thresholds, all module constants:
- fitted: train accuracy >= FIT (0.99); the fit step is the first evaluation where it is.
- a plateau: a maximal run of consecutive evaluations whose test accuracy stays within a band of width BAND
  (0.06: max - min) and that spans at least `min_steps` steps (callers use 2/(lr wd), two weight-decay time
  scales). Returned with its start, end and level (mean test accuracy over it).
- settled: the last evaluation belongs to a plateau that began at least `settle_steps` before it, and the plateau
  shows no trend: with at least 4 evaluations on it, the least-squares slope of test accuracy per `min_steps`
  plus 2 standard errors is at most DRIFT (BAND/2; a run still rising by 0.05 per two windows fits inside one band
  over two windows and passed a plateau test alone); otherwise the run is censored, class "unsettled" (not a
  verdict: it ended before its test accuracy stopped moving).
- classes, judged on the settled final level L (test accuracy on pairs whose mirror was not trained, so that a
  commutative task's memorised mirror pairs do not count as generalisation):
  not fitted (train accuracy never reached FIT), grokked (L >= HIGH = 0.95, reached after the fit step, with no
  earlier middling plateau), transient semi-grokking (L >= HIGH after a middling plateau), semi-grokked
  (LOW <= L < HIGH, reached by a delayed rise: test accuracy was below LOW at some evaluation after the fit
  step and before the final plateau), middling without delay (LOW <= L < HIGH otherwise), ungrokked (L < LOW
  after an earlier plateau at >= HIGH), memorised (L < LOW otherwise). LOW = 0.1.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neural import convergence

FIT = 0.99
HIGH = 0.95
LOW = 0.1
BAND = 0.06
DRIFT = BAND / 2  # the largest |slope| + 2 se per min_steps on a settled final plateau
CLASSES = ("memorised", "grokked", "semi-grokked", "transient semi-grokking", "ungrokked", "middling without delay",
           "not fitted", "unsettled")


@dataclass(frozen=True)
class Plateau:
    start: int  # step of its first evaluation
    end: int  # step of its last evaluation
    level: float  # mean test accuracy over it


def plateaus(steps, acc, min_steps: float, band: float = BAND) -> list[Plateau]:
    """Maximal runs of evaluations with max - min <= band that span at least min_steps (greedy, left to right)."""
    steps, acc = np.asarray(steps, dtype=float), np.asarray(acc, dtype=float)
    out, i = [], 0
    while i < len(steps):
        j, lo, hi = i, acc[i], acc[i]
        while j + 1 < len(steps) and max(hi, acc[j + 1]) - min(lo, acc[j + 1]) <= band:
            j += 1
            lo, hi = min(lo, acc[j]), max(hi, acc[j])
        if steps[j] - steps[i] >= min_steps:
            out.append(Plateau(int(steps[i]), int(steps[j]), float(acc[i: j + 1].mean())))
            i = j + 1
        else:
            i += 1
    return out


def classify(steps, train_acc, test_acc, *, min_steps: float, settle_steps: float | None = None) -> dict:
    """The phase class of one run and the evidence: fit step, plateaus, final level, settled or not."""
    steps, train_acc, test_acc = (np.asarray(v, dtype=float) for v in (steps, train_acc, test_acc))
    settle_steps = min_steps if settle_steps is None else settle_steps
    fitted = np.flatnonzero(train_acc >= FIT)
    fit_step = int(steps[fitted[0]]) if fitted.size else None
    found = plateaus(steps, test_acc, min_steps)
    last = found[-1] if found else None
    settled = last is not None and last.end == int(steps[-1]) and steps[-1] - last.start >= settle_steps
    drift = None
    if settled and (on := steps >= last.start).sum() >= 4:
        tr = convergence.trend(steps[on] / min_steps, test_acc[on])
        drift = abs(tr["slope"]) + 2 * tr["se"]
        settled = drift <= DRIFT
    out = {"fit_step": fit_step, "plateaus": [p.__dict__ for p in found], "settled": settled, "final_drift": drift,
           "final_level": last.level if settled else float(test_acc[-1]), "class": None}
    if fit_step is None:
        out["class"] = "not fitted"
    elif not settled:
        out["class"] = "unsettled"
    else:
        earlier = found[:-1]
        middling_before = any(LOW <= p.level < HIGH and p.start >= fit_step for p in earlier)
        high_before = any(p.level >= HIGH for p in earlier)
        if last.level >= HIGH:
            out["class"] = "transient semi-grokking" if middling_before else "grokked"
        elif last.level >= LOW:
            between = test_acc[(steps >= fit_step) & (steps < last.start)]
            delayed = between.size > 0 and between.min() < LOW  # low after fitting, middling later
            out["class"] = "semi-grokked" if delayed else "middling without delay"
        else:
            out["class"] = "ungrokked" if high_before else "memorised"
    return out
