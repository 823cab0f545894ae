"""Branch-and-bound certificates that `margin > 0` (or `>= 0`) on a whole box, in rigorous interval arithmetic.

Every sub-box ends as one of:
- certified: an interval enclosure of the margin lies on the right side (directly, in centred form
  m(c) + grad m(B).(B - c), or through a face: if dm/dx_k >= 0 on the box the minimum over it lies on the face
  x_k = lo_k, and the face is certified instead);
- outside the domain: a hypothesis (an expression that must be > 0) is certainly <= 0 there;
- refuted: at an exact rational point inside the domain the margin's enclosure, recomputed at 113 bits, lies
  strictly on the wrong side. One such point refutes the universal statement;
- undecided when the work budget (bisections of one sub-box, sub-boxes examined) or the safety time limit is
  spent, listed with its share of the box's volume (log-measure for log-scaled variables). The budget is work, not
  seconds, so the same command certifies the same thing on any machine under any load.
Faces on the box's own boundary are taken symbolically (sympy substitution, or a one-sided limit where the
expression is undefined there, as at an open end): a face where the margin is identically 0 is what makes
non-strict statements such as (a + b)^r <= a^r + b^r certifiable at all, since no enclosure of a function that
vanishes is strictly positive. At an open end the domain excludes the face, so a strictly monotone margin need
only be >= 0 there.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, replace
from fractions import Fraction
from functools import lru_cache

import numpy as np
import sympy as sp
from mpmath import iv

from theory import intervals as ivl
from theory.checking import Report, Statement
from theory.prove_limits import DEFAULT_BOXES

POINT_PRECISION = 113  # bits for re-checking a counterexample at its exact point
MAX_LISTED = 20  # undecided boxes listed in a result


@dataclass(frozen=True)
class Var:
    """One coordinate of a box: [lo, hi] (exact rationals), its scale for bisection, and open ends."""

    symbol: sp.Symbol
    lo: Fraction
    hi: Fraction
    log: bool = False  # bisect at the geometric mean (needs lo > 0)
    open_lo: bool = False  # the domain excludes x = lo
    open_hi: bool = False  # the domain excludes x = hi

    def __post_init__(self):
        object.__setattr__(self, "lo", Fraction(self.lo))
        object.__setattr__(self, "hi", Fraction(self.hi))
        if not self.lo <= self.hi:
            raise ValueError(f"{self.symbol}: lo={float(self.lo):g} must be <= hi={float(self.hi):g}")
        if self.log and self.lo <= 0:
            raise ValueError(f"{self.symbol}: a log-scaled range needs lo > 0, got {float(self.lo):g}")

    def describe(self) -> list:
        return [float(self.lo), float(self.hi)]


@dataclass(frozen=True)
class Piece:
    """A universal statement on a box: margin > 0 (strict) or >= 0 wherever every hypothesis is > 0."""

    label: str
    margin: sp.Expr
    variables: tuple[Var, ...]
    strict: bool = True
    hypotheses: tuple[sp.Expr, ...] = ()
    case: tuple[tuple[str, Fraction, Fraction], ...] = ()  # this piece's case of a split (e.g. gamma <= 1)

    @property
    def symbols(self) -> tuple[sp.Symbol, ...]:
        return tuple(v.symbol for v in self.variables)

    def with_ranges(self, ranges: dict[str, tuple[Fraction, Fraction]]) -> "Piece | None":
        """The same statement on another box (ranges: a variable's name -> (lo, hi)), within this piece's case;
        None where the box misses the case."""
        limits = {name: (lo, hi) for name, lo, hi in self.case}
        new = []
        for v in self.variables:
            if str(v.symbol) in ranges:
                lo, hi = ranges[str(v.symbol)]
                case_lo, case_hi = limits.get(str(v.symbol), (lo, hi))
                lo, hi = max(lo, case_lo), min(hi, case_hi)
                if lo > hi:
                    return None
                new.append(replace(v, lo=lo, hi=hi, open_lo=v.open_lo and lo == v.lo,
                                   open_hi=v.open_hi and hi == v.hi, log=v.log and lo > 0))
            else:
                new.append(v)
        return replace(self, variables=tuple(new))


def as_statement(piece: Piece, name: str | None = None) -> Statement:
    """The same margin as a sampled `checking.Statement` (numpy through sympy's lambdify): one definition, two
    evaluations. Points are drawn uniformly in each coordinate (log-uniformly for log variables), open ends
    excluded, and kept where every hypothesis is > 0."""
    syms = piece.symbols
    f = ivl.compile_numpy(piece.margin, syms)
    hyps = [ivl.compile_numpy(h, syms) for h in piece.hypotheses]

    def draw(rng: np.random.Generator, n: int) -> list[dict]:
        out = []
        while len(out) < n:
            inst = {}
            for v in piece.variables:
                lo, hi = float(v.lo), float(v.hi)
                x = float(np.exp(rng.uniform(np.log(lo), np.log(hi)))) if v.log else float(rng.uniform(lo, hi))
                if (v.open_lo and x <= lo) or (v.open_hi and x >= hi):
                    x = (lo + hi) / 2
                inst[str(v.symbol)] = x
            if all(h(*inst.values()) > 0 for h in hyps):
                out.append(inst)
        return out

    def margin(inst: dict) -> float:
        value = float(f(*(inst[str(s)] for s in syms)))
        return value - 1e-300 if piece.strict else value  # a strict margin of exactly 0 fails

    def in_domain(inst: dict) -> bool:
        ok = all((v.lo < inst[str(v.symbol)] if v.open_lo else v.lo <= inst[str(v.symbol)]) and
                 (inst[str(v.symbol)] < v.hi if v.open_hi else inst[str(v.symbol)] <= v.hi) for v in piece.variables)
        return ok and all(h(*(inst[str(s)] for s in syms)) > 0 for h in hyps)

    tol = 0.0 if piece.strict else 1e-12
    return Statement(name=name or piece.label, printed=piece.label, sample=draw, margin=margin, in_domain=in_domain,
                     tol=tol)


def sample_check(piece: Piece, n_instances: int = 1000, seed: int = 0) -> Report:
    """`check` on the piece's own margin: sampled instances, worst margin, shrunk counterexample."""
    return as_statement(piece).check(n_instances, seed)


@dataclass
class Certificate:
    """What branch and bound established for one piece."""

    label: str
    verdict: str  # "proved" | "refuted" | "undecided"
    certified_share: float  # share of the box (volume) certified, the domain's complement included
    outside_share: float  # share certified because a hypothesis fails there
    counterexample: dict | None
    undecided_boxes: list[dict]
    undecided_count: int
    boxes: int  # sub-boxes examined
    seconds: float
    box: dict[str, list[float]]
    strict: bool
    stopped_by: str | None = None  # "boxes" (the work budget), "time" (the safety net) or None (finished)

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("label", "verdict", "certified_share", "outside_share", "counterexample",
                                               "undecided_boxes", "undecided_count", "boxes", "seconds", "box",
                                               "strict", "stopped_by")}


# ------------------------------------------------------------------ cached symbolic work

@lru_cache(maxsize=None)
def _gradient(expr: sp.Expr, symbols: tuple[sp.Symbol, ...]) -> tuple:
    out = []
    for s in symbols:
        try:
            out.append(ivl.compile_interval(sp.diff(expr, s), symbols) if s in expr.free_symbols else None)
        except ivl.UnsupportedExpression:
            out.append("unsupported")
    return tuple(out)


MAX_SIMPLIFIED_POWER = 64  # simplify expands powers: (a + b)^10000 would not finish in any time limit


def _large_power(e: sp.Expr) -> bool:
    """Whether `e` raises something to a number beyond MAX_SIMPLIFIED_POWER (a face at r = 1e4, say): then it
    is used as substituted, unsimplified, so that certify keeps to its time limit."""
    return any(p.exp.is_Number and abs(p.exp) > MAX_SIMPLIFIED_POWER for p in e.atoms(sp.Pow))


@lru_cache(maxsize=None)
def symbolic_face(expr: sp.Expr, symbol: sp.Symbol, value: Fraction, from_above: bool) -> tuple[sp.Expr, bool]:
    """The margin on the face symbol = value: substitution, or the one-sided limit where that is undefined.

    Returns (expression, exact_substitution)."""
    v = sp.Rational(value.numerator, value.denominator)
    e = expr.subs(symbol, v)
    if not e.has(sp.nan, sp.zoo, sp.oo, -sp.oo):
        return (e if _large_power(e) else sp.simplify(e)), True
    try:
        return sp.simplify(sp.limit(expr, symbol, v, "+" if from_above else "-")), False
    except (NotImplementedError, ValueError, TypeError):
        return sp.nan, False  # no symbolic face: its enclosure is "nothing known", so the box stays undecided


# ------------------------------------------------------------------ boxes

Box = tuple[tuple[Fraction, Fraction], ...]


def _intervals(box: Box) -> list:
    return [ivl.span(lo, hi) for lo, hi in box]


def _center(box: Box, variables: tuple[Var, ...]) -> tuple[Fraction, ...]:
    return tuple(_split_point(lo, hi, v.log) if lo < hi else lo for (lo, hi), v in zip(box, variables))


def _split_point(lo: Fraction, hi: Fraction, log: bool) -> Fraction:
    if log and lo > 0:
        mid = Fraction(math.sqrt(float(lo)) * math.sqrt(float(hi)))  # the geometric mean, as an exact dyadic
        if lo < mid < hi:
            return mid
    return (lo + hi) / 2


def _measure(lo: Fraction, hi: Fraction, var: Var) -> float:
    """Share of the variable's root range covered by [lo, hi] (log-measure for log variables)."""
    if var.hi == var.lo:
        return 1.0
    if var.log:
        return math.log(float(hi) / float(lo)) / math.log(float(var.hi) / float(var.lo))
    return float(hi - lo) / float(var.hi - var.lo)


def _ok(m, strict: bool) -> bool:
    return bool(m.a > 0) if strict else bool(m.a >= 0)


def _wrong(m, strict: bool) -> bool:
    return bool(m.b <= 0) if strict else bool(m.b < 0)


def point_margin(expr: sp.Expr, symbols: tuple[sp.Symbol, ...], point: tuple[Fraction, ...]):
    """The margin's enclosure at an exact rational point, at POINT_PRECISION bits."""
    old = iv.prec
    iv.prec = POINT_PRECISION
    try:
        return ivl.compile_interval(expr, symbols)([ivl.exact(x) for x in point])
    finally:
        iv.prec = old


def _point_in_domain(piece: Piece, point: tuple[Fraction, ...]) -> bool:
    for v, x in zip(piece.variables, point):
        if not (v.lo <= x <= v.hi) or (v.open_lo and x == v.lo) or (v.open_hi and x == v.hi):
            return False
    return all(point_margin(h, piece.symbols, point).a > 0 for h in piece.hypotheses)


def _fails_at(piece: Piece, point: tuple[Fraction, ...]):
    """The margin's enclosure at `point` if it is a certified counterexample there, else None."""
    if not _point_in_domain(piece, point):
        return None
    m = point_margin(piece.margin, piece.symbols, point)
    return m if _wrong(m, piece.strict) else None


def _simpler(x: Fraction):
    """Rationals near x, simplest first."""
    for den in (1, 2, 4, 10, 100, 1000, 10**6):
        yield Fraction(round(x * den), den)


def _counterexample(piece: Piece, point: tuple[Fraction, ...]) -> dict | None:
    """A certified counterexample at `point` (each coordinate then replaced by the simplest nearby rational
    that keeps it a certified counterexample), or None."""
    if _fails_at(piece, point) is None:
        return None
    point = list(point)
    for k in range(len(point)):
        for cand in _simpler(point[k]):
            trial = tuple(point[:k] + [cand] + point[k + 1:])
            if cand != point[k] and _fails_at(piece, trial) is not None:
                point[k] = cand
                break
    point = tuple(point)
    m = _fails_at(piece, point)
    return {"point": {str(s): str(x) for s, x in zip(piece.symbols, point)},
            "point_float": {str(s): float(x) for s, x in zip(piece.symbols, point)},
            "margin_enclosure": [float(m.a), float(m.b)],
            "precision_bits": POINT_PRECISION}


@dataclass
class _Item:
    expr: sp.Expr
    box: Box
    strict: bool
    depth: int
    share: float
    original: bool  # every point of box is a point of the domain where expr equals the piece's margin


def certify(piece: Piece, *, max_depth: int = 48, max_boxes: int = DEFAULT_BOXES, seconds: float | None = None,
            probe: bool = True) -> Certificate:
    """Branch and bound on `piece` until every sub-box is decided or the work budget is spent: `max_depth`
    bisections of one sub-box, `max_boxes` sub-boxes examined. The same budget gives the same certificate on any
    machine under any load; `seconds` is only a safety net (None: none), and a certificate it stopped says so."""
    if max_depth < 0:
        raise ValueError(f"depth={max_depth} is not allowed: must be >= 0")
    t0 = time.perf_counter()
    syms = piece.symbols
    root: Box = tuple((v.lo, v.hi) for v in piece.variables)
    hyps = [ivl.compile_interval(h, syms) for h in piece.hypotheses]
    stack = [_Item(piece.margin, root, piece.strict, 0, 1.0, True)]
    certified = outside = 0.0
    undecided: list[tuple[float, Box]] = []
    boxes = 0
    counterexample = None
    stopped_by = None

    def finish(verdict: str) -> Certificate:
        undecided.sort(key=lambda t: -t[0])
        listed = [{"share": s, "box": {str(k): [float(lo), float(hi)] for k, (lo, hi) in zip(syms, b)}}
                  for s, b in undecided[:MAX_LISTED]]
        share = 1.0 if verdict == "proved" else min(certified, 1.0)
        return Certificate(piece.label, verdict, share, outside, counterexample, listed, len(undecided), boxes,
                           time.perf_counter() - t0, {str(v.symbol): v.describe() for v in piece.variables},
                           piece.strict, stopped_by)

    while stack:
        item = stack.pop()
        if boxes >= max_boxes or (seconds is not None and time.perf_counter() - t0 > seconds):
            stopped_by = "boxes" if boxes >= max_boxes else "time"
            undecided.extend((it.share, it.box) for it in [item, *stack])
            stack.clear()
            break
        boxes += 1
        xs = _intervals(item.box)
        hs = [h(xs) for h in hyps]
        if any(h.b <= 0 for h in hs):
            certified += item.share
            outside += item.share
            continue
        in_domain = all(h.a > 0 for h in hs)
        f = ivl.compile_interval(item.expr, syms)
        m = f(xs)
        if _ok(m, item.strict):
            certified += item.share
            continue
        center = _center(item.box, piece.variables)
        if item.original and probe and in_domain and _wrong(m, item.strict):
            counterexample = _counterexample(piece, center)
            if counterexample:
                return finish("refuted")
        grads = _gradient(item.expr, syms)
        live = [k for k, (lo, hi) in enumerate(item.box) if lo < hi and grads[k] is not None]
        gvals = {k: grads[k](xs) for k in live if grads[k] != "unsupported"}
        # centred form
        if gvals and len(gvals) == len(live) and all(math.isfinite(float(g.a)) and math.isfinite(float(g.b))
                                                      for g in gvals.values()):
            mc = f([ivl.exact(c) for c in center])
            for k, g in gvals.items():
                lo, hi = item.box[k]
                mc = mc + g * ivl.span(lo - center[k], hi - center[k])
            if _ok(mc, item.strict):
                certified += item.share
                continue
        # monotone in some coordinate: the face where the minimum lies decides the box
        face = _monotone_face(item, gvals, piece, root)
        if face is not None:
            stack.append(face)
            continue
        if item.original and probe:
            counterexample = _counterexample(piece, center)
            if counterexample:
                return finish("refuted")
        if item.depth >= max_depth or all(lo == hi for lo, hi in item.box):
            undecided.append((item.share, item.box))
            continue
        k = _split_dimension(item.box, gvals, piece.variables)
        lo, hi = item.box[k]
        mid = _split_point(lo, hi, piece.variables[k].log)
        for part in ((lo, mid), (mid, hi)):
            box = item.box[:k] + (part,) + item.box[k + 1:]
            stack.append(_Item(item.expr, box, item.strict, item.depth + 1, item.share / 2, item.original))
    verdict = "proved" if not undecided else "undecided"
    return finish(verdict)


def _monotone_face(item: _Item, gvals: dict, piece: Piece, root: Box) -> _Item | None:
    for k, g in gvals.items():
        increasing, decreasing = g.a >= 0, g.b <= 0
        if not (increasing or decreasing):
            continue
        lo, hi = item.box[k]
        at = lo if increasing else hi
        strict_slope = bool(g.a > 0) if increasing else bool(g.b < 0)
        var = piece.variables[k]
        on_boundary = at == (root[k][0] if increasing else root[k][1])
        open_face = on_boundary and (var.open_lo if increasing else var.open_hi)
        expr, original = item.expr, item.original and not open_face
        if on_boundary:  # a closed face reached by exact substitution still holds points of the domain
            expr, exact_subs = symbolic_face(item.expr, var.symbol, at, increasing)
            original = original and exact_subs
        box = item.box[:k] + ((at, at),) + item.box[k + 1:]
        strict = item.strict and not (open_face and strict_slope)
        return _Item(expr, box, strict, item.depth, item.share, original)
    return None


def _split_dimension(box: Box, gvals: dict, variables: tuple[Var, ...]) -> int:
    """Largest smear |dm/dx_k| * width_k where gradients are finite, else the widest (normalised) side."""
    smear = {}
    for k, g in gvals.items():
        mag = max(abs(float(g.a)), abs(float(g.b)))
        lo, hi = box[k]
        if math.isfinite(mag):
            smear[k] = mag * float(hi - lo)
    widths = {k: _measure(lo, hi, variables[k]) for k, (lo, hi) in enumerate(box) if lo < hi}
    if smear and len(smear) == len(widths) and max(smear.values()) > 0:
        return max(smear, key=smear.get)
    return max(widths, key=widths.get)
