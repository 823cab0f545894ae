"""`prove`: certify or refute each of Appendix D's statements on a box, and combine the parts into a verdict.

Verdicts: "proved" (every piece certified on its whole box, every symbolic fact settled by sympy, every cited
lemma proved with its hypotheses certified on this box), "refuted" (a certified counterexample, or a symbolic
proof that the printed statement fails), "undecided" (the certified share of the box is reported, with the
undecided sub-boxes). "Certified" means: on this box, in outward-rounded interval arithmetic, given sympy's
simplification of the stated identities. It says nothing outside the box.
"""
from __future__ import annotations

import time
from fractions import Fraction
from functools import lru_cache

import sympy as sp

from theory import claims, optimality
from theory.certify import certify
from theory.prove_limits import DEFAULT_DEPTH, DEFAULT_SECONDS

Ranges = dict[str, tuple[Fraction, Fraction]]
BOX_LIMIT = Fraction(10) ** 100  # a box's ends: beyond it intervals leave float range
NAMES = ("Theorem D.1", "Lemma D.2", "Lemma D.3", "Lemma D.3 (corrected)", "Theorem D.4",
         "D.4 proof case 1", "D.4 proof case 2", "D.4 proof case 2 (corrected)")


def variables_of(name: str) -> set[str]:
    """Names of the box variables a statement's pieces use (what --box may set)."""
    if name == "Theorem D.4":
        return set()
    if name in claims.CHAINS:
        return {str(v.symbol) for v in claims.CHAINS[name].variables}
    return {str(v.symbol) for p in claims.CLAIMS[name].pieces for v in p.variables}


def prove(name: str, *, ranges: Ranges | None = None, depth: int = DEFAULT_DEPTH,
          seconds: float = DEFAULT_SECONDS) -> dict:
    """Certify statement `name` (see NAMES) on its default box, with `ranges` overriding some variables."""
    if name not in NAMES:
        raise ValueError(f"name={name!r} is not a known statement: choose from {', '.join(NAMES)}")
    if depth < 0:
        raise ValueError(f"depth={depth} is not allowed: must be >= 0")
    if not seconds > 0:
        raise ValueError(f"seconds={seconds} is not allowed: must be > 0")
    ranges = ranges or {}
    t0 = time.perf_counter()
    if name == "Theorem D.4":
        out = optimality.certify_defaults(seconds=seconds, facts=claims.D4_FACTS)
    elif name in claims.CHAINS:
        out = prove_chain(claims.CHAINS[name], ranges, depth, t0 + seconds, seconds)
    elif not ranges:
        out = dict(_default_proof(name, depth, seconds))
    else:
        out = prove_claim(claims.CLAIMS[name], ranges, depth, t0 + seconds, seconds)
    out["seconds"] = time.perf_counter() - t0
    return out


@lru_cache(maxsize=None)
def _default_proof(name: str, depth: int, seconds: float) -> dict:
    """A claim proved on its default box, once per process (cited lemmas are proved once)."""
    return prove_claim(claims.CLAIMS[name], {}, depth, time.perf_counter() + seconds, seconds)


def _check_citation(cit: claims.Citation, ranges: Ranges, depth: int, deadline: float, seconds: float) -> dict:
    cited = _default_proof(cit.claim, depth, seconds)
    conditions = []
    for bound in cit.conditions:
        sides = []
        if bound.lo != float("-inf"):
            sides.append((bound.expr - sp.Rational(bound.lo), bound.open_lo, f">{'' if bound.open_lo else '='} "
                                                                             f"{float(bound.lo):g}"))
        if bound.hi != float("inf"):
            sides.append((sp.Rational(bound.hi) - bound.expr, bound.open_hi, f"<{'' if bound.open_hi else '='} "
                                                                             f"{float(bound.hi):g}"))
        for margin, strict, text in sides:
            p = claims.piece(f"{sp.sstr(bound.expr)} {text}", margin, cit.variables, strict).with_ranges(ranges)
            cert = certify(p, max_depth=depth, seconds=max(deadline - time.perf_counter(), 1.0))
            conditions.append({"condition": p.label, "verdict": cert.verdict,
                               "certified_share": cert.certified_share})
    ok = cited["verdict"] == "proved" and all(c["verdict"] == "proved" for c in conditions)
    return {"claim": cit.claim, "claim_verdict": cited["verdict"], "conditions": conditions,
            "verdict": "proved" if ok else "undecided"}


def prove_claim(claim: claims.Claim, ranges: Ranges, depth: int, deadline: float,
                seconds: float = DEFAULT_SECONDS) -> dict:
    facts = [f.prove() for f in claim.facts]
    refutation = claim.refutation.prove() if claim.refutation else None
    pieces, skipped = [], []
    for p in claim.pieces:
        narrowed = p.with_ranges(ranges)
        if narrowed is None:
            skipped.append(p.label)  # the box misses this piece's case
            continue
        cert = certify(narrowed, max_depth=depth, seconds=max(deadline - time.perf_counter(), 0.5))
        pieces.append(cert.to_json())
    citations = [_check_citation(c, ranges, depth, deadline, seconds) for c in claim.citations]
    counterexample = None
    if refutation and refutation["verdict"] == "proved":
        verdict, counterexample = "refuted", {"symbolic": refutation["what"], "expression": refutation["expression"]}
    elif any(p["verdict"] == "refuted" for p in pieces):
        verdict = "refuted"
        counterexample = next(p["counterexample"] for p in pieces if p["verdict"] == "refuted")
    elif claim.pieces and not pieces:  # the box misses every case: no inequality was certified on it
        verdict = "undecided"
    elif all(x["verdict"] == "proved" for x in facts + pieces + citations) and (pieces or facts or citations):
        verdict = "proved"
    else:
        verdict = "undecided"
    settled = all(x["verdict"] == "proved" for x in facts + citations)
    covered = bool(pieces) or not claim.pieces
    share = min([p["certified_share"] for p in pieces], default=1.0) if settled and covered else 0.0
    undecided = [b for p in pieces for b in p["undecided_boxes"]]
    return {"name": claim.name, "statement": claim.statement, "box": _union_box(pieces), "verdict": verdict,
            "certified_share": 1.0 if verdict == "proved" else (0.0 if verdict == "refuted" else share),
            "counterexample": counterexample, "undecided_boxes": undecided, "methods": _methods(pieces, facts,
                                                                                                citations,
                                                                                              refutation),
            "covered": ("every piece the box meets" if covered else "nothing: the box lies outside every case of the "
                        "statement, so no inequality was certified on it") if claim.pieces else "symbolic facts only",
            "reduction": claim.reduction, "pieces": pieces, "skipped_pieces": skipped, "facts": facts,
            "citations": citations, "refutation": refutation}


def prove_chain(chain: claims.Chain, ranges: Ranges, depth: int, deadline: float,
                seconds: float = DEFAULT_SECONDS) -> dict:
    steps = []
    for k, step in enumerate(chain.steps):
        share_of_time = (deadline - time.perf_counter()) / (len(chain.steps) - k)
        steps.append(prove_claim(step, ranges, depth, time.perf_counter() + max(share_of_time, 0.5), seconds))
    refuted = [s for s in steps if s["verdict"] == "refuted"]
    if refuted:
        verdict = "refuted"
    elif all(s["verdict"] == "proved" for s in steps):
        verdict = "proved"
    else:
        verdict = "undecided"
    counterexample = {"step": refuted[0]["name"], **refuted[0]["counterexample"]} if refuted else None
    box = {}
    for v in chain.variables:
        lo, hi = ranges.get(str(v.symbol), (v.lo, v.hi))
        box[str(v.symbol)] = [float(lo), float(hi)]
    return {"name": chain.name, "statement": chain.statement, "box": box, "verdict": verdict,
            "certified_share": 1.0 if verdict == "proved" else min(s["certified_share"] for s in steps),
            "counterexample": counterexample,
            "undecided_boxes": [b for s in steps for b in s["undecided_boxes"]],
            "methods": sorted({m for s in steps for m in s["methods"]}), "steps": steps}


def _union_box(pieces: list[dict]) -> dict:
    box: dict[str, list[float]] = {}
    for p in pieces:
        for var, (lo, hi) in p["box"].items():
            box[var] = [min(lo, box.get(var, [lo, hi])[0]), max(hi, box.get(var, [lo, hi])[1])]
    return box


def _methods(pieces, facts, citations, refutation) -> list[str]:
    out = []
    if pieces:
        out.append("intervals")
    if facts or refutation:
        out.append("symbolic")
    if citations:
        out.append("cited")
    return out


def parse_box(items: list[str]) -> Ranges:
    """--box PARAM=LO:HI items -> {PARAM: (LO, HI)} as exact rationals; a clear error for anything else."""
    out: Ranges = {}
    for item in items:
        name, _, rng = item.partition("=")
        lo_text, sep, hi_text = rng.partition(":")
        if not (name and sep):
            raise ValueError(f"box={item!r} is malformed: expected PARAM=LO:HI, e.g. r=1/2:1 or gamma=0.001:1")
        try:
            lo, hi = Fraction(lo_text.strip()), Fraction(hi_text.strip())
        except (ValueError, ZeroDivisionError):
            raise ValueError(f"box={item!r} is malformed: LO and HI must be numbers (decimal or p/q)") from None
        if not lo < hi:
            raise ValueError(f"box={item!r} is not allowed: LO must be < HI")
        if max(abs(lo), abs(hi)) > BOX_LIMIT:
            raise ValueError(f"box={item!r} is not allowed: LO and HI must lie in [-1e100, 1e100]")
        if name.strip() in out:
            raise ValueError(f"box={item!r}: {name.strip()} is given twice")
        out[name.strip()] = (lo, hi)
    return out


def check_ranges(names: list[str], ranges: Ranges) -> None:
    """Every --box variable must belong to at least one chosen statement."""
    known = set().union(*(variables_of(n) for n in names)) if names else set()
    unknown = sorted(set(ranges) - known)
    if unknown:
        raise ValueError(f"box variable(s) {', '.join(unknown)} not used by {', '.join(names)}: "
                         f"choose from {', '.join(sorted(known)) or 'none'}")


__all__ = ["NAMES", "prove", "parse_box", "check_ranges", "variables_of"]
