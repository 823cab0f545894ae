"""`grok-theory`: check the paper's theorems, compute optimal allocations, derive exponents, find D_crit.

Every command that reports numbers takes `--json` and then prints exactly one JSON object on stdout.
Bad input exits with code 2 and a one-line message naming the parameter and its allowed range.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import List, Optional

import numpy as np
import typer

import rundir
from commands.common import friendly_errors, items, new_app
from rundir.lazy import lazy
from theory import prove_limits

allocation, derive, efficiency, optimality, proving, statements, validate = (lazy(f"theory.{m}") for m in (
    "allocation", "derive", "efficiency", "optimality", "prove", "statements", "validate"))

MAX_INSTANCES = 10_000  # per statement: about 4 minutes for all six statements on 2 cores
SECONDS_PER_THOUSAND_INSTANCES = 25  # measured here for all six statements, for the message
MAX_GRID = 10_000  # dcrit's prediction rows

app = new_app("The mathematics of circuit efficiency (Varma et al. 2023, Section 3 and Appendix D).")


def emit_json(obj: dict) -> None:
    typer.echo(json.dumps(rundir.to_jsonable(obj)))


_ALIASES = {"d1": "Theorem D.1", "d2": "Lemma D.2", "d3": "Lemma D.3", "d4": "Theorem D.4",
            "d4proofcase1": "D.4 proof case 1", "d4proofcase2": "D.4 proof case 2", "proof1": "D.4 proof case 1",
            "proof2": "D.4 proof case 2"}
_CORRECTED = {"Lemma D.3": "Lemma D.3 (corrected)", "D.4 proof case 2": "D.4 proof case 2 (corrected)"}


def resolve_name(name: str, corrected_ok: bool = False) -> str:
    """A statement's name from a short form (d3, D.3, Lemma D.3, proof2; with --corrected-ok also d3corrected)."""
    key = "".join(ch for ch in name.lower().replace("theorem", "").replace("lemma", "") if ch.isalnum())
    base_key = key.removesuffix("corrected")
    if base_key in _ALIASES and (key == base_key or (corrected_ok and _ALIASES[base_key] in _CORRECTED)):
        return _ALIASES[base_key] if key == base_key else _CORRECTED[_ALIASES[base_key]]
    forms = "D.1, D.2, D.3, D.4, proof1, proof2" + (", d3corrected, proof2corrected" if corrected_ok else "")
    raise ValueError(f"NAME={name!r} is not a known statement: choose from {forms}")


@app.command()
@friendly_errors
def check(names: Optional[List[str]] = typer.Argument(None, help="Statements to check (D.1 D.2 D.3 D.4 proof1 "
                                                                  "proof2); all by default."),
          instances: Optional[int] = typer.Option(None, help="Instances per statement (default: each statement's "
                                                             "own)."),
          seed: int = typer.Option(0, help="Seed of the instance sampler."),
          strict: bool = typer.Option(False, "--strict", help="Exit 1 if any printed statement fails."),
          out: Optional[Path] = typer.Option(None, help="Also save the results as OUT/summary.json (for the report)."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Check each statement as printed in the paper on many sampled instances; report corrections where it fails."""
    if instances is not None and not 1 <= instances <= MAX_INSTANCES:
        raise ValueError(f"instances={instances} is not allowed: must lie in [1, {MAX_INSTANCES:,}] "
                         f"(all statements take about {SECONDS_PER_THOUSAND_INSTANCES} s per 1,000 instances)")
    if not 0 <= seed < 2**32:
        raise ValueError(f"seed={seed} is not allowed: must lie in [0, 2^32)")
    chosen = [resolve_name(n) for n in names] if names else list(statements.NAMES)
    _check_out(out)
    t0 = time.perf_counter()
    reports = [statements.check(n, instances, seed) for n in chosen]
    result = {"seed": seed, "results": [r.to_json() for r in reports]}
    _save_and_show(result, out, t0, as_json, lambda: _table(reports))
    if strict and not all(r.holds for r in reports):
        raise typer.Exit(1)


def _check_out(out: Optional[Path]) -> None:
    """Before the work: OUT/summary.json can be written (OUT a directory, or one that can be made)."""
    if out is not None:
        if Path(out).exists() and not Path(out).is_dir():
            raise ValueError(f"out={str(out)!r} is a file: name a directory for summary.json")
        rundir.check_file_target(Path(out) / "summary.json")


def _save_and_show(result: dict, out: Optional[Path], t0: float, as_json: bool, table) -> None:
    """Save OUT/summary.json (with compute time and provenance) if asked, then print JSON or the table."""
    if out is not None:
        rundir.write_json(Path(out) / "summary.json", rundir.stamped({
            **result, "compute_seconds": time.perf_counter() - t0, "provenance": rundir.provenance()}))
    if as_json:
        emit_json(result)
    else:
        typer.echo(table())


def _table(reports) -> str:
    rows = [("statement", "instances", "worst margin", "verdict")]
    for r in reports:
        rows.append((r.name, str(r.instances), f"{r.worst_margin:.3g}", "holds" if r.holds else "FAILS"))
        for s in r.steps:
            rows.append(("  " + s.name, str(s.instances), f"{s.worst_margin:.3g}", "holds" if s.holds else "FAILS"))
        if r.corrected:
            c = r.corrected
            rows.append(("  -> " + c.name, str(c.instances), f"{c.worst_margin:.3g}", "holds" if c.holds else "FAILS"))
            for s in c.steps:
                rows.append(("     " + s.name, str(s.instances), f"{s.worst_margin:.3g}",
                             "holds" if s.holds else "FAILS"))
    widths = [max(len(row[k]) for row in rows) for k in range(4)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in reports:
        if not r.holds:
            lines.append(f"\n{r.name} fails as printed. Simplest counterexample: {_fmt(r.counterexample)}")
            if r.correction:
                lines.append(f"Correction: {r.correction}")
    lines.append("\nMargin: >= 0 where a statement holds (relative scale); near 0 means the inequality is tight.")
    return "\n".join(lines)


def _fmt(inst) -> str:
    return ", ".join(f"{k}={np.round(v, 6).tolist() if np.ndim(v) else f'{v:.6g}'}" for k, v in (inst or {}).items())


@app.command()
@friendly_errors
def prove(names: Optional[List[str]] = typer.Argument(None, help="Statements (D.1 D.2 D.3 d3corrected D.4 proof1 "
                                                                  "proof2 proof2corrected); all by default. A printed "
                                                                  "statement with a correction brings its corrected "
                                                                  "form along."),
          box: Optional[str] = typer.Option(None, "--box", help="PARAM=LO:HI, comma-separated: other ranges for "
                                                                "box variables (decimal or p/q), e.g. --box "
                                                                "r=1/2:1,t=1:2."),
          depth: int = typer.Option(prove_limits.DEFAULT_DEPTH, help="Most bisections of one sub-box before it is left "
                                                                "undecided (0-200)."),
          boxes: int = typer.Option(prove_limits.DEFAULT_BOXES, help="Most sub-boxes examined per certificate "
                                                                     "(1-10^8): with --depth, the work budget that "
                                                                     "decides, the same on any machine and load."),
          seconds: float = typer.Option(prove_limits.DEFAULT_SECONDS, help="Safety time limit per statement in "
                                                                      "seconds (0 < S <= 3600); a statement it cuts "
                                                                      "short says so."),
          out: Optional[Path] = typer.Option(None, help="Also save the results as OUT/summary.json (for the report)."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Prove or refute each statement on a whole box: interval branch and bound, exact counterexamples, sympy."""
    if not 0 <= depth <= 200:
        raise ValueError(f"depth={depth} is not allowed: must lie in [0, 200]")
    if not 1 <= boxes <= 10**8:
        raise ValueError(f"boxes={boxes} is not allowed: must lie in [1, 10^8]")
    if not 0 < seconds <= 3600:
        raise ValueError(f"seconds={seconds} is not allowed: must lie in (0, 3600]")
    chosen = []
    for n in (names or []):
        name = resolve_name(n, corrected_ok=True)
        chosen += [name] + ([_CORRECTED[name]] if name in _CORRECTED else [])
    chosen = list(dict.fromkeys(chosen)) if names else list(proving.NAMES)
    ranges = proving.parse_box(items("box", box) if box is not None else [])
    proving.check_ranges(chosen, ranges)
    _check_out(out)
    t0 = time.perf_counter()
    results = []
    for k, name in enumerate(chosen):
        typer.echo(f"[{k + 1}/{len(chosen)}] {name} ...", err=True)
        results.append(proving.prove(name, ranges=ranges, depth=depth, boxes=boxes, seconds=seconds))
        cut = " - stopped by the safety time limit" if results[-1]["stopped_by_time"] else ""
        typer.echo(f"      {results[-1]['verdict']} ({results[-1]['seconds']:.1f} s{cut})", err=True)
    result = {"kind": "theory-prove", "depth": depth, "boxes_limit": boxes, "seconds_limit": seconds,
              "box_overrides": {k: [str(lo), str(hi)] for k, (lo, hi) in ranges.items()}, "results": results}
    _save_and_show(result, out, t0, as_json, lambda: _prove_table(results))


def _prove_table(results: list[dict]) -> str:
    rows = [("statement", "verdict", "certified share", "seconds", "how")]
    for r in results:
        rows.append((r["name"], r["verdict"], f"{r['certified_share']:.6g}", f"{r['seconds']:.1f}",
                     "+".join(r["methods"])))
        for s in r.get("steps", []):
            rows.append(("  " + s["name"], s["verdict"], f"{s['certified_share']:.6g}", "", "+".join(s["methods"])))
    widths = [max(len(row[k]) for row in rows) for k in range(5)]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for r in results:
        if r.get("skipped_pieces"):
            lines.append(f"\n{r['name']}: on this box, outside their case and not certified: "
                         f"{'; '.join(r['skipped_pieces'])}")
        if r["verdict"] == "refuted":
            lines.append(f"\n{r['name']} is refuted: {_cx(r['counterexample'])}")
        elif r["verdict"] == "undecided":
            lines.append(f"\n{r['name']}: {len(r['undecided_boxes'])} undecided sub-boxes listed (see --json), "
                         f"certified share {r['certified_share']:.6g}")
        if r.get("stopped_by_time"):
            lines.append(f"\n{r['name']}: stopped by the safety time limit (--seconds), not by the work budget: "
                         "this verdict depends on the machine's speed; raise --seconds")
    lines.append("\nproved: certified on the whole box (interval arithmetic, outward rounding) and by sympy for the "
                 "symbolic steps; refuted: an exact counterexample or a symbolic disproof. A box, not all reals.")
    return "\n".join(lines)


def _cx(cx: dict) -> str:
    if "symbolic" in cx:
        return cx["symbolic"]
    where = f"at step {cx['step']}, " if "step" in cx else ""
    point = ", ".join(f"{k}={v}" for k, v in cx["point"].items())
    lo, hi = cx["margin_enclosure"]
    return f"{where}margin in [{lo:.6g}, {hi:.6g}] < 0 at the exact point {point} ({cx['precision_bits']} bits)"


@app.command()
@friendly_errors
def allocate(P: str = typer.Option(..., "--P", help="Norms of the normalised circuits, comma-separated: --P 1,2."),
             kappa: float = typer.Option(1.2, help="Logit-scaling exponent kappa > 0."),
             q: float = typer.Option(2.0, help="Norm exponent q > 0 (2 = weight decay)."),
             alpha: float = typer.Option(0.005, help="Weight-decay strength alpha > 0."),
             n_classes: int = typer.Option(113, help="Number of classes >= 2."),
             verify: bool = typer.Option(False, "--verify", help="Also minimise eq. 5 with an independent multi-start "
                                                                 "optimiser."),
             certify: bool = typer.Option(False, "--certify", help="Also certify the answer globally optimal to 1e-9 "
                                                                   "by interval branch and bound (rational "
                                                                   "parameters)."),
             seed: int = typer.Option(0, help="Seed of the verifier's random starts."),
             as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Optimal weights of circuits with norms P (Theorem D.4 shares, exact 1-D optimal total)."""
    norms = [_number("P", s) for s in items("P", P)]
    a = allocation.allocate(norms, kappa=kappa, q=q, alpha=alpha, n_classes=n_classes, verify=verify, seed=seed)
    cert = optimality.certify_allocation(norms, kappa, q, alpha, n_classes, weights=a.weights) if certify else None
    out = {"weights": a.weights, "total": a.total, "case": a.case, "loss": a.loss, "shares": a.shares,
           "note": a.note, "verify": a.verify, "certified": cert}
    if as_json:
        emit_json(out)
        return
    rule = "kappa >= q: winner takes all" if a.case == 1 else "kappa < q: w_i ∝ P_i^(-q k/(q-k))"
    typer.echo(f"case {a.case} ({rule})")
    for i, (p, w, s) in enumerate(zip(norms, a.weights, a.shares)):
        typer.echo(f"  circuit {i}: P = {p:<8g} w* = {w:.10g}  share = {s:.6g}")
    typer.echo(f"total W* = {a.total:.10g}   loss = {a.loss:.10g}")
    if a.note:
        typer.echo(f"note: {a.note}")
    if a.verify:
        v = a.verify
        typer.echo(f"verify (independent optimiser): loss = {v['loss']:.10g}, "
                   f"loss rel diff = {v['loss_rel_diff']:.2g}, "
                   f"max weight diff = {v['max_weight_diff']:.2g} -> {'agrees' if v['agrees'] else 'DISAGREES'}")
    if cert:
        typer.echo(f"certified (interval branch and bound on w in {cert['box']}): {cert['verdict']} that no w >= 0 has "
                   f"loss below {cert['loss_upper']:.10g} - {cert['tolerance']:g} ({cert['boxes']} sub-boxes, "
                   f"{cert['seconds']:.1f} s)")


def _number(name: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{name}={text!r} is not a number") from None


@app.command("derive")
@friendly_errors
def derive_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Derive Theorem D.4's case-2 exponent with sympy from the stationarity conditions, step by step."""
    steps, exponent = derive.derive_case2()
    if as_json:
        emit_json({"steps": [{"description": s.description, "expression": str(s.expression)} for s in steps],
                   "exponent": str(exponent),
                   "matches_paper": derive.matches_paper(exponent)})
    else:
        typer.echo(derive.derivation_text())


@app.command()
@friendly_errors
def dcrit(gen_norm: float = typer.Option(..., help="Norm P_G of the generalising circuit (> 0)."),
          mem: str = typer.Option(..., help="Measured memorising norms as D:P, comma-separated, e.g. --mem "
                                            "500:20,1000:27,2000:37."),
          kappa: float = typer.Option(1.2, help="Logit-scaling exponent kappa > 0."),
          q: float = typer.Option(2.0, help="Norm exponent q > 0."),
          confidence: float = typer.Option(0.95, help="Confidence level of the D_crit interval, in (0, 1)."),
          grid: int = typer.Option(9, help="Number of dataset sizes (log-spaced) at which to predict w_G/w_M."),
          as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Fit P_M(D) = a D^beta, solve P_M(D_crit) = P_G, and predict w_G/w_M on a grid of D."""
    validate.exponent("kappa", kappa), validate.exponent("q", q)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence={confidence} is not allowed: must lie in (0, 1)")
    if not 2 <= grid <= MAX_GRID:
        raise ValueError(f"grid={grid} is not allowed: must lie in [2, {MAX_GRID}]")
    pairs = [_pair(s) for s in items("mem", mem)]
    law = efficiency.fit_memorisation_norm([d for d, _ in pairs], [p for _, p in pairs])
    crit = efficiency.critical_dataset_size(law, gen_norm, confidence)
    Ds = [d for d, _ in pairs]
    D_grid = np.geomspace(min(Ds + [crit.D_crit]) / 2, max(Ds + [crit.D_crit]) * 2, grid)
    preds = [{"D": float(D), "P_M": float(law(D)),
              "ratio_wG_wM": efficiency.predicted_ratio(D, law, gen_norm, kappa, q)}
             for D in D_grid]
    out = {"D_crit": crit.D_crit, "interval": crit.interval, "confidence": confidence,
           "law": {"a": float(np.exp(law.log_a)), "beta": law.beta,
                   "beta_stderr": float(np.sqrt(law.cov[1, 1])) if law.cov is not None else None,
                   "n_points": law.n_points},
           "generalisation_wins_above": crit.generalisation_wins_above,
           "case": allocation.case_of(kappa, q), "predictions": preds}
    if as_json:
        emit_json(out)
        return
    beta_se = f" ± {out['law']['beta_stderr']:.3g}" if law.cov is not None else ""
    typer.echo(f"fit: P_M(D) = {out['law']['a']:.4g} * D^({law.beta:.4g}{beta_se})   from {law.n_points} points")
    ci = f"  [{crit.interval[0]:.5g}, {crit.interval[1]:.5g}] at {confidence:.0%}" if crit.interval else \
        "  (interval needs >= 3 points)"
    typer.echo(f"D_crit = {crit.D_crit:.5g}{ci}")
    above = "generalisation" if crit.generalisation_wins_above else "memorisation"
    typer.echo(f"{above} is more efficient above D_crit")
    typer.echo(f"{'D':>12} {'P_M(D)':>12} {'w_G/w_M':>14}")
    for p in preds:
        typer.echo(f"{p['D']:>12.5g} {p['P_M']:>12.5g} {p['ratio_wG_wM']:>14.5g}")


def _pair(text: str) -> tuple[float, float]:
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"mem={text!r} is malformed: expected D:P with D > 0 and P > 0, e.g. 1000:27.5")
    try:
        D, P = float(parts[0]), float(parts[1])
    except ValueError:
        raise ValueError(f"mem={text!r} is malformed: expected D:P with D > 0 and P > 0, e.g. 1000:27.5") from None
    if not (validate.TINY <= D <= validate.HUGE and validate.TINY <= P <= validate.HUGE):
        raise ValueError(f"mem={text!r} is not allowed: D and P must lie in [1e-100, 1e100]")
    return D, P


def main() -> None:
    app()


if __name__ == "__main__":
    sys.exit(main())

