"""Efficiency and the critical dataset size D_crit (paper Section 3.1).

The generalising circuit's norm P_G does not depend on the dataset size D; the memorising circuit's norm
P_M(D) grows with D. We fit P_M(D) = a D^beta by least squares in log space, solve P_M(D_crit) = P_G, and
predict the optimal allocation ratio w_G/w_M at any D from Theorem D.4. kappa itself can be estimated from
measured (correct logit, parameter norm) pairs: logits scale as norm^kappa, so kappa is the log-log slope.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from theory import allocation, validate


@dataclass(frozen=True)
class PowerLaw:
    """log P_M = log_a + beta log D, with the covariance of (log_a, beta) when there are >= 3 points."""

    log_a: float  # intercept in natural log space
    beta: float  # exponent: P_M grows like D^beta
    cov: np.ndarray | None  # 2x2 covariance of (log_a, beta); None with only 2 points
    n_points: int  # number of (D, P_M) measurements fitted

    def __call__(self, D: np.ndarray | float) -> np.ndarray | float:
        return np.exp(self.log_a + self.beta * np.log(D))


def fit_memorisation_norm(D: list[float], P_M: list[float]) -> PowerLaw:
    """Least-squares power law through measured (D, P_M(D)); needs >= 2 distinct D."""
    D_ = np.array(validate.norms("mem D", D))
    P_ = np.array(validate.norms("mem P", P_M))
    if len(D_) != len(P_):
        raise ValueError(f"D and P_M have lengths {len(D_)} and {len(P_)}: give one P_M per D")
    if len(np.unique(D_)) < 2:
        raise ValueError(f"mem: D={D_.tolist()} is not allowed: need at least 2 distinct dataset sizes to fit a "
                         "power law")
    X = np.column_stack([np.ones_like(D_), np.log(D_)])
    coef, *_ = np.linalg.lstsq(X, np.log(P_), rcond=None)
    cov = None
    if len(D_) >= 3:
        resid = np.log(P_) - X @ coef
        sigma2 = float(resid @ resid) / (len(D_) - 2)
        cov = sigma2 * np.linalg.inv(X.T @ X)
    return PowerLaw(float(coef[0]), float(coef[1]), cov, len(D_))


def t_quantile(confidence: float, dof: float | None) -> float:
    """The two-sided t quantile at `confidence` (normal where dof is None or infinite)."""
    if dof is None or not math.isfinite(dof):
        return float(stats.norm.ppf(0.5 + confidence / 2))
    return float(stats.t.ppf(0.5 + confidence / 2, dof))


def log_sd_of_interval(interval, confidence: float = 0.95, dof: float | None = None) -> float | None:
    """The standard deviation of log D that a t-interval in log D with `dof` degrees of freedom implies (the
    inverse of critical_dataset_size's interval; normal where dof is None: a t-interval read as normal overstates
    it by t/z, 6.5x at one degree of freedom). None without an interval of positive ends."""
    if not interval or not all(v and v > 0 for v in interval):
        return None
    return (math.log(interval[1]) - math.log(interval[0])) / (2 * t_quantile(confidence, dof))


@dataclass(frozen=True)
class CriticalSize:
    D_crit: float  # where P_M(D_crit) = P_G
    interval: tuple[float, float] | None  # confidence interval (delta method in log space, t quantile)
    confidence: float  # level of `interval`
    generalisation_wins_above: bool  # True when beta > 0: above D_crit generalisation is more efficient
    dof: int | None = None  # degrees of freedom of the interval's t quantile


def critical_dataset_size(law: PowerLaw, P_G: float, confidence: float = 0.95, *, log_P_G_var: float = 0.0,
                          P_G_dof: int | None = None) -> CriticalSize:
    """Solve P_M(D_crit) = P_G; the interval propagates the fit's covariance (needs >= 3 points) and, where P_G is
    itself fitted, the variance of log P_G (`log_P_G_var`, from a fit with `P_G_dof` degrees of freedom; the
    t quantile then uses the smaller of the two fits' degrees of freedom, a conservative choice)."""
    P_G = validate.positive("gen_norm", P_G)
    if not (math.isfinite(log_P_G_var) and log_P_G_var >= 0):
        raise ValueError(f"log_P_G_var={log_P_G_var} is not allowed: must be a finite number >= 0")
    if not 0 < confidence < 1:  # also false for nan
        raise ValueError(f"confidence={confidence} is not allowed: must lie in (0, 1)")
    if abs(law.beta) < 1e-12:
        raise ValueError(f"mem: the fitted exponent beta = {law.beta:.3g} is 0: the memorising norm does not change "
                         f"with D, so there is no D_crit")
    log_dc = (np.log(P_G) - law.log_a) / law.beta
    if not abs(log_dc) < np.log(validate.HUGE):
        raise ValueError(f"gen_norm={P_G:g} with mem fitted as P_M = {np.exp(law.log_a):.3g} D^{law.beta:.3g}: "
                         "D_crit = "
                         f"exp({log_dc:.4g}) lies outside [1e-100, 1e100]: give measurements nearer the crossing")
    interval, dof = None, None
    if law.cov is not None:
        grad = np.array([-1 / law.beta, -log_dc / law.beta])
        se = float(np.sqrt(grad @ law.cov @ grad + log_P_G_var / law.beta**2))
        dof = law.n_points - 2 if P_G_dof is None else min(law.n_points - 2, P_G_dof)
        t = t_quantile(confidence, dof)
        interval = (float(np.exp(log_dc - t * se)), float(np.exp(log_dc + t * se)))
    return CriticalSize(float(np.exp(log_dc)), interval, confidence, law.beta > 0, dof)


def predicted_ratio(D: float, law: PowerLaw, P_G: float, kappa: float, q: float) -> float:
    """Optimal w_G/w_M at dataset size D: case 2 (P_G/P_M)^(-q k/(q-k)); case 1 inf, 0, or 1 on a tie."""
    P_M = float(law(D))
    if allocation.case_of(kappa, q) == 2:
        return float(np.exp(-allocation.share_exponent(kappa, q) * (np.log(P_G) - np.log(P_M))))
    if np.isclose(P_G, P_M, rtol=1e-12, atol=0):
        return 1.0
    return float("inf") if P_G < P_M else 0.0


@dataclass(frozen=True)
class KappaEstimate:
    kappa: float  # slope of log(correct logit) against log(parameter norm)
    stderr: float  # its standard error (nan with 2 points)
    intercept: float  # log logit at norm 1
    n_points: int


def estimate_kappa(logits: list[float], norms: list[float]) -> KappaEstimate:
    """kappa from measured (correct logit, parameter norm) pairs: logit ∝ norm^kappa."""
    y = np.log(validate.norms("logits", logits))
    x = np.log(validate.norms("norms", norms))
    if len(x) != len(y) or len(np.unique(x)) < 2:
        raise ValueError("logits and norms must have equal length with at least 2 distinct norms")
    if len(x) == 2:
        slope = (y[1] - y[0]) / (x[1] - x[0])
        return KappaEstimate(float(slope), float("nan"), float(y[0] - slope * x[0]), 2)
    fit = stats.linregress(x, y)
    return KappaEstimate(float(fit.slope), float(fit.stderr), float(fit.intercept), len(x))
