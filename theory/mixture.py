"""Paper eq. 5 as sympy expressions: L(w) = L_train(sum_i w_i) + (alpha/q) sum_i (w_i^(1/kappa) P_i)^q.

All circuits produce identical logits on the training data (Theorem D.4's assumption), so the training loss
depends on the weights only through their sum W. For cross-entropy with the correct logit W and every other
logit 0 over `n_classes` classes, L_train(W) = log(1 + (n_classes - 1) exp(-W)).
"""
from __future__ import annotations

import sympy as sp
from sympy.codegen.cfunctions import log1p

from theory.symbols import L_train, W, alpha, circuit_symbols, kappa, n_classes, q


def weight_decay_term(ws: list[sp.Symbol], Ps: list[sp.Symbol]) -> sp.Expr:
    """(alpha/q) * sum_i (w_i^(1/kappa) P_i)^q: the generalised L_q weight-decay loss of eq. 5."""
    return alpha / q * sum((w ** (1 / kappa) * P) ** q for w, P in zip(ws, Ps))


def cross_entropy_of_total(total: sp.Expr) -> sp.Expr:
    """Cross-entropy when the correct logit is `total` and the other n_classes - 1 logits are 0."""
    return log1p((n_classes - 1) * sp.exp(-total))


def mixture_loss(n_circuits: int, *, general: bool = False) -> tuple[sp.Expr, list[sp.Symbol], list[sp.Symbol]]:
    """Eq. 5 for `n_circuits` circuits; `general=True` keeps L_train an undefined bounded function."""
    ws, Ps = circuit_symbols(n_circuits)
    total = sum(ws)
    train = L_train(total) if general else cross_entropy_of_total(total)
    return train + weight_decay_term(ws, Ps), ws, Ps


def one_dimensional_loss(P_eff: sp.Expr) -> sp.Expr:
    """Eq. 5 restricted to a fixed allocation: L(W) = CE(W) + (alpha/q) W^(q/kappa) P_eff^q."""
    return cross_entropy_of_total(W) + alpha / q * W ** (q / kappa) * P_eff**q
