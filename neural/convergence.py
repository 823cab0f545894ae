"""When a member has stopped moving: the stopping rule of converging runs, judged by the trend of its curves.

A fixed step count compares unconverged members (AdamW's weight-decay time scale 1/(lr wd) differs between weight
decays), and "moved at most 0.01 over one window" stops members that still fall about a point per window. So the
rule fits the trend. With window = 1/(lr * wd) steps (AdamW's weight-decay time scale; without weight decay, a
quarter of the run so far) and the evaluations in the last `span` windows (at least `MIN_POINTS`), a member has
converged at step t when, for test accuracy and for log train loss alike,
- t is at least `span` windows long;
- **drift**: the least-squares slope per window over those evaluations is small *with its uncertainty*:
  |slope| + 2 se(slope) <= tol (test accuracy: `acc_tol` per window; log train loss: log(1 + `loss_rtol`) per
  window), so a flat but noisy plateau converges and a steady drift of a point per window does not;
- **what the trend would still bring** is small: the slope at the end of the span (from a quadratic fit, so an
  accelerating sigmoid is caught even where its mean slope is small) times one window (the time scale on which
  weight decay relaxes the weights) is at most 2 tol.
Pure functions on one member's logged curves, so they are tested on synthetic curves.
"""
from __future__ import annotations

import math

import numpy as np

SPAN_WINDOWS = 3  # windows of evaluations the trend is fitted over
MIN_POINTS = 6  # evaluations the fit needs within the span
Z = 2.0  # standard errors added to the drift (about 95%)


def window_steps(lr: float, wd: float, step: int) -> float:
    """AdamW's weight-decay time scale 1/(lr wd) in steps; without weight decay a quarter of `step`."""
    return 1.0 / (lr * wd) if lr * wd > 0 else max(step / 4, 1.0)


def cap_steps(windows: float, lr: float, wd: float) -> int:
    """A step cap of `windows` weight-decay windows 1/(lr wd) (wd > 0), whole steps, at least one."""
    return max(1, math.ceil(windows / (lr * wd) - 1e-9))


def trend(x: np.ndarray, y: np.ndarray) -> dict:
    """Linear slope of y against x with its standard error, and the slope at max(x) from a quadratic fit."""
    X1 = np.column_stack([np.ones_like(x), x])
    coef, *_ = np.linalg.lstsq(X1, y, rcond=None)
    resid = y - X1 @ coef
    dof = len(x) - 2
    sxx = float(((x - x.mean()) ** 2).sum())
    se = float(np.sqrt(resid @ resid / dof / sxx)) if dof > 0 and sxx > 0 else float("inf")
    c2 = np.polyfit(x - x.mean(), y, 2) if len(x) >= 4 else np.array([0.0, coef[1], 0.0])
    end_slope = float(2 * c2[0] * (x.max() - x.mean()) + c2[1])
    return {"slope": float(coef[1]), "se": se, "end_slope": end_slope}


def assess(steps: np.ndarray, train_loss: np.ndarray, test_acc: np.ndarray, *, lr: float, wd: float,
           acc_tol: float = 0.005, loss_rtol: float = 0.05, span: int = SPAN_WINDOWS) -> dict:
    """steps, train_loss, test_acc: (T,) one member's evaluations in step order. Returns {"converged", "reason",
    and per curve its slope, se and end slope per window}; see the module docstring."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 0:
        return {"converged": False, "reason": "no evaluations"}
    t = steps[-1]
    window = window_steps(lr, wd, t)
    if t < span * window:
        return {"converged": False, "reason": f"step {t:.0f} < {span} windows of {window:.0f}"}
    recent = steps > t - span * window
    if recent.sum() < MIN_POINTS:
        return {"converged": False, "reason": f"{int(recent.sum())} evaluations in the span < {MIN_POINTS}"}
    loss, acc = np.asarray(train_loss, dtype=float)[recent], np.asarray(test_acc, dtype=float)[recent]
    if not (np.isfinite(loss).all() and np.isfinite(acc).all() and (loss > 0).all()):
        return {"converged": False, "reason": "non-finite or non-positive values"}
    x = steps[recent] / window
    out = {"converged": True, "reason": "flat"}
    for name, y, tol in (("test_acc", acc, acc_tol), ("log_train_loss", np.log(loss), np.log1p(loss_rtol))):
        tr = trend(x, y)
        out[name] = tr
        if abs(tr["slope"]) + Z * tr["se"] > tol:
            out.update(converged=False, reason=f"{name} drifts {tr['slope']:+.3g} ± {tr['se']:.2g} per window")
            break
        if abs(tr["end_slope"]) > 2 * tol:
            out.update(converged=False, reason=f"{name} still moves {tr['end_slope']:+.3g} per window at the end")
            break
    return out


def has_converged(steps: np.ndarray, train_loss: np.ndarray, test_acc: np.ndarray, *, lr: float, wd: float,
                  acc_tol: float = 0.005, loss_rtol: float = 0.05, span: int = SPAN_WINDOWS) -> bool:
    """True when `assess` finds the member converged."""
    return assess(steps, train_loss, test_acc, lr=lr, wd=wd, acc_tol=acc_tol, loss_rtol=loss_rtol,
                  span=span)["converged"]
