"""Interval backends for `grok-theory prove`: python-flint's arb balls against mpmath's iv (inf-sup intervals).

The same margins (Theorem D.1, Lemma D.2's normal form, Lemma D.3 (corrected) written with elementary functions)
are evaluated on the same random sub-boxes, alternately, by each backend through sympy's lambdify. Printed: the
time per enclosure, the share of boxes whose enclosure decides the sign (lower bound > 0: what lets branch and
bound stop), and the median enclosure width relative to iv's. The prover's own compiled closures
(`theory.intervals`) are timed beside them.

Run: .venv/bin/python benchmarks/bench_intervals.py   (arb needs: pip install python-flint)
"""
import time

import numpy as np
import sympy as sp
from mpmath import iv
from sympy.codegen.cfunctions import expm1, log1p

from theory import claims, intervals

try:
    import flint
except ImportError:  # the comparison needs python-flint; the iv rows still print
    flint = None

g, r, u = sp.symbols("gamma r u", positive=True)
S = -expm1(log1p(-g) / (r - 1))
V = u * S
D3_ELEMENTARY = sp.log(-expm1(r * log1p(-V)) / (r * V)) - log1p(-g)  # the secant written out
def _cases():
    d3 = claims.LEMMA_D3_CORRECTED.pieces[0]
    yield "Theorem D.1", claims.THEOREM_D1.pieces[0].margin, claims.THEOREM_D1.pieces[0].variables
    yield "Lemma D.2 (t, r)", claims.LEMMA_D2.pieces[0].margin, claims.LEMMA_D2.pieces[0].variables
    subs = {claims.gamma: g, claims.r: r, claims.u: u}
    variables = tuple(claims.Var(subs[v.symbol], v.lo, v.hi, v.log) for v in d3.variables)
    yield "Lemma D.3 corr. (elementary)", D3_ELEMENTARY, variables


def _boxes(variables, n, rng):
    out = []
    for _ in range(n):
        width = 10 ** rng.uniform(-4, -1)  # sub-boxes of 1e-4 .. 1e-1 of the range, as branch and bound sees
        box = []
        for v in variables:
            lo, hi = float(v.lo), float(v.hi)
            if v.log:
                a = rng.uniform(np.log(lo), np.log(hi) - width * np.log(hi / lo))
                box.append((float(np.exp(a)), float(np.exp(a + width * np.log(hi / lo)))))
            else:
                a = rng.uniform(lo, hi - width * (hi - lo))
                box.append((max(a, lo + 1e-12 * (hi - lo)), a + width * (hi - lo)))
        out.append(box)
    return out


def _iv_fn(expr, syms):
    mods = [{"exp": iv.exp, "log": iv.log, "log1p": iv.log1p, "expm1": iv.expm1}]
    return sp.lambdify(syms, expr, modules=mods)


def _arb_fn(expr, syms):
    arb = flint.arb
    mods = [{"exp": arb.exp, "log": arb.log, "log1p": arb.log1p, "expm1": arb.expm1}]
    return sp.lambdify(syms, expr, modules=mods)


def _time(f, inputs, repeats=3):
    best, out = float("inf"), None
    for _ in range(repeats):
        t = time.perf_counter()
        out = [f(*xs) for xs in inputs]
        best = min(best, time.perf_counter() - t)
    return best / len(inputs), out


def main(n_boxes: int = 400) -> None:
    rng = np.random.default_rng(0)
    print(f"{'margin':<30} {'backend':<16} {'us/enclosure':>12} {'sign decided':>12} {'width / iv':>10}")
    for name, expr, variables in _cases():
        syms = tuple(v.symbol for v in variables)
        boxes = _boxes(variables, n_boxes, rng)
        iv_in = [[iv.mpf([lo, hi]) for lo, hi in b] for b in boxes]
        closure = intervals.compile_interval(expr, syms)
        f_iv = _iv_fn(expr, syms)
        rows = []
        # alternate the backends in one run so that drift on this shared machine hits both alike
        for _ in range(2):
            t_iv, e_iv = _time(f_iv, iv_in)
            t_cl, e_cl = _time(lambda *xs: closure(xs), iv_in)
            t_arb, e_arb = (None, None)
            if flint is not None:
                arb = flint.arb
                arb_in = [[arb((lo + hi) / 2, (hi - lo) / 2) for lo, hi in b] for b in boxes]
                t_arb, e_arb = _time(_arb_fn(expr, syms), arb_in)
            rows.append((t_iv, t_cl, t_arb))
        t_iv, t_cl, t_arb = (min(col) if col[0] is not None else None for col in zip(*rows))
        w_iv = np.array([float(e.b) - float(e.a) for e in e_iv])

        def decided(es, lower):
            return np.mean([bool(lower(e) > 0) for e in es])

        print(f"{name:<30} {'mpmath iv':<16} {1e6 * t_iv:>12.1f} {decided(e_iv, lambda e: e.a):>12.3f} {1.0:>10.2f}")
        print(f"{'':<30} {'iv (compiled)':<16} {1e6 * t_cl:>12.1f} {decided(e_cl, lambda e: e.a):>12.3f} "
              f"{np.median([float(e.b) - float(e.a) for e in e_cl] / np.maximum(w_iv, 1e-300)):>10.2f}")
        if t_arb is None:
            print(f"{'':<30} {'arb':<16} {'(python-flint not installed)':>36}")
            continue
        w_arb = []
        for e in e_arb:
            w_arb.append(float(2 * e.rad()) if e.is_finite() else float("inf"))
        ratio = np.median(np.array(w_arb) / np.maximum(w_iv, 1e-300))
        print(f"{'':<30} {'python-flint arb':<16} {1e6 * t_arb:>12.1f} "
              f"{decided(e_arb, lambda e: e.lower() if e.is_finite() else flint.arb(-1)):>12.3f} {ratio:>10.2f}")
    print("\nsign decided: share of sub-boxes whose enclosure's lower bound is > 0 (the margins are positive on their"
          "\nboxes, so this is the share at which branch and bound can stop).")
    if flint is not None:
        arb = flint.arb
        print("What the prover meets and balls cannot hold (why it uses iv despite arb's speed):")
        print(f"  [1, 3] * [1, 3]:      arb {arb(2, 1) * arb(2, 1)}   iv {iv.mpf([1, 3]) * iv.mpf([1, 3])}")
        print(f"  [1, +inf]:            arb {arb(1).union(arb.pos_inf())}   iv {iv.mpf([1, 'inf'])}")
        print(f"  lower end of [1, 3]:  arb {arb(2, 1).lower()} (30-bit radii)   iv {iv.mpf([1, 3]).a}")
        print(f"  0^(-1):               arb {arb(0) ** arb(-1)}   iv {iv.mpf(0) ** -1}")

if __name__ == "__main__":
    main()
