"""The one boundary where sympy expressions become numpy functions (lambdify).

Everything numeric in `theory` evaluates eq. 5 through these functions, so the numbers always come from the
same expressions that `mixture` states and `derive` manipulates.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

import numpy as np
import sympy as sp

from theory import mixture
from theory.symbols import W, alpha, kappa, n_classes, q

P_eff = sp.Symbol("P_eff", positive=True)


def _canonical(expr: sp.Expr) -> sp.Expr:
    """(w^(1/kappa) P)^q -> w^(q/kappa) P^q (valid as w >= 0, P > 0) so that gradients are finite at w = 0."""
    return sp.powdenest(sp.expand_power_base(expr, force=True), force=True)


@lru_cache(maxsize=None)
def _mixture_functions(n_circuits: int) -> tuple[Callable, Callable]:
    loss, ws, Ps = mixture.mixture_loss(n_circuits)
    loss = _canonical(loss)
    grad = [sp.powsimp(sp.diff(loss, w)) for w in ws]
    args = [ws, Ps, alpha, kappa, q, n_classes]
    return sp.lambdify(args, loss, modules="numpy"), sp.lambdify(args, grad, modules="numpy")


def mixture_loss(w_I: np.ndarray, P_I: np.ndarray, alpha_: float, kappa_: float, q_: float, n_classes_: int) -> float:
    """Eq. 5 with cross-entropy over `n_classes_` classes, at weights `w_I >= 0`."""
    f, _ = _mixture_functions(len(P_I))
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(f(list(w_I), list(P_I), alpha_, kappa_, q_, n_classes_))


def mixture_loss_batch(w_IR: np.ndarray, P_I: np.ndarray, alpha_: float, kappa_: float, q_: float,
                       n_classes_: int) -> np.ndarray:
    """Eq. 5 at R weight vectors at once (columns of `w_IR`), shape (R,)."""
    f, _ = _mixture_functions(len(P_I))
    with np.errstate(divide="ignore", invalid="ignore"):
        return f(list(w_IR), list(P_I), alpha_, kappa_, q_, n_classes_)


def mixture_grad(w_I: np.ndarray, P_I: np.ndarray, alpha_: float, kappa_: float, q_: float,
                 n_classes_: int) -> np.ndarray:
    """Gradient of eq. 5 in w (shape (I,)); +inf where w_i = 0 and q < kappa (the penalty's slope is infinite)."""
    _, g = _mixture_functions(len(P_I))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(g(list(w_I), list(P_I), alpha_, kappa_, q_, n_classes_), dtype=float)


@lru_cache(maxsize=None)
def _one_d_functions() -> tuple[Callable, Callable]:
    loss = _canonical(mixture.one_dimensional_loss(P_eff))
    dloss = sp.powsimp(sp.diff(loss, W))
    args = [W, P_eff, alpha, kappa, q, n_classes]
    return sp.lambdify(args, loss, modules="numpy"), sp.lambdify(args, dloss, modules="numpy")


def loss_of_total(W_: np.ndarray | float, P_eff_: float, alpha_: float, kappa_: float, q_: float, n_classes_: int):
    """L(W) = CE(W) + (alpha/q) W^(q/kappa) P_eff^q, vectorised over W."""
    f, _ = _one_d_functions()
    with np.errstate(divide="ignore", invalid="ignore"):
        return f(W_, P_eff_, alpha_, kappa_, q_, n_classes_)


def dloss_of_total(W_: np.ndarray | float, P_eff_: float, alpha_: float, kappa_: float, q_: float, n_classes_: int):
    """dL/dW of `loss_of_total`, vectorised over W."""
    _, g = _one_d_functions()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        return g(W_, P_eff_, alpha_, kappa_, q_, n_classes_)

