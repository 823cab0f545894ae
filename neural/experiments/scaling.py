"""Beyond the paper: D_crit across model widths, measured and predicted, and why the networks keep a mixture.

Per width w (d_model w, d_mlp 4w, d_head w / n_heads; everything else the preset's), an ungrokking sweep measures
D_crit (one weight decay, several seeds) and an efficiency sweep measures that width's own laws (memorisation
beta and P_M(D), P_G, kappa); `compare` turns the laws into a predicted D_crit with its interval. Each width's
sweeps are experiments of their own under `out/w<width>/` (reused when finished). Across widths, the slope of
log D_crit against log w is fitted for the measurement (ordinary least squares over every seed's D_crit) and for
the prediction (weighted least squares, each width weighted by its predicted interval).

Allocation diagnostics, asking why o_t/o_m stays finite when kappa > q = 2 predicts winner-takes-all:
- continuation: ungrokking members below, nearest and above D_crit (one seed, one width) trained on from their
  converged state, optimiser and all, for `continue_factor` times their convergence step; does o_t/o_m still drift,
  and which way?
- kappa per circuit: the homogeneity degree of o_t and of o_m separately (all parameters scaled), and per weight
  matrix (which matrices carry the degree; they sum to the total);
- an effective kappa: Theorem D.4 case 2 gives log(o_t/o_m) = (q kappa/(q - kappa)) log(P_M(D')/P_G), so its
  slope against log D' is s = beta q kappa/(q - kappa); with the width's measured beta, kappa_eff = s q/(q beta + s)
  (the interval from s's t-interval; beta's own uncertainty is left out).

Choices the paper leaves open (recorded in the summary): the width axis (d_mlp = 4 d_model, 4 heads); D_crit per
width from weight decay 1 only; the conclusion's rule (ALLOCATION_RULE), fixed before any run.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rundir
from neural import convergence, protocol, runner
from neural.config import TrainConfig, describe_model, model_config
from neural.experiments import compare, efficiency as eff_mod, ungrok as ungrok_mod
from rundir.lazy import lazy
from theory.penalty import Q_L2

torch, stats, allocation = lazy("torch"), lazy("scipy.stats"), lazy("theory.allocation")
theory_eff = lazy("theory.efficiency")
analysis, dataset, inspect_run, model = (lazy(f"neural.{m}") for m in ("analysis", "dataset", "inspect_run", "model"))

DRIFT_PER_WINDOW = 0.05  # |d log(o_t/o_m)| per weight-decay window above which a continued member still drifts
MIN_LOGIT = 0.1  # o_t or o_m below this has no meaningful log or homogeneity degree
SLOPE_MARGIN = 0.5  # the verdict's equivalence margin on the slope difference (see figures.verdicts.scaling)
ALLOCATION_RULE = (
    f"'not finished' is supported when a continued member's log(o_t/o_m) still moves by more than "
    f"{DRIFT_PER_WINDOW} per weight-decay window over the second half of its continuation, away from a mixture "
    f"(falling below D_crit, rising above); 'an effective exponent below q' when no continued member drifts that "
    f"way, the homogeneity kappa is above q = {Q_L2:g}, and the slope of log(o_t/o_m) on log D' has its 95% "
    f"interval above 0 (case 2's signature: the ratio rises with D'; kappa_eff = sq/(q beta + s) is below q for "
    f"every s > 0, so 'kappa_eff < q' alone could not fail); 'case 2 contradicted' when that interval lies below 0; "
    f"otherwise the numbers decide neither")


@dataclass(frozen=True)
class Preset:
    widths: tuple[int, ...]  # d_model values
    ungrok: ungrok_mod.Preset  # at the base model; widened per width
    efficiency: eff_mod.Preset
    diagnose_width: int  # the width whose ungrokking members are continued
    continue_factor: float  # continue each for this many times its convergence step
    task: str = "add"
    name: str = "custom"  # the preset it came from (its sub-sweeps record it)


def widen(cfg: TrainConfig, width: int) -> TrainConfig:
    """The same model at d_model `width`: d_mlp 4 width, d_head width / n_heads."""
    return cfg.with_(d_model=width, d_mlp=4 * width, d_head=width // cfg.n_heads)


_UNGROK_CPU = dataclasses.replace(ungrok_mod.CPU, wds=(1.0,), seeds=(0, 1, 2))
# Efficiency per width: 3 seeds and generalisation at 50% and 70% of pairs only. A first cpu run (2 seeds, the
# efficiency presets' 35/50/70%) fitted no generalisation law at any width, so predicted nothing: its 35% members
# never reached the trigonometric filter within the cap and only 2 of 6 were kept, below the fit's minimum of 4
# (README). This is a fix for measurement validity, made before any prediction was seen (there was none).
_EFF_CPU = dataclasses.replace(eff_mod.CPU, mem_sizes=(100, 144, 208, 300), gen_fracs=(0.5, 0.7), wds=(1.0,),
                               seeds=(0, 1, 2), mem_cap=4000)
PRESETS = {
    # widths by measured cost (README): 32-96 at p = 59, 3 ungrokking seeds and 2 efficiency seeds per width
    "cpu": Preset(widths=(32, 48, 64, 96), ungrok=_UNGROK_CPU, efficiency=_EFF_CPU, diagnose_width=64,
                  continue_factor=3.0, name="cpu"),
    # Appendix B's model at 4 widths around its d_model 128, wd 1 only (a GPU job; not run on this machine)
    "paper": Preset(widths=(64, 96, 128, 192), ungrok=dataclasses.replace(ungrok_mod.PRESETS["paper"], wds=(1.0,)),
                    efficiency=dataclasses.replace(eff_mod.PRESETS["paper"], wds=(1.0,)), diagnose_width=128,
                    continue_factor=3.0, name="paper"),
    # two small widths, few members, short caps: the whole pipeline in minutes (its numbers are not evidence)
    # (each efficiency sweep has the fit's minimum: 2 sizes x 2 seeds per kind, at the efficiency demo's caps)
    "demo": Preset(widths=(32, 48),
                   ungrok=dataclasses.replace(_UNGROK_CPU, seeds=(0, 1), d_prime_fracs=_UNGROK_CPU.d_prime_fracs[1:5],
                                              child_windows=9),
                   efficiency=dataclasses.replace(_EFF_CPU, mem_sizes=(100, 208), gen_fracs=(0.5, 0.7)),
                   diagnose_width=48, continue_factor=1.0, name="demo"),
}


def for_width(pre: Preset, width: int) -> tuple[ungrok_mod.Preset, eff_mod.Preset]:
    """The width's ungrokking and efficiency presets."""
    u = dataclasses.replace(pre.ungrok, base=widen(pre.ungrok.base, width), tasks=(pre.task,))
    e = dataclasses.replace(pre.efficiency, base=widen(pre.efficiency.base, width), task=pre.task)
    return u, e


def check(pre: Preset) -> None:
    """ValueError naming the first bad setting, before anything runs."""
    if len(pre.widths) < 2 or len(set(pre.widths)) != len(pre.widths):
        raise ValueError(f"widths={','.join(map(str, pre.widths))} is not allowed: give at least 2 distinct widths")
    heads = pre.ungrok.base.n_heads
    for w in pre.widths:
        if not (isinstance(w, int) and w >= heads and w % heads == 0):
            raise ValueError(f"widths: {w} is not allowed: each must be a multiple of n_heads = {heads}")
        u, e = for_width(pre, w)
        try:
            ungrok_mod.check(u)
            eff_mod.check(e)
        except ValueError as err:  # the sub-sweeps' own settings are not this command's options: say which of ours
            raise ValueError(f"p={u.base.p} is not allowed with preset {pre.name!r} (width {w}): its sweeps' grids "
                             f"do not fit {u.base.p}^2 pairs ({err}); choose a larger --p or another "
                             f"--preset") from None
    if pre.diagnose_width not in pre.widths:
        raise ValueError(f"diagnose_width={pre.diagnose_width} is not allowed: it must be one of the widths")
    if not 0 < pre.continue_factor <= 100:
        raise ValueError(f"continue_factor={pre.continue_factor} is not allowed: must lie in (0, 100]")


# ----------------------------------------------------------------------------------------------- fits
def slope_fit(x: list[float], y: list[float], se: list[float] | None = None, confidence: float = 0.95,
              dof: int | None = None) -> dict | None:
    """Slope of log y against log x with its standard error and t-interval: ordinary least squares, or weighted
    by 1/se^2 (se of log y) with the standard error from the weights alone and the t quantile at `dof` (the
    smallest degrees of freedom behind the se's; None: normal). None with fewer than 2 distinct x (or 3 points
    unweighted)."""
    lx, ly = np.log(np.asarray(x, dtype=float)), np.log(np.asarray(y, dtype=float))
    if len(np.unique(lx)) < 2 or (se is None and len(lx) < 3):
        return None
    if se is None:
        fit = stats.linregress(lx, ly)
        slope, stderr, dof = float(fit.slope), float(fit.stderr), len(lx) - 2
    else:
        w = 1.0 / np.asarray(se, dtype=float) ** 2
        xbar = float((w * lx).sum() / w.sum())
        sxx = float((w * (lx - xbar) ** 2).sum())
        slope = float((w * (lx - xbar) * ly).sum() / sxx)
        stderr = math.sqrt(1.0 / sxx)
    t = theory_eff.t_quantile(confidence, dof)
    return {"slope": slope, "stderr": stderr, "interval": [slope - t * stderr, slope + t * stderr], "n": len(lx),
            "dof": dof}


def effective_kappa(d_prime: list[float], ratio: list[float], beta: float | None, q: float = Q_L2,
                    confidence: float = 0.95) -> dict | None:
    """kappa_eff from Theorem D.4 case 2: the slope s of log(o_t/o_m) against log D' is beta q k/(q - k), so
    k = s q/(q beta + s), with the interval of s's t-interval carried through (monotone in s). None with fewer
    than 3 positive ratios at 2 distinct D', or no positive beta."""
    pairs = [(d, r) for d, r in zip(d_prime, ratio) if r is not None and r > 0]
    if beta is None or beta <= 0 or len(pairs) < 3 or len({d for d, _ in pairs}) < 2:
        return None
    fit = slope_fit([d for d, _ in pairs], [r for _, r in pairs], confidence=confidence)
    if fit is None:
        return None

    def kappa_of(s: float) -> float | None:
        return s * q / (q * beta + s) if s > 0 else None

    lo, hi = fit["interval"]
    return {"kappa": kappa_of(fit["slope"]), "interval": [kappa_of(lo) or 0.0, kappa_of(hi) or 0.0] if hi > 0 else None,
            "ratio_slope": fit["slope"], "ratio_slope_interval": fit["interval"], "beta": beta, "members": len(pairs)}


# ----------------------------------------------------------------------------------------------- circuits
def circuit_logits(params: dict[str, torch.Tensor], mcfg: model.ModelConfig, data: dataset.Data
                   ) -> tuple[torch.Tensor, torch.Tensor]:
    """o_t (E,) and o_m (E,): Appendix C's trigonometric and memorisation parts of the correct logit, o_m averaged
    over each member's training pairs (as the sweeps' train/o_m)."""
    Z = model.forward(params, mcfg, data.tokens)  # (E, N, C)
    o_t, o_m = analysis.trig_split(Z, data.answer, data.n)
    mask = data.train_mask.to(o_m.dtype)
    return o_t, (o_m * mask).sum(1) / mask.sum(1).clamp_min(1)


def circuit_homogeneity(ensemble_dir: Path) -> list[dict]:
    """Per member of an ensemble: o_t, o_m, and the homogeneity degree of each (all parameters scaled) and per
    weight matrix."""
    params, cfg, mcfg = inspect_run.load_run(ensemble_dir)
    data = dataset.Data(cfg, torch.device("cpu"))
    out = []
    by = {}
    for k, part in ((0, "o_t"), (1, "o_m")):
        by[part] = analysis.homogeneity_by_matrix(params, lambda ps, k=k: circuit_logits(ps, mcfg, data)[k])
    with torch.no_grad():
        o_t, o_m = circuit_logits(params, mcfg, data)
    for e, m in enumerate(cfg.members()):
        row = {"ensemble": Path(ensemble_dir).name, "member": e, "seed": m["seed"], "subset": m["subset"],
               "o_t": float(o_t[e]), "o_m": float(o_m[e])}
        for part in ("o_t", "o_m"):
            row[f"kappa_{part}"] = float(sum(v[e] for v in by[part].values()))
            row.update({f"kappa_{part}/{name}": float(v[e]) for name, v in by[part].items()})
        out.append(row)
    return out


def summarise_circuits(rows: list[dict]) -> dict:
    """Mean and sd of each circuit's degree (total and per matrix) over members whose o_t and o_m exceed
    MIN_LOGIT."""
    ok = [r for r in rows if r["o_t"] > MIN_LOGIT and r["o_m"] > MIN_LOGIT]
    keys = [k for k in (rows[0] if rows else {}) if k.startswith("kappa_")]
    return {"members": len(ok), "of": len(rows),
            **{k: {"mean": float(np.mean([r[k] for r in ok])), "sd": float(np.std([r[k] for r in ok], ddof=1))
                   if len(ok) > 1 else None} for k in keys if ok}}


# ----------------------------------------------------------------------------------------------- continuation
def continuation_specs(u: ungrok_mod.Preset, rows: list[dict], d_crit: float | None, factor: float
                       ) -> list[runner.Spec]:
    """Members of seed min(seeds) at wd 1 below, nearest and above D_crit (smallest, nearest, largest D'), each
    continued from its converged state with its optimiser (nothing reset) for factor x its convergence step."""
    kids = [r for r in rows if r.get("stage") == 2 and r["wd"] == 1.0 and r["seed"] == min(u.seeds)]
    if not kids:
        return []
    by_D = sorted(kids, key=lambda r: r["d_prime"])
    chosen = [by_D[0], by_D[-1]]
    if d_crit:
        chosen.insert(1, min(by_D, key=lambda r: abs(math.log(r["d_prime"] / d_crit))))
    chosen = list({id(r): r for r in chosen}.values())
    base = u.base.with_(task=u.tasks[0], reset_on_init=(), converge=False)
    specs = []
    for r in chosen:
        steps = max(1, round(factor * (r["converged_step"] or r["steps_run"])))
        member = {"seed": int(r["seed"]), "wd": r["wd"], "lr": r["lr"], "subset": int(r["d_prime"]),
                  "parent": f"../../ungrok/ensembles/{r['ensemble']}", "parent_member": int(r["member"])}
        specs.append(runner.Spec(base.with_(steps=steps), member, {"d_prime": int(r["d_prime"]),
                                                                    "start_step": r["steps_run"]}))
    return specs


def drift(run_dir: Path, member: int, lr: float, wd: float) -> dict:
    """How a continued member's log(o_t/o_m) moved: at its start and end, and its least-squares slope per
    weight-decay window over the second half of the continuation."""
    table = rundir.read_csv(Path(run_dir) / "metrics.csv")
    mine = (table["member"] == member) & np.isfinite(table["train/o_m"]) & np.isfinite(table["train/o_t"])
    step, o_t, o_m = table["step"][mine], table["train/o_t"][mine], table["train/o_m"][mine]
    ok = (o_t > MIN_LOGIT) & (o_m > MIN_LOGIT)
    if ok.sum() < 3:
        return {"start_ratio": None, "end_ratio": None, "slope_per_window": None, "points": int(ok.sum())}
    step, ratio = step[ok], o_t[ok] / o_m[ok]
    late = step >= step[-1] / 2
    window = convergence.window_steps(lr, wd, int(step[-1]))
    slope = stats.linregress(step[late] / window, np.log(ratio[late])).slope if late.sum() >= 3 else None
    return {"start_ratio": float(ratio[0]), "end_ratio": float(ratio[-1]),
            "slope_per_window": None if slope is None else float(slope), "points": int(ok.sum())}


def conclude(continued: list[dict], kappa_eff: dict | None, kappa_hom: float | None, d_crit: float | None) -> dict:
    """The allocation diagnostics' conclusion by ALLOCATION_RULE: which explanation the numbers support."""
    q = Q_L2
    away = [c for c in continued if c["slope_per_window"] is not None and d_crit
            and abs(c["slope_per_window"]) > DRIFT_PER_WINDOW
            and math.copysign(1, c["slope_per_window"]) == math.copysign(1, math.log(c["d_prime"] / d_crit))]
    measured = [c for c in continued if c["slope_per_window"] is not None]
    s_lo, s_hi = (kappa_eff or {}).get("ratio_slope_interval") or (None, None)
    rises = s_lo is not None and s_lo > 0  # case 2's signature, which can fail
    falls = s_hi is not None and s_hi < 0
    if away:
        supported = "not finished"
        text = (f"{len(away)} of {len(measured)} continued member(s) still move away from a mixture (log o_t/o_m "
                f"slope up to {max(abs(c['slope_per_window']) for c in away):.3f} per window): the reallocation "
                f"is unfinished, so a finite o_t/o_m at convergence does not contradict winner-takes-all")
    elif measured and falls:
        supported = "case 2 contradicted"
        text = (f"no continued member drifts away from a mixture, but log(o_t/o_m) falls with D' (slope "
                f"{kappa_eff['ratio_slope']:.2f} [{s_lo:.2f}, {s_hi:.2f}]): no exponent of case 2 gives that")
    elif measured and rises and kappa_hom is not None and kappa_hom > q:
        supported = "effective exponent below q"
        text = (f"no continued member drifts away from a mixture (|slope| <= {DRIFT_PER_WINDOW} per window), and "
                f"log(o_t/o_m) rises with D' (slope {kappa_eff['ratio_slope']:.2f} [{s_lo:.2f}, {s_hi:.2f}]) as case 2 "
                f"requires, with kappa_eff {kappa_eff['kappa']:.2f}, while the homogeneity degree is {kappa_hom:.2f} "
                f"> q: the single-kappa mixture model misdescribes these networks; 'unfinished' is ruled out at this "
                f"budget")
    else:
        supported = "undecided"
        if not measured:
            why = "no continued member had a measurable o_t/o_m"
        elif not kappa_eff or not kappa_eff.get("interval"):
            why = ("no member drifts away from a mixture, but no effective kappa could be fitted (it needs the width's "
                   "memorisation beta and >= 3 positive ratios at 2 D')")
        elif not rises:
            why = (f"no member drifts away from a mixture, but the slope of log(o_t/o_m) on log D' "
                   f"[{s_lo:.2f}, {s_hi:.2f}] does not exclude 0 (case 2's rise is not shown)")
        else:
            why = "no member drifts away from a mixture, but the homogeneity kappa is not above q"
        text = "the numbers decide neither: " + why
    return {"supported": supported, "text": text, "rule": ALLOCATION_RULE}


# ----------------------------------------------------------------------------------------------- run
def width_row(w: int, pre: Preset, u: ungrok_mod.Preset, ung: dict, eff: dict) -> tuple[dict, dict]:
    """One width: measured D_crit (wd 1) with its interval and per-seed values, the prediction from the width's own
    efficiency laws, beta, P_G, kappa, members, unconverged; and kappa_eff from the ungrokking ratios."""
    task = ung["summary"]["tasks"][pre.task]
    by_wd = task["by_wd"].get("1.0") or {}
    cmp_summary, cmp_rows = (None, [])
    if by_wd:
        cmp_summary, cmp_rows = compare.compare(eff, ung["summary"], ung["rows"], pre.task)
    pred = (cmp_summary or {}).get("prediction") or {}
    mem_law = eff["kinds"]["mem"]["law"]
    kappa = compare.mean_kappa(eff)
    children = [r for r in ung["rows"] if r.get("stage") == 2]
    row = {"width": w, "params": model.n_params(model_config(u.base.with_(task=pre.task))),
           "d_crit": by_wd.get("d_crit"), "d_crit_lo": (by_wd.get("d_crit_interval") or [None, None])[0],
           "d_crit_hi": (by_wd.get("d_crit_interval") or [None, None])[1],
           "predicted": pred.get("d_crit"), "predicted_lo": (pred.get("d_crit_interval") or [None, None])[0],
           "predicted_hi": (pred.get("d_crit_interval") or [None, None])[1], "predicted_dof": pred.get("d_crit_dof"),
           "beta": mem_law["beta"] if mem_law else None, "P_G": pred.get("P_G"), "kappa": kappa,
           "members": len(children) + len(task["parents"]) + sum(k["members"] for k in eff["kinds"].values()),
           "unconverged": len(by_wd.get("unconverged") or []) + sum(k["unconverged"] for k in eff["kinds"].values()),
           "parents_generalised": task["parents_generalised"]}
    ratios = [(r["d_prime"], r["measured_ratio"]) for r in cmp_rows if r["wd"] == 1.0]
    unavailable = pred.get("d_crit_unavailable") if pred else (task.get("stage2_skipped")
                                                              or "no ungrokking members at wd 1")
    diag = {"d_crit_by_seed": by_wd.get("d_crit_by_seed") or {}, "prediction_unavailable": unavailable,
            "kappa_eff": effective_kappa([d for d, _ in ratios], [r for _, r in ratios], row["beta"]),
            "ratios": [{"d_prime": d, "ratio": r} for d, r in ratios]}
    return row, diag


def fit_slopes(rows: list[dict], per_width: dict) -> dict:
    """log D_crit against log width: measured (every seed's D_crit, OLS) and predicted (WLS by interval)."""
    xs, ys = [], []
    for r in rows:
        for v in per_width[r["width"]]["d_crit_by_seed"].values():
            if v:
                xs.append(r["width"])
                ys.append(v)
    pred = [(r["width"], r["predicted"], theory_eff.log_sd_of_interval([r["predicted_lo"], r["predicted_hi"]],
                                                            dof=r.get("predicted_dof")), r.get("predicted_dof"))
            for r in rows if r["predicted"] and r["predicted_lo"] and r["predicted_hi"]]
    measured = slope_fit(xs, ys)
    dofs = [p[3] for p in pred if p[3]]
    predicted = slope_fit([p[0] for p in pred], [p[1] for p in pred], [p[2] for p in pred],
                          dof=min(dofs) if len(dofs) == len(pred) else None) if len(pred) >= 2 else None
    return {"measured": measured, "predicted": predicted, "widths_measured": len({x for x in xs}),
            "widths_predicted": len(pred)}


def run_continuation(pre: Preset, out: Path, ung: dict, d_crit: float | None, ctx: protocol.Context) -> list[dict]:
    """The continued members at diagnose_width (`ung`: its ungrokking results; each continued member its own
    ensemble under out/w<width>/continue) and their drift."""
    w = pre.diagnose_width
    u, _ = for_width(pre, w)
    specs = continuation_specs(u, ung["rows"], d_crit, pre.continue_factor)
    if not specs:
        return []
    cont_dir = out / f"w{w}" / "continue"
    rows = runner.run(specs, cont_dir, max_members=1, costs=ctx.costs, **ctx.placement())
    result = []
    for spec, r in zip(specs, rows):
        d = drift(cont_dir / "ensembles" / r["ensemble"], 0, spec.member["lr"], spec.member["wd"])
        result.append({"width": w, "d_prime": spec.tags["d_prime"], "seed": spec.member["seed"],
                       "start_step": spec.tags["start_step"], "continued_steps": spec.base.steps,
                       "run_dir": str(Path(f"w{w}") / "continue" / "ensembles" / r["ensemble"]), **d})
    return result


# ----------------------------------------------------------------------------------------------- protocol
class Scaling(protocol.Experiment):
    name = "scaling"
    order = 60
    tables = ("scaling.csv", "circuits.csv", "continuation.csv")
    summary_keys = {"widths": list, "slopes": dict, "per_width": dict, "conclusion": dict}
    columns = ("width", "d_crit", "d_crit_lo", "d_crit_hi", "predicted", "predicted_lo", "predicted_hi", "beta",
               "P_G", "kappa", "members", "unconverged")
    help = ("Beyond the paper: per model width, the ungrokking sweep (D_crit over seeds) and the efficiency sweep "
            "(beta, P_G, kappa), the predicted D_crit from that width's laws, the slope of log D_crit on log width "
            "measured and predicted; and why the networks keep a mixture (continued members' drift, kappa per "
            "circuit and per matrix, an effective kappa from Theorem D.4 case 2).")
    presets = PRESETS
    options = (protocol.Option("widths", str, "Widths (d_model), e.g. 32,48,64,96 (d_mlp 4w, d_head w/4).",
                               field="widths"),
               protocol.Option("p", int, "Modulus (the second axis: one run per p).", field="ungrok.base.p"),
               protocol.Option("task", str, "A Fourier task.", "add", choices=eff_mod.FOURIER_TASKS))

    def settings(self, name: str, opts: dict) -> Preset:
        pre = dataclasses.replace(self.preset(name), task=opts.get("task") or "add", name=name)
        if opts.get("p") is not None:
            u, e = pre.ungrok, pre.efficiency
            pre = dataclasses.replace(pre, ungrok=dataclasses.replace(u, base=u.base.with_(p=opts["p"])),
                                      efficiency=dataclasses.replace(e, base=e.base.with_(p=opts["p"])))
        if opts.get("widths") is not None:
            widths = tuple(sorted(protocol.numbers("widths", opts["widths"], int)))
            pre = dataclasses.replace(pre, widths=widths, diagnose_width=pre.diagnose_width
                                      if pre.diagnose_width in widths else widths[len(widths) // 2])
        check(pre)
        return pre

    def default_out(self, preset: str, pre: Preset) -> Path:
        """runs/neural/scaling-<preset>-<task>, with -p<p> where the modulus is not the preset's."""
        p = pre.ungrok.base.p
        own = self.presets[preset].ungrok.base.p if preset in self.presets else p
        return Path("runs/neural") / (f"scaling-{preset}-{pre.task}" + (f"-p{p}" if p != own else ""))

    def identity(self, pre: Preset) -> dict:
        return protocol.flat({"task": pre.task, "widths": list(pre.widths), "diagnose_width": pre.diagnose_width,
                              "continue_factor": pre.continue_factor,
                              "ungrok": ungrok_mod.EXPERIMENT.identity(pre.ungrok),
                              "efficiency": eff_mod.EXPERIMENT.identity(pre.efficiency)})

    def describe(self, pre: Preset) -> str:
        u, e = for_width(pre, pre.widths[0])
        return (f"task {pre.task}; widths {', '.join(map(str, pre.widths))} (d_mlp 4w); per width: ungrokking "
                f"{describe_model(u.base)}, seeds {','.join(map(str, u.seeds))}, wd 1, {len(u.d_prime_fracs)} D'; "
                f"efficiency memorisation D = {', '.join(map(str, e.mem_sizes))}, seeds {','.join(map(str, e.seeds))}; "
                f"continuation at width {pre.diagnose_width} for {pre.continue_factor:g}x the convergence step")

    def run(self, pre: Preset, out: Path, ctx: protocol.Context = protocol.Context()) -> dict:
        """Every width's sweeps (reused when finished), the comparison per width, the slope fits, the diagnostics;
        writes scaling.csv, circuits.csv and continuation.csv; returns the summary's body."""
        out = Path(out)
        rows, circuits, per_width = [], [], {}
        for w in pre.widths:
            u, e = for_width(pre, w)
            u_dir, e_dir = out / f"w{w}" / "ungrok", out / f"w{w}" / "efficiency"
            for exp, settings, d in ((ungrok_mod.EXPERIMENT, u, u_dir), (eff_mod.EXPERIMENT, e, e_dir)):
                protocol.run_settings(exp, f"{pre.name}@w{w}", settings, d, overwrite=ctx.overwrite, ctx=ctx)
            ung = protocol.read_results(u_dir, "ungrok")
            if w == pre.diagnose_width:
                diagnosed = ung
            eff = protocol.read_results(e_dir, "efficiency")["summary"]
            row, diag = width_row(w, pre, u, ung, eff)
            rows.append(row)
            mine = [{"width": w, **c} for ens in sorted({r["ensemble"] for r in ung["rows"] if r.get("stage") == 2})
                    for c in circuit_homogeneity(u_dir / "ensembles" / ens)]
            circuits += mine
            per_width[w] = {**diag, "ungrok": str(u_dir), "efficiency": str(e_dir),
                            "circuits": summarise_circuits(mine)}
        slopes = fit_slopes(rows, per_width)
        at = next(r for r in rows if r["width"] == pre.diagnose_width)
        continued = run_continuation(pre, out, diagnosed, at["d_crit"], ctx)
        conclusion = conclude(continued, per_width[pre.diagnose_width]["kappa_eff"], at["kappa"], at["d_crit"])
        runner.write_table(rows, out / "scaling.csv")
        runner.write_table(circuits or [{"width": None}], out / "circuits.csv")
        runner.write_table(continued or [{"d_prime": None}], out / "continuation.csv")
        return {"task": pre.task, "widths": rows, "slopes": slopes,
                "per_width": {str(k): v for k, v in per_width.items()},
                "continuation": continued, "conclusion": conclusion,
                "choices": {"width_axis": "d_model w, d_mlp 4w, d_head w / n_heads", "d_crit": "weight decay 1 only",
                            "measured_slope": "OLS of every seed's log D_crit on log width",
                            "predicted_slope": "WLS of log predicted D_crit on log width, weights from its interval",
                            "kappa_eff": "Theorem D.4 case 2 slope of log(o_t/o_m) on log D' with the width's beta; "
                                         "beta's uncertainty left out",
                            "allocation_rule": ALLOCATION_RULE}}

    def lines(self, summary: dict) -> list[str]:
        f = lambda v, fmt=".0f": "n/a" if v is None else format(v, fmt)  # noqa: E731
        out = [f"{'width':>6} {'D_crit [95%]':>22} {'predicted [95%]':>24} {'beta':>7} {'P_G':>7} {'kappa':>6}"]
        for r in summary["widths"]:
            out.append(f"{r['width']:>6} {f(r['d_crit']):>6} [{f(r['d_crit_lo'])}, {f(r['d_crit_hi'])}]".ljust(30)
                       + f" {f(r['predicted']):>6} [{f(r['predicted_lo'])}, {f(r['predicted_hi'])}]".ljust(26)
                       + f" {f(r['beta'], '.3f'):>7} {f(r['P_G'], '.3g'):>7} {f(r['kappa'], '.2f'):>6}")
        for kind in ("measured", "predicted"):
            s = summary["slopes"][kind]
            out.append(f"slope of log D_crit on log width, {kind}: " + (
                f"{s['slope']:.2f} [{s['interval'][0]:.2f}, {s['interval'][1]:.2f}]" if s else "n/a"))
        out.append(f"why a mixture: {summary['conclusion']['supported']}: {summary['conclusion']['text']}")
        return out


EXPERIMENT = protocol.register(Scaling())
