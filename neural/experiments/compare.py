"""Theory predicts, the networks answer (Figure 12): D_crit and the logit ratio o_t/o_m from measured efficiencies.

From an efficiency sweep (neural.experiments.efficiency) the laws log N = c + beta log D + gamma log o give the
norm each circuit needs for a reference logit o_ref: P_M(D) = exp(c_M + gamma_M log o_ref) D^beta_M and
P_G = exp(c_G + gamma_G log o_ref) D_G^beta_G at the geometric mean D_G of the generalisation sizes (the theory
takes P_G flat; its fitted slope is reported beside). o_ref is the geometric mean of the ungrokking members'
centred label logits at convergence, the regime being predicted. `theory.efficiency` then gives D_crit, where
P_M(D_crit) = P_G, with its delta-method interval carrying both fits' uncertainty (P_M's and P_G's; the t quantile
uses the smaller of their degrees of freedom), its leave-one-out range and how far it extrapolates beyond the
memorisation sizes, and Theorem D.4's allocation ratio
w_G/w_M = (P_G / P_M(D))^(-q kappa / (q - kappa)) (case 2; q = 2), which in the mixture model (logits linear in
the weights w) is the predicted o_t/o_m. kappa is the mean measured homogeneity degree over all kept efficiency
members. An ungrokking sweep measures both: D_crit per weight decay, and o_t/o_m (Appendix C split, on the
training pairs) per member at convergence. The rank correlation of predicted and measured o_t/o_m is reported
beside naive predictors (a score monotone in D', a step at a gap of the D' grid) that it must beat to be informative.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np

import rundir
from neural.experiments import efficiency as eff_mod, ungrok as ungrok_mod
from neural import cluster, protocol
from rundir.lazy import lazy
from theory.penalty import Q_L2

stats, allocation, toy = lazy("scipy.stats"), lazy("theory.allocation"), lazy("theory.toy")
theory_eff = lazy("theory.efficiency")
Q = Q_L2  # weight decay's norm exponent (the L2 penalty)


EXTRAPOLATION_LIMIT = 1.5  # a prediction beyond this factor of the measured memorisation sizes is extrapolated


class Laws(NamedTuple):
    law_M: theory_eff.PowerLaw  # P_M(D) at o_ref, with the covariance of (log a, beta)
    P_G: float  # the generalising norm at o_ref, read at D_G
    log_P_G_var: float  # variance of log P_G from the generalisation fit
    P_G_dof: int  # that fit's degrees of freedom
    D_G: float  # geometric mean of the generalisation sizes
    kappa: float  # mean homogeneity degree over both circuits


def missing_laws(eff: dict) -> str | None:
    """Why the efficiency summary cannot give the theory its input (a kind without a fitted law), or None."""
    missing = [k for k in ("mem", "gen") if not eff["kinds"][k]["law"]]
    if not missing:
        return None
    return (f"the efficiency sweep has no fitted law for {', '.join(missing)} (needs >= 4 kept, converged members with "
            f"positive logits at >= 2 sizes): run more members or check its summary.json")


def laws(eff: dict, o_ref: float, mem_law: dict | None = None, gen_law: dict | None = None) -> Laws:
    """From an efficiency summary at logit o_ref: the memorisation law P_M(D) (with its covariance), P_G with the
    variance of its logarithm, the generalisation sizes' geometric mean D_G where P_G is read, and kappa (mean over
    both circuits). `mem_law` / `gen_law` replace the summary's fits (leave-one-out refits)."""
    mem, gen = eff["kinds"]["mem"], eff["kinds"]["gen"]
    if why := missing_laws(eff):
        raise ValueError(why)
    mlaw, glaw = mem_law or mem["law"], gen_law or gen["law"]
    L = math.log(o_ref)
    G = np.array([[1.0, 0.0, L], [0.0, 1.0, 0.0]])
    cov = G @ np.array(mlaw["cov"]) @ G.T  # of (log a, beta) at o_ref
    # n_points = n - 1: theory's interval uses n_points - 2 degrees of freedom, the 3-parameter fit has n - 3
    law_M = theory_eff.PowerLaw(mlaw["c"] + mlaw["gamma"] * L, mlaw["beta"], cov, mlaw["n"] - 1)
    D_G = float(np.exp(np.mean(np.log([c_D for c in gen["isologit"] for c_D in c["D"]])))) if gen["isologit"] else 1.0
    g = np.array([1.0, math.log(D_G), L])
    P_G = float(np.exp(g @ np.array([glaw["c"], glaw["beta"], glaw["gamma"]])))
    log_P_G_var = float(g @ np.array(glaw["cov"]) @ g)
    return Laws(law_M, P_G, max(log_P_G_var, 0.0), glaw["n"] - 3, D_G, mean_kappa(eff))


def mean_kappa(eff: dict) -> float | None:
    """The mean measured homogeneity degree over both circuits' kept members (None if neither measured one)."""
    kappas = [eff["kinds"][k]["kappa"]["mean"] for k in ("mem", "gen")]
    kappas = [k for k in kappas if k is not None]
    return float(np.mean(kappas)) if kappas else None


def _d_crit(lw: Laws) -> theory_eff.CriticalSize:
    return theory_eff.critical_dataset_size(lw.law_M, lw.P_G, log_P_G_var=lw.log_P_G_var, P_G_dof=lw.P_G_dof)


def sensitivity(eff: dict, o_ref: float) -> dict:
    """The predicted D_crit refitted with each efficiency member left out (memorisation and generalisation in turn)
    and with the members that hit the step cap unconverged taken back: how much the prediction rests on one point."""
    mem, gen = eff["kinds"]["mem"], eff["kinds"]["gen"]
    loo = []
    for kind, k in (("mem", mem), ("gen", gen)):
        for entry in (k["law"] or {}).get("leave_one_out", []):
            if not entry["law"]:
                continue
            try:
                dc = _d_crit(laws(eff, o_ref, **{f"{kind}_law": entry["law"]})).D_crit
            except ValueError:
                dc = None
            loo.append({"kind": kind, "left_out": entry["left_out"], "beta": entry["law"]["beta"], "d_crit": dc})
    found = [x["d_crit"] for x in loo if x["d_crit"] is not None]
    with_unconverged = None
    if mem.get("law_with_unconverged") or gen.get("law_with_unconverged"):
        try:
            with_unconverged = _d_crit(laws(eff, o_ref, mem.get("law_with_unconverged"),
                                            gen.get("law_with_unconverged"))).D_crit
        except ValueError:
            pass
    return {"leave_one_out": loo, "d_crit_range": [min(found), max(found)] if found else None,
            "fits_without_d_crit": len(loo) - len(found), "d_crit_with_unconverged": with_unconverged,
            "mem_beta_with_unconverged": (mem.get("law_with_unconverged") or {}).get("beta")}


def reference_logit_sensitivity(eff: dict, rows: list[dict]) -> list[dict]:
    """The predicted D_crit at other reasonable reference logits (a choice the paper leaves open): each weight
    decay's geometric mean of its members' correct logits, and the 10th and 90th percentiles over all members."""
    logits = {r["wd"]: [] for r in rows}
    for r in rows:
        if r["label_logit"] and r["label_logit"] > 0:
            logits[r["wd"]].append(r["label_logit"])
    every = [x for xs in logits.values() for x in xs]
    choices = [(f"wd {wd:g} members' geometric mean", float(np.exp(np.mean(np.log(xs))))) for wd, xs in
               logits.items() if xs]
    if every:
        choices += [(f"{q}th percentile", float(np.percentile(every, q))) for q in (10, 90)]
    out = []
    for label, o in choices:
        try:
            d = _d_crit(laws(eff, o)).D_crit
        except ValueError:
            d = None
        out.append({"reference": label, "o_ref": o, "d_crit": d})
    return out


def extrapolation(d_crit: float | None, sizes: list[float]) -> dict:
    """How far the predicted D_crit lies outside the measured memorisation sizes (factor 1 inside them)."""
    if d_crit is None or not sizes:
        return {"mem_D_range": [min(sizes), max(sizes)] if sizes else None, "factor": None, "extrapolated": None}
    factor = max(d_crit / max(sizes), min(sizes) / d_crit, 1.0)
    return {"mem_D_range": [min(sizes), max(sizes)], "factor": factor, "extrapolated": factor > EXTRAPOLATION_LIMIT}


def prediction(eff: dict, o_ref: float, D_grid: np.ndarray, n_classes: int | None = None) -> dict:
    """Theory's D_crit (with an interval carrying both fits' uncertainty) and o_t/o_m over D_grid from an
    efficiency summary, at logit o_ref; its sensitivity to single members and how far it extrapolates; with
    n_classes, also the toy's (simulate) converged test performance at each D for the measured D_crit, beta and
    kappa (its optimum by theory.allocation: what continued training on D converges to).
    Without a fitted law for either circuit there is no prediction: d_crit None, and why."""
    mem, gen = eff["kinds"]["mem"], eff["kinds"]["gen"]
    if why := missing_laws(eff):
        kappa = mean_kappa(eff)
        return {"toy": None, "o_ref": o_ref, "P_G": None, "P_G_log_sd": None, "D_G": None, "law_M": None,
                "gen_slope": None, "gen_slope_interval": None, "kappa": kappa,
                "kappa_by_kind": {"mem": mem["kappa"]["mean"], "gen": gen["kappa"]["mean"]},
                "d4_case": allocation.case_of(kappa, Q) if kappa is not None else None, "d_crit": None,
                "d_crit_interval": None, "d_crit_dof": None, "d_crit_interval_mem_only": None,
                "d_crit_unavailable": why,
                "extrapolation": None, "sensitivity": None, "curve": {"D": [], "ratio": []}}
    lw = laws(eff, o_ref)
    try:
        crit = _d_crit(lw)
        d_crit, interval, dof, why = crit.D_crit, crit.interval, crit.dof, None
        interval_mem_only = theory_eff.critical_dataset_size(lw.law_M, lw.P_G).interval
    except ValueError as e:
        d_crit, interval, dof, interval_mem_only, why = None, None, None, None, str(e)
    ratio = [theory_eff.predicted_ratio(float(D), lw.law_M, lw.P_G, lw.kappa, Q) for D in D_grid]
    toy_curve = None
    if d_crit is not None and n_classes:
        P_M = [toy.memorisation_norm(toy.TABLE1_P_G, float(D), d_crit, lw.law_M.beta) for D in D_grid]
        toy_curve = {"D": [float(D) for D in D_grid],
                     "test_perf": [toy.converged(toy.TABLE1_P_G, pm, kappa=lw.kappa, alpha=toy.TABLE1_ALPHA,
                                                 n_classes=n_classes)["test_perf"] for pm in P_M]}
    sizes = mem["law"].get("sizes") or sorted({D for c in mem["isologit"] for D in c["D"]})
    return {"toy": toy_curve, "o_ref": o_ref, "P_G": lw.P_G, "P_G_log_sd": math.sqrt(lw.log_P_G_var), "D_G": lw.D_G,
            "law_M": {"a": math.exp(lw.law_M.log_a), "beta": lw.law_M.beta},
            "gen_slope": gen["law"]["beta"], "gen_slope_interval": gen["law"]["beta_interval"],
            "kappa": lw.kappa, "kappa_by_kind": {"mem": mem["kappa"]["mean"], "gen": gen["kappa"]["mean"]},
            "d4_case": allocation.case_of(lw.kappa, Q), "d_crit": d_crit, "d_crit_interval": interval,
            "d_crit_dof": dof, "d_crit_interval_mem_only": interval_mem_only, "d_crit_unavailable": why,
            "extrapolation": extrapolation(d_crit, sizes), "sensitivity": sensitivity(eff, o_ref),
            "curve": {"D": [float(D) for D in D_grid], "ratio": ratio}}


def spearman(x: list[float], y: list[float]) -> dict | None:
    """Spearman's rank correlation of x and y with its p-value (None with < 3 pairs or x constant)."""
    if len(x) < 3 or len(set(x)) < 2 or len(set(y)) < 2:
        return None
    rho = stats.spearmanr(x, y)
    return {"spearman": float(rho.statistic), "p_value": float(rho.pvalue), "members": len(x)}


def ratio_baselines(pairs: list[tuple[float, float, float]]) -> dict:
    """Naive predictors of the measured o_t/o_m that know nothing of efficiency, scored like the theory: a score
    monotone in D' (the ratio "grows with D'"), and a winner-takes-all step at each gap of the D' grid (the
    best and the mean over gaps). pairs: (d_prime, predicted, measured) per member."""
    D = [p[0] for p in pairs]
    measured_ = [p[2] for p in pairs]
    mono = spearman(D, measured_)
    grid = sorted(set(D))
    steps = [spearman([float(d > lo) for d in D], measured_) for lo in grid[:-1]]
    rhos = [s["spearman"] for s in steps if s]
    return {"monotone_in_d_prime": mono["spearman"] if mono else None,
            "best_grid_step": max(rhos) if rhos else None, "mean_grid_step": float(np.mean(rhos)) if rhos else None,
            "grid_steps": len(rhos)}


def measured(ungrok_rows: list[dict]) -> list[dict]:
    """The ungrokking members (stage 2) with their D', weight decay, norm, test accuracy and o_t/o_m (None where
    o_m <= 0: a member with no memorisation logit left has no finite positive ratio)."""
    out = []
    for r in ungrok_rows:
        if r.get("stage") != 2:
            continue
        o_t, o_m = r["train/o_t"], r["train/o_m"]
        out.append({"task": r["task"], "seed": r["seed"], "wd": r["wd"], "d_prime": r["d_prime"],
                    "norm": r["norm/total"], "test_acc": r["test/acc"], "label_logit": r["train/label_logit"],
                    "o_t": o_t, "o_m": o_m, "converged": r["converged"],
                    "measured_ratio": o_t / o_m if o_t is not None and o_m is not None and o_m > 0 and o_t > 0
                    else None})
    return out


def compare(eff: dict, ungrok_summary: dict, ungrok_rows: list[dict], task: str = "add") -> tuple[dict, list[dict]]:
    """The comparison summary and one row per ungrokking member (measured and predicted ratio)."""
    rows = [r for r in measured(ungrok_rows) if r["task"] == task]
    if not rows:
        raise ValueError(f"the ungrokking sweep has no stage-2 members for task {task!r}: run `grok-neural ungrok` "
                         f"first (its parents must generalise)")
    logits = [r["label_logit"] for r in rows if r["label_logit"] and r["label_logit"] > 0]
    o_ref = float(np.exp(np.mean(np.log(logits))))
    Ds = sorted({r["d_prime"] for r in rows})
    p = int(ungrok_rows[0]["p"])
    pred = prediction(eff, o_ref, np.geomspace(min(Ds) / 1.5, max(Ds) * 1.5, 40), n_classes=p)
    if pred["sensitivity"] is not None:
        pred["sensitivity"]["reference_logit"] = reference_logit_sensitivity(eff, rows)
    lw = None if pred["law_M"] is None else laws(eff, o_ref)
    for r in rows:
        r["predicted_ratio"] = lw and theory_eff.predicted_ratio(float(r["d_prime"]), lw.law_M, lw.P_G, lw.kappa, Q)
    # case 1 (kappa >= q) predicts 0 or inf (one circuit only): ranks still compare, so clip for the correlation
    pairs = [(r["d_prime"], min(max(r["predicted_ratio"], 1e-300), 1e300), r["measured_ratio"]) for r in rows
             if r["measured_ratio"] is not None and r["predicted_ratio"] is not None]
    rho = spearman([p[1] for p in pairs], [p[2] for p in pairs])
    by_D = []
    for D in Ds:
        mine = [r for r in rows if r["d_prime"] == D and r["measured_ratio"] is not None
                and r["predicted_ratio"] is not None]
        if not mine:
            continue
        predicted = mine[0]["predicted_ratio"]
        # which circuit dominates the correct logit: the prediction's and the members' (ratio above or below 1)
        agree = float(np.mean([(r["measured_ratio"] > 1) == (predicted > 1) for r in mine]))
        entry = {"d_prime": D, "members": len(mine), "predicted_ratio": predicted,
                 "median_measured_ratio": float(np.median([r["measured_ratio"] for r in mine])),
                 "dominant_circuit_agreement": agree}
        if 0 < predicted < math.inf:
            log_gap = float(np.mean([math.log(r["measured_ratio"] / predicted) for r in mine]))
            entry.update({"mean_log_measured_over_predicted": log_gap, "factor": math.exp(abs(log_gap))})
        else:
            entry["factor"] = math.inf  # the theory predicts one circuit only; any finite ratio is off by "infinitely"
        by_D.append(entry)
    task_summary = ungrok_summary["tasks"][task]
    d_crit_rows = []
    for wd, s in task_summary["by_wd"].items():
        meas = s["d_crit"]
        seeds = [v for v in (s.get("d_crit_by_seed") or {}).values() if v is not None]
        d_crit_rows.append({"wd": float(wd), "measured": meas, "measured_interval": s["d_crit_interval"],
                            "measured_seeds": len(seeds),
                            "predicted": pred["d_crit"], "predicted_interval": pred["d_crit_interval"],
                            "measured_over_predicted": meas / pred["d_crit"] if meas and pred["d_crit"] else None})
    summary = {"task": task, "prediction": pred, "d_crit": d_crit_rows,
               "ratio_rank_correlation": rho, "ratio_baselines": ratio_baselines(pairs),
               "members_without_ratio": sum(r["measured_ratio"] is None for r in rows),
               "disagreement_by_d_prime": sorted(by_D, key=lambda x: (-x["factor"], x["dominant_circuit_agreement"])),
               "dominant_circuit_agreement": float(np.mean([(p[2] > 1) == (p[1] > 1) for p in pairs]))
               if pairs else None}
    return summary, rows


@dataclass(frozen=True)
class Settings:
    preset: str
    task: str
    ungrok: Path  # the sweeps it reads
    efficiency: Path
    start_missing: bool  # the default sweeps are run when missing; named ones must exist


class Compare(protocol.Experiment):
    name = "compare"
    order = 40
    in_demo = True
    tables = ("compare.csv",)
    summary_keys = {"prediction": dict, "d_crit": list, "sources": dict}
    columns = ("d_prime", "wd", "measured_ratio", "predicted_ratio", "test_acc", "norm")
    text_columns = ("task",)
    help = ("Theory against measurement: D_crit and o_t/o_m predicted from the measured efficiencies and kappa "
            "(Theorem D.4, theory.efficiency) against the ungrokking sweep's D_crit per weight decay and o_t/o_m per "
            "member; Figure 12 and the toy's predicted transition. Runs the preset's two sweeps first where they "
            "are missing (and says so); sweeps named with --ungrok/--efficiency must be finished, of this preset "
            "and task.")
    presets = {name: name for name in ungrok_mod.PRESETS if name in eff_mod.PRESETS}
    options = (protocol.Option("task", str, "A Fourier task.", "add", choices=eff_mod.FOURIER_TASKS),
               protocol.Option("ungrok", Path, "The ungrokking sweep (default runs/neural/ungrok-<preset>-<task>)."),
               protocol.Option("efficiency", Path, "The efficiency sweep (default "
                                                   "runs/neural/efficiency-<preset>-<task>)."))

    def settings(self, name: str, opts: dict) -> Settings:
        self.preset(name)
        task = opts.get("task") or "add"
        for exp in ("ungrok", "efficiency"):  # the sweeps this compare would run must be valid too
            protocol.REGISTRY[exp].settings(name, {"task": task})
        root = Path("runs/neural")
        return Settings(name, task, opts.get("ungrok") or root / f"ungrok-{name}-{task}",
                        opts.get("efficiency") or root / f"efficiency-{name}-{task}",
                        start_missing=opts.get("ungrok") is None and opts.get("efficiency") is None)

    def before(self, st: Settings, out: Path, ctx: protocol.Context) -> None:
        """Run the preset's sweeps that are missing (default directories only), saying so; raise
        cluster.Pending after submitting every missing one when not waiting."""
        pending = []
        for exp, d in (("ungrok", st.ungrok), ("efficiency", st.efficiency)):
            if (d / "summary.json").is_file():
                continue
            if not st.start_missing:
                raise ValueError(f"{exp}={str(d)!r} holds no finished sweep: run `grok-neural {exp} --preset "
                                 f"{st.preset} --task {st.task} --out {d}` first")
            print(f"compare: {d} holds no finished {exp} sweep; running `grok-neural {exp} --preset {st.preset} "
                  f"--task {st.task}` first", file=sys.stderr)
            try:
                protocol.execute(protocol.REGISTRY[exp], st.preset, {"task": st.task}, out=d, ctx=ctx)
            except cluster.Pending as p:
                pending.append((d, p))
        if pending:
            raise cluster.Pending({}, sweeps=pending)
        for exp, d in (("ungrok", st.ungrok), ("efficiency", st.efficiency)):
            ident = protocol.recorded_identity(d, exp)
            tasks_ = ident.get("tasks") if exp == "ungrok" else [ident.get("task")]
            wrong = [f"{k} {v!r}" for k, v, ok in (("experiment", ident["experiment"], ident["experiment"] == exp),
                                                   ("preset", ident.get("preset"), ident.get("preset") == st.preset),
                                                   ("task", tasks_, st.task in (tasks_ or []))) if not ok]
            if wrong:
                raise ValueError(f"{exp}={str(d)!r} holds a sweep of another kind ({', '.join(wrong)}); compare "
                                 f"--preset {st.preset} --task {st.task} needs `grok-neural {exp} --preset "
                                 f"{st.preset} --task {st.task}`")
            protocol.read_results(d, exp, exp)  # readable before anything is written

    def identity(self, st: Settings) -> dict:
        sources = {exp: protocol.recorded_identity(d, exp) for exp, d in (("ungrok", st.ungrok),
                                                                          ("efficiency", st.efficiency))}
        return {"task": st.task, **protocol.flat(sources)}

    def describe(self, st: Settings) -> str:
        return f"task {st.task}: the {st.preset} ungrokking sweep ({st.ungrok}) against the {st.preset} efficiency " \
               f"sweep ({st.efficiency})"

    def run(self, st: Settings, out: Path, ctx: protocol.Context) -> dict:
        """Read both sweeps, compare, write compare.csv into `out`; returns the summary's body."""
        eff = protocol.read_results(st.efficiency, "efficiency", "efficiency")["summary"]
        ungrok = protocol.read_results(st.ungrok, "ungrok", "ungrok")
        ungrok_summary, ungrok_rows = ungrok["summary"], ungrok["rows"]
        if st.task not in ungrok_summary["tasks"]:
            raise ValueError(f"{st.ungrok / 'summary.json'} has no task {st.task!r}")
        summary, rows = compare(eff, ungrok_summary, ungrok_rows, st.task)
        summary["sources"] = {"efficiency": str(st.efficiency), "ungrok": str(st.ungrok)}
        cols = list(rows[0])
        rundir.write_csv(Path(out) / "compare.csv", cols, ([r[c] for c in cols] for r in rows))
        return summary

    def sources(self, st: Settings) -> list[Path]:
        return [st.efficiency, st.ungrok]

    def lines(self, summary: dict) -> list[str]:
        pred = summary["prediction"]
        fmt = lambda v, ci: "n/a" if v is None else f"{v:.0f}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")  # noqa: E731
        f3 = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        out = [f"reading {summary['sources']['ungrok']} and {summary['sources']['efficiency']}",
               f"kappa {f3(pred['kappa'])} (mem {f3(pred['kappa_by_kind']['mem'])}, gen "
               f"{f3(pred['kappa_by_kind']['gen'])}) -> Theorem D.4 case {pred['d4_case']} at q = {Q:g}; reference "
               f"logit {pred['o_ref']:.3g}"]
        if pred["law_M"]:
            out.append(f"P_M(D) = {pred['law_M']['a']:.4g} D^{pred['law_M']['beta']:.3f}; P_G = {pred['P_G']:.4g} "
                       f"(generalisation slope {pred['gen_slope']:.3f})")
        for r in summary["d_crit"]:
            ratio = f"{r['measured_over_predicted']:.2f}" if r["measured_over_predicted"] else "n/a"
            out.append(f"  wd {r['wd']:<4g} D_crit measured {fmt(r['measured'], r['measured_interval']):<18} predicted "
                       f"{fmt(r['predicted'], r['predicted_interval']):<18} measured/predicted {ratio}")
        if pred["d_crit_unavailable"]:
            out.append(f"  no predicted D_crit: {pred['d_crit_unavailable']}")
        else:
            extra, sens = pred["extrapolation"], pred["sensitivity"]
            rng = sens["d_crit_range"]
            out.append(f"  prediction: P_G's uncertainty included (P_M's alone: "
                       f"{fmt(pred['d_crit'], pred['d_crit_interval_mem_only'])}); memorisation sizes "
                       f"{extra['mem_D_range'][0]:.0f}-{extra['mem_D_range'][1]:.0f}, extrapolated "
                       f"{extra['factor']:.2f}x; leaving one member out {fmt(rng and rng[0], None)}-"
                       f"{fmt(rng and rng[1], None)}, with the unconverged "
                       f"{fmt(sens['d_crit_with_unconverged'], None)}")
        rc, base = summary["ratio_rank_correlation"], summary["ratio_baselines"]
        if rc:
            out.append(f"o_t/o_m: Spearman {rc['spearman']:.3f} (p = {rc['p_value']:.2g}, {rc['members']} members; "
                       f"{summary['members_without_ratio']} with o_m <= 0); naive predictors: D'-monotone "
                       f"{base['monotone_in_d_prime'] or float('nan'):.3f}, best grid step "
                       f"{base['best_grid_step'] or float('nan'):.3f}")
        if summary["dominant_circuit_agreement"] is not None:
            out.append(f"dominant circuit (o_t/o_m above or below 1) as predicted for "
                       f"{summary['dominant_circuit_agreement']:.0%} of members")
        for d in summary["disagreement_by_d_prime"][:3]:
            out.append(f"  D' = {d['d_prime']:g}: predicted o_t/o_m {d['predicted_ratio']:.3g}, measured median "
                       f"{d['median_measured_ratio']:.3g} (off by {d['factor']:.3g}x; dominant circuit agrees for "
                       f"{d['dominant_circuit_agreement']:.0%})")
        return out


EXPERIMENT = protocol.register(Compare())
