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
  95% interval above 0; beta_M - beta_G > 0 (its 95% interval above 0, the two fits independent); generalisation
  flat by an equivalence test: the 90% interval of beta_G (two one-sided 5% tests) within +-beta_M/3 (its norm grows
  at most a third as fast as memorisation's; a margin tied to beta_M, because "flat" means flat against the
  competitor, and a fixed "interval contains 0" punishes precision: 0.02 [0.005, 0.035] failed it while
  0.09 [-0.01, 0.19] passed); entirely outside the margin -> not confirmed; and the same when any one member is left
  out and when the unconverged members are taken back (a conclusion one point carries is inconclusive).
- P2 (ungrokking), per weight decay: train accuracy >= 0.99 in every child; mean accuracy <= 0.25 at the smallest D'
  and >= 0.95 at the largest on the test pairs, the never-trained pairs and the pairs whose mirror is not in D' (a
  memorised (b, a) cannot answer those); the members bracketing the crossing of 1/2 converged, for the mean curve
  and for every seed (else inconclusive); a sharp transition judged per seed by its interpolated 10-90% width,
  D'(0.9)/D'(0.1), on the test pairs and on the no-mirror pairs: every seed's at most 3x -> sharp (a network whose
  test accuracy grew in proportion to D' would take 9x; sharp is at most its square root); any seed's above 3x ->
  not confirmed (gradual); a width the grid cannot measure (a seed's curve never below 0.1 or above 0.9) ->
  inconclusive. (It replaces "within two grid steps", which counted grid points: 0.104 against a threshold of 0.1
  failed a curve whose interpolated width was 1.9x.)
- P3 (weight decay): compared at matched training time and at convergence. The sweep's cap must be the same number
  of weight-decay windows 1/(lr wd) for every weight decay (a cap in steps gives wd 3 three times wd 1's: a bias
  that depends on the variable P3 is about) -> else inconclusive; a seed's D_crit counts only where both members
  bracketing its crossing converged. Then an equivalence test: for each pair of weight decays, the 90% t-interval
  of the mean log(D_crit ratio) over the seeds counted in both (paired: the children of one seed share their
  parent) must lie within +-log 1.25 (two one-sided 5% tests); fewer than 2 such seeds is inconclusive; an interval
  entirely outside is not confirmed.
- Theory against measurement: per weight decay, d = log(measured / predicted) with both intervals: the measured
  one's standard error from its t-interval over seeds (its own degrees of freedom), the prediction's from its
  t-interval (the fits' degrees of freedom), combined with Welch-Satterthwaite degrees of freedom (the measured
  point against the predicted interval ignored the measurement's own spread and called 282 "confirmed" against
  [302, 374] with no statement of how far). d's 95% interval entirely beyond +-log 1.5 for a weight decay -> not
  confirmed; the prediction extrapolated more than 1.5x beyond the memorisation sizes -> inconclusive; d's 90%
  interval within +-log 1.5 for every weight decay (two one-sided 5% tests) -> confirmed, else inconclusive; a
  leave-one-out or with-unconverged prediction that moves a ratio past 1.5 -> inconclusive. The prediction's
  sensitivity to the reference logit (the logit at which the norms are read) is reported beside: it is a choice the
  paper leaves open. The o_t/o_m rank correlation counts only when it beats the naive predictors (a score monotone
  in D', the best winner-takes-all step at a gap of the D' grid) with p < 0.05; otherwise it is reported as
  uninformative and the verdict rests on D_crit (a winner-takes-all prediction, kappa > q, is a step: it cannot beat
  the best step).
- P4 (semi-grokking): at least one run semi-grokked (settled, phases: its final plateau shows no trend) ->
  confirmed; none in enough runs that the paper's rate (about 3% of runs) would have shown at least one with
  probability 95% (0.97^n <= 0.05: n >= 99) -> not confirmed; none in fewer -> inconclusive. (20 runs assumed a rate
  near 15%; at 3%, none in 20 happens 54% of the time.)
- D_crit across widths (beyond the paper): a measured and a predicted slope of log D_crit on log width, each from at
  least 3 widths (else inconclusive). With d = measured - predicted, se = sqrt(se_m^2 + se_p^2) and t quantiles at
  the smaller of the two fits' degrees of freedom (the predicted slope's weights come from t-intervals with few
  degrees of freedom; treating them as normal inflated its interval up to 6.5x): the 90% interval of d within
  +-0.5 (two one-sided 5% tests: over a 3x range of widths the prediction stays within 3^0.5 = 1.7x of the
  measurement's trend) and a width-independent prediction (slope 0) failing that same test -> confirmed (a
  prediction that ignores width must not pass: it would show only that D_crit barely moves); the 95% interval of d
  excluding 0 and |d| > 0.5 -> not confirmed; else inconclusive.
- The D_crit surface (beyond the paper, issue 33), three rules fixed before its first run:
  - which law of p: the published laws (p^2, p^(5/3), p log p) and the theory's per-cell prediction compared by
    AICc weights on every seed's log D_crit at >= 4 moduli, a free power law's exponent as the nesting test (the free
    law does not join the weights: it nests the power laws, and a true fixed law would then never pass about 0.75).
    Weight >= 0.9 with the law's exponent inside the free exponent's 95% interval -> confirmed; that interval
    excluding every published exponent (the theory absent or below weight 0.1) -> not confirmed; else inconclusive.
    (Checked on planted laws with 10% noise: p^2, p^(5/3), p log p are each named, and a p^1 law is rejected.)
  - the width slope's sign at each modulus of the width axis (>= 3 widths): 95% interval below 0 negative (Huang
    et al.), above 0 positive (Zhu et al.), 90% interval within +-0.25 flat, else undecided; one decided outcome at
    every modulus -> confirmed, decided outcomes that differ -> not confirmed, else inconclusive.
  - the theory per cell: theory against measurement's log-ratio test per cell, with at least 3 cells (and half of
    the measured ones) predicted.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from itertools import combinations

import numpy as np
from neural.search import upward_index
from rundir.lazy import lazy

theory_eff = lazy("theory.efficiency")


CONFIRMED, CORRECTED, NOT_CONFIRMED = "confirmed", "confirmed with corrections", "not confirmed"
INCONCLUSIVE, NOT_RUN = "inconclusive", "not run"
SEVERITY = (CONFIRMED, CORRECTED, INCONCLUSIVE, NOT_CONFIRMED)  # combining: the worst part decides

GROK_DELAY_FACTOR = 3.0  # grokking: delay >= this times the fit step (or one 1/(lr wd))
P1_MIN_SIZES = 3  # distinct D per kind
P1_FLAT_FRACTION = 1 / 3  # generalisation's exponent within +- this fraction of memorisation's counts as flat
P1_MEM_FLAT = 0.1  # a memorisation exponent around 0 with a 95% half-width below this is measured flat
EQUIVALENCE = 0.90  # two one-sided 5% tests: a 90% interval within the margin
P2_MIN_TRAIN_ACC = 0.99
P2_LOW, P2_HIGH = 0.25, 0.95  # test accuracy at the smallest / largest D'
P2_WIDTH = 3.0  # the largest 10-90% width D'(0.9)/D'(0.1) of a seed that counts as sharp
P3_MARGIN, P3_CONFIDENCE = 1.25, EQUIVALENCE  # equivalence margin on the D_crit ratio
P3_CAP_TOLERANCE = 1.01  # caps in windows that differ by less than this (rounding to whole steps) are matched
CMP_RATIO, CMP_EXTRAPOLATION = 1.5, 1.5
P4_PAPER_RATE, P4_POWER = 0.03, 0.95  # the paper's semi-grokking rate; the chance of seeing one that absence needs
P4_MIN_RUNS = math.ceil(math.log(1 - P4_POWER) / math.log(1 - P4_PAPER_RATE))  # 99
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
P1_RULE = (f">= {P1_MIN_SIZES} sizes per kind; memorisation β's 95% interval above 0; β_M - β_G's 95% interval above "
           f"0; generalisation β's {EQUIVALENCE:.0%} interval within ±β_M/{1 / P1_FLAT_FRACTION:g} (flat against "
           "memorisation); unchanged when any one member is left out or the unconverged are taken back")


def law_se(law: dict) -> tuple[float, float, float | None]:
    """(beta, its standard error, degrees of freedom) of an efficiency law, from its recorded 95% t-interval
    (efficiency.fit_law: n - 3 degrees of freedom; normal where n is not recorded)."""
    lo, hi = law["beta_interval"]
    dof = law["n"] - 3 if law.get("n") else None
    return law["beta"], (hi - lo) / (2 * theory_eff.t_quantile(0.95, dof)), dof


def _p1_fit(mem: dict, gen: dict) -> tuple[str, str]:
    (mlo, mhi), (glo, ghi) = mem["beta_interval"], gen["beta_interval"]
    if not all(math.isfinite(x) for x in (mlo, mhi, glo, ghi)):
        return INCONCLUSIVE, "an exponent's interval is undefined (no degrees of freedom left)"
    if mlo <= 0:
        if mhi <= 0 or (mhi - mlo) / 2 <= P1_MEM_FLAT:
            return NOT_CONFIRMED, f"memorisation β = {mem['beta']:.3f} [{mlo:.3f}, {mhi:.3f}] is not above 0"
        return INCONCLUSIVE, f"memorisation β's interval [{mlo:.3f}, {mhi:.3f}] is too wide to exclude 0"
    (bm, sm, dm), (bg, sg, dg) = law_se(mem), law_se(gen)
    diff, sd = bm - bg, math.hypot(sm, sg)
    dof = None if dm is None or dg is None else min(dm, dg)
    half = theory_eff.t_quantile(0.95, dof) * sd
    gap = f"β_M - β_G = {diff:.3f} [{diff - half:.3f}, {diff + half:.3f}]"
    if diff + half < 0:
        return NOT_CONFIRMED, f"{gap}: generalisation's norm grows faster with D than memorisation's"
    if diff - half <= 0:
        return INCONCLUSIVE, f"{gap} does not exclude 0: memorisation is not shown to be the less efficient"
    margin = P1_FLAT_FRACTION * bm
    g90 = theory_eff.t_quantile(EQUIVALENCE, dg) * sg
    flat = (f"generalisation β = {bg:.3f} [{EQUIVALENCE:.0%}: {bg - g90:.3f}, {bg + g90:.3f}] against ±{margin:.3f} "
            f"(β_M/{1 / P1_FLAT_FRACTION:g})")
    if -margin <= bg - g90 and bg + g90 <= margin:
        return CONFIRMED, f"memorisation β = {bm:.3f} [{mlo:.3f}, {mhi:.3f}] above 0; {gap}; {flat}: flat"
    if bg - g90 > margin or bg + g90 < -margin:
        return NOT_CONFIRMED, f"{flat}: its norm changes with D at more than a third of memorisation's rate"
    return INCONCLUSIVE, f"{flat}: not within the margin (flatness not measured)"


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
P2_RULE = (f"per weight decay: train acc >= {P2_MIN_TRAIN_ACC}; accuracy <= {P2_LOW} at the smallest D' and >= "
           f"{P2_HIGH} at the largest on test, never-trained and no-mirror pairs; members bracketing the crossing of "
           f"1/2 converged (mean curve and every seed); every seed's interpolated 10-90% width D'(0.9)/D'(0.1) at "
           f"most {P2_WIDTH:g}x on test and on no-mirror pairs")


def _widths(w: dict, key: str) -> tuple[list[str], list[str], str]:
    """Seeds whose width exceeds P2_WIDTH, seeds whose width the grid cannot measure, and the widths in words."""
    widths = w[key]
    text = ", ".join(f"seed {s} {_fmt(x, '.2f')}x" for s, x in widths.items())
    return ([s for s, x in widths.items() if x is not None and x > P2_WIDTH],
            [s for s, x in widths.items() if x is None], text)


def p2_curve(w: dict, label: str) -> Verdict:
    """One weight decay's ungrokking curve (an ungrokking summary's by_wd entry)."""
    D, acc = w["d_prime"], w["mean_test_acc"]
    unseen = w.get("mean_test_acc_unseen") or acc
    nums = {"d_prime": D, "mean_test_acc": acc, "mean_test_acc_unseen": unseen,
            "mean_test_acc_no_mirror": w.get("mean_test_acc_no_mirror"), "min_train_acc": w["min_train_acc"],
            "d_crit": w["d_crit"], "unconverged": w["unconverged"], "width_by_seed": w.get("width_by_seed"),
            "width_no_mirror_by_seed": w.get("width_no_mirror_by_seed")}
    if w["min_train_acc"] < P2_MIN_TRAIN_ACC:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: train accuracy {w['min_train_acc']:.3f} < "
                       f"{P2_MIN_TRAIN_ACC}: the children did not fit D'", nums)
    missing = [k for k in ("mean_test_acc_no_mirror", "width_by_seed", "width_no_mirror_by_seed",
                           "bracket_converged_by_seed") if w.get(k) is None]
    if missing:
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: the summary lacks {', '.join(missing)} (written before "
                       "this rule: re-run grok-neural ungrok, which reuses its members)", nums)
    for name, curve in (("test", acc), ("never-trained", unseen), ("no-mirror", w["mean_test_acc_no_mirror"])):
        if not (curve[0] <= P2_LOW and curve[-1] >= P2_HIGH):
            return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: {name} accuracy {curve[0]:.2f} at D' = {D[0]} (needs <= "
                           f"{P2_LOW}) and {curve[-1]:.2f} at D' = {D[-1]} (needs >= {P2_HIGH}): the grid does not "
                           "span the transition", nums)
    k = upward_index(acc)
    if k is None or w["d_crit"] is None:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: the mean curve does not cross 1/2 upward", nums)
    near = [u for u in w["unconverged"] if u["d_prime"] in (D[k - 1], D[k])]
    if near:
        where = ", ".join(f"D' {u['d_prime']} seed {u['seed']}" for u in near)
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: unconverged at the cap beside the transition ({where})", nums)
    open_seeds = [s for s, ok in w["bracket_converged_by_seed"].items() if ok is False]
    if open_seeds:
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: seed(s) {', '.join(open_seeds)} cross 1/2 beside a member "
                       "unconverged at the cap", nums)
    gradual, unmeasured, texts = [], [], []
    for name, key in (("test", "width_by_seed"), ("no-mirror", "width_no_mirror_by_seed")):
        g, u, text = _widths(w, key)
        gradual += [f"seed {s} ({name})" for s in g]
        unmeasured += [f"seed {s} ({name})" for s in u]
        texts.append(f"{name} {text}")
    widths = "10-90% widths: " + "; ".join(texts)
    if gradual:
        return Verdict(NOT_CONFIRMED, P2_RULE, f"{label}: {widths}: {', '.join(gradual)} wider than {P2_WIDTH:g}x "
                       "(gradual)", nums)
    if unmeasured:
        return Verdict(INCONCLUSIVE, P2_RULE, f"{label}: {widths}: the grid does not take {', '.join(unmeasured)} "
                       "from below 0.1 to above 0.9 (width not measured)", nums)
    return Verdict(CONFIRMED, P2_RULE, f"{label}: {acc[0]:.2f} at D' = {D[0]} -> {acc[-1]:.2f} at D' = {D[-1]} "
                   f"(never-trained {unseen[0]:.2f} -> {unseen[-1]:.2f}); {widths}, all <= {P2_WIDTH:g}x; "
                   f"D_crit {w['d_crit']:.0f}", nums)


def p2(by_wd: dict) -> Verdict:
    if not by_wd:  # nothing was ungrokked (parents that never generalised): the prediction was not tested
        return Verdict(INCONCLUSIVE, P2_RULE, "no stage-2 runs", {})
    parts = [p2_curve(w, f"wd {float(wd):g}") for wd, w in by_wd.items()]
    return worst(parts, P2_RULE, {f"wd {float(wd):g}": v.numbers for wd, v in zip(by_wd, parts)})


# ------------------------------------------------------------------------------------------- P3
P3_RULE = (f"the cap the same number of weight-decay windows for every weight decay; seeds whose crossing is "
           f"bracketed by converged members; for every pair of weight decays, the {P3_CONFIDENCE:.0%} t-interval of "
           f"the mean log D_crit ratio over those seeds (paired by parent) within ±log {P3_MARGIN}; fewer than 2 "
           "seeds is inconclusive")


def p3(by_wd: dict) -> Verdict:
    caps = {float(wd): w.get("cap_windows") for wd, w in by_wd.items()}
    crit = {float(wd): converged_crits(w) for wd, w in by_wd.items()}
    unconverged = {f"{float(wd):g}": sorted({s for s, c in (w.get("d_crit_by_seed") or {}).items() if c is not None}
                                            - set(crit[float(wd)])) for wd, w in by_wd.items()}
    nums = {"d_crit_by_seed": {f"{wd:g}": c for wd, c in crit.items()}, "pairs": [], "cap_windows": caps,
            "seeds_left_out_unconverged": unconverged}
    if len(crit) < 2:
        return Verdict(INCONCLUSIVE, P3_RULE, f"{len(crit)} weight decay(s): nothing to compare", nums)
    if None in caps.values():
        return Verdict(INCONCLUSIVE, P3_RULE, "the sweep records no cap in windows (its cap was in steps, unequal in "
                       "training time across weight decays): re-run grok-neural ungrok", nums)
    if max(caps.values()) > P3_CAP_TOLERANCE * min(caps.values()):
        return Verdict(INCONCLUSIVE, P3_RULE, "compared at unequal training time: caps of " + ", ".join(
            f"{v:.1f} windows at wd {wd:g}" for wd, v in caps.items()), nums)
    left_out = "; ".join(f"wd {wd}: seed(s) {', '.join(s)} left out (crossing beside an unconverged member)"
                         for wd, s in unconverged.items() if s)
    outcomes = equivalence({f"wd {wd:g}": c for wd, c in sorted(crit.items())}, nums["pairs"])
    out = worst([Verdict(v, P3_RULE, why) for v, why in outcomes], P3_RULE, nums)
    cap = next(iter(caps.values()))
    out.decided_by += f" (at a cap of {cap:.1f} windows for every weight decay" + (f"; {left_out})" if left_out
                                                                                   else ")")
    return out


def converged_crits(w: dict) -> dict[str, float]:
    """A by_wd entry's D_crit per seed, only where both members bracketing the seed's crossing converged."""
    return {s: c for s, c in (w.get("d_crit_by_seed") or {}).items()
            if c is not None and (w.get("bracket_converged_by_seed") or {}).get(s) is True}


def equivalence(crit: dict[str, dict[str, float]], pairs: list[dict]) -> list[tuple[str, str]]:
    """P3's equivalence test between conditions (weight decays, or Adam's eps): for every pair of conditions, the
    P3_CONFIDENCE t-interval of the mean log D_crit ratio over the seeds present in both, within +-log P3_MARGIN.
    Appends each pair's numbers to `pairs`; returns (verdict, why) per pair."""
    margin = math.log(P3_MARGIN)
    outcomes = []
    for a, b in combinations(crit, 2):
        seeds = sorted(set(crit[a]) & set(crit[b]))
        diffs = np.array([math.log(crit[a][s] / crit[b][s]) for s in seeds])
        entry = {"conditions": [a, b], "seeds": len(seeds)}
        pairs.append(entry)
        if len(seeds) < 2:
            ratio = f" (ratio {math.exp(diffs[0]):.2f})" if len(seeds) else ""
            outcomes.append((INCONCLUSIVE, f"{a} vs {b}: {len(seeds)} seed(s) with a converged D_crit in "
                                           f"both{ratio}; an equivalence test needs >= 2"))
            continue
        half = theory_eff.t_quantile(P3_CONFIDENCE, len(diffs) - 1) * diffs.std(ddof=1) / math.sqrt(len(diffs))
        lo, hi = diffs.mean() - half, diffs.mean() + half
        entry.update(ratio=math.exp(diffs.mean()), interval=[math.exp(lo), math.exp(hi)])
        text = (f"{a} vs {b}: D_crit ratio {math.exp(diffs.mean()):.3f} [{math.exp(lo):.3f}, "
                f"{math.exp(hi):.3f}] ({len(seeds)} seeds)")
        if -margin <= lo and hi <= margin:
            outcomes.append((CONFIRMED, text + f" within [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
        elif hi < -margin or lo > margin:
            outcomes.append((NOT_CONFIRMED, text + f" entirely outside [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
        else:
            outcomes.append((INCONCLUSIVE, text + f" not within [{1 / P3_MARGIN:.2f}, {P3_MARGIN:.2f}]"))
    return outcomes


EPS_MIN_SPREAD = 3.0  # the control must move alpha_eff at least this much between the extreme eps
EPS_RULE = (f"ungrokking sweeps identical but for AdamW's eps: alpha_eff (median over members) at least "
            f"{EPS_MIN_SPREAD:g}x apart between the extreme eps (else the control did not move the regulariser: "
            f"inconclusive); then per weight decay P3's test across eps: every pair's {P3_CONFIDENCE:.0%} t-interval "
            f"of the mean log D_crit ratio (converged crossings, paired seeds) within ±log {P3_MARGIN}")


def _across(sweeps: list[dict], wd: str, rule: str, pairs: list[dict], name: str = "") -> Verdict:
    """P3's equivalence test at one weight decay across sweeps that differ in one control's value (converged
    crossings, paired seeds): the worst pair decides. `name` labels the values ("eps 1e-08")."""
    crit = {f"{name} {x['value']:g}" if name else str(x["value"]): converged_crits(x["by_wd"][wd]) for x in sweeps}
    return worst([Verdict(v, rule, why) for v, why in equivalence(crit, pairs)], rule)


def _common_wds(sweeps: list[dict]) -> list[str]:
    return sorted(set.intersection(*(set(x["by_wd"]) for x in sweeps)), key=float)


def epsilon(sweeps: list[dict]) -> Verdict:
    """Adam's eps control. sweeps: [{"value" (eps), "by_wd"}] of ungrokking sweeps that differ only in eps. The
    theory says D_crit does not depend on the L2 strength; eps moves it (alpha_eff) by orders of magnitude where
    the converged members sit in eps's regime: a stronger test of P3 than weight decay 1 against 3."""
    sweeps = sorted(sweeps, key=lambda x: x["value"])
    nums = {"eps": [x["value"] for x in sweeps], "alpha_eff": {}, "small_v": {}, "pairs": []}
    if len(sweeps) < 2:
        return Verdict(INCONCLUSIVE, EPS_RULE, f"{len(sweeps)} value(s) of eps: nothing to compare", nums)
    parts = []
    for wd in _common_wds(sweeps):
        regime = [x["by_wd"][wd].get("adam") or {} for x in sweeps]
        alphas = [r.get("median_alpha_eff") for r in regime]
        nums["alpha_eff"][f"{float(wd):g}"] = alphas
        nums["small_v"][f"{float(wd):g}"] = [r.get("median_small_v") for r in regime]
        label = f"wd {float(wd):g}"
        if None in alphas or min(alphas[0], alphas[-1]) <= 0:
            parts.append(Verdict(INCONCLUSIVE, EPS_RULE, f"{label}: alpha_eff not measured or not positive"))
            continue
        spread = alphas[-1] / alphas[0]
        moved = (f"alpha_eff {alphas[0]:.3g} -> {alphas[-1]:.3g} ({spread:.3g}x) from eps {sweeps[0]['value']:g} "
                 f"to {sweeps[-1]['value']:g}")
        if not spread >= EPS_MIN_SPREAD:
            parts.append(Verdict(INCONCLUSIVE, EPS_RULE, f"{label}: {moved}: eps did not move the regulariser"))
            continue
        per_wd = _across(sweeps, wd, EPS_RULE, nums["pairs"], "eps")
        parts.append(Verdict(per_wd.verdict, EPS_RULE, f"{label} ({moved}): {per_wd.decided_by}"))
    if not parts:
        return Verdict(INCONCLUSIVE, EPS_RULE, "no weight decay common to the sweeps", nums)
    return worst(parts, EPS_RULE, nums)


NUMERICS_RULE = (f"ungrokking sweeps identical but for the children's precision (the same float32 parents): per weight "
                 f"decay P3's test between float32 and float64, every {P3_CONFIDENCE:.0%} t-interval of the mean log "
                 f"D_crit ratio (converged crossings, paired seeds) within ±log {P3_MARGIN}")


def numerics(sweeps: list[dict]) -> Verdict:
    """The numerics control. sweeps: [{"value" (the children's precision), "by_wd"}] of ungrokking sweeps that differ
    only in it. float32 rounding must not decide where ungrokking happens."""
    nums = {"precisions": [x["value"] for x in sweeps], "pairs": []}
    if len(sweeps) < 2:
        return Verdict(INCONCLUSIVE, NUMERICS_RULE, f"{len(sweeps)} precision(s): nothing to compare", nums)
    parts = []
    for wd in _common_wds(sweeps):
        per_wd = _across(sweeps, wd, NUMERICS_RULE, nums["pairs"])
        parts.append(Verdict(per_wd.verdict, NUMERICS_RULE, f"wd {float(wd):g}: {per_wd.decided_by}"))
    if not parts:
        return Verdict(INCONCLUSIVE, NUMERICS_RULE, "no weight decay common to the sweeps", nums)
    return worst(parts, NUMERICS_RULE, nums)


LONG_RULE = (f"the long-training control (each parent on its own split D and the largest-D' children, trained to "
             f"the ungrokking cap without stopping): every member's test accuracy at the cap >= {P2_HIGH} -> "
             f"ungrokking is not confounded by long training (confirmed); any <= {P2_LOW} -> confounded (not "
             "confirmed); else inconclusive")


def long_training(by_wd: dict) -> Verdict:
    """by_wd: {wd: [{"seed", "d_prime", "test_acc", "steps"}]} of the ungrok summary's long_training. Networks
    that lose test accuracy on a D' above D_crit, or on their own data, when merely trained as long would make
    ungrokking below D_crit no evidence for the theory (anti-grokking, or slow decay, instead)."""
    members = [dict(m, wd=float(wd)) for wd, ms in by_wd.items() for m in ms]
    nums = {"members": members}
    if not members:
        return Verdict(INCONCLUSIVE, LONG_RULE, "no long-trained members in the sweep", nums)
    low = [m for m in members if m["test_acc"] <= P2_LOW]
    text = ", ".join(f"wd {m['wd']:g} seed {m['seed']} D' {m['d_prime']:.0f}: {m['test_acc']:.3f}" for m in members
                     if m["test_acc"] < P2_HIGH) or f"all {len(members)} members >= {P2_HIGH}"
    lowest = min(m["test_acc"] for m in members)
    if low:
        return Verdict(NOT_CONFIRMED, LONG_RULE, f"{len(low)} long-trained member(s) lost their test accuracy "
                       f"({text}): ungrokking is confounded with long training", nums)
    if lowest >= P2_HIGH:
        return Verdict(CONFIRMED, LONG_RULE, f"lowest test accuracy at the cap {lowest:.3f} ({text}; "
                       f"{len(members)} members, up to {max(m['steps'] for m in members):,} steps)", nums)
    return Verdict(INCONCLUSIVE, LONG_RULE, f"some long-trained members fell below {P2_HIGH} ({text})", nums)


# ------------------------------------------------------------------------------------------- theory vs measurement
COMPARE_RULE = (f"per weight decay d = log(measured/predicted) with both intervals (Welch-Satterthwaite t): d's "
                f"{EQUIVALENCE:.0%} interval within ±log {CMP_RATIO} for every weight decay; d's 95% interval beyond "
                f"±log {CMP_RATIO} -> not confirmed; memorisation sizes within {CMP_EXTRAPOLATION}x of the prediction; "
                f"no single member moving a ratio past {CMP_RATIO}x; the o_t/o_m rank test counts only when it beats "
                "the naive predictors")


def log_ratio(measured: float, m_interval: list[float] | None, m_dof: int | None, predicted: float,
              p_interval: list[float], p_dof: int | None) -> dict | None:
    """log(measured/predicted) with its standard error from both 95% t-intervals (each with its own degrees of
    freedom, None: normal), the Welch-Satterthwaite degrees of freedom of the difference, and its 90% and 95%
    t-intervals; None without a measured interval (one seed)."""
    if not m_interval or not p_interval:
        return None
    se_m = theory_eff.log_sd_of_interval(m_interval, dof=m_dof)
    se_p = theory_eff.log_sd_of_interval(p_interval, dof=p_dof)
    se = math.hypot(se_m, se_p)
    parts = [(v, d) for v, d in ((se_m, m_dof), (se_p, p_dof)) if d is not None and v > 0]
    dof = se ** 4 / sum(v ** 4 / d for v, d in parts) if parts and se > 0 else None
    d = math.log(measured / predicted)
    h90, h95 = (theory_eff.t_quantile(c, dof) * se for c in (EQUIVALENCE, 0.95))
    return {"d": d, "se": se, "dof": dof, "interval_90": [d - h90, d + h90], "interval_95": [d - h95, d + h95]}


def beyond(t: dict, margin: float) -> bool:
    """A log_ratio whose 95% interval lies entirely beyond +-margin."""
    return t["interval_95"][0] > margin or t["interval_95"][1] < -margin


def within(t: dict, margin: float) -> bool:
    """A log_ratio whose 90% interval lies within +-margin (two one-sided 5% tests)."""
    return -margin <= t["interval_90"][0] and t["interval_90"][1] <= margin


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
    reference = sens.get("reference_logit") or []
    nums = {"predicted": d_pred, "predicted_interval": interval, "predicted_dof": pred.get("d_crit_dof"),
            "measured": {f"{r['wd']:g}": r["measured"] for r in rows},
            "measured_interval": {f"{r['wd']:g}": r.get("measured_interval") for r in rows},
            "ratios": {f"{r['wd']:g}": r["measured_over_predicted"] for r in rows},
            "extrapolation_factor": extra.get("factor"), "leave_one_out_range": sens.get("d_crit_range"),
            "d_crit_with_unconverged": sens.get("d_crit_with_unconverged"), "ratio_test_informative": informative,
            "kappa": pred.get("kappa"), "reference_logit": reference, "log_ratios": {}}
    found = [x["d_crit"] for x in reference if x.get("d_crit")]
    ref_line = (f"at other reference logits the prediction is {min(found):.0f}-{max(found):.0f}" if found
                else "no sensitivity to the reference logit recorded")
    V = lambda v, why: Verdict(v, COMPARE_RULE, f"{why}; {ref_line}; {ratio_line}", nums)  # noqa: E731
    if d_pred is None:
        return V(INCONCLUSIVE, f"no predicted D_crit ({pred.get('d_crit_unavailable')})")
    missing = [r["wd"] for r in rows if r["measured"] is None]
    if missing or not rows:
        return V(INCONCLUSIVE, f"no measured D_crit for wd {', '.join(f'{w:g}' for w in missing) or '(none)'}")
    if interval is None or "extrapolation" not in pred or "sensitivity" not in pred or "d_crit_dof" not in pred:
        return V(INCONCLUSIVE, "the summary lacks the prediction's interval, degrees of freedom, extrapolation or "
                               "sensitivity (re-run grok-neural compare)")
    tests = {}
    for r in rows:
        t = log_ratio(r["measured"], r.get("measured_interval"), (r.get("measured_seeds") or 0) - 1 or None,
                      d_pred, interval, pred["d_crit_dof"])
        if t is None:
            return V(INCONCLUSIVE, f"wd {r['wd']:g}: the measured D_crit has no interval (fewer than 2 seeds)")
        tests[r["wd"]] = t
        nums["log_ratios"][f"{r['wd']:g}"] = tests[r["wd"]]
    margin = math.log(CMP_RATIO)
    text = "measured/predicted " + ", ".join(
        f"wd {wd:g} {math.exp(t['d']):.2f} [{EQUIVALENCE:.0%}: {math.exp(t['interval_90'][0]):.2f}, "
        f"{math.exp(t['interval_90'][1]):.2f}]" for wd, t in tests.items()) + f" (predicted {d_pred:.0f} " \
        f"[{interval[0]:.0f}, {interval[1]:.0f}])"
    far = [wd for wd, t in tests.items() if beyond(t, margin)]
    if far:
        return V(NOT_CONFIRMED, f"{text}: wd {', '.join(f'{w:g}' for w in far)} more than {CMP_RATIO}x off (95%)")
    if extra.get("extrapolated"):
        rng = extra.get("mem_D_range") or [None, None]
        return V(INCONCLUSIVE, f"{text}: extrapolated {extra['factor']:.2f}x beyond the memorisation sizes "
                               f"{_fmt(rng[0], '.0f')}-{_fmt(rng[1], '.0f')}")
    if informative and summ["ratio_rank_correlation"]["spearman"] < 0:
        return V(NOT_CONFIRMED, f"{text}; the logit ratios are ordered against the prediction")
    wide = [wd for wd, t in tests.items() if not within(t, margin)]
    if wide:
        return V(INCONCLUSIVE, f"{text}: wd {', '.join(f'{w:g}' for w in wide)} not within "
                               f"[{1 / CMP_RATIO:.2f}, {CMP_RATIO:.2f}]")
    variants = [x for x in (sens.get("d_crit_range") or []) + [sens.get("d_crit_with_unconverged")] if x]
    moved = [v for v in variants for r in rows if abs(math.log(r["measured"] / v)) > margin]
    if moved or sens.get("fits_without_d_crit"):
        return V(INCONCLUSIVE, f"{text}, but one member moves the prediction to "
                               f"{', '.join(f'{v:.0f}' for v in sorted(set(moved))) or 'no D_crit at all'}")
    off = [wd for wd, t in tests.items() if beyond(t, 0.0)]
    note = f" (wd {', '.join(f'{w:g}' for w in off)} differ(s) from 1 at 95%, within the margin)" if off else ""
    return V(CONFIRMED, f"{text}: within [{1 / CMP_RATIO:.2f}, {CMP_RATIO:.2f}]{note}; leave-one-out range "
                        f"{_fmt(min(variants, default=None), '.0f')}-{_fmt(max(variants, default=None), '.0f')}")


# ------------------------------------------------------------------------------------------- P4
P4_RULE = (f"at least one run semi-grokked, settled (confirmed); none in >= {P4_MIN_RUNS} runs, enough that the "
           f"paper's rate of about {P4_PAPER_RATE:.0%} would show one with probability {P4_POWER:.0%} (not confirmed); "
           "none in fewer (inconclusive)")


def p4(n_semi: int, n_runs: int) -> Verdict:
    nums = {"semi_grokked": n_semi, "runs": n_runs}
    if n_semi:
        return Verdict(CONFIRMED, P4_RULE, f"{n_semi} of {n_runs} runs semi-grokked", nums)
    if n_runs >= P4_MIN_RUNS:
        return Verdict(NOT_CONFIRMED, P4_RULE, f"0 of {n_runs} runs semi-grokked", nums)
    chance = (1 - P4_PAPER_RATE) ** n_runs
    return Verdict(INCONCLUSIVE, P4_RULE, f"0 of {n_runs} runs semi-grokked: at the paper's rate of about "
                   f"{P4_PAPER_RATE:.0%}, none in {n_runs} happens with probability {chance:.0%}; calling its absence "
                   f"needs >= {P4_MIN_RUNS} runs", nums)


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
    """Does the predicted D_crit track the measured one across widths, better than ignoring width? (the module
    docstring's rule)"""
    rule = (f"slopes of log D_crit on log width from >= {SCALING_MIN_WIDTHS} widths each; d = measured - predicted, "
            f"t at the fits' smaller degrees of freedom: {EQUIVALENCE:.0%} interval of d within ±{SCALING_MARGIN} and "
            f"a width-independent prediction (slope 0) failing that test -> confirmed; 95% interval excluding 0 and "
            f"|d| > {SCALING_MARGIN} -> not confirmed; else inconclusive")
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
    dofs = [x for x in (m.get("dof"), p.get("dof")) if x is not None]
    dof = min(dofs) if dofs else None
    t90, t95 = theory_eff.t_quantile(EQUIVALENCE, dof), theory_eff.t_quantile(0.95, dof)
    flat_passes = abs(m["slope"]) + theory_eff.t_quantile(EQUIVALENCE, m.get("dof")) * m["stderr"] \
        <= SCALING_MARGIN
    numbers.update({"difference": d, "difference_se": se, "dof": dof, "width_independent_passes": flat_passes})
    what = (f"slope difference {d:.2f} (se {se:.2f}, {_fmt(dof, '.0f')} dof; measured {m['slope']:.2f}, predicted "
            f"{p['slope']:.2f})")
    if abs(d) - t95 * se > 0 and abs(d) > SCALING_MARGIN:
        return Verdict(NOT_CONFIRMED, rule, f"{what}: its 95% interval excludes 0 and |d| > {SCALING_MARGIN}",
                       numbers)
    if abs(d) + t90 * se <= SCALING_MARGIN:
        if flat_passes:
            return Verdict(INCONCLUSIVE, rule, f"{what}: within ±{SCALING_MARGIN}, but a prediction that ignores "
                           f"width passes as well (measured slope {m['slope']:.2f}, se {m['stderr']:.2f}): the "
                           "widths do not test the prediction", numbers)
        return Verdict(CONFIRMED, rule, f"{what}: its {EQUIVALENCE:.0%} interval lies within ±{SCALING_MARGIN}, "
                       "and a width-independent prediction fails the same test", numbers)
    return Verdict(INCONCLUSIVE, rule, f"{what}: too uncertain to decide", numbers)


# ------------------------------------------------------------------------------------------- the D_crit surface
SURFACE_FLAT = 0.25  # a width slope whose 90% interval lies within +-this is flat (3x wider: D_crit within 1.32x)
SURFACE_MIN_CELLS = 3  # cells with a measured and a predicted D_crit the theory's test needs
SURFACE_LAWS_RULE = (
    "the rival laws of p (theory.rival_laws: p^2, p^(5/3), p log p, and the theory's per-cell prediction where every "
    "measured p has one) fitted to every seed's log D_crit at the base width from at least 4 moduli and compared by "
    "AICc weights; a free power law's exponent with its 95% interval as the nesting test: a law with weight >= 0.9 "
    "whose exponent over the measured p lies in that interval (the theory: weight >= 0.9) -> confirmed (that law "
    "describes D_crit(p)); the interval excluding every published exponent while the theory is absent or has "
    "weight < 0.1 -> not confirmed (none does); else inconclusive")


def surface_laws(laws: dict | None) -> Verdict:
    """Which law of p the data prefer (SURFACE_LAWS_RULE)."""
    if not laws:
        return Verdict(INCONCLUSIVE, SURFACE_LAWS_RULE, "D_crit measured at fewer than 4 moduli: no law can be tested")
    from theory import rival_laws
    e = laws["exponent"]
    weights = ", ".join(f"{k} {v['weight']:.2f}" for k, v in laws["laws"].items() if v["weight"] is not None)
    text = (f"exponent {e['value']:.2f} [{e['interval'][0]:.2f}, {e['interval'][1]:.2f}] from {laws['points']} seeds' "
            f"D_crit at p = {', '.join(map(str, laws['moduli']))}; Akaike weights {weights}")
    numbers = {"weights": {k: v["weight"] for k, v in laws["laws"].items()}, "exponent": e,
               "preferred": laws["preferred"]}
    best, top = laws["preferred"], laws["laws"][laws["preferred"]]
    lo, hi = e["interval"]
    inside = lambda x: x is not None and lo <= x <= hi  # noqa: E731
    published = {k: v["exponent"] for k, v in laws["laws"].items() if v["weight"] is not None
                 and v.get("exponent") is not None}
    if top["weight"] >= rival_laws.DECISIVE_WEIGHT:
        if best == rival_laws.THEORY:
            return Verdict(CONFIRMED, SURFACE_LAWS_RULE, f"the theory's per-cell prediction preferred: {text}",
                           numbers)
        if inside(top["exponent"]):
            law = next(x for x in rival_laws.LAWS if x.name == best)
            return Verdict(CONFIRMED, SURFACE_LAWS_RULE, f"D_crit ~ {best} preferred (exponent "
                           f"{top['exponent']:.2f} inside the free exponent's interval; {law.source}: "
                           f"{law.meaning}): {text}", numbers)
    theory_weight = (laws["laws"].get(rival_laws.THEORY) or {}).get("weight") or 0.0
    if not any(inside(x) for x in published.values()) and theory_weight < 1 - rival_laws.DECISIVE_WEIGHT:
        return Verdict(NOT_CONFIRMED, SURFACE_LAWS_RULE, f"none of the published laws: the free exponent's interval "
                       f"excludes {', '.join(published)}: {text}", numbers)
    excluded = [k for k, x in published.items() if not inside(x)]
    why = f" (the free exponent excludes {', '.join(excluded)})" if excluded else ""
    return Verdict(INCONCLUSIVE, SURFACE_LAWS_RULE, f"no law decisive{why}: {text}", numbers)


SURFACE_WIDTH_RULE = (
    f"at each modulus of the width axis, the OLS slope of every seed's log D_crit on log width from >= "
    f"{SCALING_MIN_WIDTHS} widths: its 95% interval below 0 -> negative (Huang et al. 2024: D_crit falls with size), "
    f"above 0 -> positive (Zhu et al. 2024: it grows), its 90% interval within ±{SURFACE_FLAT} -> flat (a 3x wider "
    f"network moves D_crit by at most 3^{SURFACE_FLAT} = {3 ** SURFACE_FLAT:.2f}x), else undecided; the same decided "
    "outcome at every modulus -> confirmed (that outcome); decided outcomes that differ -> not confirmed (no one "
    "sign); else inconclusive")


def width_sign(fit: dict | None, widths: int) -> str:
    """negative / positive / flat / undecided for one modulus' width slope (SURFACE_WIDTH_RULE)."""
    if not fit or widths < SCALING_MIN_WIDTHS:
        return "undecided"
    lo, hi = fit["interval"]
    if hi < 0:
        return "negative"
    if lo > 0:
        return "positive"
    half = theory_eff.t_quantile(EQUIVALENCE, fit.get("dof")) * fit["stderr"]
    if abs(fit["slope"]) + half <= SURFACE_FLAT:
        return "flat"
    return "undecided"


def surface_width(slopes: dict) -> Verdict:
    """The sign of the width slope at each modulus of the width axis (SURFACE_WIDTH_RULE)."""
    signs = {p: width_sign(s["fit"], s["widths_measured"]) for p, s in slopes.items()}
    parts = []
    for p, s in slopes.items():
        fit = s["fit"]
        what = (f"{fit['slope']:.2f} [{fit['interval'][0]:.2f}, {fit['interval'][1]:.2f}]" if fit else "no slope")
        parts.append(f"p = {p}: {what} from {s['widths_measured']} widths -> {signs[p]}")
    numbers = {"signs": signs, "slopes": {p: s["fit"] for p, s in slopes.items()}}
    decided = {v for v in signs.values() if v != "undecided"}
    if len(decided) > 1:
        return Verdict(NOT_CONFIRMED, SURFACE_WIDTH_RULE, f"no one sign: {'; '.join(parts)}", numbers)
    if signs and all(v != "undecided" for v in signs.values()):
        return Verdict(CONFIRMED, SURFACE_WIDTH_RULE, f"{decided.pop()} at every modulus: {'; '.join(parts)}",
                       numbers)
    return Verdict(INCONCLUSIVE, SURFACE_WIDTH_RULE, "; ".join(parts) or "no width axis", numbers)


SURFACE_THEORY_RULE = (
    f"per cell d = log(measured/predicted) with both intervals (Welch-Satterthwaite t, as theory against "
    f"measurement): at least {SURFACE_MIN_CELLS} cells, and at least half of the cells with a measured D_crit, with a "
    f"prediction (else inconclusive); any cell's 95% interval of d beyond ±log {CMP_RATIO} -> not confirmed; any "
    f"prediction extrapolated more than {CMP_EXTRAPOLATION}x beyond its memorisation sizes -> inconclusive; every "
    f"cell's 90% interval within ±log {CMP_RATIO} -> confirmed; else inconclusive")


def surface_theory(cells: list[dict]) -> Verdict:
    """The circuit-efficiency prediction of every cell against its measurement (SURFACE_THEORY_RULE)."""
    measured = [c for c in cells if c["d_crit"]]
    tests = {}
    for c in measured:
        if not (c["predicted"] and c["predicted_interval"]):
            continue
        t = log_ratio(c["d_crit"], c["d_crit_interval"], c.get("d_crit_dof"), c["predicted"],
                      c["predicted_interval"], c.get("predicted_dof"))
        if t is None:
            continue
        tests[f"p{c['p']}-w{c['width']}"] = {**t, "extrapolated": bool((c.get("extrapolation") or {})
                                                                        .get("extrapolated"))}
    numbers = {"cells": tests, "measured_cells": len(measured)}
    text = ", ".join(f"{k} {math.exp(t['d']):.2f} [{math.exp(t['interval_90'][0]):.2f}, "
                     f"{math.exp(t['interval_90'][1]):.2f}]" for k, t in tests.items())
    text = f"measured/predicted ({EQUIVALENCE:.0%}): {text or 'none'} ({len(tests)} of {len(measured)} measured cells)"
    if len(tests) < SURFACE_MIN_CELLS or 2 * len(tests) < len(measured):
        return Verdict(INCONCLUSIVE, SURFACE_THEORY_RULE, f"too few cells with a prediction: {text}", numbers)
    margin = math.log(CMP_RATIO)
    far = [k for k, t in tests.items() if beyond(t, margin)]
    if far:
        return Verdict(NOT_CONFIRMED, SURFACE_THEORY_RULE, f"{', '.join(far)} more than {CMP_RATIO}x off (95%): "
                                                           f"{text}", numbers)
    extrapolated = [k for k, t in tests.items() if t["extrapolated"]]
    if extrapolated:
        return Verdict(INCONCLUSIVE, SURFACE_THEORY_RULE, f"{', '.join(extrapolated)} extrapolated: {text}", numbers)
    wide = [k for k, t in tests.items() if not within(t, margin)]
    if wide:
        return Verdict(INCONCLUSIVE, SURFACE_THEORY_RULE, f"{', '.join(wide)} not within [{1 / CMP_RATIO:.2f}, "
                                                          f"{CMP_RATIO:.2f}]: {text}", numbers)
    return Verdict(CONFIRMED, SURFACE_THEORY_RULE, f"every cell within [{1 / CMP_RATIO:.2f}, {CMP_RATIO:.2f}]: {text}",
                   numbers)
