"""Theorem D.1, Lemmas D.2/D.3, Theorem D.4 and the D.4 proof's inequality chains, encoded as printed.

Each `Statement` is checked on sampled instances (see `theory.checking`). Findings, reproduced by
`grok-theory check`:
- D.1, D.2, D.4 (both cases) hold on every instance tried.
- D.3 as printed fails: its right-hand side has delta where epsilon is meant. As epsilon -> 0 the left side
  x^r - (x - eps)^r -> 0 while delta*(r x^(r-1) - c) stays fixed, so no delta exists whenever
  c < r x^(r-1), which is exactly how the D.4 proof uses it (c = eps_1 < (q/2kappa) x^(q/kappa - 1)).
  Corrected: for x > 0, c > 0, r >= 1 there is delta in (0, x] with x^r - (x-eps)^r > eps (r x^(r-1) - c)
  for every eps in (0, delta).
- Consequently step 3 of the D.4 case-2 chain (the application of D.3) fails as printed; with eps_2 in place
  of delta the chain holds and its step 'eps_2 < delta' becomes an equality.
"""
from __future__ import annotations

import numpy as np
import sympy as sp
from scipy.special import logsumexp

from theory import allocation, numeric
from theory.checking import Instance, Report, Statement


def _loguniform(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(np.exp(rng.uniform(np.log(lo), np.log(hi))))


def _ineq(lhs: float, rhs: float, floor: float = 1e-300) -> float:
    """Relative margin of lhs > rhs (or >=)."""
    return (lhs - rhs) / (abs(lhs) + abs(rhs) + floor)


def _eq(lhs: float, rhs: float, floor: float = 1e-300) -> float:
    """Relative margin of lhs = rhs: 0 when equal, negative otherwise."""
    return -abs(lhs - rhs) / (abs(lhs) + abs(rhs) + floor)


# ---------------------------------------------------------------- Theorem D.1

def _log_mean_xent(margins_ND: np.ndarray) -> float:
    """log of the mean cross-entropy, from margins o^{y'} - o^{y*} < 0; exact in log space for huge logits."""
    a_N = logsumexp(margins_ND, axis=1)  # log sum_{y'} exp(margin)
    with np.errstate(divide="ignore"):
        log_softplus = np.where(a_N > -30, np.log(np.log1p(np.exp(np.minimum(a_N, 30)))), a_N - np.exp(a_N) / 2)
    return float(logsumexp(log_softplus) - np.log(len(a_N)))


def _d1_sample(rng, n):
    out = []
    for _ in range(n):
        N, classes = int(rng.integers(1, 6)), int(rng.choice([2, 3, 10, 113]))
        gaps = np.exp(rng.uniform(np.log(1e-6), np.log(1e3), size=(N, classes - 1)))
        out.append({"gaps": gaps, "c": 1 + _loguniform(rng, 1e-6, 1e3)})
    return out


THEOREM_D1 = Statement(
    name="Theorem D.1",
    printed="If f has perfect accuracy (o^{y*} > o^{y'} for all y' != y*), then for any c > 1, "
            "L_xent(c f) < L_xent(f).",
    sample=_d1_sample,
    margin=lambda i: _log_mean_xent(-i["gaps"]) - _log_mean_xent(-i["c"] * i["gaps"]),
    in_domain=lambda i: i["c"] > 1 and bool(np.all(i["gaps"] > 0)),
    sympy_form=lambda: sp.Lt(sp.log(1 + sp.exp(-sp.Symbol("c", positive=True) * sp.Symbol("g", positive=True))),
                             sp.log(1 + sp.exp(-sp.Symbol("g", positive=True)))),
)


# ---------------------------------------------------------------- Lemma D.2

def _d2_margin(i: Instance) -> float:
    a, b, r = i["a"], i["b"], i["r"]
    if a + b == 0:
        return 0.0
    with np.errstate(divide="ignore"):
        la, lb = np.log(a), np.log(b)
    lab = np.logaddexp(la, lb)  # log(a + b) without overflow
    return float(np.exp(r * (la - lab)) + np.exp(r * (lb - lab)) - 1.0)  # (a^r + b^r)/(a+b)^r - 1


def _d2_sample(rng, n):
    def side():
        return 0.0 if rng.random() < 0.1 else _loguniform(rng, 1e-300, 1e300)

    return [{"a": side(), "b": side(), "r": 1.0 if rng.random() < 0.1 else _loguniform(rng, 1e-6, 1.0)}
            for _ in range(n)]


def _d2_domain(i):
    return i["a"] >= 0 and i["b"] >= 0 and 0 < i["r"] <= 1


LEMMA_D2 = Statement(
    name="Lemma D.2",
    printed="Let a, b, r in R with a, b >= 0 and 0 < r <= 1. Then (a + b)^r <= a^r + b^r.",
    sample=_d2_sample, margin=_d2_margin, in_domain=_d2_domain, tol=1e-12,
    sympy_form=lambda: (lambda a, b, r: sp.Le((a + b) ** r, a**r + b**r))(*sp.symbols("a b r", nonnegative=True)),
)


# ---------------------------------------------------------------- Lemma D.3

def lemma_d3_delta(x: float, c: float, r: float) -> float:
    """A delta that works in the corrected Lemma D.3 (c > 0): by the mean value theorem
    x^r - (x-eps)^r >= eps r (x-eps)^(r-1), which exceeds eps (r x^(r-1) - c) while (x-eps)^(r-1) > x^(r-1) - c/r."""
    if r == 1 or x ** (r - 1) - c / r <= 0:
        return x
    return float(x - (x ** (r - 1) - c / r) ** (1 / (r - 1)))


def _d3_margin(i: Instance, *, rhs_has_delta: bool) -> float:
    """max over delta of min over eps in (0, delta) of (LHS - RHS), relative: >= 0 iff some delta works."""
    x, c, r = i["x"], i["c"], i["r"]
    deltas = x * np.logspace(-10, 0, 21)
    if not rhs_has_delta and c > 0:
        deltas = np.append(deltas, lemma_d3_delta(x, c, r))
    eps = deltas[:, None] * (np.logspace(-8, 0, 33) * (1 - 1e-9))[None, :]  # eps in (0, delta)
    lhs = -(x**r) * np.expm1(r * np.log1p(-eps / x))  # x^r - (x - eps)^r, no cancellation
    h = r * x ** (r - 1) - c
    rhs = (deltas[:, None] if rhs_has_delta else eps) * h
    rel = (lhs - rhs) / (eps * (r * x ** (r - 1) + abs(c)))
    return float(np.max(np.min(rel, axis=1)))


def _d3_sample(rng, n, *, c_positive: bool):
    out = []
    for _ in range(n):
        x = _loguniform(rng, 1e-3, 1e3)
        r = 1.0 if rng.random() < 0.2 else 1 + _loguniform(rng, 1e-3, 10)
        sign = 1.0 if (c_positive or rng.random() < 0.5) else -1.0
        out.append({"x": x, "c": sign * r * x ** (r - 1) * _loguniform(rng, 1e-3, 1e2), "r": r})
    return out


LEMMA_D3_CORRECTED = Statement(
    name="Lemma D.3 (corrected)",
    printed="For any x > 0, c > 0, r >= 1 there exists delta in (0, x] such that for every eps in (0, delta): "
            "x^r - (x - eps)^r > eps (r x^(r-1) - c).",
    sample=lambda rng, n: _d3_sample(rng, n, c_positive=True),
    margin=lambda i: _d3_margin(i, rhs_has_delta=False),
    in_domain=lambda i: i["x"] > 0 and i["c"] > 0 and i["r"] >= 1,
)

LEMMA_D3 = Statement(
    name="Lemma D.3",
    printed="For any x, c, r in R with r >= 1, there exists some delta > 0 such that for any eps < delta we have "
            "x^r - (x - eps)^r > delta (r x^(r-1) - c).",
    sample=lambda rng, n: _d3_sample(rng, n, c_positive=False),
    margin=lambda i: _d3_margin(i, rhs_has_delta=True),
    # Read charitably: eps in (0, delta), and x > 0 (x^r is undefined for x < 0 and real r).
    in_domain=lambda i: i["x"] > 0 and i["r"] >= 1,
    sympy_form=lambda: (lambda x, c, r, d, e: sp.Gt(x**r - (x - e) ** r, d * (r * x ** (r - 1) - c)))(
        *sp.symbols("x c r delta epsilon", real=True)),
    correction="The right-hand side must use eps, not delta (as eps -> 0 the left side vanishes while "
               "delta (r x^(r-1) - c) does not), and c > 0, x > 0 are needed; eps ranges over (0, delta).",
    corrected=LEMMA_D3_CORRECTED,
)


# ---------------------------------------------------------------- Theorem D.4

def _d4_sample(rng, n):
    out = []
    for _ in range(n):
        n_circuits = int(rng.integers(2, 5))
        P = np.exp(rng.uniform(np.log(0.3), np.log(3.0), size=n_circuits)) * _loguniform(rng, 1e-2, 1e2)
        if rng.random() < 0.25:
            P[1] = P[0]  # ties
        if rng.random() < 0.1:
            P[-1] *= 1e3  # a hopelessly inefficient circuit
        q = 2.0 if rng.random() < 0.6 else float(rng.uniform(0.5, 4))
        u = rng.random()
        kappa = q if u < 0.15 else q * (_loguniform(rng, 0.1, 0.98) if u < 0.6 else _loguniform(rng, 1.02, 5))
        alpha = _loguniform(rng, 10, 1e3) if rng.random() < 0.1 else _loguniform(rng, 1e-4, 1.0)
        out.append({"P": P, "kappa": kappa, "q": q, "alpha": alpha, "n_classes": int(rng.choice([2, 10, 113, 1000]))})
    return out


def _d4_margin(i: Instance) -> float:
    """Distance of the independently found global minimiser from what the theorem says (relative to W)."""
    P = np.asarray(i["P"], dtype=float)
    m = allocation.global_minimise(P, kappa=i["kappa"], q=i["q"], alpha=i["alpha"], n_classes=i["n_classes"],
                                   n_random=2000, n_polish=3)
    w = np.array(m["weights"])
    scale = max(m["total"], 1.0)
    if i["kappa"] >= i["q"]:  # case 1: every non-minimal circuit gets exactly 0
        nonminimal = P > P.min() * (1 + 1e-12)
        return -float(np.max(w[nonminimal], initial=0.0)) / scale
    shares = P ** -allocation.share_exponent(i["kappa"], i["q"])
    return -float(np.max(np.abs(w - m["total"] * shares / shares.sum()))) / scale  # case 2: w ∝ P^(-q k/(q-k))


THEOREM_D4 = Statement(
    name="Theorem D.4",
    printed="If every circuit produces the same logits on the training data, any w* >= 0 minimising eq. 5 "
            "satisfies: (1) if kappa >= q, w*_i = 0 for all i with P_i > min_j P_j; "
            "(2) if 0 < kappa < q, w*_i ∝ P_i^(-q kappa/(q - kappa)).",
    sample=_d4_sample, margin=_d4_margin, tol=1e-6, max_shrink=2,
    in_domain=lambda i: i["kappa"] > 0 and i["q"] > 0 and i["alpha"] > 0 and i["n_classes"] >= 2,
    sympy_form=lambda: (lambda w, k, P, q_, kap: sp.Eq(w, k * P ** (-q_ * kap / (q_ - kap))))(
        *sp.symbols("w_i k P_i q kappa", positive=True)),
)


# ---------------------------------------------------------------- the D.4 proof's chains, step by step

def _pair_loss(w_i: float, w_j: float, i: Instance) -> float:
    return numeric.mixture_loss(np.array([w_i, w_j]), np.array([i["P_i"], i["P_j"]]), i["alpha"], i["kappa"],
                                i["q"], 113)


def _case1_sample(rng, n):
    out = []
    for _ in range(n):
        q = float(rng.uniform(0.5, 4))
        kappa = q if rng.random() < 0.2 else q * (1 + _loguniform(rng, 1e-3, 10))
        P_i = _loguniform(rng, 0.1, 10)
        out.append({"q": q, "kappa": kappa, "alpha": _loguniform(rng, 1e-4, 1), "P_i": P_i,
                    "P_j": P_i * (1 + _loguniform(rng, 1e-6, 10)),
                    "w_i": 0.0 if rng.random() < 0.1 else _loguniform(rng, 1e-3, 1e3),
                    "w_j": _loguniform(rng, 1e-3, 1e3)})
    return out


def _case1_terms(i):
    a, q, r = i["alpha"], i["q"], i["q"] / i["kappa"]
    wi, wj, Pi, Pj = i["w_i"], i["w_j"], i["P_i"], i["P_j"]
    wi_new = wi + wj
    loss_star = _pair_loss(wi, wj, i)
    return {
        "L*-L'": loss_star - _pair_loss(wi_new, 0.0, i),
        "E0": a / q * (wi**r * Pi**q + wj**r * Pj**q - wi_new**r * Pi**q),
        "E1": a / q * Pi**q * (wi**r + wj**r - wi_new**r),
        "E2": a / q * Pi**q * (wi**r + wj**r - (wi + wj) ** r),
        "E3": 0.0,
        "rounding": 1e-9 * abs(loss_star),  # float error of a difference of two losses
        "size2": a / q * Pi**q * (wi**r + wj**r),  # the size of E2's terms: margin E2/size is relative
    }


def _case1_domain(i):
    return 0 < i["q"] <= i["kappa"] and 0 < i["P_i"] < i["P_j"] and i["w_i"] >= 0 and i["w_j"] > 0 and i["alpha"] > 0


def _step(name, printed, sample, domain, terms, lhs, rhs, relation, tol=1e-9, floor_key=None):
    def margin(inst):
        t = terms(inst)
        floor = t[floor_key] if floor_key else 1e-300
        return (_eq if relation == "=" else _ineq)(t[lhs], t[rhs], floor)

    return Statement(name=name, printed=printed, sample=sample, margin=margin, in_domain=domain, tol=tol)


CASE1_STEPS = [
    _step("D.4 case 1, step 1 (=)", "L(w*) - L(w') = (alpha/q)(w_i*^(q/k) P_i^q + w_j*^(q/k) P_j^q - w_i'^(q/k) P_i^q)",
          _case1_sample, _case1_domain, _case1_terms, "L*-L'", "E0", "=", tol=1e-6, floor_key="rounding"),
    _step("D.4 case 1, step 2 (>)", "... > (alpha/q) P_i^q (w_i*^(q/k) + w_j*^(q/k) - w_i'^(q/k))   since P_j > P_i",
          _case1_sample, _case1_domain, _case1_terms, "E0", "E1", ">"),
    _step("D.4 case 1, step 3 (=)", "... = (alpha/q) P_i^q (w_i*^(q/k) + w_j*^(q/k) - (w_i* + w_j*)^(q/k))   "
                                    "definition of w_i'",
          _case1_sample, _case1_domain, _case1_terms, "E1", "E2", "="),
    _step("D.4 case 1, step 4 (>=)", "... >= 0   Lemma D.2 since 0 < q/kappa <= 1",
          _case1_sample, _case1_domain, _case1_terms, "E2", "E3", ">=", floor_key="size2"),
]


def _case2_sample(rng, n):
    out = []
    for _ in range(n):
        q = float(rng.uniform(0.5, 4))
        kappa = q * _loguniform(rng, 0.05, 0.98)
        r = q / kappa
        x = _loguniform(rng, 1e-2, 1e2)
        P_i, P_j = _loguniform(rng, 0.1, 10), _loguniform(rng, 0.1, 10)
        eps1 = r / 2 * x ** (r - 1) * rng.uniform(0.01, 0.99)
        delta = lemma_d3_delta(x, eps1, r)
        bound = min(x, delta, (r / 2 * x ** (r - 1) * P_i**q / P_j**q) ** (1 / (r - 1)))
        out.append({"q": q, "kappa": kappa, "alpha": _loguniform(rng, 1e-4, 1), "P_i": P_i, "P_j": P_j, "w_i": x,
                    "eps1": eps1, "eps2": bound * rng.uniform(0.01, 0.99)})
    return out


def _case2_domain(i):
    r = i["q"] / i["kappa"]
    x, e1, e2 = i["w_i"], i["eps1"], i["eps2"]
    if not (r > 1 and x > 0 and 0 < e1 < r / 2 * x ** (r - 1) and e2 > 0 and i["alpha"] > 0 and i["P_i"] > 0
            and i["P_j"] > 0):
        return False
    delta = lemma_d3_delta(x, e1, r)
    return e2 < min(x, delta, (r / 2 * x ** (r - 1) * i["P_i"] ** i["q"] / i["P_j"] ** i["q"]) ** (1 / (r - 1)))


def _case2_terms(i):
    a, q, r = i["alpha"], i["q"], i["q"] / i["kappa"]
    x, e1, e2, Pi, Pj = i["w_i"], i["eps1"], i["eps2"], i["P_i"], i["P_j"]
    d = lemma_d3_delta(x, e1, r)
    drop = -(x**r) * np.expm1(r * np.log1p(-e2 / x))  # x^r - (x - e2)^r
    loss_star = _pair_loss(x, 0.0, i)
    return {
        "L*-L'": loss_star - _pair_loss(x - e2, e2, i),
        "F0": a / q * (x**r * Pi**q - (x - e2) ** r * Pi**q - e2**r * Pj**q),
        "F1": a / q * (Pi**q * drop - e2**r * Pj**q),
        "F2": a / q * (Pi**q * d * (r * x ** (r - 1) - e1) - e2**r * Pj**q),
        "F3": a / q * (Pi**q * d * (r * x ** (r - 1) - r / 2 * x ** (r - 1)) - e2**r * Pj**q),
        "F2c": a / q * (Pi**q * e2 * (r * x ** (r - 1) - e1) - e2**r * Pj**q),
        "F3c": a / q * (Pi**q * e2 * (r * x ** (r - 1) - r / 2 * x ** (r - 1)) - e2**r * Pj**q),
        "F4": a / q * (Pi**q * e2 * r / 2 * x ** (r - 1) - e2**r * Pj**q),
        "F5": a * e2 / q * (r / 2 * x ** (r - 1) * Pi**q - e2 ** (r - 1) * Pj**q),
        "F6": 0.0,
        "rounding": 1e-9 * abs(loss_star),  # float error of a difference of two losses
        "rounding2": 1e-9 * a / q * x**r * Pi**q,  # float error of x^r - (x - e2)^r written directly
        "size5": a * e2 / q * r / 2 * x ** (r - 1) * Pi**q,  # the size of F5's terms
    }


def _case2_step(name, printed, lhs, rhs, relation, **kw):
    return _step(name, printed, _case2_sample, _case2_domain, _case2_terms, lhs, rhs, relation, **kw)


_CASE2_COMMON_HEAD = [
    _case2_step("D.4 case 2, step 1 (=)", "L(w*) - L(w') = (alpha/q)(w_i*^(q/k) P_i^q - (w_i* - e2)^(q/k) P_i^q - "
                                          "e2^(q/k) P_j^q)",
                "L*-L'", "F0", "=", tol=1e-6, floor_key="rounding"),
    _case2_step("D.4 case 2, step 2 (=)", "... = (alpha/q)(P_i^q (w_i*^(q/k) - (w_i* - e2)^(q/k)) - e2^(q/k) P_j^q)",
                "F0", "F1", "=", tol=1e-6, floor_key="rounding2"),
]
_CASE2_COMMON_TAIL = [
    _case2_step("D.4 case 2, step 6 (=)", "... = (alpha e2/q)((q/2k) w_i*^(q/k-1) P_i^q - e2^(q/k-1) P_j^q)", "F4",
                "F5", "="),
    _case2_step("D.4 case 2, step 7 (>)", "... > 0   we chose e2 < [(q/2k) w_i*^(q/k-1) P_i^q/P_j^q]^(1/(q/k-1))",
                "F5", "F6", ">", floor_key="size5"),
]

CASE2_STEPS = _CASE2_COMMON_HEAD + [
    _case2_step("D.4 case 2, step 3 (>)", "... > (alpha/q)(P_i^q delta ((q/k) w_i*^(q/k-1) - e1) - e2^(q/k) P_j^q)  "
                                          " Lemma D.3",
                "F1", "F2", ">"),
    _case2_step("D.4 case 2, step 4 (>)", "... > (alpha/q)(P_i^q delta ((q/k) w_i*^(q/k-1) - (q/2k) w_i*^(q/k-1))"
                                          " - e2^(q/k) P_j^q)   e1 < (q/2k) w_i*^(q/k-1)",
                "F2", "F3", ">"),
    _case2_step("D.4 case 2, step 5 (>)", "... > (alpha/q)(P_i^q e2 (q/2k) w_i*^(q/k-1) - e2^(q/k) P_j^q)   "
                                          "we chose e2 < delta",
                "F3", "F4", ">"),
] + _CASE2_COMMON_TAIL

CASE2_STEPS_CORRECTED = _CASE2_COMMON_HEAD + [
    _case2_step("D.4 case 2, step 3' (>)", "... > (alpha/q)(P_i^q e2 ((q/k) w_i*^(q/k-1) - e1) - e2^(q/k) P_j^q)"
                                           "   corrected Lemma D.3 at eps = e2",
                "F1", "F2c", ">"),
    _case2_step("D.4 case 2, step 4' (>)", "... > (alpha/q)(P_i^q e2 ((q/k) w_i*^(q/k-1) - (q/2k) w_i*^(q/k-1))"
                                           " - e2^(q/k) P_j^q)   e1 < (q/2k) w_i*^(q/k-1)",
                "F2c", "F3c", ">"),
    _case2_step("D.4 case 2, step 5' (=)", "... = (alpha/q)(P_i^q e2 (q/2k) w_i*^(q/k-1) - e2^(q/k) P_j^q)   (e2 < "
                                           "delta no longer needed)",
                "F3c", "F4", "="),
] + _CASE2_COMMON_TAIL


def check_chain(name: str, printed: str, steps: list[Statement], n_instances: int, seed: int,
                corrected: tuple[str, list[Statement]] | None = None) -> Report:
    """Check every step of an inequality chain on the same instances; the chain holds if every step does."""
    step_reports = [s.check(n_instances, seed) for s in steps]
    holds = all(r.holds for r in step_reports)
    first_bad = next((r for r in step_reports if not r.holds), None)
    fixed = None
    if corrected and not holds:
        fixed = check_chain(name + " (corrected)", corrected[0], corrected[1], n_instances, seed)
    return Report(name=name, statement=printed, instances=n_instances,
                  worst_margin=min(r.worst_margin for r in step_reports), holds=holds,
                  counterexample=first_bad.counterexample if first_bad else None,
                  correction=("Step 3 applies Lemma D.3 as printed (delta on the right); with the corrected lemma "
                              "the bound is eps_2 ((q/k) w_i*^(q/k-1) - eps_1), and step 5 becomes an equality.")
                  if fixed else None,
                  corrected=fixed, steps=step_reports)


STATEMENTS = {s.name: s for s in (THEOREM_D1, LEMMA_D2, LEMMA_D3, THEOREM_D4)}
CHAINS = ("D.4 proof case 1", "D.4 proof case 2")
NAMES = (*STATEMENTS, *CHAINS)
DEFAULT_INSTANCES = {"Theorem D.1": 2000, "Lemma D.2": 5000, "Lemma D.3": 400, "Theorem D.4": 150,
                     "D.4 proof case 1": 2000, "D.4 proof case 2": 2000}


def check(name: str, n_instances: int | None = None, seed: int = 0) -> Report:
    """Check one statement (or proof chain) by name on `n_instances` sampled instances."""
    if name not in NAMES:
        raise ValueError(f"name={name!r} is not a known statement: choose from {', '.join(NAMES)}")
    n = n_instances if n_instances is not None else DEFAULT_INSTANCES[name]
    if n < 1:
        raise ValueError(f"instances={n} is not allowed: must be >= 1")
    if name == "D.4 proof case 1":
        return check_chain(name, "L(w*) - L(w') > 0 when kappa >= q and weight moves to the minimal-P circuit",
                           CASE1_STEPS, n, seed)
    if name == "D.4 proof case 2":
        return check_chain(name, "L(w*) - L(w') > 0 when kappa < q and eps_2 of weight moves to a zero-weight circuit",
                           CASE2_STEPS, n, seed,
                           corrected=("the same chain with Lemma D.3 corrected (eps_2 in place of delta)",
                                      CASE2_STEPS_CORRECTED))
    return STATEMENTS[name].check(n, seed)
