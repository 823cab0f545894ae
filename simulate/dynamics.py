"""Batched gradient descent on the toy's subweights (Appendix B.5); every array has a leading config axis B.

State `s_B4` holds (w_G1, w_G2, w_M1, w_M2) per configuration. Losses, with W = w_G + w_M:
    train CE  = log(1 + (n-1) e^{-W})                 (both circuits put logit w on the correct class)
    test CE   = log(e^{w_G} + e^{w_M} + n - 2) - w_G   (memorisation puts its logit on a wrong class)
    penalty   = (alpha/2) (norm_G^2 + norm_M^2),  norm_X = |w_X|^(1/kappa) P_X
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simulate.config import ToyConfig
from theory import toy


@dataclass(frozen=True)
class Params:
    """Per-configuration constants, each of shape (B,)."""

    P_G: np.ndarray
    P_M: np.ndarray
    kappa: np.ndarray
    alpha: np.ndarray
    n_classes: np.ndarray
    lr: np.ndarray
    fit_threshold: np.ndarray
    grok_threshold: np.ndarray

    @property
    def B(self) -> int:
        return len(self.P_G)


def params_of(configs: list[ToyConfig]) -> Params:
    col = lambda f: np.array([f(c) for c in configs], dtype=float)  # noqa: E731
    return Params(col(lambda c: c.P_G), col(lambda c: c.memorisation_norm()), col(lambda c: c.kappa),
                  col(lambda c: c.alpha), col(lambda c: c.n_classes), col(lambda c: c.lr),
                  col(lambda c: c.fit_threshold), col(lambda c: c.grok_threshold))


def initial_state(configs: list[ToyConfig]) -> np.ndarray:
    """(B, 4) subweights: Table 1's values, or theory's optimum at `init_D` split as sqrt(w) * sqrt(w)."""
    from theory.allocation import Q_L2, allocate

    s_B4 = np.array([[c.wG1_0, c.wG2_0, c.wM1_0, c.wM2_0] for c in configs], dtype=float)
    for b, c in enumerate(configs):
        if c.init_D is not None:
            a = allocate([c.P_G, c.memorisation_norm(c.init_D)], kappa=c.kappa, q=Q_L2, alpha=c.alpha,
                         n_classes=int(c.n_classes))
            wG, wM = np.sqrt(a.weights)
            s_B4[b] = (wG, wG, wM, wM)
    return s_B4


def weights(s_B4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return s_B4[:, 0] * s_B4[:, 1], s_B4[:, 2] * s_B4[:, 3]


def train_loss(wG, wM, p: Params):
    return toy.train_loss(wG, wM, p.n_classes)


def test_loss(wG, wM, p: Params):
    return toy.test_loss(wG, wM, p.n_classes)


def circuit_norms(wG, wM, p: Params):
    return np.abs(wG) ** (1 / p.kappa) * p.P_G, np.abs(wM) ** (1 / p.kappa) * p.P_M


def total_loss(s_B4: np.ndarray, p: Params) -> np.ndarray:
    wG, wM = weights(s_B4)
    nG, nM = circuit_norms(wG, wM, p)
    return train_loss(wG, wM, p) + p.alpha / 2 * (nG**2 + nM**2)


def _penalty_slope(w, P, p: Params):
    """d/dw (alpha/2)(|w|^(1/kappa) P)^2 = (alpha/kappa) P^2 sign(w)|w|^(2/kappa - 1); 0 at w = 0."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = p.alpha / p.kappa * P**2 * np.sign(w) * np.abs(w) ** (2 / p.kappa - 1)
    return np.where(w == 0, 0.0, g)


def gradient(s_B4: np.ndarray, p: Params) -> np.ndarray:
    """dL/d(subweights), shape (B, 4): chain rule through w_G = w_G1 w_G2 and w_M = w_M1 w_M2."""
    wG, wM = weights(s_B4)
    dtrain = -1.0 / (1.0 + np.exp(wG + wM - np.log(p.n_classes - 1)))  # dCE/dW
    dG = dtrain + _penalty_slope(wG, p.P_G, p)
    dM = dtrain + _penalty_slope(wM, p.P_M, p)
    return np.stack([dG * s_B4[:, 1], dG * s_B4[:, 0], dM * s_B4[:, 3], dM * s_B4[:, 2]], axis=1)


def correct_probabilities(wG, wM, p: Params):
    """Softmax probability of the correct class on a train input and on a test input."""
    return np.exp(-train_loss(wG, wM, p)), np.exp(-test_loss(wG, wM, p))


@dataclass
class Trajectory:
    """What a batched simulation leaves: final state, event steps, and the logged rows."""

    s_B4: np.ndarray  # final subweights
    train_fit_step: np.ndarray  # (B,) first step with train probability >= fit_threshold, -1 if never
    grok_step: np.ndarray  # (B,) first step with test probability >= grok_threshold, -1 if never
    ungrok_step: np.ndarray  # (B,) first step after grok_step with test probability < grok_threshold, -1 if never
    logged_steps: np.ndarray  # (T,)
    logged_s_TB4: np.ndarray  # (T, B, 4) subweights at the logged steps
    diverged: np.ndarray  # (B,) True where the state became non-finite (its run stopped there)


@np.errstate(over="ignore", invalid="ignore")  # overflow is detected below and reported as divergence
def simulate(s_B4: np.ndarray, p: Params, steps: int, log_steps: np.ndarray | None = None,
             progress=None) -> Trajectory:
    """Plain gradient descent for `steps` steps on all B configurations at once.

    Events are checked at every step (not just logged ones). `progress(n)` is called with the number of
    steps done since the last call (a tqdm bar's `update`).
    """
    s = s_B4.astype(float, copy=True)
    B = len(s)
    fit = np.full(B, -1, dtype=np.int64)
    grok = np.full(B, -1, dtype=np.int64)
    ungrok = np.full(B, -1, dtype=np.int64)
    diverged = np.zeros(B, dtype=bool)
    log_set = set(int(t) for t in (log_steps if log_steps is not None else []))
    logged_steps, logged = [], []
    chunk = max(1, steps // 200)
    for t in range(steps + 1):
        wG, wM = weights(s)
        # events: train prob >= thr  <=>  CE <= -log thr ; test likewise
        tr, te = train_loss(wG, wM, p), test_loss(wG, wM, p)
        new_fit = (fit < 0) & (tr <= -np.log(p.fit_threshold))
        fit[new_fit] = t
        generalises = te <= -np.log(p.grok_threshold)
        ungrok[(grok >= 0) & (ungrok < 0) & ~generalises] = t
        grok[(grok < 0) & generalises] = t
        if t in log_set:
            logged_steps.append(t)
            logged.append(s.copy())
        if t == steps:
            break
        g = gradient(s, p)
        s -= p.lr[:, None] * g
        bad = ~np.isfinite(s).all(axis=1) & ~diverged
        if bad.any():
            diverged |= bad
            s[bad] = np.nan_to_num(s[bad] + p.lr[bad, None] * g[bad])  # keep the last finite state
        if progress is not None and (t + 1) % chunk == 0:
            progress(chunk)
    if progress is not None:
        progress(steps - (steps // chunk) * chunk)
    return Trajectory(s, fit, grok, ungrok, np.array(logged_steps, dtype=np.int64),
                      np.array(logged) if logged else np.zeros((0, B, 4)), diverged)
