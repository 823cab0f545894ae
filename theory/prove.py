"""`prove`: certify or refute each of Appendix D's statements on a box, and combine the parts into a verdict.

Verdicts: "proved" (every piece certified on its whole box, every symbolic fact settled by sympy, every cited
lemma proved with its hypotheses certified on this box), "refuted" (a certified counterexample, or a symbolic
proof that the printed statement fails), "undecided" (the certified share of the box is reported, with the
undecided sub-boxes). "Certified" means: on this box, in outward-rounded interval arithmetic, given sympy's
simplification of the stated identities. It says nothing outside the box.

The budget is work: `depth` bisections of one sub-box and `boxes` sub-boxes per certificate, so a verdict is the
same on any machine under any load. `seconds` is a safety net per statement; a statement it cut short records
`stopped_by_time` (and is at best undecided), so a verdict that did depend on the clock says so.
"""
from __future__ import annotations

import time
from fractions import Fraction
from functools import lru_cache
from typing import NamedTuple

import sympy as sp

from theory import claims, optimality
from theory.certify import certify
from theory.prove_limits import DEFAULT_BOXES, DEFAULT_DEPTH, DEFAULT_SECONDS

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


def prove(name: str, *, ranges: Ranges | None = None, depth: int = DEFAULT_DEPTH, boxes: int = DEFAULT_BOXES,
          seconds: float = DEFAULT_SECONDS) -> dict:
    """Certify statement `name` (see NAMES) on its default box, with `ranges` overriding some variables."""
    if name not in NAMES:
        raise ValueError(f"name={name!r} is not a known statement: choose from {', '.join(NAMES)}")
    if depth < 0:
        raise ValueError(f"depth={depth} is not allowed: must be >= 0")
    if boxes < 1:
        raise ValueError(f"boxes={boxes} is not allowed: must be >= 1")
    if not seconds > 0:
        raise ValueError(f"seconds={seconds} is not allowed: must be > 0")
    ranges = ranges or {}
    t0 = time.perf_counter()
    budget = Budget(depth, boxes, t0 + seconds, seconds)
    if name == "Theorem D.4":
        out = optimality.certify_defaults(max_boxes=boxes, seconds=seconds, facts=claims.D4_FACTS)
        out["stopped_by_time"] = any(a["stopped_by"] == "time" for a in out["allocations"])
    elif name in claims.CHAINS:
        out = prove_chain(claims.CHAINS[name], ranges, budget)
    elif not ranges:
        out = dict(_default_proof(name, depth, boxes, seconds))
    else:
        out = prove_claim(claims.CLAIMS[name], ranges, budget)
    out["seconds"] = time.perf_counter() - t0
    return out


class Budget(NamedTuple):
    depth: int  # bisections of one sub-box
    boxes: int  # sub-boxes per certificate
    deadline: float  # the safety net's moment (time.perf_counter)
    seconds: float  # the safety net per statement (a cited lemma gets its own)

    def certify(self, piece) -> dict:
        return certify(piece, max_depth=self.depth, max_boxes=self.boxes,
                       seconds=max(self.deadline - time.perf_counter(), 0.0)).to_json()


@lru_cache(maxsize=None)
def _default_proof(name: str, depth: int, boxes: int, seconds: float) -> dict:
    """A claim proved on its default box, once per process (cited lemmas are proved once)."""
    return prove_claim(claims.CLAIMS[name], {}, Budget(depth, boxes, time.perf_counter() + seconds, seconds))


def _check_citation(cit: claims.Citation, ranges: Ranges, budget: Budget) -> dict:
    cited = _default_proof(cit.claim, budget.depth, budget.boxes, budget.seconds)
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
            cert = budget.certify(p)
            conditions.append({"condition": p.label, "verdict": cert["verdict"],
                               "certified_share": cert["certified_share"], "stopped_by": cert["stopped_by"]})
    ok = cited["verdict"] == "proved" and all(c["verdict"] == "proved" for c in conditions)
    return {"claim": cit.claim, "claim_verdict": cited["verdict"], "conditions": conditions,
            "verdict": "proved" if ok else "undecided",
            "stopped_by_time": cited["stopped_by_time"] or any(c["stopped_by"] == "time" for c in conditions)}


def prove_claim(claim: claims.Claim, ranges: Ranges, budget: Budget) -> dict:
    facts = [f.prove() for f in claim.facts]
    refutation = claim.refutation.prove() if claim.refutation else None
    pieces, skipped = [], []
    for p in claim.pieces:
        narrowed = p.with_ranges(ranges)
        if narrowed is None:
            skipped.append(p.label)  # the box misses this piece's case
            continue
        pieces.append(budget.certify(narrowed))
    citations = [_check_citation(c, ranges, budget) for c in claim.citations]
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
            "citations": citations, "refutation": refutation,
            "stopped_by_time": any(p["stopped_by"] == "time" for p in pieces)
            or any(c["stopped_by_time"] for c in citations)}


def prove_chain(chain: claims.Chain, ranges: Ranges, budget: Budget) -> dict:
    steps = [prove_claim(step, ranges, budget) for step in chain.steps]
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
            "methods": sorted({m for s in steps for m in s["methods"]}), "steps": steps,
            "stopped_by_time": any(s["stopped_by_time"] for s in steps)}


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
