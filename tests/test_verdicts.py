"""The report's verdict rules (figures.verdicts) on planted numbers, on both sides of every condition, and the
lenient cases the old rules confirmed: a winner-takes-all step at any gap of the D' grid, a 3.8x-wide predicted
interval that happens to contain the measurement, one seed with a D_crit ratio of 1.4. None may be confirmed."""
import math

import numpy as np
import pytest

from figures import verdicts as V
from neural.experiments import compare

GRID = [139, 201, 290, 418, 603, 870]  # the cpu ungrokking grid (step 1.44)


# ------------------------------------------------------------------------------------------- theory, grokking, P4
def test_theory_distinguishes_printed_corrected_and_failed():
    holds = {"name": "D.1", "holds": True}
    fixed = {"name": "D.3", "holds": False, "corrected": {"holds": True}}
    broken = {"name": "proof2", "holds": False, "corrected": {"holds": False}}
    assert V.theory([holds, dict(holds, name="D.2")]).verdict == V.CONFIRMED
    assert V.theory([holds, fixed]).verdict == V.CORRECTED
    assert V.theory([holds, fixed, broken]).verdict == V.NOT_CONFIRMED
    assert V.theory([holds, dict(fixed, corrected=None)]).verdict == V.NOT_CONFIRMED


@pytest.mark.parametrize("fit, grok, lr, wd, expected", [
    (195, 2453, 1e-3, 1.0, V.CONFIRMED),  # delay 11.6x the fit step
    (100, 1200, 1e-3, 1.0, V.CONFIRMED),  # 11x the fit step, under 1/(lr wd)
    (1000, 2100, 1e-3, 1.0, V.CONFIRMED),  # 1.1x the fit step, but >= 1/(lr wd) = 1,000
    (200, 500, 1e-3, 1.0, V.NOT_CONFIRMED),  # 1.5x and 300 < 1,000: slow learning
    (200, 799, 1e-3, 1.0, V.NOT_CONFIRMED),  # 2.995x
    (200, 150, 1e-3, 1.0, V.NOT_CONFIRMED),  # generalised before fitting
    (200, None, 1e-3, 1.0, V.NOT_CONFIRMED),
    (None, 500, 1e-3, 1.0, V.NOT_CONFIRMED),
])
def test_grokking_needs_a_real_delay(fit, grok, lr, wd, expected):
    assert V.grokking(fit, grok, lr, wd).verdict == expected


@pytest.mark.parametrize("a, b, c, expected", [
    (9759, None, 639, V.CONFIRMED), (9759, None, 975, V.CONFIRMED), (9759, None, 976, V.NOT_CONFIRMED),
    (9759, 4000, 639, V.NOT_CONFIRMED), (None, None, 639, V.NOT_CONFIRMED), (0, None, 0, V.NOT_CONFIRMED),
    (9759, None, None, V.NOT_CONFIRMED),
])
def test_toy_rule(a, b, c, expected):
    assert V.toy(a, b, c).verdict == expected


def test_p4_calls_absence_only_with_enough_runs():
    assert V.p4(1, 4).verdict == V.CONFIRMED
    assert V.p4(0, 32).verdict == V.NOT_CONFIRMED
    assert V.p4(0, 19).verdict == V.INCONCLUSIVE and V.p4(0, 20).verdict == V.NOT_CONFIRMED


# ------------------------------------------------------------------------------------------- P1
def law(lo, hi, sizes=(100, 200, 400), loo=None, **extra):
    out = {"beta": (lo + hi) / 2, "beta_interval": [lo, hi], "sizes": list(sizes), **extra}
    out["leave_one_out"] = [{"left_out": f"m{k}", "law": {"beta": (lo + hi) / 2, "beta_interval": [lo, hi]}}
                            for k in range(4)] if loo is None else loo
    return out


def test_p1_confirms_only_separated_narrow_stable_laws():
    assert V.p1(law(0.2, 0.4), law(-0.05, 0.05)).verdict == V.CONFIRMED
    assert V.p1(law(0.299, 0.320), law(-0.026, 0.067)).verdict == V.CONFIRMED  # the cpu preset's numbers


@pytest.mark.parametrize("mem, gen, expected", [
    (law(0.159, 0.315), law(-0.52, 0.68), V.INCONCLUSIVE),  # the demo: generalisation not measured flat
    (law(0.2, 0.4), law(-0.11, 0.11), V.INCONCLUSIVE),  # half-width 0.11 > 0.1
    (law(-0.1, 0.5), law(-0.05, 0.05), V.INCONCLUSIVE),  # memorisation too wide to exclude 0
    (law(-0.05, 0.05), law(-0.05, 0.05), V.NOT_CONFIRMED),  # memorisation measured flat
    (law(0.2, 0.4), law(0.02, 0.09), V.NOT_CONFIRMED),  # generalisation's norm grows with D
    (law(0.04, 0.4), law(-0.05, 0.05), V.INCONCLUSIVE),  # intervals overlap
    (law(0.2, 0.4, sizes=(100, 200)), law(-0.05, 0.05), V.INCONCLUSIVE),  # two sizes: a line has no test
    (law(0.2, 0.4), law(-0.05, 0.05, sizes=(1700, 2100)), V.INCONCLUSIVE),
    (law(0.2, 0.4, loo=[]), law(-0.05, 0.05), V.INCONCLUSIVE),  # no leave-one-out recorded
    (None, law(-0.05, 0.05), V.INCONCLUSIVE),
])
def test_p1_refuses_weak_or_contrary_evidence(mem, gen, expected):
    assert V.p1(mem, gen).verdict == expected


def test_p1_is_inconclusive_when_a_refit_is_impossible():
    loo = law(0.2, 0.4)["leave_one_out"] + [{"left_out": "seed 1, wd 1, D 200", "law": None}]
    v = V.p1(law(0.2, 0.4, loo=loo), law(-0.05, 0.05))
    assert v.verdict == V.INCONCLUSIVE and "too few" in v.decided_by


def test_p1_is_inconclusive_when_one_member_or_the_unconverged_flip_it():
    flip = [{"left_out": "seed 0, wd 1, D 400", "law": {"beta": 0.15, "beta_interval": [-0.05, 0.35]}}]
    v = V.p1(law(0.2, 0.4, loo=law(0.2, 0.4)["leave_one_out"] + flip), law(-0.05, 0.05))
    assert v.verdict == V.INCONCLUSIVE and "D 400" in v.decided_by
    v = V.p1(law(0.2, 0.4, with_unconverged={"beta": 0.1, "beta_interval": [0.0, 0.2]}), law(-0.05, 0.05))
    assert v.verdict == V.INCONCLUSIVE and "unconverged" in v.decided_by


# ------------------------------------------------------------------------------------------- P2
def curve(acc, unseen=None, train=1.0, unconverged=(), d_crit=300.0):
    return {"d_prime": GRID, "mean_test_acc": list(acc), "mean_test_acc_unseen": list(unseen or acc),
            "min_train_acc": train, "d_crit": d_crit,
            "unconverged": [{"seed": 0, "d_prime": d, "steps": 6000} for d in unconverged]}


SHARP = [0.05, 0.09, 0.6, 0.99, 1.0, 1.0]


@pytest.mark.parametrize("w, expected", [
    (curve(SHARP), V.CONFIRMED),
    (curve(SHARP, unconverged=[870]), V.CONFIRMED),  # far from the transition
    (curve(SHARP, unconverged=[290]), V.INCONCLUSIVE),  # beside the crossing (the demo's wd-1 D' 290 member)
    (curve(SHARP, unconverged=[201]), V.INCONCLUSIVE),
    (curve([0.14, 0.62, 0.99, 1.0, 1.0, 1.0]), V.INCONCLUSIVE),  # never below 0.1: width not measured
    (curve([0.4, 0.6, 0.9, 0.99, 1.0, 1.0]), V.NOT_CONFIRMED),  # no ungrokking at the smallest D'
    (curve([0.05, 0.1, 0.3, 0.6, 0.8, 0.93]), V.NOT_CONFIRMED),  # never reaches 0.95
    (curve([0.05, 0.2, 0.4, 0.6, 0.8, 0.96]), V.NOT_CONFIRMED),  # 0.05 -> 0.96 over 5 grid steps: gradual
    (curve([0.05, 0.09, 0.3, 0.6, 0.8, 0.96]), V.NOT_CONFIRMED),  # 4 grid steps
    (curve([0.05, 0.09, 0.3, 0.92, 1.0, 1.0]), V.CONFIRMED),  # 2 grid steps
    (curve(SHARP, train=0.97), V.NOT_CONFIRMED),  # the children did not fit D'
    (curve(SHARP, unseen=[0.3, 0.4, 0.6, 0.99, 1.0, 1.0]), V.NOT_CONFIRMED),  # never-trained pairs stay high
])
def test_p2_rule(w, expected):
    assert V.p2({"1.0": w}).verdict == expected


def test_p2_combines_weight_decays_by_the_worst():
    v = V.p2({"1.0": curve(SHARP), "3.0": curve(SHARP, unconverged=[290])})
    assert v.verdict == V.INCONCLUSIVE and v.decided_by.startswith("wd 3") and "also confirmed: wd 1" in v.decided_by
    assert V.p2({"1.0": curve(SHARP, train=0.5), "3.0": curve(SHARP, unconverged=[290])}).verdict == V.NOT_CONFIRMED
    tasks = {"add": {"by_wd": {"1.0": curve(SHARP)}, "stage2_skipped": None},
             "x3": {"by_wd": {}, "stage2_skipped": "no stage 2: parents did not generalise"}}
    assert V.multitask(tasks).verdict == V.CONFIRMED and "x3" in V.multitask(tasks).decided_by
    tasks["sub"] = {"by_wd": {"1.0": curve([0.4, 0.6, 0.9, 0.99, 1.0, 1.0])}, "stage2_skipped": None}
    assert V.multitask(tasks).verdict == V.NOT_CONFIRMED


# ------------------------------------------------------------------------------------------- P3
def by_wd(*crits):
    return {str(wd): {"d_crit_by_seed": {str(s): c for s, c in enumerate(cs)}} for wd, cs in zip((1.0, 2.0, 3.0),
                                                                                                 crits)}


def test_p3_one_seed_is_inconclusive_whatever_its_ratio():
    for ratio in (1.0, 1.04, 1.4):  # 1.4 was confirmed by the old one-seed rule (below the grid step 1.44)
        v = V.p3(by_wd([265.0], [265.0 / ratio]))
        assert v.verdict == V.INCONCLUSIVE and "1 seed" in v.decided_by


def test_p3_equivalence_test():
    assert V.p3(by_wd([270, 300, 250], [265, 305, 248])).verdict == V.CONFIRMED  # ratios 1.02, 0.98, 1.01
    assert V.p3(by_wd([270, 300, 250], [190, 200, 175])).verdict == V.NOT_CONFIRMED  # ratios ~1.45
    assert V.p3(by_wd([270, 300], [330, 230])).verdict == V.INCONCLUSIVE  # 2 seeds, ratios 0.82 and 1.30
    assert V.p3(by_wd([270, 300, 250], [265, 305, 248], [200, 210, 190])).verdict == V.NOT_CONFIRMED
    assert V.p3(by_wd([270, 300, 250])).verdict == V.INCONCLUSIVE  # one weight decay


def test_p3_gets_harder_not_easier_as_seeds_get_noisier():
    rng = np.random.default_rng(0)
    noise = rng.normal(size=4)
    order = [V.SEVERITY.index(V.p3(by_wd([300.0] * 4, list(300.0 * np.exp(sd * noise)))).verdict)
             for sd in (0.01, 0.05, 0.1, 0.3, 1.0)]
    assert order[0] == V.SEVERITY.index(V.CONFIRMED) and order[-1] > order[0] and order == sorted(order)


# ------------------------------------------------------------------------------------------- theory vs measurement
def compare_summary(pred=300.0, interval=(250.0, 360.0), measured=(280.0, 310.0), mem_range=(100, 400),
                    loo=(280.0, 320.0), with_unconverged=None, rc=None, baselines=None):
    factor = max(pred / mem_range[1], mem_range[0] / pred, 1.0) if pred else None
    return {"prediction": {"d_crit": pred, "d_crit_interval": list(interval), "kappa": 6.6,
                           "extrapolation": {"mem_D_range": list(mem_range), "factor": factor,
                                             "extrapolated": factor is not None and factor > 1.5},
                           "sensitivity": {"d_crit_range": list(loo), "fits_without_d_crit": 0,
                                           "d_crit_with_unconverged": with_unconverged, "leave_one_out": []}},
            "d_crit": [{"wd": wd, "measured": m, "measured_interval": None,
                        "measured_over_predicted": m / pred if m and pred else None}
                       for wd, m in zip((1.0, 3.0), measured)],
            "ratio_rank_correlation": rc, "ratio_baselines": baselines}


@pytest.mark.parametrize("summary, expected", [
    (compare_summary(), V.CONFIRMED),
    # the demo: 0.55x and 0.52x of 485, inside a 3.8x-wide interval, extrapolated 2.4x beyond D = 100-200
    (compare_summary(485, (249, 944), (265, 251), (100, 200), (293, 500)), V.INCONCLUSIVE),
    (compare_summary(485, (249, 944), (265, 251), (100, 600), (400, 500)), V.INCONCLUSIVE),  # 3.8x wide
    (compare_summary(485, (400, 600), (265, 251), (100, 600), (450, 500)), V.NOT_CONFIRMED),  # outside, 0.55x
    (compare_summary(300, (250, 360), (280, 310), (50, 150)), V.INCONCLUSIVE),  # extrapolated 2x
    (compare_summary(300, (150, 600), (180, 310), (100, 400)), V.INCONCLUSIVE),  # inside, but 4x wide
    (compare_summary(300, (210, 420), (430, 300), (100, 400), (290, 310)), V.CONFIRMED),  # 1.43x, outside a 2x interval
    (compare_summary(300, (280, 320), (195, 300), (100, 400)), V.NOT_CONFIRMED),  # 0.65x and outside
    (compare_summary(loo=(180.0, 320.0)), V.INCONCLUSIVE),  # one member moves the prediction to 180
    (compare_summary(with_unconverged=190.0), V.INCONCLUSIVE),
    (compare_summary(pred=None), V.INCONCLUSIVE),
    (compare_summary(measured=(280.0, None)), V.INCONCLUSIVE),
])
def test_compare_rule(summary, expected):
    if summary["prediction"]["d_crit"] is None:
        summary["prediction"]["d_crit_unavailable"] = "beta = 0"
    assert V.compare(summary).verdict == expected


def test_compare_without_the_new_fields_is_inconclusive():
    summary = compare_summary()
    del summary["prediction"]["sensitivity"]
    assert V.compare(summary).verdict == V.INCONCLUSIVE


def test_a_winner_takes_all_step_at_any_grid_gap_is_uninformative():
    """The old rule's Spearman > 0 with p < 0.05 accepted a step placed anywhere; the ratio test must beat a
    D'-monotone score and the best grid step, which no step (and no monotone prediction) can."""
    rng = np.random.default_rng(1)
    D = np.repeat(GRID, 3)
    measured = np.exp(2.5 * np.log(D / 300) + rng.normal(0, 0.3, D.size))  # grows smoothly with D'
    for gap in GRID[:-1]:
        predicted = [1e300 if d > gap else 1e-300 for d in D]
        pairs = list(zip(D.tolist(), predicted, measured.tolist()))
        rc = compare.spearman([p[1] for p in pairs], [p[2] for p in pairs])
        informative, line = V.ratio_test(rc, compare.ratio_baselines(pairs))
        assert rc["spearman"] > 0 and not informative and "uninformative" in line
        v = V.compare(compare_summary(485, (249, 944), (265, 251), (100, 200), rc=rc,
                                      baselines=compare.ratio_baselines(pairs)))
        assert v.verdict != V.CONFIRMED
    pairs = list(zip(D.tolist(), (D ** 2.0).tolist(), measured.tolist()))  # monotone in D': ties the baseline
    assert not V.ratio_test(compare.spearman(list(D ** 2.0), list(measured)), compare.ratio_baselines(pairs))[0]


def test_an_informative_ratio_test_against_the_theory_fails_it():
    rc = {"spearman": -0.9, "p_value": 1e-4, "members": 18}
    v = V.compare(compare_summary(rc=rc, baselines={"monotone_in_d_prime": -0.95, "best_grid_step": -0.95}))
    assert v.verdict == V.NOT_CONFIRMED


def test_verdict_records_are_plain_json():
    v = V.p3(by_wd([270, 300, 250], [265, 305, 248]))
    d = v.to_dict()
    assert set(d) == {"verdict", "rule", "decided_by", "numbers"} and math.isfinite(d["numbers"]["pairs"][0]["ratio"])
