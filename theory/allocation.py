"""Exact optimal allocation of weight across circuits (Theorem D.4 with the overall scale).

The shares come from the closed form: case 2 (0 < kappa < q): w_i ∝ P_i^(-q kappa/(q - kappa)); case 1
(kappa >= q): all weight on a circuit of minimal P. The total W* then solves a 1-D problem,
min_{W >= 0} CE(W) + (alpha/q) W^(q/kappa) P_eff^q, by bracketing every sign change of dL/dW on a log grid
up to a proven bound and comparing each stationary point with W = 0. `verify` re-finds the minimiser of the
full I-dimensional eq. 5 over w >= 0 with an independent multi-start optimiser (no closed form used).

Ties and the boundary kappa = q:
- kappa = q: the penalty is linear in w, so any split of W* among the circuits of minimal P is optimal; we
  return the equal split and say so.
- kappa > q: the penalty is strictly concave in each w_i, so exactly one circuit of minimal P gets all of W*;
  with ties, each such vertex is optimal; we return the first and say so.
- case 2 with ties: tied circuits get equal weight (the minimiser is unique).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import brentq, minimize
from scipy.special import logsumexp

from theory import numeric, validate
from theory.penalty import Q_L2  # q of weight decay's penalty ||theta||^q (2: the paper's setting)


def case_of(kappa: float, q: float) -> int:
    """Theorem D.4's case: 1 if kappa >= q (winner takes all), 2 if kappa < q (everyone gets weight)."""
    return 1 if kappa >= q else 2


def share_exponent(kappa: float, q: float) -> float:
    """Case-2 exponent e in w_i ∝ P_i^(-e): e = q kappa / (q - kappa)."""
    return q * kappa / (q - kappa)


def optimal_shares(P_I: np.ndarray, kappa: float, q: float) -> tuple[np.ndarray, str]:
    """Fractions of the total weight each circuit gets at the optimum, and a note on ties."""
    P_I = np.asarray(P_I, dtype=float)
    if case_of(kappa, q) == 2:
        log_s = -share_exponent(kappa, q) * np.log(P_I)
        return np.exp(log_s - logsumexp(log_s)), ""
    winners = np.flatnonzero(np.isclose(P_I, P_I.min(), rtol=1e-12, atol=0))
    shares = np.zeros_like(P_I)
    if len(winners) == 1:
        shares[winners[0]] = 1.0
        return shares, ""
    if kappa == q:
        shares[winners] = 1.0 / len(winners)
        return shares, f"kappa = q: any split among tied minimal-P circuits {winners.tolist()} is optimal"
    shares[winners[0]] = 1.0
    return shares, f"ties: putting all weight on any one of circuits {winners.tolist()} is optimal"


def effective_norm(P_I: np.ndarray, shares_I: np.ndarray, kappa: float, q: float) -> float:
    """P_eff with sum_i (s_i^(1/kappa) P_i)^q = P_eff^q, so the penalty is (alpha/q) W^(q/kappa) P_eff^q."""
    mask = shares_I > 0
    return float(np.sum(shares_I[mask] ** (q / kappa) * np.asarray(P_I)[mask] ** q) ** (1 / q))


def log_total_upper_bound(P_eff: float, alpha: float, kappa: float, q: float, n_classes: int) -> float:
    """log of the W above which the loss exceeds log(n_classes) = L(0), so W* lies below it (in logs: the bound
    itself leaves float range for parameters inside theirs, e.g. P = 1e100 with kappa = 1e3)."""
    return float((kappa / q) * (np.log(np.log(n_classes) * q) - np.log(alpha) - q * np.log(P_eff)))


def total_upper_bound(P_eff: float, alpha: float, kappa: float, q: float, n_classes: int) -> float:
    """Any W above this has loss > log(n_classes) = L(0), so W* lies below it."""
    return float(np.exp(log_total_upper_bound(P_eff, alpha, kappa, q, n_classes)))


def optimal_total(P_eff: float, alpha: float, kappa: float, q: float, n_classes: int) -> float:
    """Global minimiser of L(W) = CE(W) + (alpha/q) W^(q/kappa) P_eff^q over W >= 0 (0 where that is best)."""
    if alpha == 0:
        return float("inf")
    args = (P_eff, alpha, kappa, q, n_classes)
    log_hi = log_total_upper_bound(*args)
    if log_hi < -700:  # every W above ~1e-304 already costs more than W = 0 gains
        return 0.0
    if log_hi > 700:
        raise ValueError(f"the optimal total weight W* lies beyond float range for these parameters (P_eff = "
                         f"{P_eff:.3g}, alpha = {alpha:.3g}, kappa = {kappa:.3g}, q = {q:.3g}): its upper bound "
                         f"is e^{log_hi:.0f}; use larger norms P or alpha, or kappa nearer q")
    hi = float(np.exp(log_hi))
    lo = min(1e-8, hi * 1e-12)
    grid = np.geomspace(lo, hi, int(200 * np.log10(hi / lo)) + 1)  # 200 points a decade
    slope = numeric.dloss_of_total(grid, *args)
    candidates = [0.0]
    for k in np.flatnonzero((slope[:-1] < 0) & (slope[1:] >= 0)):  # each - to + crossing is a local minimum
        a, b = grid[k], grid[k + 1]
        if slope[k + 1] == 0:
            candidates.append(float(b))
        else:
            candidates.append(brentq(lambda x: numeric.dloss_of_total(x, *args), a, b, xtol=1e-300, rtol=1e-15))
    losses = numeric.loss_of_total(np.array(candidates), *args)
    return float(candidates[int(np.argmin(losses))])


@dataclass(frozen=True)
class Allocation:
    """The optimum of eq. 5 over w >= 0 (cross-entropy with identical circuit logits)."""

    weights: list[float]  # w_i*, one per circuit
    total: float  # W* = sum_i w_i*
    case: int  # Theorem D.4 case: 1 (kappa >= q) or 2 (kappa < q)
    loss: float  # eq. 5 at w*
    shares: list[float]  # w_i*/W* from the closed form
    note: str = ""  # ties and kappa = q
    verify: dict | None = field(default=None)  # independent optimiser's answer, when asked


def allocate(P: list[float], *, kappa: float = 1.2, q: float = Q_L2, alpha: float = 0.005, n_classes: int = 113,
             verify: bool = False, seed: int = 0) -> Allocation:
    """Exact optimal weights for circuits of norms `P` (Theorem D.4 shares times the 1-D optimal total)."""
    P_I = np.array(validate.norms("P", P))
    kappa, q = validate.exponent("kappa", kappa), validate.exponent("q", q)
    if alpha == 0:
        raise ValueError("alpha=0 is not allowed here: without weight decay the loss has no minimiser (W* = inf); "
                         "use alpha > 0")
    alpha = validate.positive("alpha", alpha)
    n_classes = validate.classes("n_classes", n_classes)
    shares, note = optimal_shares(P_I, kappa, q)
    W_star = optimal_total(effective_norm(P_I, shares, kappa, q), alpha, kappa, q, n_classes)
    w = W_star * shares
    loss = numeric.mixture_loss(w, P_I, alpha, kappa, q, n_classes)
    inputs = f"P={P_I.tolist()}, kappa={kappa}, q={q}, alpha={alpha}"
    for what, value in [("total weight W*", W_star), ("loss", loss)] + [(f"w[{i}]", x) for i, x in enumerate(w)]:
        validate.finite_result(what, float(value), inputs)
    result = Allocation(w.tolist(), W_star, case_of(kappa, q), loss, shares.tolist(), note)
    if verify:
        v = global_minimise(P_I, kappa=kappa, q=q, alpha=alpha, n_classes=n_classes, seed=seed)
        w_v = np.array(v["weights"])
        report = {
            **v,
            "loss_rel_diff": abs(v["loss"] - loss) / max(abs(loss), 1e-300),
            "max_weight_diff": float(np.max(np.abs(w_v - w)) / max(W_star, 1.0)),
        }
        # With ties in case 1 several vertices are optimal: agreement means equal loss then.
        report["agrees"] = bool(report["loss_rel_diff"] < 1e-9 and (report["max_weight_diff"] < 1e-6 or note != ""))
        result = Allocation(**{**result.__dict__, "verify": report})
    return result


def global_minimise(P_I: np.ndarray, *, kappa: float, q: float, alpha: float, n_classes: int, seed: int = 0,
                    n_random: int = 4000, n_polish: int = 6) -> dict:
    """Minimise the full eq. 5 over w >= 0 by random search plus L-BFGS-B polish, without using Theorem D.4.

    Eq. 5 is evaluated (vectorised) at `n_random` random points: Dirichlet(0.3) directions on random faces
    (each weight zeroed with probability 1/2), every vertex and the equal split, with totals log-uniform up to the
    proven bound, and every vertex at 64 log-spaced totals. The `n_polish` best points, the best point where each
    circuit dominates (one per vertex basin) and the
    origin are polished by bounded L-BFGS-B; the
    best end point wins. The penalty is concave when kappa > q, so local minima sit at vertices: the vertex
    points at every scale make sure each basin is tried.
    """
    P_I = np.asarray(P_I, dtype=float)
    n = len(P_I)
    rng = np.random.default_rng(seed)
    # W* lies below the bound; searched within float range (a bound below 1e-300 means W* is 0 to float precision)
    bound = float(np.exp(np.clip(log_total_upper_bound(float(P_I.min()), alpha, kappa, q, n_classes), -690, 690)))
    totals = np.exp(rng.uniform(np.log(min(1e-8, bound * 1e-12)), np.log(bound), size=n_random))
    dirs = rng.dirichlet(np.full(n, 0.3), size=n_random)
    keep = rng.random((n_random, n)) < 0.5  # random faces: with a concave penalty, exact zeros matter
    keep[np.arange(n_random), rng.integers(0, n, n_random)] = True
    dirs = dirs * keep
    dirs[: n + 1] = np.vstack([np.eye(n), np.full((1, n), 1 / n)])
    dirs[n + 1: 2 * n + 2] = dirs[: n + 1]
    points_RI = dirs * totals[:, None]
    # and every vertex along a log grid of totals: with a concave penalty a vertex's basin can start beyond a
    # barrier, and two random totals per vertex may both fall short of it (P = [2, 1.1875, 3, 2], q = 1.5,
    # kappa = 3, alpha = 0.4375, n = 2 was stuck at the origin, 5% above the optimum)
    grid = np.exp(np.linspace(np.log(min(1e-8, bound * 1e-12)), np.log(bound), 64))
    points_RI = np.vstack([points_RI, (np.eye(n)[:, None, :] * grid[None, :, None]).reshape(-1, n)])
    losses = numeric.mixture_loss_batch(points_RI.T, P_I, alpha, kappa, q, n_classes)
    order = np.argsort(losses)
    dominant = np.argmax(points_RI[order], axis=1)
    best_per_basin = [points_RI[order[np.flatnonzero(dominant == i)[0]]] for i in range(n) if (dominant == i).any()]
    starts = [np.zeros(n)] + best_per_basin + [points_RI[k] for k in order[:n_polish]]

    def fun(w):
        return numeric.mixture_loss(w, P_I, alpha, kappa, q, n_classes)

    def jac(w):
        return np.nan_to_num(numeric.mixture_grad(w, P_I, alpha, kappa, q, n_classes), posinf=1e12)

    def local(x0):
        return minimize(fun, x0, jac=jac, method="L-BFGS-B", bounds=[(0, None)] * n,
                        options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 5000}).x

    # The same descent in norm coordinates s_i = w_i^(1/kappa) P_i, where the penalty is (alpha/q) sum s_i^q:
    # with very unequal P_i the w-coordinates are badly scaled near w_i = 0 and L-BFGS-B can stall there.
    def w_of(s_I):
        return (s_I / P_I) ** kappa

    def fun_s(s_I):
        return fun(w_of(s_I))

    def jac_s(s_I):
        with np.errstate(divide="ignore", invalid="ignore"):
            dw = np.nan_to_num(kappa * s_I ** (kappa - 1) / P_I**kappa, posinf=1e12)
        return jac(w_of(s_I)) * dw

    def local_s(w0):
        s0 = w0 ** (1 / kappa) * P_I
        return w_of(minimize(fun_s, s0, jac=jac_s, method="L-BFGS-B", bounds=[(0, None)] * n,
                             options={"ftol": 1e-15, "gtol": 1e-13, "maxiter": 5000}).x)

    ends = [local(x0) for x0 in starts] + [local_s(x0) for x0 in starts]
    best_w = min(ends, key=fun)
    # L-BFGS-B can stop short of a bound on a nearly flat penalty: try the bounds, re-polish, keep the better
    best_w = min([best_w, local(_drop_pushed_out(best_w, fun, jac))], key=fun)
    best_w = _newton_polish(best_w, fun, jac)
    best_f = fun(best_w)
    return {"weights": best_w.tolist(), "total": float(best_w.sum()), "loss": best_f,
            "n_random": n_random, "n_polished": len(starts)}


def _drop_pushed_out(w: np.ndarray, fun, jac) -> np.ndarray:
    """Set to 0 each weight whose gradient pushes it out (> 0) when that lowers the loss.

    Near kappa -> q the penalty is almost linear and the landscape almost flat along such a weight, so
    L-BFGS-B can stop short of the bound; trying the bound directly settles it.
    """
    for i in np.argsort(w):
        if w[i] > 0 and jac(w)[i] > 0:
            trial = w.copy()
            trial[i] = 0.0
            if fun(trial) <= fun(w):
                w = trial
    return w


def _newton_polish(w: np.ndarray, fun, jac, iters: int = 30) -> np.ndarray:
    """Newton steps on the gradient over the support of `w` (finite-difference Hessian of the exact gradient).

    Where the loss is nearly flat (tiny norms, large W) L-BFGS-B stops once loss changes drop below float
    resolution; solving grad = 0 directly is well conditioned there and pins the weights to ~1e-12.
    """
    support = w > 1e-12 * max(w.sum(), 1e-300)
    if not support.any():
        return w
    idx = np.flatnonzero(support)
    for _ in range(iters):
        g = jac(w)[idx]
        H = np.empty((len(idx), len(idx)))
        for k, i in enumerate(idx):
            h = 1e-6 * w[i]
            up, dn = w.copy(), w.copy()
            up[i] += h
            dn[i] -= h
            H[:, k] = (jac(up)[idx] - jac(dn)[idx]) / (2 * h)
        step = np.linalg.lstsq((H + H.T) / 2, g, rcond=1e-12)[0]
        trial = w.copy()
        trial[idx] -= step
        if np.any(trial[idx] <= 0) or fun(trial) > fun(w) + 1e-15 * abs(fun(w)):
            break
        w = trial
        if np.max(np.abs(step)) < 1e-14 * w.sum():
            break
    return w

