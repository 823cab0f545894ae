"""The toy of Appendix B.5 (two circuits, Table 1) where theory meets it: its train and test losses, the
memorisation norm's growth with D, and the converged state theory predicts (the exact optimum of eq. 5, by
`allocation`). `simulate` integrates the toy's gradient descent with these losses; `neural`'s comparison draws
the toy's predicted transition at measured D_crit, beta and kappa. Both read them here.

Test input: the generalising circuit puts logit w_G on the correct class, the memorising one w_M on one wrong
class, so the test performance (the softmax probability of the correct class) is e^{w_G} / (e^{w_G} + e^{w_M} +
n_classes - 2); on a train input both circuits put their logit on the correct class.
"""
from __future__ import annotations

import numpy as np

from rundir.lazy import lazy
from theory.penalty import Q_L2

allocation = lazy("theory.allocation")  # the toy's presets and sizes need no scipy

TABLE1_P_G = 1.0  # Table 1: the generalising circuit's norm at w_G = 1 (the scale every other norm is relative to)
TABLE1_ALPHA = 0.005  # Table 1: weight decay


def train_loss(wG, wM, n_classes):
    """Cross-entropy on a train input: both circuits' logits on the correct class."""
    return np.logaddexp(0.0, np.log(n_classes - 1) - (wG + wM))


def test_loss(wG, wM, n_classes):
    """Cross-entropy on a test input: the memorising circuit's logit on a wrong class."""
    return np.logaddexp(np.logaddexp(wG, wM), np.log(n_classes - 2)) - wG


def memorisation_norm(P_G: float, D: float, D_crit: float, beta: float) -> float:
    """P_M(D) = P_G (D / D_crit)^beta: as efficient as generalisation exactly at D = D_crit (Section 3.1)."""
    return P_G * (D / D_crit) ** beta


def converged(P_G: float, P_M: float, *, kappa: float, alpha: float, n_classes: int) -> dict:
    """Theory's exact optimum of the toy's loss (eq. 5 with q = 2): the weights, loss, Theorem D.4's case and the
    test performance there."""
    a = allocation.allocate([P_G, P_M], kappa=kappa, q=Q_L2, alpha=alpha, n_classes=int(n_classes))
    wG, wM = np.array([a.weights[0]]), np.array([a.weights[1]])
    test_perf = np.exp(-test_loss(wG, wM, np.array([float(n_classes)])))
    return {"w_G": a.weights[0], "w_M": a.weights[1], "loss": a.loss, "case": a.case, "test_perf": float(test_perf[0]),
            "note": a.note}
