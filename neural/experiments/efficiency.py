"""Circuit efficiency (paper Section 4.1, prediction P1, Figure 3) and kappa, measured.

Memorisation-only networks train on random labels (every pair its own random class: nothing to generalise) at
several dataset sizes D; generalisation-only networks train on the true labels at large D and are kept only where
at least 95% of the centred logits' squared norm lies in Appendix C's trigonometric subspace. Every member trains
until it converges (neural.convergence) or hits the step cap. At the end each member gives a triple: the centred
correct-class logit on the labels it trained on (`o`, averaged over its training pairs), its parameter norm `N`,
and D; and its kappa, the local homogeneity degree d log o / d log s of that logit when every parameter is scaled
by s, at s = 1 (exact, by autograd).

The laws, per kind: log N = c + beta log D + gamma log o (least squares, t-intervals): beta is how the norm needed
for a *fixed* logit grows with D (memorisation: P_M(D) ~ D^beta; generalisation: flat, beta ~ 0), and gamma the
cross-member logit-norm slope (1/gamma is a second, confounded kappa: wd and seed move both). Figure 3 draws the
triples and isologit curves (logits bucketed geometrically into six buckets; norm against D per bucket).

Choices the paper leaves open, recorded in the summary: the logit summary (mean centred label logit over the
training pairs), the trigonometric filter as a share of squared norm, random labels drawn per seed over all
pairs (nested D share them), and that memorisation networks are kept whether or not they fit every label.
"""
from __future__ import annotations

import math
import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural import protocol, runner, tasks
from neural.config import CPU_MODEL, PAPER_MODEL, TrainConfig, describe_model
from rundir.lazy import lazy
from theory.penalty import Q_L2

torch, stats, allocation = lazy("torch"), lazy("scipy.stats"), lazy("theory.allocation")
analysis, dataset, inspect_run, model = (lazy(f"neural.{m}") for m in ("analysis", "dataset", "inspect_run", "model"))

FOURIER_TASKS = tuple(t for t, v in tasks.TASKS.items() if v.fourier)  # where Appendix C's filter applies
TRIG_SHARE_MIN = 0.95  # Appendix C: generalisation-only networks keep at least this share in Z_T
BUCKETS = 6  # isologit buckets (geometric in the logit)


@dataclass(frozen=True)
class Preset:
    base: TrainConfig  # model, modulus, lr, convergence
    mem_sizes: tuple[int, ...]  # D (pairs) of the memorisation-only networks
    gen_fracs: tuple[float, ...]  # D as fractions of all pairs for the generalisation-only networks
    wds: tuple[float, ...]
    seeds: tuple[int, ...]
    mem_cap: int  # step caps (members stop earlier at convergence)
    gen_cap: int
    task: str = "add"


CPU = Preset(CPU_MODEL.with_(lrs=(3e-3,), eval_points=40),  # the cpu ungrokking model
             mem_sizes=tuple(int(d) for d in np.geomspace(100, 870, 5).round()), gen_fracs=(0.35, 0.5, 0.7),
             wds=(1.0, 3.0), seeds=(0, 1), mem_cap=3000, gen_cap=3000)
PRESETS = {
    "cpu": CPU,
    "paper": Preset(PAPER_MODEL.with_(eval_points=60),
                    mem_sizes=tuple(int(d) for d in np.geomspace(300, 3000, 7).round()),
                    gen_fracs=(0.3, 0.45, 0.6, 0.8), wds=(0.3, 0.5, 1.0, 2.0), seeds=(0, 1, 2), mem_cap=100_000,
                    gen_cap=100_000),
    # make demo, sized by cost and by what the rules need, fixed before its verdicts were seen (the README explains
    # the design): the cpu model at wd 1 only (the cpu preset's wd-3 memorisers never converged); at least 3 sizes per
    # kind (the P1 rule's minimum), 3 seeds. Re-sized for the second referee's rules (2026-12): generalisation at
    # 50/60/70% of pairs, because the previous demo's 35% (1,218 pairs) generalisers had not converged within the
    # 3,000-step cap (trigonometric shares 0.14-0.36) and left 2 sizes; memorisation over the cpu preset's 4 smallest
    # sizes, 100-507 pairs, so that a predicted D_crit up to 760 is within theory-vs-measurement's 1.5x of the
    # memorisation sizes (the previous demo's 485 lay 1.6x beyond its 300); memorisers get 4,000 steps (at 2,500,
    # half of an earlier demo's had not converged). Re-sized by interval width (2026-12-06), before the run it judges:
    # P1 needs generalisation's 90% interval within +-beta_M/3 (about +-0.11); over a 1.4x span of D with 6 kept
    # members it was +-0.18 (residual sd 0.008); a 1.9x span (50/70/95% of pairs: 95% leaves 174 test pairs, so test
    # accuracy and the convergence rule stay defined) and 4 seeds (the trigonometric filter dropped one member per
    # size) bring it to about +-0.06-0.08 at that scatter.
    "demo": dataclasses.replace(CPU, mem_sizes=CPU.mem_sizes[:4], gen_fracs=(0.5, 0.7, 0.95), wds=(1.0,),
                                seeds=(0, 1, 2, 3), mem_cap=4000),
}


def gen_sizes(pre: Preset) -> list[int]:
    """The generalisation sizes D in pairs."""
    return sorted({tasks.pairs_from_fraction(f, pre.task, pre.base.p) for f in pre.gen_fracs})


def specs(pre: Preset) -> list[runner.Spec]:
    """Memorisation members (random labels, nested D in one split per seed) and generalisation members."""
    task = pre.task
    mem = pre.base.with_(task=task, frac=None, train_size=max(pre.mem_sizes), random_labels=True, steps=pre.mem_cap,
                         converge=True)
    gen = pre.base.with_(task=task, frac=None, train_size=max(gen_sizes(pre)), steps=pre.gen_cap, converge=True)
    out = []
    for base, kind, sizes in ((mem, "mem", sorted(set(pre.mem_sizes))), (gen, "gen", gen_sizes(pre))):
        for seed in pre.seeds:
            for wd in pre.wds:
                for D in sizes:
                    member = {"seed": seed, "wd": wd, "lr": base.lrs[0], **({"subset": D} if D < max(sizes) else {})}
                    out.append(runner.Spec(base, member, {"kind": kind, "D": D}))
    return out


def check(pre: Preset) -> None:
    """ValueError naming the first bad setting, before anything runs."""
    if not tasks.get_task(pre.task).fourier:
        raise ValueError(f"task={pre.task!r} is not allowed: the trigonometric filter (Appendix C) needs "
                         f"{', '.join(FOURIER_TASKS)}")
    n = tasks.n_pairs(pre.task, pre.base.p)
    if max(pre.mem_sizes) > n or min(pre.mem_sizes) < 1:
        raise ValueError(f"mem_sizes={list(pre.mem_sizes)} is not allowed: sizes must lie in [1, {n}]")
    for s in specs(pre):
        s.base.with_(member_specs=(s.member,)).validate()


def measure(sweep_dir: Path, rows: list[dict]) -> list[dict]:
    """Per member, from its ensemble's final checkpoint: the centred label logit on its trained labels, the
    parameter norm, the trigonometric share of its logits and kappa. Rows gain those columns."""
    out = []
    for ens in sorted({r["ensemble"] for r in rows}):
        params, cfg, mcfg = inspect_run.load_run(Path(sweep_dir) / "ensembles" / ens)
        data = dataset.Data(cfg, torch.device("cpu"))
        with torch.no_grad():
            Z = model.forward(params, mcfg, data.tokens)  # (E, N, C)
        share = analysis.trig_share(Z, data.answer, data.n)
        kappa, logit = analysis.homogeneity_degree(params, lambda ps: label_logit(ps, mcfg, data))
        norm = model.param_norm(params)
        for r in (r for r in rows if r["ensemble"] == ens):
            e = r["member"]
            row = {**r, "label_logit": float(logit[e]), "norm": float(norm[e]), "trig_share": float(share[e]),
                   "kappa": float(kappa[e])}
            out.append({**row, "kept": kept(row)})
    return out


def label_logit(params: dict[str, torch.Tensor], mcfg: model.ModelConfig, data: dataset.Data) -> torch.Tensor:
    """Each member's correct-class logit minus its mean logit, averaged over its own training pairs, (E,)."""
    Z = model.forward(params, mcfg, data.train_tokens)  # (E, D, C)
    centred = Z.gather(2, data.train_labels[..., None])[..., 0] - Z.mean(2)
    return (centred * data.train_weight).sum(1)


def kept(row: dict) -> bool:
    """Memorisation members are all kept; generalisation members only with >= 95% trigonometric share."""
    return row["kind"] == "mem" or row["trig_share"] >= TRIG_SHARE_MIN


def fit_law(D: np.ndarray, norm: np.ndarray, logit: np.ndarray, confidence: float = 0.95) -> dict | None:
    """log N = c + beta log D + gamma log o by least squares; t-intervals (n - 3 degrees of freedom). None with
    fewer than 4 points, fewer than 2 distinct D, or a non-positive logit."""
    D, norm, logit = (np.asarray(v, dtype=float) for v in (D, norm, logit))
    if len(D) < 4 or len(np.unique(D)) < 2 or (logit <= 0).any() or (norm <= 0).any():
        return None
    X = np.column_stack([np.ones_like(D), np.log(D), np.log(logit)])
    y = np.log(norm)
    coef, *_ = np.linalg.lstsq(X, y, rcond=None)
    resid = y - X @ coef
    dof = len(D) - 3
    sigma2 = float(resid @ resid) / dof if dof > 0 else float("nan")
    cov = sigma2 * np.linalg.pinv(X.T @ X)
    t = stats.t.ppf(0.5 + confidence / 2, dof) if dof > 0 else float("nan")
    se = np.sqrt(np.diag(cov))
    return {"c": float(coef[0]), "beta": float(coef[1]), "gamma": float(coef[2]),
            "beta_interval": [float(coef[1] - t * se[1]), float(coef[1] + t * se[1])],
            "gamma_interval": [float(coef[2] - t * se[2]), float(coef[2] + t * se[2])],
            "cov": cov.tolist(), "n": len(D), "residual_sd": math.sqrt(sigma2) if dof > 0 else None}


def _fit_rows(rows: list[dict]) -> dict | None:
    return fit_law([r["D"] for r in rows], [r["norm"] for r in rows], [r["label_logit"] for r in rows])


def leave_one_out(rows: list[dict]) -> list[dict]:
    """The law refitted with each member left out in turn: {"left_out": "seed/wd/D", "law"} per member (law None
    where too few points remain); how much one member moves beta, and so D_crit."""
    out = []
    for k, r in enumerate(rows):
        law = _fit_rows(rows[:k] + rows[k + 1:])
        out.append({"left_out": f"seed {r['seed']}, wd {r['wd']:g}, D {r['D']}", "law": law})
    return out


def isologit_curves(rows: list[dict], buckets: int = BUCKETS) -> list[dict]:
    """Logits bucketed geometrically into `buckets` buckets; per bucket, mean norm against D."""
    logits = np.array([r["label_logit"] for r in rows])
    if len(rows) == 0 or (logits <= 0).any():
        return []
    edges = np.geomspace(logits.min(), logits.max() * (1 + 1e-9), buckets + 1)
    curves = []
    for b in range(buckets):
        mine = [r for r in rows if edges[b] <= r["label_logit"] < edges[b + 1]]
        Ds = sorted({r["D"] for r in mine})
        curves.append({"logit_range": [float(edges[b]), float(edges[b + 1])], "D": Ds,
                       "norm": [float(np.mean([r["norm"] for r in mine if r["D"] == D])) for D in Ds],
                       "count": [sum(r["D"] == D for r in mine) for D in Ds]})
    return curves


def summarise(rows: list[dict]) -> dict:
    """The laws, kappa per kind with Theorem D.4's case at q = 2, the isologit curves and what was dropped. Only
    kept members that converged (and have a positive logit) enter the fits: the triples are taken at convergence."""
    out = {"kinds": {}}
    for kind in ("mem", "gen"):
        mine = [r for r in rows if r["kind"] == kind]
        keep = [r for r in mine if kept(r)]
        positive = [r for r in keep if r["label_logit"] > 0 and r["converged"]]  # triples at convergence only
        law = _fit_rows(positive)
        if law:
            law["sizes"] = sorted({r["D"] for r in positive})
            law["leave_one_out"] = leave_one_out(positive)
        # sensitivity to the convergence cut: the same fit with the kept members that hit the cap unconverged
        late = [r for r in keep if r["label_logit"] > 0]
        law_all = _fit_rows(late) if len(late) > len(positive) else None
        kappas = np.array([r["kappa"] for r in positive])
        k_mean = float(kappas.mean()) if len(kappas) else None
        out["kinds"][kind] = {
            "members": len(mine), "kept": len(keep), "dropped": len(mine) - len(keep),
            "dropped_by_size": {str(D): n for D in sorted({r["D"] for r in mine})
                                if (n := sum(r["D"] == D and not kept(r) for r in mine))},
            "dropped_reason": f"trigonometric share < {TRIG_SHARE_MIN}" if kind == "gen" else None,
            "unconverged": sum(not r["converged"] for r in keep), "fitted": len(positive),
            "non_positive_logit": sum(r["label_logit"] <= 0 for r in keep),
            "law": law, "law_with_unconverged": law_all,
            "kappa": {"mean": k_mean, "sd": float(kappas.std(ddof=1)) if len(kappas) > 1 else None,
                      "min": float(kappas.min()) if len(kappas) else None,
                      "max": float(kappas.max()) if len(kappas) else None,
                      "d4_case_q2": allocation.case_of(k_mean, Q_L2) if k_mean else None},
            "isologit": isologit_curves(positive),
            "trig_share_range": [float(min(r["trig_share"] for r in mine)), float(max(r["trig_share"] for r in mine))]
            if mine else None,
        }
    return out


class Efficiency(protocol.Experiment):
    name = "efficiency"
    order = 20
    in_demo = True
    tables = ("members.csv",)
    summary_keys = {"kinds": dict}
    columns = ("kind", "D", "seed", "wd", "norm", "label_logit", "kappa", "kept", "converged")
    text_columns = runner.TEXT_COLUMNS + ("kind",)
    help = ("P1, Figure 3 and kappa: memorisation-only (random labels) and generalisation-only networks at several "
            "D and weight decays, trained to convergence; fits the norm needed for a fixed logit against D per "
            "circuit and measures kappa (the logit's homogeneity degree under scaling all parameters).")
    presets = PRESETS
    options = (protocol.Option("task", str, "A Fourier task (the trigonometric filter needs one).", "add",
                               choices=FOURIER_TASKS),
               protocol.Option("steps", int, "Step cap of every member, both kinds (they stop earlier at "
                                             "convergence).", field="mem_cap"))

    def settings(self, name: str, opts: dict) -> Preset:
        pre = dataclasses.replace(self.preset(name), task=opts.get("task") or "add")
        if opts.get("steps") is not None:
            pre = dataclasses.replace(pre, mem_cap=opts["steps"], gen_cap=opts["steps"])
        check(pre)
        return pre

    def identity(self, pre: Preset) -> dict:
        return protocol.flat({"task": pre.task, "mem_sizes": list(pre.mem_sizes), "gen_fracs": list(pre.gen_fracs),
                              "wds": list(pre.wds), "seeds": list(pre.seeds), "mem_cap": pre.mem_cap,
                              "gen_cap": pre.gen_cap, "base": pre.base.to_dict()})

    def describe(self, pre: Preset) -> str:
        """The preset in words, from its fields."""
        return (f"task {pre.task}; {describe_model(pre.base)}; memorisation (random labels) D = "
                f"{', '.join(map(str, sorted(pre.mem_sizes)))} (cap {pre.mem_cap:,} steps); generalisation D = "
                f"{', '.join(map(str, gen_sizes(pre)))} (cap {pre.gen_cap:,}); wd "
                f"{'/'.join(f'{w:g}' for w in pre.wds)}, seeds {','.join(map(str, pre.seeds))}")

    def run(self, pre: Preset, sweep_dir: Path, ctx: protocol.Context = protocol.Context()) -> dict:
        """Train (or reuse) every member, measure, write members.csv; returns the summary's body. Without waiting (a
        submitit executor) cluster.Pending is raised while jobs run."""
        sweep_dir = Path(sweep_dir)
        rows = measure(sweep_dir, runner.run(specs(pre), sweep_dir, costs=ctx.costs, **ctx.placement()))
        runner.write_table(rows, sweep_dir / "members.csv")
        return {**summarise(rows), "task": pre.task,
                "choices": {"logit": "mean over the member's training pairs of (label logit - mean logit over classes)",
                            "kappa": "d log o / d log s at s = 1, all parameters scaled by s (autograd)",
                            "trig_filter": f"generalisation kept where ||Z_T||^2 / ||Z||^2 >= {TRIG_SHARE_MIN} "
                                           "(centred logits, all pairs)",
                            "law": "log N = c + beta log D + gamma log o, least squares, 95% t-intervals; "
                                   "refitted leaving each member out, and with the unconverged members",
                            "random_labels": "per seed over all pairs; nested D share them"},
                "cluster": {"executor": ctx.executor, "slurm": dict(ctx.slurm), "wait": ctx.wait}}

    def lines(self, summary: dict) -> list[str]:
        out = []
        for kind, k in summary["kinds"].items():
            law, kap = k["law"], k["kappa"]
            drop = f", {k['dropped']} dropped ({k['dropped_reason']})" if k["dropped"] else ""
            out.append(f"{kind}: {k['kept']} of {k['members']} kept{drop}; {k['unconverged']} unconverged at the "
                       f"cap (left out of the fits); {k['fitted']} fitted")
            if law:
                lo, hi = law["beta_interval"]
                out.append(f"  norm at fixed logit ∝ D^{law['beta']:.3f} [95%: {lo:.3f}, {hi:.3f}]; logit slope "
                           f"gamma {law['gamma']:.3f} (n = {law['n']}, sizes "
                           f"{', '.join(str(D) for D in law['sizes'])})")
                betas = [e["law"]["beta"] for e in law["leave_one_out"] if e["law"]]
                if betas:
                    out.append(f"  beta leaving one member out: {min(betas):.3f} to {max(betas):.3f} ({len(betas)} "
                               "refits)" + (f"; with the unconverged: {k['law_with_unconverged']['beta']:.3f}"
                                            if k["law_with_unconverged"] else ""))
            else:
                out.append("  no law fitted (needs >= 4 members with positive logits at >= 2 sizes)")
            if kap["mean"] is not None:
                out.append(f"  kappa {kap['mean']:.3f} (sd {kap['sd'] or 0:.3f}, range {kap['min']:.3f}-"
                           f"{kap['max']:.3f}); Theorem D.4 case {kap['d4_case_q2']} at q = {Q_L2:g}")
        return out


EXPERIMENT = protocol.register(Efficiency())
