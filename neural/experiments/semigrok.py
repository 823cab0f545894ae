"""Semi-grokking (paper Section 4.3, Appendix B.1, prediction P4): many seeds from random initialisation at
dataset sizes a little above D_crit, run long, then every member's curves classified (neural.experiments.phases).

One ensemble per dataset size (all seeds; members differ only in seed, so nothing is padded), each a run
directory `sweep_dir/D<size>` that train() owns: a stopped sweep resumes where it stopped, and running the same
command with a larger `--steps` extends every finished ensemble (a step cap is not part of a run's identity).
No convergence stopping: a flat memorised plateau can still grok later, so every member runs to the cap and
the classifier says "unsettled" where its test accuracy was still moving.

Classification uses test accuracy on pairs whose mirror (y, x) is not in the training set (`test/acc_no_mirror`):
for a commutative task a memorised (x, y) answers (y, x), which would look like partial generalisation. Plateaus
must span two weight-decay time scales, 2/(lr wd) steps, and so must the final one for a run to count as settled.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rundir
from neural import convergence, train
from neural.config import TrainConfig
from neural.experiments import phases, runner

METRIC = "test/acc_no_mirror"


@dataclass(frozen=True)
class Preset:
    base: TrainConfig  # model, modulus, lr, wd, seeds, step cap (train_size is set per dataset size)
    sizes: tuple[int, ...]  # dataset sizes D (pairs)
    description: str


PRESETS = {
    "cpu": Preset(TrainConfig(p=59, frac=None, train_size=600, d_model=64, n_heads=4, d_head=16, d_mlp=256,
                              lrs=(3e-3,), wds=(3.0,), seeds=tuple(range(8)), steps=4000, eval_points=80,
                              eval_every=50, checkpoint_every=500),
                  sizes=(600, 800, 1000, 1200),
                  description="p=59, d_model 64, lr 3e-3, wd 3 (weight-decay time scale 111 steps); D = 600, 800, "
                              "1,000, 1,200 pairs (2.2-4.4x the cpu ungrokking D_crit of ~270), 8 seeds each from "
                              "random initialisation, 4,000 steps (extend with --steps)"),
    "paper": Preset(TrainConfig(p=113, frac=None, train_size=1000, lrs=(1e-3,), wds=(1.0,), seeds=tuple(range(40)),
                                steps=10_000_000, eval_points=400, checkpoint_every=100_000),
                    sizes=(1000, 1150, 1300, 1450, 1600),
                    description="Appendix B: p=113, lr 1e-3, wd 1; D = 1,000-1,600 (around the Figure 8 range), "
                                "40 seeds each (200 runs), up to 10^7 steps (a GPU job)"),
}


PRESETS["demo"] = Preset(
    PRESETS["cpu"].base.with_(train_size=1100, seeds=(0, 1, 2, 3), steps=2000), sizes=(1100,),
    description="make demo: the cpu preset at D = 1,100 pairs (between its 1,000, mostly memorised, and 1,200, all "
                "grokked), 4 seeds, 2,000 steps: p=59, d_model 64, lr 3e-3, wd 3 (extend with --steps)")


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise ValueError(f"preset={name!r} is unknown: choose from {', '.join(PRESETS)}")
    return PRESETS[name]


def configs(pre: Preset) -> dict[int, TrainConfig]:
    return {D: pre.base.with_(train_size=D) for D in pre.sizes}


def check(pre: Preset) -> None:
    """ValueError naming the first bad setting, before anything runs."""
    if not pre.sizes or len(set(pre.sizes)) != len(pre.sizes):
        raise ValueError(f"sizes={list(pre.sizes)} is not allowed: give distinct dataset sizes")
    for cfg in configs(pre).values():
        cfg.validate()


def run(pre: Preset, sweep_dir: Path, *, progress: bool = True, device: str = "auto",
        allow_device_change: bool = False, executor: str = "local", slurm: dict | None = None,
        wait: bool = True) -> dict:
    """Train (or resume, or extend) one ensemble per size, here or as submitit jobs (runner.train_all; without
    waiting cluster.Pending is raised while jobs run), classify every member, write classes.csv and summary.json;
    returns the summary."""
    sweep_dir = Path(sweep_dir)
    todo = configs(pre)
    runner.train_all([(cfg, sweep_dir / f"D{D}", len(cfg.members())) for D, cfg in todo.items()], sweep_dir,
                     executor=executor, slurm=slurm, wait=wait, progress=progress, device=device,
                     allow_device_change=allow_device_change, done=train.is_done)
    rows = classify_sweep(sweep_dir, todo)
    cols = [c for c in rows[0] if c != "plateaus"]
    rundir.write_csv(sweep_dir / "classes.csv", cols, ([r[c] for c in cols] for r in rows))
    summary = summarise(rows)
    summary.update({"preset": pre.description, "metric": METRIC,
                    "thresholds": {"fit": phases.FIT, "high": phases.HIGH, "low": phases.LOW, "band": phases.BAND,
                                   "min_plateau_steps": "2 / (lr wd)", "settle_steps": "2 / (lr wd)"},
                    "plateaus": {f"D{r['D']}/{r['member']}": r["plateaus"] for r in rows},
                    "cluster": {"executor": executor, "slurm": dict(slurm or {}), "wait": wait}})
    return rundir.write_sweep_summary(sweep_dir, summary)


def member_curves(run_dir: Path) -> dict[int, dict[str, np.ndarray]]:
    """Each member's logged metrics from a run directory's metrics.csv."""
    table = rundir.read_csv(Path(run_dir) / "metrics.csv")
    return {int(e): {k: v[table["member"] == e] for k, v in table.items()} for e in np.unique(table["member"])}


def classify_sweep(sweep_dir: Path, todo: dict[int, TrainConfig]) -> list[dict]:
    rows = []
    for D, cfg in todo.items():
        curves = member_curves(Path(sweep_dir) / f"D{D}")
        for e, m in enumerate(cfg.members()):
            c = curves[e]
            window = 2.0 * convergence.window_steps(m["lr"], m["wd"], cfg.steps)  # finite at wd 0 too
            verdict = phases.classify(c["step"], c["train/acc"], c[METRIC], min_steps=window)
            rows.append({"D": D, "member": e, "seed": m["seed"], "wd": m["wd"], "lr": m["lr"],
                         "class": verdict["class"], "final_level": verdict["final_level"],
                         "settled": verdict["settled"], "fit_step": verdict["fit_step"],
                         "final_test_acc": float(c["test/acc"][-1]), "final_train_acc": float(c["train/acc"][-1]),
                         "final_norm": float(c["norm/total"][-1]), "steps": int(c["step"][-1]),
                         "n_plateaus": len(verdict["plateaus"]), "plateaus": verdict["plateaus"]})
    return rows


def summarise(rows: list[dict]) -> dict:
    """Runs per class, per dataset size, and the clearest semi-grokking run (if the classifier found one)."""
    sizes = sorted({r["D"] for r in rows})
    table = {str(D): {c: sum(r["class"] == c for r in rows if r["D"] == D) for c in phases.CLASSES} for D in sizes}
    total = {c: sum(r["class"] == c for r in rows) for c in phases.CLASSES}
    semi = [r for r in rows if r["class"] == "semi-grokked"]
    clearest = min(semi, key=lambda r: abs(r["final_level"] - 0.5)) if semi else None
    return {"members": len(rows), "by_size": table, "total": total,
            "clearest_semi_grokking": None if clearest is None else {k: clearest[k] for k in ("D", "member", "seed",
                                                                                            "final_level")}}
