"""Symbolic derivation of Theorem D.4's case-2 exponent from the stationarity conditions (sympy).

Nothing is typed in by hand: sympy differentiates eq. 5, solves dL/dw_i = 0 for w_i, and reads the exponent
off the ratio w_1/w_2 as a function of P_1/P_2.
"""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from theory import mixture
from theory.symbols import kappa, q

G = sp.Symbol("G", positive=True)  # -L_train'(W) > 0 at an interior optimum (the loss still falls with W)


@dataclass(frozen=True)
class Step:
    description: str
    expression: sp.Basic


def derive_case2() -> tuple[list[Step], sp.Expr]:
    """The derivation's steps and the exponent e with w_i ∝ P_i^e (expected: -q kappa/(q - kappa))."""
    loss, ws, Ps = mixture.mixture_loss(2, general=True)
    loss = sp.powdenest(sp.expand_power_base(loss, force=True), force=True)  # valid: w >= 0, P > 0
    steps = [Step("Eq. 5 with two circuits and a general training loss", loss)]
    grads = [sp.diff(loss, w) for w in ws]
    steps.append(Step("Stationarity dL/dw_i = 0 (interior optimum, case 2)", sp.Eq(grads[0], 0)))
    train_slope = [d for d in grads[0].atoms(sp.Subs)] + [d for d in grads[0].atoms(sp.Derivative)]
    grads = [g.subs({t: -G for t in train_slope}) for g in grads]
    steps.append(Step("Write G = -L_train'(W) > 0, the same for every circuit", sp.Eq(grads[0], 0)))
    solved = [sp.solve(sp.Eq(g, 0), w)[0] for g, w in zip(grads, ws)]
    steps.append(Step("Solve for w_1", sp.Eq(ws[0], solved[0])))
    ratio = sp.simplify(sp.powsimp(sp.powdenest(solved[0] / solved[1], force=True), force=True))
    steps.append(Step("Ratio w_1/w_2: G, alpha and kappa cancel", sp.Eq(ws[0] / ws[1], ratio)))
    exponent = sp.simplify(sp.expand_log(sp.log(ratio), force=True) / sp.expand_log(sp.log(Ps[0] / Ps[1]), force=True))
    steps.append(Step("Exponent e with w_1/w_2 = (P_1/P_2)^e", sp.Eq(sp.Symbol("e"), exponent)))
    return steps, exponent


def expected_exponent() -> sp.Expr:
    """Theorem D.4 (case 2) as printed: w_i ∝ P_i^(-q kappa/(q - kappa))."""
    return -q * kappa / (q - kappa)


def matches_paper(exponent: sp.Expr) -> bool:
    return sp.simplify(exponent - expected_exponent()) == 0


def derivation_text() -> str:
    steps, exponent = derive_case2()
    lines = [f"{k + 1}. {s.description}:\n   {sp.sstr(s.expression)}" for k, s in enumerate(steps)]
    lines.append(f"Matches the printed exponent -q*kappa/(q - kappa): {matches_paper(exponent)}")
    return "\n".join(lines)
