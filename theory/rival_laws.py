"""The rival laws of the critical dataset size in the modulus p, registered before any surface run (issue 33).

Each law says how D_crit grows with p at a fixed model; all but the free power law have one free parameter, a
scale a. They are fitted to every seed's log D_crit (least squares in log D_crit: the seeds' spread is roughly
constant in log). The published laws and the theory are compared by small-sample AIC (AICc, the noise variance
counted as a parameter) turned into Akaike weights. The free power law nests every power law, so it does not join
the weights (a true fixed law could then never exceed about 0.75: the free law fits as well for one parameter
more); it is the nesting test instead: its exponent, with its 95% t-interval, is "the exponent of D_crit in p", and
a published law whose exponent lies outside that interval is rejected by it. Its AICc is reported beside.

What each outcome would mean (written before the first run):
- p^2, a constant fraction of all pairs: the kernel-regime picture of Mohamadi et al. 2024 (a network that does not
  learn features needs a fixed share of the table); D_crit / p^2 flat.
- p^(5/3): Mohamadi et al.'s rich (feature-learning) regime.
- p log p: Tian 2025's critical sample count of order M log M (M = p, the group's size): a near-linear law, the
  count a feature-learning network needs to pin down its frequencies.
- a free power law preferred over all of these: none of the published exponents describes the data at these p.
- the theory (the circuit-efficiency prediction of each cell from that cell's own efficiency laws, no free
  parameter): the explanation carries across p; it joins the comparison only where every modulus with a measured
  D_crit has a prediction.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from rundir.lazy import lazy
from theory.efficiency import t_quantile

stats = lazy("scipy.stats")

DECISIVE_WEIGHT = 0.9  # a law is preferred when its Akaike weight is at least this (odds 9:1 against the rest)
MIN_MODULI = 4  # distinct p with a measured D_crit a comparison needs (2 parameters + a test of the shape)


@dataclass(frozen=True)
class Law:
    name: str
    shape: Callable[[np.ndarray], np.ndarray] | None  # D_crit / a as a function of p; None: the free power law
    source: str
    meaning: str


LAWS = (
    Law("p^2", lambda p: p ** 2.0, "Mohamadi et al. 2024, kernel regime: a constant fraction of all pairs",
        "a fixed share of the table: the kernel-regime picture"),
    Law("p^(5/3)", lambda p: p ** (5 / 3), "Mohamadi et al. 2024, rich regime",
        "the rich (feature-learning) regime's count"),
    Law("p log p", lambda p: p * np.log(p), "Tian 2025: of order M log M",
        "a near-linear count: features pinned down from O(p log p) pairs"),
    Law("free power", None, "D_crit = a p^k, k fitted", "none of the published exponents"),
)
THEORY = "theory"  # the per-cell prediction's name among the laws


def aicc(rss: float, n: int, k: int) -> float:
    """Small-sample AIC of a Gaussian least-squares fit with k parameters (the variance among them)."""
    return n * math.log(max(rss, 1e-300) / n) + 2 * k + 2 * k * (k + 1) / max(n - k - 1, 1e-9)


def exponent(law: Law, ps: np.ndarray) -> float | None:
    """The law's exponent of p over the moduli measured: the least-squares slope of log shape on log p (2 and 5/3
    exactly; p log p's local exponent 1 + 1/ln p averaged over the range); None for the free law."""
    if law.shape is None:
        return None
    lp = np.log(ps)
    return float(np.polyfit(lp, np.log(law.shape(ps)), 1)[0])


def fit(ps: list[float], d_crits: list[float], predicted: dict[int, float] | None = None,
        confidence: float = 0.95) -> dict | None:
    """Every law fitted to the points (p, D_crit) (one per seed and modulus): per law its scale, residual sum of
    squares in log D_crit, parameters, AICc and Akaike weight (None for the free law); the free exponent with its
    t-interval; and the candidate preferred (every law but the free one). `predicted` maps p to the theory's
    prediction (it joins where every measured p has one). None with fewer than MIN_MODULI distinct moduli."""
    p, y = np.asarray(ps, dtype=float), np.log(np.asarray(d_crits, dtype=float))
    moduli = sorted({int(v) for v in p})
    if len(moduli) < MIN_MODULI:
        return None
    n = len(y)
    laws: dict[str, dict] = {}
    for law in LAWS:
        if law.shape is None:
            free = stats.linregress(np.log(p), y)
            resid = y - (free.intercept + free.slope * np.log(p))
            laws[law.name] = {"scale": math.exp(free.intercept), "exponent": float(free.slope), "parameters": 3}
        else:
            base = np.log(law.shape(p))
            log_a = float(np.mean(y - base))
            resid = y - (log_a + base)
            laws[law.name] = {"scale": math.exp(log_a), "exponent": exponent(law, np.asarray(moduli, dtype=float)),
                              "parameters": 2}
        laws[law.name]["rss"] = float(resid @ resid)
    theory_note = "no prediction given"
    if predicted:
        missing = [m for m in moduli if not predicted.get(m)]
        if missing:
            theory_note = f"left out: no prediction at p = {', '.join(map(str, missing))}"
        else:
            resid = y - np.log([predicted[int(v)] for v in p])
            laws[THEORY] = {"scale": None, "exponent": None, "parameters": 1, "rss": float(resid @ resid)}
            theory_note = "joined: a prediction at every measured p"
    for entry in laws.values():
        entry["aicc"] = aicc(entry["rss"], n, entry["parameters"])
    candidates = [k for k in laws if k != "free power"]
    best = min(laws[k]["aicc"] for k in candidates)
    total = sum(math.exp(-(laws[k]["aicc"] - best) / 2) for k in candidates)
    for k, entry in laws.items():
        entry["weight"] = math.exp(-(entry["aicc"] - best) / 2) / total if k in candidates else None
    half = t_quantile(confidence, n - 2) * free.stderr  # n >= MIN_MODULI > 2
    preferred = max(candidates, key=lambda k: laws[k]["weight"])
    return {"laws": laws, "points": n, "moduli": moduli, "preferred": preferred,
            "exponent": {"value": float(free.slope), "stderr": float(free.stderr), "dof": n - 2,
                         "interval": [float(free.slope - half), float(free.slope + half)]},
            "theory": theory_note, "criterion": "AICc on log D_crit, Akaike weights over the published laws and the "
                                                "theory; the free exponent's 95% interval as the nesting test"}
