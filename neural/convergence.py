"""When a member has stopped moving: the stopping rule of converging runs (issue: a fixed step count compares
unconverged members, because AdamW's weight-decay time scale 1/(lr wd) differs between weight decays).

A member has converged at an evaluation step t when
- t is at least two windows long, with window = 1/(lr * wd) steps (AdamW's weight-decay time scale; without
  weight decay, a quarter of t), and
- over the evaluations in (t - window, t] (at least 3 of them), test accuracy moved by at most `acc_tol`
  (max - min) and train loss by at most `loss_rtol` of its smallest value (max / min - 1).
Pure functions on one member's logged curves, so they can be tested on synthetic curves.
"""
from __future__ import annotations

import numpy as np


def window_steps(lr: float, wd: float, step: int) -> float:
    return 1.0 / (lr * wd) if lr * wd > 0 else max(step / 4, 1.0)


def has_converged(steps: np.ndarray, train_loss: np.ndarray, test_acc: np.ndarray, *, lr: float, wd: float,
                  acc_tol: float = 0.01, loss_rtol: float = 0.05) -> bool:
    """steps, train_loss, test_acc: (T,) one member's evaluations in step order; see the module docstring."""
    steps = np.asarray(steps, dtype=float)
    if len(steps) == 0:
        return False
    t = steps[-1]
    window = window_steps(lr, wd, t)
    if t < 2 * window:
        return False
    recent = steps > t - window
    if recent.sum() < 3:
        return False
    loss, acc = np.asarray(train_loss)[recent], np.asarray(test_acc)[recent]
    if not (np.isfinite(loss).all() and np.isfinite(acc).all()):
        return False
    return bool(acc.max() - acc.min() <= acc_tol and loss.max() <= loss.min() * (1 + loss_rtol))
