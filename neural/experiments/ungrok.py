"""Ungrokking (paper Section 4.2, Figures 1b, 4, 8, 9): grokked parents continued on nested subsets D' < D.

Stage 1 trains parents (one per seed) on a large training split until they generalise. Stage 2 continues
every parent, for every weight decay, on nested subsets D' of its own training split (a geometric grid), until
convergence (neural.convergence) or a step cap. Test accuracy is measured on the pairs outside D' (`test/acc`,
the paper's), and beside it on pairs never trained in either stage (`test/acc_unseen`) and on test pairs whose
mirror (y, x) is not in D' (`test/acc_no_mirror`: for commutative tasks a memorised (x, y) answers (y, x)).

Choices the paper leaves open, recorded in the sweep's summary: what is reset when a child starts from its
parent (TrainConfig.reset_on_init: AdamW's moments and step counter, as for a fresh run); the parents' weight
decay (1.0, the paper's default) and step count; D_crit of a seed is where its test accuracy first crosses 1/2
going up the D' grid (log-linear interpolation between grid points); its interval over seeds is a t-interval of
log D_crit (with fewer than 2 seeds, none).
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

import rundir
from neural import tasks
from neural.config import TrainConfig
from neural.experiments import runner

MULTITASK = ("add", "sub", "mul", "x2y2", "x2xyy2", "x3xy", "s5")


@dataclass(frozen=True)
class Preset:
    base: TrainConfig  # model, modulus, the parents' training split (frac) and lr
    parent_steps: int  # stage 1 steps
    parent_wd: float  # stage 1 weight decay
    child_cap: int  # stage 2 step cap (members stop earlier at convergence)
    wds: tuple[float, ...]  # stage 2 weight decays
    seeds: tuple[int, ...]
    d_prime: tuple[float, ...]  # stage 2 sizes as fractions of all pairs (geometric)
    description: str


PRESETS = {
    "cpu": Preset(TrainConfig(p=59, frac=0.5, d_model=64, n_heads=4, d_head=16, d_mlp=256, lrs=(3e-3,), eval_points=60),
                  parent_steps=1500, parent_wd=1.0, child_cap=6000, wds=(1.0, 2.0, 3.0), seeds=(0, 1, 2),
                  d_prime=tuple(np.geomspace(0.04, 0.25, 6).round(4)),
                  description="p=59, d_model 64, lr 3e-3; parents 1,500 steps on 50% of pairs at wd 1; children on "
                              "6 geometric D' in [4%, 25%] of pairs, wd 1/2/3, 3 seeds, cap 6,000 steps"),
    "paper": Preset(TrainConfig(p=113, frac=0.3, eval_points=100), parent_steps=20_000, parent_wd=1.0,
                    child_cap=100_000, wds=(0.3, 1.0, 3.0), seeds=tuple(range(10)),
                    d_prime=tuple((np.geomspace(390, 1494, 7) / 113**2).round(5)),
                    description="Appendix B: p=113, parents 20,000 steps on 30% of pairs; children on 7 geometric "
                                "D' in [390, 1494] (Figure 8), wd 0.3/1/3, 10 seeds, cap 100,000 steps (a GPU job)"),
}


MULTITASK_CPU = dataclasses.replace(
    PRESETS["cpu"], seeds=(0,), wds=(1.0, 3.0), parent_steps=2000, child_cap=4000,
    description="multitask at the cpu size: p=59 (S5: 120 elements), d_model 64, lr 3e-3; parents 2,000 steps on "
                "50% of pairs; children on 6 geometric D' in [4%, 25%] of pairs, wd 1/3, seed 0, cap 4,000 steps")

# make demo: the cpu preset's 4 middle D' (201-603 pairs, where its transition is), wd 1/3, and 3 seeds: with one
# seed neither D_crit nor the weight-decay comparison (P3) has an interval; 3 is the least that gives a t-interval
# with 2 degrees of freedom (2 seeds would give 1: t = 12.7)
PRESETS["demo"] = dataclasses.replace(
    PRESETS["cpu"], seeds=(0, 1, 2), wds=(1.0, 3.0), d_prime=PRESETS["cpu"].d_prime[1:5],
    description="make demo: the cpu preset with seeds 0-2, wd 1/3 and the 4 middle D' of its grid (201-603 pairs); "
                "p=59, d_model 64, lr 3e-3; parents 1,500 steps on 50% of pairs; cap 6,000 steps")

GENERALISED = 0.95  # a parent generalised when its test accuracy reaches this; else its task has no stage 2


def preset(name: str, multitask: bool = False) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is unknown: choose from {', '.join(PRESETS)}")
    return MULTITASK_CPU if multitask and name == "cpu" else PRESETS[name]


def d_prime_sizes(pre: Preset, task: str) -> list[int]:
    """The D' grid in pairs for `task` (fractions of its pairs; at least 1, distinct, within the split)."""
    n = tasks.n_pairs(task, pre.base.p)
    top = round(pre.base.frac * n)
    return sorted({min(top, max(1, round(f * n))) for f in pre.d_prime})


def parent_specs(pre: Preset, task: str) -> list[runner.Spec]:
    base = pre.base.with_(task=task, steps=pre.parent_steps)
    return [runner.Spec(base, {"seed": s, "wd": pre.parent_wd, "lr": base.lrs[0]}, {"task": task, "stage": 1})
            for s in pre.seeds]


def child_specs(pre: Preset, task: str, sweep_dir: Path, parents: list[dict]) -> list[runner.Spec]:
    base = pre.base.with_(task=task, steps=pre.child_cap, converge=True)
    specs = []
    for parent in parents:
        source = {"parent": str(Path(sweep_dir) / "ensembles" / parent["ensemble"]), "parent_member": int(parent["member"])}
        for wd in pre.wds:
            for D in d_prime_sizes(pre, task):
                member = {"seed": int(parent["seed"]), "wd": wd, "lr": base.lrs[0], "subset": D, **source}
                specs.append(runner.Spec(base, member, {"task": task, "stage": 2, "d_prime": D}))
    return specs


def check(pre: Preset, task_names: list[str], executor: str = "local") -> None:
    """ValueError naming the first bad setting, before anything runs: every parent and child configuration."""
    if executor not in runner.EXECUTORS:
        raise ValueError(f"executor={executor!r} is unknown: choose from {', '.join(runner.EXECUTORS)}")
    for name, values in (("seeds", pre.seeds), ("wd", pre.wds), ("d_prime", pre.d_prime)):
        if not values:
            raise ValueError(f"{name} is empty: give at least one value")
        if len(set(values)) != len(values):
            raise ValueError(f"{name}={','.join(map(str, values))} repeats a value")
    for task in task_names:
        tasks.get_task(task)
        for spec in parent_specs(pre, task):
            spec.base.with_(member_specs=(spec.member,)).validate()
        members = tuple({"seed": s, "wd": w, "lr": pre.base.lrs[0], "subset": D}
                        for s in pre.seeds for w in pre.wds for D in d_prime_sizes(pre, task))
        pre.base.with_(task=task, steps=pre.child_cap, converge=True, member_specs=members).validate()


def run(pre: Preset, task_names: list[str], sweep_dir: Path, *, executor: str = "local", progress: bool = True,
        device: str = "auto", allow_device_change: bool = False, slurm: dict | None = None,
        wait: bool = True) -> dict:
    """Both stages for every task; writes results.csv and summary.json in `sweep_dir`; returns the summary.
    Without waiting (a submitit executor) cluster.Pending is raised while a stage's jobs run."""
    place = {"device": device, "allow_device_change": allow_device_change, "slurm": slurm, "wait": wait}
    sweep_dir = Path(sweep_dir)
    rows, skipped = [], {}
    for task in task_names:
        parents = runner.run(parent_specs(pre, task), sweep_dir, executor=executor, progress=progress, **place)
        rows += parents
        failed = [r for r in parents if not (r["test/acc"] or 0) >= GENERALISED]
        if failed:  # a child of a parent that never generalised has nothing to ungrok
            accs = ", ".join(f"{r['test/acc']:.3f}" for r in failed)
            skipped[task] = (f"no stage 2: parent(s) of seed {', '.join(str(r['seed']) for r in failed)} reached "
                             f"test accuracy {accs} < {GENERALISED} after {pre.parent_steps} steps")
            continue
        rows += runner.run(child_specs(pre, task, sweep_dir, parents), sweep_dir, executor=executor,
                           progress=progress, **place)
    runner.write_table(rows, sweep_dir / "results.csv")
    summary = {"tasks": {t: {**summarise([r for r in rows if r["task"] == t]), "stage2_skipped": skipped.get(t)}
                         for t in task_names},
               "choices": {"reset_on_init": list(pre.base.reset_on_init), "parent_wd": pre.parent_wd,
                           "parent_steps": pre.parent_steps, "child_cap": pre.child_cap,
                           "d_crit": "first upward crossing of test acc 1/2 along D', log-linear interpolation; "
                                     "interval: t-interval of log D_crit over seeds",
                           "convergence": f"neural.convergence: trend over the last {pre.base.converge_windows} "
                                          "windows of 1/(lr wd) steps; test acc drift (+2 se) within "
                                          f"{pre.base.converge_acc_drift} per window, train loss within "
                                          f"{pre.base.converge_loss_drift:.0%} per window"},
               "preset": pre.description,
               "cluster": {"executor": executor, "slurm": dict(slurm or {}), "wait": wait}}
    return rundir.write_sweep_summary(sweep_dir, summary)


def crossing(D: np.ndarray, acc: np.ndarray, level: float = 0.5) -> float | None:
    """The first D where `acc` crosses `level` from below going up the (ascending) grid, interpolated linearly
    in log D; None if it never does (all above: D_crit below the grid; all below: above it)."""
    D, acc = np.asarray(D, dtype=float), np.asarray(acc, dtype=float)
    for k in range(1, len(D)):
        if acc[k - 1] < level <= acc[k]:
            t = (level - acc[k - 1]) / (acc[k] - acc[k - 1])
            return float(np.exp(np.log(D[k - 1]) + t * (np.log(D[k]) - np.log(D[k - 1]))))
    return None


def interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """t-interval of the geometric mean of positive values (None with fewer than 2)."""
    if len(values) < 2:
        return None
    logs = np.log(values)
    half = stats.t.ppf(0.5 + confidence / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))


def summarise(rows: list[dict], metric: str = "test/acc") -> dict:
    """Per weight decay: test accuracy at convergence against D', D_crit per seed and over seeds; the spread
    between the weight-decay curves (P3); train accuracy, mirror accuracies, unconverged members (P2)."""
    parents = [r for r in rows if r.get("stage") == 1]
    children = [r for r in rows if r.get("stage") == 2]
    out = {"parents": [{"seed": r["seed"], "test_acc": r["test/acc"], "train_acc": r["train/acc"]} for r in parents],
           "parents_generalised": all((r["test/acc"] or 0) >= GENERALISED for r in parents), "by_wd": {}}
    wds = sorted({r["wd"] for r in children})
    Ds = sorted({r["d_prime"] for r in children})
    curves = {}
    for wd in wds:
        mine = [r for r in children if r["wd"] == wd]
        seeds = sorted({r["seed"] for r in mine})
        table = {s: {r["d_prime"]: r for r in mine if r["seed"] == s} for s in seeds}
        per_seed = {}
        for s in seeds:
            grid = [D for D in Ds if D in table[s]]
            per_seed[s] = {m: crossing(grid, [table[s][D][m] for D in grid])
                           for m in (metric, "test/acc_unseen", "test/acc_no_mirror")}
        mean = [float(np.mean([table[s][D][metric] for s in seeds if D in table[s]])) for D in Ds]
        curves[wd] = np.array(mean)
        found = [v[metric] for v in per_seed.values() if v[metric] is not None]
        out["by_wd"][str(wd)] = {
            "d_prime": Ds, "mean_test_acc": mean,
            "test_acc_by_seed": {str(s): [table[s][D][metric] if D in table[s] else None for D in Ds] for s in seeds},
            "mean_test_acc_unseen": [float(np.mean([table[s][D]["test/acc_unseen"] for s in seeds if D in table[s]])) for D in Ds],
            "mean_test_acc_no_mirror": [float(np.mean([table[s][D]["test/acc_no_mirror"] for s in seeds if D in table[s]])) for D in Ds],
            "d_crit_by_seed": {str(s): v[metric] for s, v in per_seed.items()},
            "d_crit_unseen_by_seed": {str(s): v["test/acc_unseen"] for s, v in per_seed.items()},
            "d_crit_no_mirror_by_seed": {str(s): v["test/acc_no_mirror"] for s, v in per_seed.items()},
            "d_crit": float(np.exp(np.mean(np.log(found)))) if found else None,
            "d_crit_interval": interval(found),
            "seeds_without_crossing": [s for s, v in per_seed.items() if v[metric] is None],
            "min_train_acc": min(r["train/acc"] for r in mine),
            "unconverged": [{"seed": r["seed"], "d_prime": r["d_prime"], "steps": r["steps_run"]}
                            for r in mine if not r["converged"]],
        }
    if len(curves) >= 2:
        stack = np.stack(list(curves.values()))
        crits = [v["d_crit"] for v in out["by_wd"].values() if v["d_crit"] is not None]
        out["wd_spread"] = {"max_acc_gap": float((stack.max(0) - stack.min(0)).max()),
                            "mean_acc_gap": float((stack.max(0) - stack.min(0)).mean()),
                            "d_crit_ratio_max_min": float(max(crits) / min(crits)) if len(crits) >= 2 else None}
    return out
