"""The report's verdict rules, fixed before looking at any run they judge, each with its reason.

Every rule is a pure function of a saved summary and returns a `Verdict`: one of confirmed / confirmed with
corrections / not confirmed / inconclusive / not run, the rule in words, the numbers it used and the condition
that decided it. "Inconclusive" is a result: the evidence is too weak to decide (too few seeds or sizes,
unconverged members near the transition, a prediction extrapolated or too wide, a conclusion that one member
flips), and it says why. Conditions are tested in the order written; the first that decides, decides.

- theory: every statement holds as printed -> confirmed; every failing one holds in its corrected form ->
  confirmed with corrections; else not confirmed.
- toy (Table 1): (a) groks after fitting, (b) never generalises, (c) groks with at most 1/10 of (a)'s delay.
- grokking: test accuracy reaches the threshold after train accuracy 1, with a delay of at least 3x the fit step
  or at least one weight-decay time scale 1/(lr wd) (a delay shorter than both is ordinary slow learning).
- P1 (efficiency): at least 3 sizes D per kind (a line through 2 sizes has no test); the memorisation exponent's
  95% interval above 0; the generalisation exponent's interval contains 0 and is narrow (half-width <= 0.1: "flat"
  must be measured, not merely not rejected); memorisation's interval above generalisation's; and the same when
  any one member is left out and when the unconverged members are taken back (a conclusion one point carries is
  inconclusive).
- P2 (ungrokking), per weight decay: train accuracy >= 0.99 in every child; mean test accuracy <= 0.25 at the
  smallest D' and >= 0.95 at the largest, on the test pairs and on never-trained pairs; the members at the two D'
  around the crossing of 1/2 converged (else inconclusive); a sharp transition, from <= 0.1 to >= 0.9 within two
  steps of the D' grid (a grid that never goes below 0.1 cannot show it: inconclusive).
- P3 (weight decay): an equivalence test. For each pair of weight decays, the 90% t-interval of the mean
  log(D_crit ratio) over seeds (paired: the children of one seed share their parent) must lie within +-log 1.25
  (two one-sided 5% tests); one seed is inconclusive whatever its ratio; an interval entirely outside is not
  confirmed.
- Theory against measurement: the measured D_crit outside the predicted interval and more than 1.5x from it ->
  not confirmed; the prediction extrapolated more than 1.5x beyond the memorisation sizes, or its interval (P_G's
  uncertainty included) more than 2x wide -> inconclusive; |log(measured / predicted)| <= log 1.5 for every weight
  decay -> else not confirmed; a leave-one-out or with-unconverged prediction that moves a ratio past 1.5 ->
  inconclusive. The o_t/o_m rank correlation counts only when it beats the naive predictors (a score monotone in
  D', the best winner-takes-all step at a gap of the D' grid) with p < 0.05; otherwise it is reported as
  uninformative and the verdict rests on D_crit (a winner-takes-all prediction, kappa > q, is a step: it cannot
  beat the best step).
- P4 (semi-grokking): at least one run semi-grokked -> confirmed; none in at least 20 runs -> not confirmed (were
  15% of runs to semi-grok, 20 runs would show none with probability 0.85^20 = 4%); none in fewer -> inconclusive.
- D_crit across widths (beyond the paper; fixed before any scaling run): a measured and a predicted slope of
  log D_crit on log width, each from at least 3 widths (else inconclusive). With d = measured - predicted and
  se = sqrt(se_m^2 + se_p^2): the 90% interval of d within +-0.5 (two one-sided 5% tests: over a 3x range of
  widths the prediction stays within 3^0.5 = 1.7x of the measurement's trend) -> confirmed, the prediction tracks
  the measurement; the 95% interval of d excluding 0 and |d| > 0.5 -> not confirmed; else inconclusive.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import combinations

import numpy as np
from rundir.lazy import lazy

stats = lazy("scipy.stats")


CONFIRMED, CORRECTED, NOT_CONFIRMED = "confirmed", "confirmed with corrections", "not confirmed"
INCONCLUSIVE, NOT_RUN = "inconclusive", "not run"
SEVERITY = (CONFIRMED, CORRECTED, INCONCLUSIVE, NOT_CONFIRMED)  # combining: the worst part decides

GROK_DELAY_FACTOR = 3.0  # grokking: delay >= this times the fit step (or one 1/(lr wd))
P1_MIN_SIZES = 3  # distinct D per kind
P1_FLAT_HALF_WIDTH = 0.1  # generalisation exponent's 95% half-width that counts as measured flat
P2_MIN_TRAIN_ACC = 0.99
P2_LOW, P2_HIGH = 0.25, 0.95  # test accuracy at the smallest / largest D'
P2_SHARP = (0.1, 0.9, 2)  # from <= 0.1 to >= 0.9 within this many grid steps
P3_MARGIN, P3_CONFIDENCE = 1.25, 0.90  # equivalence margin on the D_crit ratio, two one-sided 5% tests
CMP_RATIO, CMP_WIDTH, CMP_EXTRAPOLATION = 1.5, 2.0, 1.5
P4_MIN_RUNS = 20
SCALING_MIN_WIDTHS, SCALING_MARGIN = 3, 0.5  # widths per slope; equivalence margin on the slope difference


@dataclass
class Verdict:
    verdict: str  # one of the five above
    rule: str  # the rule in words
    decided_by: str  # the condition that decided, with its numbers
    numbers: dict = field(default_factory=dict)  # what the rule used

    def to_dict(self) -> dict:
        return asdict(self)


def worst(parts: list[Verdict], rule: str, numbers: dict | None = None) -> Verdict:
    """One verdict from several (per weight decay, per task): the most severe part decides."""
    top = max(parts, key=lambda v: SEVERITY.index(v.verdict))
    deciding = [v.decided_by for v in parts if v.verdict == top.verdict]
    others = [f"{v.verdict}: {v.decided_by}" for v in parts if v.verdict != top.verdict]
    return Verdict(top.verdict, rule, "; ".join(deciding) + (f" (also {'; '.join(others)})" if others else ""),
                   numbers or {})


def _fmt(x, f=".3g") -> str:
    return "n/a" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, f)


# ------------------------------------------------------------------------------------------- theory, toy, grokking
THEORY_RULE = ("every statement holds as printed (confirmed), or each failing one holds in its corrected form "
               "(confirmed with corrections)")


def theory(results: list[dict]) -> Verdict:
    failed = [r["name"] for r in results if not r["holds"]]
    unfixed = [r["name"] for r in results if not r["holds"] and not (r.get("corrected") or {}).get("holds")]
    nums = {"statements": len(results), "fail_as_printed": failed, "fail_corrected": unfixed}
    if unfixed:
        return Verdict(NOT_CONFIRMED, THEORY_RULE, f"{', '.join(unfixed)} fail even in corrected form", nums)
    if failed:
        return Verdict(CORRECTED, THEORY_RULE, f"{len(results) - len(failed)} of {len(results)} hold as printed; "
                       f"{', '.join(failed)} fail as printed and hold corrected", nums)
    return Verdict(CONFIRMED, THEORY_RULE, f"all {len(results)} statements hold as printed", nums)


TOY_RULE = "(a) groks after fitting, (b) never generalises, (c) groks with at most 1/10 of (a)'s delay"


def toy(delay_a: int | None, grok_b: int | None, delay_c: int | None) -> Verdict:
    nums = {"delay_a": delay_a, "grok_step_b": grok_b, "delay_c": delay_c}
    ok_a = delay_a is not None and delay_a > 0
    ok_b = grok_b is None
    ok_c = ok_a and delay_c is not None and delay_c <= delay_a / 10
    why = (f"(a) {'groks after a delay of ' + str(delay_a) + ' steps' if ok_a else 'does not grok late'}; "
           f"(b) {'never generalises' if ok_b else 'generalises at step ' + str(grok_b)}; "
           f"(c) {'delay ' + str(delay_c) + ' steps' if delay_c is not None else 'no grokking'}"
           f"{' (<= 1/10 of (a))' if ok_c else ' (not <= 1/10 of (a))'}")
    return Verdict(CONFIRMED if ok_a and ok_b and ok_c else NOT_CONFIRMED, TOY_RULE, why, nums)


GROK_RULE = (f"test accuracy reaches the threshold after train accuracy 1, delayed by >= {GROK_DELAY_FACTOR:g}x the "
             "fit step or >= 1/(lr wd) steps")


def grokking(fit: int | None, grok: int | None, lr: float, wd: float) -> Verdict:
    scale = 1 / (lr * wd) if lr * wd > 0 else math.inf
    nums = {"fit_step": fit, "grok_step": grok, "delay": None if fit is None or grok is None else grok - fit,
            "weight_decay_time_scale": scale}
    if fit is None or grok is None:
        return Verdict(NOT_CONFIRMED, GROK_RULE, f"fit step {fit}, grok step {grok}: no generalisation after fitting",
                       nums)
    delay = grok - fit
    if delay <= 0:
        return Verdict(NOT_CONFIRMED, GROK_RULE, f"test threshold at step {grok}, not after the fit at {fit}", nums)
    if delay >= GROK_DELAY_FACTOR * fit or delay >= scale:
        return Verdict(CONFIRMED, GROK_RULE, f"train accuracy 1 at step {fit}, test threshold at {grok}: delay "
                       f"{delay} = {delay / max(fit, 1):.1f}x the fit step, {delay / scale:.2f} x 1/(lr wd)", nums)
    return Verdict(NOT_CONFIRMED, GROK_RULE, f"delay {delay} steps is under {GROK_DELAY_FACTOR:g}x the fit step "
                   f"({fit}) and under 1/(lr wd) = {scale:.0f}: slow learning, not grokking", nums)


# ------------------------------------------------------------------------------------------- P1
P1_RULE = (f">= {P1_MIN_SIZES} sizes per kind; memorisation β's 95% interval above 0; generalisation β's contains 0 "
           f"with half-width <= {P1_FLAT_HALF_WIDTH}; memorisation's above generalisation's; unchanged when any one "
           "member is left out or the unconverged are taken back")


def _p1_fit(mem: dict, gen: dict) -> tuple[str, str]:
    (mlo, mhi), (glo, ghi) = mem["beta_interval"], gen["beta_interval"]
    if not all(math.isfinite(x) for x in (mlo, mhi, glo, ghi)):
        return INCONCLUSIVE, "an exponent's interval is undefined (no degrees of freedom left)"
    if mlo <= 0:
        if mhi - mlo <= 2 * P1_FLAT_HALF_WIDTH or mhi <= 0:
            return NOT_CONFIRMED, f"memorisation β = {mem['beta']:.3f} [{mlo:.3f}, {mhi:.3f}] is not above 0"
        return INCONCLUSIVE, f"memorisation β's interval [{mlo:.3f}, {mhi:.3f}] is too wide to exclude 0"
    if not glo <= 0 <= ghi:
        return NOT_CONFIRMED, (f"generalisation β = {gen['beta']:.3f} [{glo:.3f}, {ghi:.3f}] excludes 0: its norm "
                               "changes with D")
    if (ghi - glo) / 2 > P1_FLAT_HALF_WIDTH:
        return INCONCLUSIVE, (f"generalisation β's interval [{glo:.3f}, {ghi:.3f}] has half-width "
                              f"{(ghi - glo) / 2:.2f} > {P1_FLAT_HALF_WIDTH}: flatness is not measured")
    if mlo <= ghi:
        return INCONCLUSIVE, f"the intervals [{mlo:.3f}, {mhi:.3f}] and [{glo:.3f}, {ghi:.3f}] overlap"
    return CONFIRMED, (f"memorisation β = {mem['beta']:.3f} [{mlo:.3f}, {mhi:.3f}] above 0; generalisation β = "
                       f"{gen['beta']:.3f} [{glo:.3f}, {ghi:.3f}] flat")


def p1(mem: dict | None, gen: dict | None) -> Verdict:
    """mem, gen: the efficiency summary's laws (beta, beta_interval, sizes, leave_one_out, and the law with the
    unconverged members as `with_unconverged` when there is one)."""
    if not (mem and gen):
        missing = " and ".join(n for n, law in (("memorisation", mem), ("generalisation", gen)) if not law)
        return Verdict(INCONCLUSIVE, P1_RULE, f"no law for {missing} (too few converged members)", {})
    nums = {"mem_beta": mem["beta"], "mem_beta_interval": mem["beta_interval"], "gen_beta": gen["beta"],
            "gen_beta_interval": gen["beta_interval"], "mem_sizes": mem.get("sizes"), "gen_sizes": gen.get("sizes")}
    for name, law in (("memorisation", mem), ("generalisation", gen)):
        sizes = law.get("sizes")
        if sizes is None or len(sizes) < P1_MIN_SIZES:
            return Verdict(INCONCLUSIVE, P1_RULE, f"{name} has {len(sizes) if sizes else 'unrecorded'} size(s) D; "
                           f"a law needs >= {P1_MIN_SIZES}", nums)
    verdict, why = _p1_fit(mem, gen)
    if verdict != CONFIRMED:
        return Verdict(verdict, P1_RULE, why, nums)
    variants = [(f"{kind} member {e['left_out']} left out", e["law"] if kind == "mem" else mem,
                 e["law"] if kind == "gen" else gen)
                for kind, law in (("mem", mem), ("gen", gen)) for e in law.get("leave_one_out", []) if e["law"]]
    if mem.get("with_unconverged") or gen.get("with_unconverged"):
        variants.append(("the unconverged members taken back", mem.get("with_unconverged") or mem,
                         gen.get("with_unconverged") or gen))
    nums["variants_checked"] = len(variants)
    if not mem.get("leave_one_out") or not gen.get("leave_one_out"):
        return Verdict(INCONCLUSIVE, P1_RULE, why + "; no leave-one-out fits recorded (re-run the sweep)", nums)
    unfit = [e["left_out"] for law in (mem, gen) for e in law["leave_one_out"] if not e["law"]]
    if unfit:
        return Verdict(INCONCLUSIVE, P1_RULE, f"{why}, but leaving out {unfit[0]} leaves too few members to refit "
                       "(stability not shown)", nums)
    for label, m, g in variants:
        v, w = _p1_fit(m, g)
        if v != CONFIRMED:
            return Verdict(INCONCLUSIVE, P1_RULE, f"{why}, but not with {label}: {w}", nums)
    return Verdict(CONFIRMED, P1_RULE, f"{why}; holds in all {len(variants)} leave-one-out/unconverged refits", nums)


# ------------------------------------------------------------------------------------------- P2
P2_RULE = (f"per weight decay: train acc >= {P2_MIN_TRAIN_ACC}; test acc <= {P2_LOW} at the smallest D' and >= "
           f"{P2_HIGH} at the largest, also on never-trained pairs; members around the crossing of 1/2 converged; "
           f"from <= {P2_SHARP[0]} to >= {P2_SHARP[1]} within {P2_SHARP[2]} grid steps")


def p2_curve(w: dict, label: str) -> Verdict:
    """One weight decay's ungrokking curve (an ungrokking summary's by_wd entry)."""
    D, acc = w["d_prime"], w["mean_test_acc"]
    unseen = w.get("mean_test_acc_unseen") or acc
    nums = {"d_prime": D, "mean_test_acc": acc, "mean_test_acc_unseen": unseen, "min_train_acc": w["min_train_acc"],
            "d_crit": w["d_crit"], "unconverged": w["unconverged"]}
    if w["min_train_acc"] < P2_MIN_TRAIN_ACC:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: train accuracy {w['min_train_acc']:.3f} < "
                       f"{P2_MIN_TRAIN_ACC}: the children did not fit D'", nums)
    for name, curve in (("test", acc), ("never-trained", unseen)):
        if not (curve[0] <= P2_LOW and curve[-1] >= P2_HIGH):
            return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: {name} accuracy {curve[0]:.2f} at D' = {D[0]} (needs <= "
                           f"{P2_LOW}) and {curve[-1]:.2f} at D' = {D[-1]} (needs >= {P2_HIGH}): the grid does not "
                           "span the transition", nums)
    k = next((k for k in range(1, len(D)) if acc[k - 1] < 0.5 <= acc[k]), None)
    if k is None or w["d_crit"] is None:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: the mean curve does not cross 1/2 upward", nums)
    near = [u for u in w["unconverged"] if u["d_prime"] in (D[k - 1], D[k])]
    if near:
        where = ", ".join(f"D' {u['d_prime']} seed {u['seed']}" for u in near)
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: unconverged at the cap beside the transition ({where})", nums)
    lo, hi, steps = P2_SHARP
    below = [j for j in range(k) if acc[j] <= lo]
    above = [j for j in range(k, len(D)) if acc[j] >= hi]
    if not below:
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: the grid never goes below {lo} (lowest {min(acc[:k]):.2f} at "
                       f"D' = {D[0]}): the transition's width is not measured", nums)
    gap = above[0] - below[-1]
    nums["transition_grid_steps"] = gap
    if gap > steps:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: from {acc[below[-1]]:.2f} at D' = {D[below[-1]]} to "
                       f"{acc[above[0]]:.2f} at D' = {D[above[0]]} takes {gap} grid steps > {steps}: gradual", nums)
    return Verdict(CONFIRMED, P2_RULE, f"{label}: {acc[0]:.2f} at D' = {D[0]} -> {acc[-1]:.2f} at D' = {D[-1]} "
                   f"(never-trained {unseen[0]:.2f} -> {unseen[-1]:.2f}), {acc[below[-1]]:.2f} -> "
                   f"{acc[above[0]]:.2f} within {gap} grid step(s), D_crit {w['d_crit']:.0f}", nums)


def p2(by_wd: dict) -> Verdict:
    if not by_wd:  # nothing was ungrokked (parents that never generalised): the prediction was not tested
        return Verdict(INCONCLUSIVE, P2_RULE, "no stage-2 runs", {})
    parts = [p2_curve(w, f"wd {float(wd):g}") for wd, w in by_wd.items()]
    return worst(parts, P2_RULE, {f"wd {float(wd):g}": v.numbers for wd, v in zip(by_wd, parts)})


# ------------------------------------------------------------------------------------------- P3
P3_RULE = (f"for every pair of weight decays, the {P3_CONFIDENCE:.0%} t-interval of the mean log D_crit ratio over "
           f"seeds (paired by parent) lies within ±log {P3_MARGIN}; one seed is inconclusive")


def p3(by_wd: dict) -> Verdict:
    crit = {float(wd): {s: c for s, c in (w.get("d_crit_by_seed") or {}).items() if c is not None}
            for wd, w in by_wd.items()}
    nums = {"d_crit_by_seed": {f"{wd:g}": c for wd, c in crit.items()}, "pairs": []}
    if len(crit) < 2:
        return Verdict(INCONCLUSIVE, P3_RULE, f"{len(crit)} weight decay(s): nothing to compare", nums)
    margin = math.log(P3_MARGIN)
    outcomes = []
    for a, b in combinations(sorted(crit), 2):
        seeds = sorted(set(crit[a]) & set(crit[b]))
        diffs = np.array([math.log(crit[a][s] / crit[b][s]) for s in seeds])
        entry = {"wd": [a, b], "seeds": len(seeds)}
        nums["pairs"].append(entry)
        if len(seeds) < 2:
            ratio = f" (ratio {math.exp(diffs[0]):.2f})" if len(seeds) else ""
            outcomes.append((INCONCLUSIVE, f"wd {a:g} vs {b:g}: {len(seeds)} seed(s) with a D_crit in both{ratio}; "
                                           "an equivalence test needs >= 2"))
            continue
        half = stats.t.ppf(0.5 + P3_CONFIDENCE / 2, len(diffs) - 1) * diffs.std(ddof=1) / math.sqrt(len(diffs))
        lo, hi = diffs.mean() - half, diffs.mean() + half
        entry.update(ratio=math.exp(diffs.mean()), interval=[math.exp(lo), math.exp(hi)])
        text = (f"wd {a:g} vs {b:g}: D_crit ratio {math.exp(diffs.mean()):.2f} [{math.exp(lo):.2f}, "
                f"{math.exp(hi):.2f}] ({len(seeds)} seeds)")
        if -margin <= lo and hi <= margin:
            outcomes.append((CONFIRMED, text + f" within [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
        elif hi < -margin or lo > margin:
            outcomes.append((NOT_CONFIRMED, text + f" entirely outside [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
        else:
            outcomes.append((INCONCLUSIVE, text + f" not within [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
    return worst([Verdict(v, P3_RULE, why) for v, why in outcomes], P3_RULE, nums)


# ------------------------------------------------------------------------------------------- theory vs measurement
COMPARE_RULE = (f"measured D_crit within {CMP_RATIO}x of the predicted for every weight decay, the predicted "
                f"interval (P_G's uncertainty included) at most {CMP_WIDTH}x wide, memorisation sizes within "
                f"{CMP_EXTRAPOLATION}x of the prediction, no single member moving a ratio past {CMP_RATIO}x; the "
                "o_t/o_m rank test counts only when it beats the naive predictors")


def ratio_test(rc: dict | None, baselines: dict | None) -> tuple[bool, str]:
    """Whether the o_t/o_m rank correlation is informative (beats both naive predictors, p < 0.05), and a line."""
    if not rc:
        return False, "o_t/o_m rank test: too few members"
    base = baselines or {}
    mono, step = base.get("monotone_in_d_prime"), base.get("best_grid_step")
    beats = all(b is None or rc["spearman"] > b for b in (mono, step)) and None not in (mono, step)
    line = (f"o_t/o_m Spearman {rc['spearman']:.2f} (p = {rc['p_value']:.2g}) against a D'-monotone score "
            f"{_fmt(mono, '.2f')} and the best grid step {_fmt(step, '.2f')}")
    if beats and rc["p_value"] < 0.05:
        return True, line + ": informative"
    return False, line + ": uninformative (does not beat the naive predictors)"


def compare(summ: dict) -> Verdict:
    pred = summ["prediction"]
    d_pred, interval = pred["d_crit"], pred["d_crit_interval"]
    extra = pred.get("extrapolation") or {}
    sens = pred.get("sensitivity") or {}
    rows = summ["d_crit"]
    informative, ratio_line = ratio_test(summ.get("ratio_rank_correlation"), summ.get("ratio_baselines"))
    nums = {"predicted": d_pred, "predicted_interval": interval,
            "measured": {f"{r['wd']:g}": r["measured"] for r in rows},
            "ratios": {f"{r['wd']:g}": r["measured_over_predicted"] for r in rows},
            "extrapolation_factor": extra.get("factor"), "leave_one_out_range": sens.get("d_crit_range"),
            "d_crit_with_unconverged": sens.get("d_crit_with_unconverged"), "ratio_test_informative": informative,
            "kappa": pred.get("kappa")}
    V = lambda v, why: Verdict(v, COMPARE_RULE, why + "; " + ratio_line, nums)  # noqa: E731
    if d_pred is None:
        return V(INCONCLUSIVE, f"no predicted D_crit ({pred.get('d_crit_unavailable')})")
    missing = [r["wd"] for r in rows if r["measured"] is None]
    if missing or not rows:
        return V(INCONCLUSIVE, f"no measured D_crit for wd {', '.join(f'{w:g}' for w in missing) or '(none)'}")
    if interval is None or "extrapolation" not in pred or "sensitivity" not in pred:
        return V(INCONCLUSIVE, "the summary lacks the prediction's interval, extrapolation or sensitivity "
                               "(re-run grok-neural compare)")
    lo, hi = interval
    ratios = [r["measured"] / d_pred for r in rows]
    text = f"measured/predicted {', '.join(f'{x:.2f}' for x in ratios)} (predicted {d_pred:.0f} [{lo:.0f}, {hi:.0f}])"
    far = [r for r, x in zip(rows, ratios) if not lo <= r["measured"] <= hi and abs(math.log(x)) > math.log(CMP_RATIO)]
    if far:
        wds = ", ".join(f"{r['wd']:g}" for r in far)
        return V(NOT_CONFIRMED, f"{text}: wd {wds} outside the interval and "
                                f"more than {CMP_RATIO}x off")
    if extra.get("extrapolated"):
        rng = extra.get("mem_D_range") or [None, None]
        return V(INCONCLUSIVE, f"{text}: extrapolated {extra['factor']:.2f}x beyond the memorisation sizes "
                               f"{_fmt(rng[0], '.0f')}-{_fmt(rng[1], '.0f')}")
    if hi / lo > CMP_WIDTH:
        return V(INCONCLUSIVE, f"{text}: the predicted interval is {hi / lo:.1f}x wide (> {CMP_WIDTH}x)")
    if any(abs(math.log(x)) > math.log(CMP_RATIO) for x in ratios):
        return V(NOT_CONFIRMED, f"{text}: more than {CMP_RATIO}x off")
    if informative and summ["ratio_rank_correlation"]["spearman"] < 0:
        return V(NOT_CONFIRMED, f"{text}; the logit ratios are ordered against the prediction")
    variants = [x for x in (sens.get("d_crit_range") or []) + [sens.get("d_crit_with_unconverged")] if x]
    moved = [v for v in variants for r in rows if abs(math.log(r["measured"] / v)) > math.log(CMP_RATIO)]
    if moved or sens.get("fits_without_d_crit"):
        return V(INCONCLUSIVE, f"{text}, but one member moves the prediction to "
                               f"{', '.join(f'{v:.0f}' for v in sorted(set(moved))) or 'no D_crit at all'}")
    return V(CONFIRMED, f"{text}; leave-one-out range {_fmt(min(variants, default=None), '.0f')}-"
                        f"{_fmt(max(variants, default=None), '.0f')}")


# ------------------------------------------------------------------------------------------- P4
P4_RULE = (f"at least one run semi-grokked (confirmed); none in >= {P4_MIN_RUNS} runs (not confirmed); none in "
           "fewer (inconclusive)")


def p4(n_semi: int, n_runs: int) -> Verdict:
    nums = {"semi_grokked": n_semi, "runs": n_runs}
    if n_semi:
        return Verdict(CONFIRMED, P4_RULE, f"{n_semi} of {n_runs} runs semi-grokked", nums)
    if n_runs >= P4_MIN_RUNS:
        return Verdict(NOT_CONFIRMED, P4_RULE, f"0 of {n_runs} runs semi-grokked", nums)
    return Verdict(INCONCLUSIVE, P4_RULE, f"0 of {n_runs} runs semi-grokked: fewer than {P4_MIN_RUNS} runs cannot "
                   "call its absence", nums)


def multitask(tasks: dict) -> Verdict:
    """P2 on several tasks: each task whose parents generalised must pass P2; tasks without stage 2 are listed."""
    parts, skipped = [], []
    for name, t in tasks.items():
        if t.get("stage2_skipped"):
            skipped.append(name)
            continue
        v = p2(t["by_wd"])
        parts.append(Verdict(v.verdict, P2_RULE, f"{name}: {v.decided_by}"))
    if not parts:
        return Verdict(INCONCLUSIVE, "P2 on every task whose parent generalised",
                       f"no task's parent generalised ({', '.join(skipped)})", {"skipped": skipped})
    names = [n for n in tasks if n not in skipped]
    out = worst(parts, "P2 on every task whose parent generalised",
                {"skipped": skipped, "by_task": {n: p.verdict for n, p in zip(names, parts)}})
    if skipped:
        out.decided_by += f"; no stage 2 for {', '.join(skipped)} (parents did not generalise)"
    return out


def scaling(slopes: dict) -> Verdict:
    """Does the predicted D_crit track the measured one across widths? (the module docstring's rule)"""
    rule = (f"slopes of log D_crit on log width from >= {SCALING_MIN_WIDTHS} widths each; d = measured - predicted: "
            f"90% interval of d within +-{SCALING_MARGIN} -> confirmed; 95% interval excluding 0 and |d| > "
            f"{SCALING_MARGIN} -> not confirmed; else inconclusive")
    m, p = slopes.get("measured"), slopes.get("predicted")
    numbers = {"measured": m, "predicted": p, "widths_measured": slopes.get("widths_measured"),
               "widths_predicted": slopes.get("widths_predicted")}
    short = [k for k in ("measured", "predicted") if (slopes.get(f"widths_{k}") or 0) < SCALING_MIN_WIDTHS
             or not slopes.get(k)]
    if short:
        return Verdict(INCONCLUSIVE, rule, f"{' and '.join(short)} D_crit at fewer than {SCALING_MIN_WIDTHS} "
                                           f"widths: no slope to compare", numbers)
    d = m["slope"] - p["slope"]
    se = math.hypot(m["stderr"], p["stderr"])
    z90, z95 = stats.norm.ppf(0.95), stats.norm.ppf(0.975)
    numbers.update({"difference": d, "difference_se": se})
    what = f"slope difference {d:.2f} (se {se:.2f}; measured {m['slope']:.2f}, predicted {p['slope']:.2f})"
    if abs(d) + z90 * se <= SCALING_MARGIN:
        return Verdict(CONFIRMED, rule, f"{what}: its 90% interval lies within +-{SCALING_MARGIN}", numbers)
    if abs(d) - z95 * se > 0 and abs(d) > SCALING_MARGIN:
        return Verdict(NOT_CONFIRMED, rule, f"{what}: its 95% interval excludes 0 and |d| > {SCALING_MARGIN}",
                       numbers)
    return Verdict(INCONCLUSIVE, rule, f"{what}: too uncertain to decide", numbers)
