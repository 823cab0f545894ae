"""Appendix D's statements as certifiable claims: each margin written once, as a sympy expression.

A `Claim` is proved when every part of it is:
- a `Piece`: a margin > 0 (or >= 0) on a box, certified by interval branch and bound (`theory.certify`);
- a `Fact`: a symbolic step sympy settles exactly (an identity reduces to 0; a quantity is positive under the
  symbols' assumptions), e.g. that the printed margin equals a positive factor times the piece's margin;
- a `Citation`: a lemma proved elsewhere in this module, with the interval check that its hypotheses hold on
  this claim's box (how the proof of D.4 uses Lemmas D.2 and D.3).
A claim is refuted by a certified counterexample found in a piece, or by a `Fact` that proves the printed
statement false for every choice of its quantified variable (Lemma D.3 as printed).

Choices the paper leaves open, stated here once:
- Theorem D.1 is certified for one example with two wrong classes; the loss is a mean of such per-example
  terms, each falling with c by the same argument, so more examples and classes add terms of the same form.
- Lemma D.2 is homogeneous of degree r in (a, b): with t = a/(a + b) it is t^r + (1 - t)^r >= 1 (the identity
  is a `Fact`), so the certificate covers every a, b >= 0, not a box of them.
- Lemma D.3 (corrected) is certified through its explicit delta (`statements.lemma_d3_delta`), in the scale-free
  variables gamma = c/(r x^(r-1)), u = eps/delta; x drops out exactly (a `Fact`).
- The D.4 chains are certified step by step on the parameters `check` samples: kappa = k q, P_j = P_i (1 + d)
  in case 1; in case 2 eps_1 = theta_1 (q/2kappa) w_i^(q/kappa-1) and
  eps_2 = theta_2 min(w_i, delta, B) = theta_2 delta min(1, B/delta) (delta <= w_i), theta in [0.01, 0.99].
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction as Q

import sympy as sp
from sympy.codegen.cfunctions import expm1, log1p

from theory import mixture
from theory.certify import Piece, Var
from theory.intervals import secant
from theory.symbols import alpha as _alpha, kappa as _kappa, q as _q


def canonical(expr: sp.Expr) -> sp.Expr:
    """Powers of products split and nested powers merged (valid: every base here is positive on its domain)."""
    return sp.powdenest(sp.expand_power_base(sp.expand_func(expr), force=True), force=True)


@dataclass(frozen=True)
class Fact:
    """A symbolic step: `expr` reduces to 0 (kind "identity") or is positive by the symbols' assumptions."""

    what: str
    expr: sp.Expr
    kind: str = "identity"

    def prove(self) -> dict:
        if self.kind == "identity":
            e = canonical(self.expr)
            ok = e == 0 or sp.simplify(e) == 0 or sp.simplify(canonical(sp.simplify(e))) == 0
        else:
            ok = bool(sp.simplify(canonical(self.expr)).is_positive)
        return {"what": self.what, "kind": self.kind, "expression": sp.sstr(self.expr),
                "assumptions": assumptions(self.expr), "verdict": "proved" if ok else "undecided"}


def assumptions(expr: sp.Expr) -> list[str]:
    """What the symbols of `expr` are assumed to be (what sympy's simplification relied on)."""
    out = []
    for s in sorted(expr.free_symbols, key=str):
        kind = next((a for a in ("positive", "nonnegative", "real") if s.assumptions0.get(a)), "complex")
        out.append(f"{s} {kind}")
    return out


@dataclass(frozen=True)
class Bound:
    """A hypothesis of a cited lemma, in the citing claim's variables: lo <= expr <= hi (open ends strict)."""

    expr: sp.Expr
    lo: Q | float
    hi: Q | float
    open_lo: bool = False
    open_hi: bool = False


@dataclass(frozen=True)
class Citation:
    claim: str  # the cited claim's name; it must be proved on its default box
    conditions: tuple[Bound, ...]  # its hypotheses, checked by intervals on the citing box
    variables: tuple[Var, ...]  # the citing claim's box


@dataclass(frozen=True)
class Claim:
    name: str  # as in `grok-theory check`
    statement: str  # as printed (or as corrected)
    pieces: tuple[Piece, ...] = ()
    facts: tuple[Fact, ...] = ()
    citations: tuple[Citation, ...] = ()
    reduction: str = ""  # how the printed statement becomes the pieces, in words
    refutation: Fact | None = None  # proves the printed statement false, for every value of its quantifier


@dataclass(frozen=True)
class Chain:
    name: str
    statement: str
    steps: tuple[Claim, ...]
    variables: tuple[Var, ...]  # the chain's parameter box (each step uses part of it)


def _pos(name: str, **kw) -> sp.Symbol:
    return sp.Symbol(name, positive=True, **kw)


def _used(variables: tuple[Var, ...], *exprs: sp.Expr) -> tuple[Var, ...]:
    free = set().union(*(e.free_symbols for e in exprs))
    return tuple(v for v in variables if v.symbol in free)


def piece(label: str, margin: sp.Expr, variables: tuple[Var, ...], strict: bool = True,
          hypotheses: tuple[sp.Expr, ...] = (), case: tuple = ()) -> Piece:
    """A piece over the variables its margin and hypotheses use."""
    return Piece(label, margin, _used(variables, margin, *hypotheses), strict, hypotheses, case)


# ------------------------------------------------------------------ Theorem D.1

g1, g2, c = _pos("g_1"), _pos("g_2"), _pos("c")
D1_VARS = (Var(g1, Q(1, 10**6), 1000, log=True), Var(g2, Q(1, 10**6), 1000, log=True),
           Var(c, 1, 1001, log=True, open_lo=True))  # check samples c = 1 + [1e-6, 1e3]


def _xent_term(scale: sp.Expr) -> sp.Expr:
    """log(1 + sum_y' exp(scale (o^y' - o^y*))) for one example with gaps g_1, g_2 > 0."""
    return log1p(sp.exp(-scale * g1) + sp.exp(-scale * g2))


THEOREM_D1 = Claim(
    name="Theorem D.1",
    statement="If f has perfect accuracy (o^{y*} > o^{y'} for all y' != y*), then for any c > 1, "
              "L_xent(c f) < L_xent(f).",
    pieces=(piece("one example, gaps g_1, g_2 > 0, c > 1", _xent_term(1) - _xent_term(c), D1_VARS),),
    reduction="L_xent(f) - L_xent(c f) for one example whose correct logit exceeds the two others by g_1, g_2.",
)

# ------------------------------------------------------------------ Lemma D.2

a, b = sp.Symbol("a", nonnegative=True), sp.Symbol("b", nonnegative=True)
r, t = _pos("r"), sp.Symbol("t", nonnegative=True)
D2_MARGIN = a**r + b**r - (a + b) ** r
D2_R_RANGE = (Q(1, 10**6), Q(1))
LEMMA_D2 = Claim(
    name="Lemma D.2",
    statement="Let a, b, r in R with a, b >= 0 and 0 < r <= 1. Then (a + b)^r <= a^r + b^r.",
    pieces=(piece("t = a/(a+b) in [0, 1]", t**r + (1 - t) ** r - 1,
                  (Var(t, 0, 1), Var(r, *D2_R_RANGE, log=True)), strict=False),),
    facts=(Fact("homogeneity: a^r + b^r - (a+b)^r = (a+b)^r (t^r + (1-t)^r - 1) at t = a/(a+b), a + b > 0",
                D2_MARGIN.subs({a: _pos("a"), b: _pos("b")})
                - (_pos("a") + _pos("b")) ** r * ((_pos("a") / (_pos("a") + _pos("b"))) ** r
                                                  + (_pos("b") / (_pos("a") + _pos("b"))) ** r - 1)),
           Fact("a = b = 0: the margin is 0", D2_MARGIN.subs({a: 0, b: 0}))),
    reduction="Every a, b >= 0 (not a box): the margin is (a+b)^r times its value at t = a/(a+b), and 0 at a = b = 0.",
)

# ------------------------------------------------------------------ Lemma D.3

x, eps, delta = _pos("x"), _pos("epsilon"), _pos("delta")
gamma, u = _pos("gamma"), _pos("u")
c_real = sp.Symbol("c", real=True)
D3_MARGIN = x**r - (x - eps) ** r - eps * (r * x ** (r - 1) - c_real)  # corrected: eps on the right
D3_R_RANGE = (Q(1001, 1000), Q(20))
D3_GAMMA_RANGE = (Q(1, 1000), Q(100))
S_OF_GAMMA = -expm1(log1p(-gamma) / (r - 1))  # delta/x for gamma < 1, from lemma_d3_delta

LEMMA_D3 = Claim(
    name="Lemma D.3",
    statement="For any x, c, r in R with r >= 1, there exists some delta > 0 such that for any eps < delta we have "
              "x^r - (x - eps)^r > delta (r x^(r-1) - c).",
    refutation=Fact(
        "at x = 1, r = 2, c = 1/2, for every delta > 0 the choice eps = delta/2 in (0, delta) gives "
        "delta (r x^(r-1) - c) - (x^r - (x - eps)^r) = delta/2 + delta^2/4 > 0",
        (delta * (2 - sp.Rational(1, 2)) - (1 - (1 - delta / 2) ** 2)).expand(), kind="positive"),
)

_u_var = Var(u, 0, 1, open_lo=True, open_hi=True)
R_ABOVE_1 = ("r", Q(1) + Q(1, 10**12), Q(10**6))  # the interval pieces' case; r = 1 is the symbolic fact's
LEMMA_D3_CORRECTED = Claim(
    name="Lemma D.3 (corrected)",
    statement="For any x > 0, c > 0, r >= 1 there exists delta in (0, x] such that for every eps in (0, delta): "
              "x^r - (x - eps)^r > eps (r x^(r-1) - c); delta = lemma_d3_delta(x, c, r).",
    pieces=(
        piece("gamma < 1 (delta < x): log secant(u s, r) - log(1 - gamma)",
              sp.log(secant(u * S_OF_GAMMA, r)) - log1p(-gamma),
              (Var(gamma, D3_GAMMA_RANGE[0], 1, log=True), Var(r, *D3_R_RANGE), _u_var),
              case=(("gamma", Q(0), Q(1)), R_ABOVE_1)),
        piece("gamma >= 1 (delta = x): secant(u, r) - (1 - gamma)", secant(u, r) - (1 - gamma),
              (Var(gamma, 1, D3_GAMMA_RANGE[1], log=True), Var(r, *D3_R_RANGE), _u_var),
              case=(("gamma", Q(1), Q(10**6)), R_ABOVE_1)),
    ),
    facts=(
        Fact("scale-free form: at c = gamma r x^(r-1), eps = u delta, delta = x s the margin is "
             "eps r x^(r-1) (secant(u s, r) - (1 - gamma))",
             D3_MARGIN.subs(c_real, gamma * r * x ** (r - 1)).subs(eps, u * x * _pos("s"))
             - u * x * _pos("s") * r * x ** (r - 1) * (secant(u * _pos("s"), r).rewrite(sp.Pow) - (1 - gamma))),
        Fact("delta for gamma < 1: x - (x^(r-1) - c/r)^(1/(r-1)) = x s(gamma, r)",
             x - (x ** (r - 1) - gamma * x ** (r - 1)) ** (1 / (r - 1)) - x * S_OF_GAMMA),
        Fact("r = 1: the margin is c eps", D3_MARGIN.subs(r, 1).subs(c_real, _pos("c")), kind="positive"),
    ),
    reduction="Divided by eps r x^(r-1) > 0 the margin is secant(u s, r) - (1 - gamma), where secant(v, r) = "
              "(1 - (1-v)^r)/(r v) and s = delta/x; for gamma < 1 both terms are positive, so its sign is that of "
              "log secant - log(1 - gamma). r = 1 is exact (c eps > 0).",
)

# ------------------------------------------------------------------ the D.4 proof, case 1 (kappa >= q)

q, k, alpha = _pos("q"), _pos("k"), _pos("alpha")
P_i, P_j, d = _pos("P_i"), _pos("P_j"), _pos("d")
w_i, w_j = sp.Symbol("w_i", nonnegative=True), _pos("w_j")
C1_VARS = (Var(q, Q(1, 2), 4), Var(k, 1, 11), Var(alpha, Q(1, 10**4), 1, log=True),
           Var(P_i, Q(1, 10), 10, log=True), Var(d, 0, 10, open_lo=True), Var(w_i, 0, 1000),
           Var(w_j, 0, 1000, open_lo=True))
r1 = 1 / k  # q/kappa with kappa = k q


def _eq5(w1: sp.Expr, w2: sp.Expr, Pj: sp.Expr, kappa_value: sp.Expr) -> sp.Expr:
    """Eq. 5 for two circuits (theory.mixture), in this module's symbols."""
    loss, ws, Ps = mixture.mixture_loss(2)
    return loss.subs({ws[0]: w1, ws[1]: w2, Ps[0]: P_i, Ps[1]: Pj, _alpha: alpha, _kappa: kappa_value, _q: q},
                     simultaneous=True)


_Pj1 = P_i * (1 + d)
E0 = alpha / q * (w_i**r1 * P_i**q + w_j**r1 * _Pj1**q - (w_i + w_j) ** r1 * P_i**q)
E1 = alpha / q * P_i**q * (w_i**r1 + w_j**r1 - (w_i + w_j) ** r1)  # w_i' = w_i + w_j written out
E2 = E1
CASE1_STEPS = (
    Claim("D.4 case 1, step 1 (=)", "L(w*) - L(w') = (alpha/q)(w_i*^(q/k) P_i^q + w_j*^(q/k) P_j^q - w_i'^(q/k) P_i^q)",
          facts=(Fact("L(w*) - L(w') - E0 (the training loss depends on w_i + w_j only)",
                      _eq5(w_i, w_j, _Pj1, k * q) - _eq5(w_i + w_j, 0, _Pj1, k * q) - E0),)),
    Claim("D.4 case 1, step 2 (>)", "... > (alpha/q) P_i^q (w_i*^(q/k) + w_j*^(q/k) - w_i'^(q/k))   since P_j > P_i",
          pieces=(piece("(1 + d)^q - 1 > 0 (P_j = P_i (1 + d))", (1 + d) ** q - 1, C1_VARS),),
          facts=(Fact("E0 - E1 = (alpha/q) w_j^(q/k) P_i^q ((1 + d)^q - 1)",
                      E0 - E1 - alpha / q * w_j**r1 * P_i**q * ((1 + d) ** q - 1)),
                 Fact("(alpha/q) w_j^(q/k) P_i^q > 0", alpha / q * w_j**r1 * P_i**q, kind="positive"))),
    Claim("D.4 case 1, step 3 (=)", "... = (alpha/q) P_i^q (w_i*^(q/k) + w_j*^(q/k) - (w_i* + w_j*)^(q/k))   "
                                    "definition of w_i'",
          facts=(Fact("E1 - E2 with w_i' = w_i* + w_j*", E1 - E2),)),
    Claim("D.4 case 1, step 4 (>=)", "... >= 0   Lemma D.2 since 0 < q/kappa <= 1",
          facts=(Fact("E2 = (alpha/q) P_i^q (a^r + b^r - (a+b)^r) at a = w_i*, b = w_j*, r = q/kappa",
                      E2 - alpha / q * P_i**q * D2_MARGIN.subs({a: w_i, b: w_j, r: r1}, simultaneous=True)),
                 Fact("(alpha/q) P_i^q > 0", alpha / q * P_i**q, kind="positive")),
          citations=(Citation("Lemma D.2", (Bound(r1, *D2_R_RANGE), Bound(w_i, 0, float("inf")),
                                            Bound(w_j, 0, float("inf"))), C1_VARS),)),
)
CASE1 = Chain("D.4 proof case 1", "L(w*) - L(w') > 0 when kappa >= q and weight moves to the minimal-P circuit",
              CASE1_STEPS, C1_VARS)

# ------------------------------------------------------------------ the D.4 proof, case 2 (kappa < q)

theta1, theta2 = _pos("theta_1"), _pos("theta_2")
e1_s, e2_s, m_s = _pos("epsilon_1"), _pos("epsilon_2"), _pos("m")  # opaque stand-ins for identities
C2_VARS = (Var(q, Q(1, 2), 4), Var(k, Q(1, 20), Q(49, 50)), Var(alpha, Q(1, 10**4), 1, log=True),
           Var(P_i, Q(1, 10), 10, log=True), Var(P_j, Q(1, 10), 10, log=True), Var(x, Q(1, 100), 100, log=True),
           Var(theta1, Q(1, 100), Q(99, 100)), Var(theta2, Q(1, 100), Q(99, 100)))
r2 = 1 / k  # q/kappa > 1
EPS1 = theta1 * r2 / 2 * x ** (r2 - 1)
GAMMA2 = theta1 / 2  # eps_1/(r x^(r-1))
S2 = S_OF_GAMMA.subs({gamma: GAMMA2, r: r2}, simultaneous=True)
DELTA2 = x * S2
B2 = (r2 / 2 * x ** (r2 - 1) * P_i**q / P_j**q) ** (1 / (r2 - 1))
RHO2 = canonical(B2 / DELTA2)  # x cancels
EPS2 = theta2 * DELTA2 * sp.Min(1, RHO2)


def _F(kind: str, dl: sp.Expr = delta, e1: sp.Expr = e1_s, e2: sp.Expr = e2_s) -> sp.Expr:
    """The chain's expressions F0..F5 (and the corrected F2c, F3c) with r = q/kappa."""
    rr, lead = r2, P_i**q
    tail = e2**rr * P_j**q
    return {
        "F0": alpha / q * (x**rr * lead - (x - e2) ** rr * lead - tail),
        "F1": alpha / q * (lead * (x**rr - (x - e2) ** rr) - tail),
        "F2": alpha / q * (lead * dl * (rr * x ** (rr - 1) - e1) - tail),
        "F3": alpha / q * (lead * dl * (rr * x ** (rr - 1) - rr / 2 * x ** (rr - 1)) - tail),
        "F2c": alpha / q * (lead * e2 * (rr * x ** (rr - 1) - e1) - tail),
        "F3c": alpha / q * (lead * e2 * (rr * x ** (rr - 1) - rr / 2 * x ** (rr - 1)) - tail),
        "F4": alpha / q * (lead * e2 * rr / 2 * x ** (rr - 1) - tail),
        "F5": alpha * e2 / q * (rr / 2 * x ** (rr - 1) * lead - e2 ** (rr - 1) * P_j**q),
    }[kind]


def _eps1_step(name: str, scale_name: str, lhs: str, rhs: str, scale: sp.Expr) -> Claim:
    """Step 4 (scale delta) and 4' (scale e2): replacing e1 by its bound (q/2k) w_i^(q/k-1) lowers the value."""
    factor = alpha / q * P_i**q * scale * r2 / 2 * x ** (r2 - 1)
    return Claim(name, f"... > (alpha/q)(P_i^q {scale_name} ((q/k) w_i*^(q/k-1) - (q/2k) w_i*^(q/k-1)) - e2^(q/k) "
                       "P_j^q)"
                       "   e1 < (q/2k) w_i*^(q/k-1)",
                 pieces=(piece("1 - theta_1 > 0", 1 - theta1, C2_VARS),),
                 facts=(Fact(f"{lhs} - {rhs} = (alpha/q) P_i^q {scale_name} (r/2) w_i^(r-1) (1 - theta_1)",
                             _F(lhs, e1=EPS1) - _F(rhs) - factor * (1 - theta1)),
                        Fact(f"(alpha/q) P_i^q {scale_name} (r/2) w_i^(r-1) > 0", factor, kind="positive")))


_lead_pos = Fact("(alpha/q) P_i^q > 0", alpha / q * P_i**q, kind="positive")
_C2_HEAD = (
    Claim("D.4 case 2, step 1 (=)", "L(w*) - L(w') = (alpha/q)(w_i*^(q/k) P_i^q - (w_i* - e2)^(q/k) P_i^q - "
                                    "e2^(q/k) P_j^q)",
          facts=(Fact("L(w*) - L(w') - F0 (the training loss depends on the sum only)",
                      _eq5(x, 0, P_j, k * q) - _eq5(x - e2_s, e2_s, P_j, k * q) - _F("F0")),)),
    Claim("D.4 case 2, step 2 (=)", "... = (alpha/q)(P_i^q (w_i*^(q/k) - (w_i* - e2)^(q/k)) - e2^(q/k) P_j^q)",
          facts=(Fact("F0 - F1", _F("F0") - _F("F1")),)),
)
_C2_TAIL = (
    Claim("D.4 case 2, step 6 (=)", "... = (alpha e2/q)((q/2k) w_i*^(q/k-1) P_i^q - e2^(q/k-1) P_j^q)",
          facts=(Fact("F4 - F5", _F("F4") - _F("F5")),)),
    Claim("D.4 case 2, step 7 (>)", "... > 0   we chose e2 < [(q/2k) w_i*^(q/k-1) P_i^q/P_j^q]^(1/(q/k-1))",
          pieces=(piece("1 - (eps_2/B)^(r-1) > 0 with eps_2/B = theta_2 min(1, delta/B)",
                        1 - (theta2 * sp.Min(1, 1 / RHO2)) ** (r2 - 1), C2_VARS),),
          facts=(Fact("F5 = (alpha e2/q)(r/2) w_i^(r-1) P_i^q (1 - (e2/B)^(r-1))",
                      _F("F5") - alpha * e2_s / q * r2 / 2 * x ** (r2 - 1) * P_i**q * (1 - (e2_s / B2) ** (r2 - 1))),
                 Fact("(alpha e2/q)(r/2) w_i^(r-1) P_i^q > 0", alpha * e2_s / q * r2 / 2 * x ** (r2 - 1) * P_i**q,
                      kind="positive"))),
)
_C2_MIDDLE_PRINTED = (
    Claim("D.4 case 2, step 3 (>)", "... > (alpha/q)(P_i^q delta ((q/k) w_i*^(q/k-1) - e1) - e2^(q/k) P_j^q)   "
                                    "Lemma D.3",
          pieces=(piece("w_i^r - (w_i - e2)^r - delta (r w_i^(r-1) - e1) > 0",
                        x**r2 - (x - EPS2) ** r2 - DELTA2 * (r2 * x ** (r2 - 1) - EPS1), C2_VARS),),
          facts=(Fact("F1 - F2 = (alpha/q) P_i^q (w_i^r - (w_i - e2)^r - delta (r w_i^(r-1) - e1))",
                      _F("F1") - _F("F2") - alpha / q * P_i**q * (x**r2 - (x - e2_s) ** r2
                                                                  - delta * (r2 * x ** (r2 - 1) - e1_s))),
                 _lead_pos)),
    _eps1_step("D.4 case 2, step 4 (>)", "delta", "F2", "F3", delta),
    Claim("D.4 case 2, step 5 (>)", "... > (alpha/q)(P_i^q e2 (q/2k) w_i*^(q/k-1) - e2^(q/k) P_j^q)   we chose e2 < "
                                    "delta",
          pieces=(piece("1 - theta_2 min(1, B/delta) > 0 (delta - e2 = delta times it)", 1 - theta2 * sp.Min(1, RHO2),
                        C2_VARS),),
          facts=(Fact("F3 - F4 = (alpha/q) P_i^q (r/2) w_i^(r-1) (delta - e2)",
                      _F("F3") - _F("F4") - alpha / q * P_i**q * r2 / 2 * x ** (r2 - 1) * (delta - e2_s)),
                 Fact("delta - e2 = delta (1 - theta_2 m) at e2 = theta_2 delta m, m = min(1, B/delta)",
                      (delta - theta2 * delta * m_s) - delta * (1 - theta2 * m_s)),
                 Fact("(alpha/q) P_i^q (r/2) w_i^(r-1) delta > 0", alpha / q * P_i**q * r2 / 2 * x ** (r2 - 1) * delta,
                      kind="positive"))),
)
_C2_MIDDLE_CORRECTED = (
    Claim("D.4 case 2, step 3' (>)", "... > (alpha/q)(P_i^q e2 ((q/k) w_i*^(q/k-1) - e1) - e2^(q/k) P_j^q)"
                                     "   corrected Lemma D.3 at eps = e2",
          facts=(Fact("F1 - F2c = (alpha/q) P_i^q (Lemma D.3 (corrected)'s margin at x = w_i, c = e1, eps = e2)",
                      _F("F1") - _F("F2c") - alpha / q * P_i**q * D3_MARGIN.subs(
                          {c_real: e1_s, eps: e2_s, r: r2}, simultaneous=True)),
                 Fact("gamma = e1/(r w_i^(r-1)) = theta_1/2", EPS1 / (r2 * x ** (r2 - 1)) - GAMMA2),
                 _lead_pos),
          citations=(Citation("Lemma D.3 (corrected)",
                              (Bound(GAMMA2, D3_GAMMA_RANGE[0], 1), Bound(r2, *D3_R_RANGE),
                               Bound(theta2 * sp.Min(1, RHO2), 0, 1, open_lo=True, open_hi=True)), C2_VARS),)),
    _eps1_step("D.4 case 2, step 4' (>)", "e2", "F2c", "F3c", e2_s),
    Claim("D.4 case 2, step 5' (=)", "... = (alpha/q)(P_i^q e2 (q/2k) w_i*^(q/k-1) - e2^(q/k) P_j^q)   (e2 < delta "
                                     "no longer needed)",
          facts=(Fact("F3c - F4", _F("F3c") - _F("F4")),)),
)
CASE2 = Chain("D.4 proof case 2", "L(w*) - L(w') > 0 when kappa < q and eps_2 of weight moves to a zero-weight circuit",
              _C2_HEAD + _C2_MIDDLE_PRINTED + _C2_TAIL, C2_VARS)
CASE2_CORRECTED = Chain("D.4 proof case 2 (corrected)",
                        "the same chain with Lemma D.3 corrected (eps_2 in place of delta)",
                        _C2_HEAD + _C2_MIDDLE_CORRECTED + _C2_TAIL, C2_VARS)

# ------------------------------------------------------------------ Theorem D.4's symbolic steps


def _d4_facts() -> tuple[Fact, ...]:
    from theory import derive
    from theory.symbols import W, L_train

    _, exponent = derive.derive_case2()
    loss, ws, Ps = mixture.mixture_loss(2, general=True)
    W_sum = sum(ws)
    stationarity = sp.diff(loss, ws[0]) - (sp.diff(L_train(W), W).subs(W, W_sum)
                                           + _alpha / _kappa * Ps[0] ** _q * ws[0] ** (_q / _kappa - 1))
    return (Fact("case-2 exponent: sympy's solution of dL/dw_i = 0 gives w_i ∝ P_i^e with e = -q kappa/(q - kappa)",
                 exponent - derive.expected_exponent()),
            Fact("derivative of eq. 5: dL/dw_i = L_train'(sum w) + (alpha/kappa) P_i^q w_i^(q/kappa - 1)",
                 stationarity.doit()))


D4_FACTS = _d4_facts()

CLAIMS = {cl.name: cl for cl in (THEOREM_D1, LEMMA_D2, LEMMA_D3, LEMMA_D3_CORRECTED)}
CHAINS = {ch.name: ch for ch in (CASE1, CASE2, CASE2_CORRECTED)}
