"""The one boundary where sympy expressions become rigorous interval functions (mpmath's `iv`).

`compile_interval(expr, symbols)` turns a sympy expression into a function of intervals whose value encloses
every value the expression takes on the box (outward rounding, inf-sup intervals). `compile_numpy` turns the
same expression into a numpy function for sampling: one definition, two evaluations.

One special function, `secant(v, r) = (1 - (1 - v)^r)/(r v)` (secant(0, r) = 1), makes Lemma D.3's margin
evaluable where it is a removable 0/0 and keeps its second-order size visible: its interval extension evaluates
the box's corners (it is monotone, see its docstring), so there is no 0/0 and no dependency loss. Its
monotonicity is a lemma of calculus stated here, not computed (`tests/theory/test_certify.py` checks it on
samples); its derivatives are enclosed by their sign alone.

Why mpmath's `iv` and not python-flint's `arb` (`benchmarks/bench_intervals.py` measures both): arb is 40-70x
faster per enclosure and decides as many signs on narrow sub-boxes, but its midpoint-radius balls cannot hold a
one-sided infinite interval ([1, +inf] becomes [+-inf]; the prover meets them at open ends: log 0, log1p(-1)),
keep radii to 30 bits (the lower end of [1, 3] reads 0.99999999814), and lose signs in products of wide balls
([1, 3] * [1, 3] becomes [-1, 9]). iv's inf-sup intervals have none of these, ship with sympy (no new
dependency), and every default statement finishes well inside its minute.
"""
from __future__ import annotations

from fractions import Fraction
from functools import lru_cache
from typing import Callable, Sequence

import numpy as np
import sympy as sp
from mpmath import iv
from sympy.codegen.cfunctions import expm1, log1p

Interval = object  # an mpmath iv.mpf


def whole():
    """[-inf, inf]: nothing is known."""
    return iv.mpf(["-inf", "inf"])


def exact(x: Fraction | int) -> Interval:
    """The tightest interval around a rational."""
    x = Fraction(x)
    return iv.mpf(x.numerator) / x.denominator


def span(lo: Fraction, hi: Fraction) -> Interval:
    """[lo, hi] with outward-rounded endpoints; lo or hi may be +-inf (float)."""
    a = iv.mpf(lo) if isinstance(lo, float) else exact(lo)
    b = iv.mpf(hi) if isinstance(hi, float) else exact(hi)
    return iv.mpf([a.a, b.b])


def lower(x: Interval):
    return x.a


def upper(x: Interval):
    return x.b


def hull(*xs: Interval) -> Interval:
    return iv.mpf([min(x.a for x in xs), max(x.b for x in xs)])


# ------------------------------------------------------------------ special functions

class secant(sp.Function):
    """secant(v, r) = (1 - (1 - v)^r)/(r v) = integral_0^1 (1 - v t)^(r-1) dt, secant(0, r) = 1.

    The mean slope of y^r/r between 1 - v and 1. For v in [0, 1] and r >= 1 the integrand falls as v or r
    grows, so secant is non-increasing in both: its interval extension is exact at the box's corners."""

    nargs = 2

    def fdiff(self, argindex=1):
        return secant_slope(*self.args)

    def _eval_rewrite_as_Pow(self, v, r, **kw):
        return (1 - (1 - v) ** r) / (r * v)


class secant_slope(sp.Function):
    """A partial derivative of secant: <= 0 on its domain, enclosed by that sign alone."""

    nargs = 2


def _secant_point(v: Interval, r: Interval) -> Interval:
    if v.b <= 0:
        return iv.mpf(1)
    return -iv.expm1(r * iv.log1p(-v)) / (r * v)


def _secant_iv(v: Interval, r: Interval) -> Interval:
    if v.a < 0 or v.b > 1 or r.a < 1:
        return whole()
    lo = _secant_point(iv.mpf([v.b, v.b]), iv.mpf([r.b, r.b]))
    hi = _secant_point(iv.mpf([v.a, v.a]), iv.mpf([r.a, r.a]))
    return hull(lo, hi)


def _secant_slope_iv(v: Interval, r: Interval) -> Interval:
    return iv.mpf(["-inf", 0]) if (v.a >= 0 and v.b <= 1 and r.a >= 1) else whole()


def _np_secant(v, r):
    v = np.asarray(v, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v == 0, 1.0, -np.expm1(r * np.log1p(-v)) / (r * np.where(v == 0, 1.0, v)))


NUMPY_FUNCTIONS = {"secant": _np_secant, "log1p": np.log1p, "expm1": np.expm1}


# ------------------------------------------------------------------ interval operations

def _pow(base: Interval, e: sp.Expr, e_iv: Interval) -> Interval:
    if e.is_Integer:
        return base ** int(e)
    if base.a < 0:
        return whole()  # a real power of a possibly negative base: nothing is known
    if e_iv.a == e_iv.b == 0:
        return iv.mpf(1)
    return base**e_iv


def _min(*xs: Interval) -> Interval:
    return iv.mpf([min(x.a for x in xs), min(x.b for x in xs)])


def _max(*xs: Interval) -> Interval:
    return iv.mpf([max(x.a for x in xs), max(x.b for x in xs)])


def _safe(f):
    def g(*args):
        try:
            return f(*args)
        except (ValueError, ZeroDivisionError, ArithmeticError):
            return whole()  # e.g. log of a negative interval: rigorous "nothing known"
    return g


_UNARY = {sp.exp: iv.exp, sp.log: iv.log, log1p: iv.log1p, expm1: iv.expm1}
_BINARY = {secant: _secant_iv, secant_slope: _secant_slope_iv}


class UnsupportedExpression(ValueError):
    """The expression holds something without an interval extension here (e.g. Heaviside from diff(Min))."""


def _build(expr: sp.Expr, index: dict[sp.Symbol, int]) -> Callable[[Sequence[Interval]], Interval]:
    if expr.is_Symbol:
        k = index[expr]
        return lambda xs: xs[k]
    if expr.is_Rational:
        c = exact(Fraction(int(expr.p), int(expr.q)))
        return lambda xs: c
    if expr.is_Float:
        exact_value = sp.Rational(expr)  # a Float's exact binary value, not a rounding of it
        c = exact(Fraction(int(exact_value.p), int(exact_value.q)))
        return lambda xs: c
    if expr is sp.nan:
        return lambda xs: whole()
    if expr in (sp.oo, -sp.oo):
        c = iv.mpf(["inf", "inf"]) if expr == sp.oo else iv.mpf(["-inf", "-inf"])
        return lambda xs: c
    args = [_build(a, index) for a in expr.args]
    if expr.is_Add:
        def add(xs):
            total = args[0](xs)
            for a in args[1:]:
                total = total + a(xs)
            return total
        return _safe(add)
    if expr.is_Mul:
        def mul(xs):
            total = args[0](xs)
            for a in args[1:]:
                total = total * a(xs)
            return total
        return _safe(mul)
    if expr.is_Pow:
        b, e = args
        e_expr = expr.args[1]
        return _safe(lambda xs: _pow(b(xs), e_expr, e(xs)))
    if isinstance(expr, (sp.Min, sp.Max)):
        f = _min if isinstance(expr, sp.Min) else _max
        return _safe(lambda xs: f(*(a(xs) for a in args)))
    for cls, f in _UNARY.items():
        if isinstance(expr, cls):
            (a,) = args
            return _safe(lambda xs, f=f: f(a(xs)))
    for cls, f in _BINARY.items():
        if isinstance(expr, cls):
            a, b = args
            return _safe(lambda xs, f=f: f(a(xs), b(xs)))
    raise UnsupportedExpression(f"no interval extension for {type(expr).__name__} in {expr}")


@lru_cache(maxsize=None)
def compile_interval(expr: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> Callable[[Sequence[Interval]], Interval]:
    """A function of intervals (one per symbol, in order) enclosing `expr` over their box."""
    index = {s: k for k, s in enumerate(symbols)}
    missing = expr.free_symbols - set(index)
    if missing:
        raise ValueError(f"expression has symbols {sorted(map(str, missing))} outside {list(map(str, symbols))}")
    return _build(expr, index)


@lru_cache(maxsize=None)
def compile_numpy(expr: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> Callable:
    """The same expression as a vectorised numpy function (for sampling)."""
    return sp.lambdify(symbols, expr, modules=[NUMPY_FUNCTIONS, "numpy"])
