"""The sympy symbols of the weighted-circuit mixture model, with the paper's assumptions.

`q` is the L_q norm exponent of Theorem D.4 (not Table 1's number of classes, which is `n_classes`).
"""
from __future__ import annotations

import sympy as sp

alpha = sp.Symbol("alpha", positive=True)  # weight-decay strength (paper eq. 2 and 5)
kappa = sp.Symbol("kappa", positive=True)  # logits scale as (parameter scale)^kappa
q = sp.Symbol("q", positive=True)  # L_q norm exponent; standard weight decay is q = 2
n_classes = sp.Symbol("n_classes", positive=True, integer=True)  # number of output classes
W = sp.Symbol("W", nonnegative=True)  # total weight sum_i w_i
L_train = sp.Function("L_train")  # a differentiable training loss bounded below, as a function of W


def circuit_symbols(n_circuits: int) -> tuple[list[sp.Symbol], list[sp.Symbol]]:
    """Weights w_1..w_I (nonnegative) and normalised-circuit norms P_1..P_I (positive)."""
    if n_circuits < 1:
        raise ValueError(f"n_circuits={n_circuits} must be >= 1")
    ws = list(sp.symbols(f"w_1:{n_circuits + 1}", nonnegative=True))
    Ps = list(sp.symbols(f"P_1:{n_circuits + 1}", positive=True))
    return ws, Ps
