"""Semi-grokking (paper Section 4.3, Appendix B.1, prediction P4): many seeds from random initialisation at
dataset sizes a little above D_crit, run long, then every member's curves classified (neural.phases).

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

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import rundir
from neural import convergence, phases, protocol, runner, tasks
from neural.config import CPU_MODEL, PAPER_MODEL, TrainConfig, describe_model
from rundir.lazy import lazy

train = lazy("neural.train")

@dataclass(frozen=True)
class Preset:
    base: TrainConfig  # model, modulus, lr, wd, seeds, step cap (train_size is set per dataset size)
    sizes: tuple[int, ...]  # dataset sizes D (pairs)
    beside: Path | None = None  # an ungrokking sweep its figures are drawn beside (not part of its identity)


CPU = Preset(CPU_MODEL.with_(frac=None, train_size=600, lrs=(3e-3,), wds=(3.0,), seeds=tuple(range(8)), steps=4000,
                             eval_points=80, eval_every=50, checkpoint_every=500),
             sizes=(600, 800, 1000, 1200))  # 2.2-4.4x the cpu ungrokking D_crit (README)
PRESETS = {
    "cpu": CPU,
    "paper": Preset(PAPER_MODEL.with_(frac=None, train_size=1000, seeds=tuple(range(40)), steps=10_000_000,
                                      eval_points=400, checkpoint_every=100_000),
                    sizes=(1000, 1150, 1300, 1450, 1600)),  # around the Figure 8 range (a GPU job)
    # make demo: between the cpu preset's 1,000 (mostly memorised) and 1,200 (all grokked), 4 seeds
    "demo": Preset(CPU.base.with_(train_size=1100, seeds=(0, 1, 2, 3), steps=2000), sizes=(1100,)),
}


def metric(task: str) -> str:
    """The accuracy the classifier reads: on a commutative task a memorised (x, y) answers its mirror (y, x), which
    would look like partial generalisation, so pairs whose mirror was trained are left out there."""
    return "test/acc_no_mirror" if tasks.get_task(task).commutative else "test/acc"


def configs(pre: Preset) -> dict[int, TrainConfig]:
    return {D: pre.base.with_(train_size=D) for D in pre.sizes}


def check(pre: Preset) -> None:
    """ValueError naming the first bad setting, before anything runs."""
    if not pre.sizes or len(set(pre.sizes)) != len(pre.sizes):
        raise ValueError(f"sizes={list(pre.sizes)} is not allowed: give distinct dataset sizes")
    for cfg in configs(pre).values():
        cfg.validate()
    if pre.beside is not None:
        ident = protocol.recorded_identity(pre.beside, "ungrok")
        if ident["experiment"] != "ungrok":
            raise ValueError(f"ungrok={str(pre.beside)!r} holds a {ident['experiment']} experiment, not an ungrokking "
                             f"sweep")


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
            verdict = phases.classify(c["step"], c["train/acc"], c[metric(cfg.task)], min_steps=window)
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


class Semigrok(protocol.Experiment):
    name = "semigrok"
    order = 50
    in_demo = True
    tables = ("classes.csv",)
    summary_keys = {"by_size": dict, "total": dict, "members": int}
    columns = ("D", "member", "seed", "class", "final_level")
    text_columns = ("class",)
    help = ("P4: many seeds from random initialisation a little above D_crit, run long; every run classified "
            "(memorised, grokked, semi-grokked, transient, ungrokked, not fitted, unsettled); Figures 5, 1c, 6 and "
            "the two routes to middling accuracy.")
    presets = PRESETS
    extendable = ("base.steps",)
    options = (protocol.Option("steps", int, "Step cap; a larger one than a finished sweep's extends every run "
                                             "(resume).", field="base.steps"),
               protocol.Option("ungrok", Path, "An ungrokking sweep to draw beside (default runs/neural/"
                                               "ungrok-<preset>-add where it holds one)."))

    def settings(self, name: str, opts: dict) -> Preset:
        pre = self.preset(name)
        if opts.get("steps") is not None:
            pre = dataclasses.replace(pre, base=pre.base.with_(steps=opts["steps"]))
        beside = opts.get("ungrok")
        if beside is None:
            default = Path("runs/neural") / f"ungrok-{name}-add"
            beside = default if (default / "summary.json").is_file() and (default / "config.json").is_file() else None
        pre = dataclasses.replace(pre, beside=beside)
        check(pre)
        return pre

    def default_out(self, preset: str, pre: Preset) -> Path:
        return Path("runs/neural") / f"semigrok-{preset}"

    def identity(self, pre: Preset) -> dict:
        return protocol.flat({"sizes": list(pre.sizes), "base": pre.base.to_dict()})

    def describe(self, pre: Preset) -> str:
        b = pre.base
        return (f"task {b.task}; {describe_model(b)}, wd {'/'.join(f'{w:g}' for w in b.wds)} (weight-decay time scale "
                f"{convergence.window_steps(b.lrs[0], b.wds[0], b.steps):.0f} steps); D = "
                f"{', '.join(f'{D:,}' for D in pre.sizes)} pairs, {len(b.seeds)} seeds each from random "
                f"initialisation, {b.steps:,} steps (extend with --steps)")

    def run(self, pre: Preset, sweep_dir: Path, ctx: protocol.Context = protocol.Context()) -> dict:
        """Train (or resume, or extend) one ensemble per size, here or as submitit jobs (runner.train_all; without
        waiting cluster.Pending is raised while jobs run), classify every member, write classes.csv; returns the
        summary's body."""
        sweep_dir = Path(sweep_dir)
        todo = configs(pre)
        place = ctx.placement()
        runner.train_all([(cfg, sweep_dir / f"D{D}", len(cfg.members())) for D, cfg in todo.items()], sweep_dir,
                         done=train.is_done, **place)
        rows = classify_sweep(sweep_dir, todo)
        cols = [c for c in rows[0] if c != "plateaus"]
        rundir.write_csv(sweep_dir / "classes.csv", cols, ([r[c] for c in cols] for r in rows))
        summary = summarise(rows)
        summary.update({"metric": metric(pre.base.task), "beside": str(pre.beside) if pre.beside else None,
                        "thresholds": {"fit": phases.FIT, "high": phases.HIGH, "low": phases.LOW, "band": phases.BAND,
                                       "min_plateau_steps": "2 / (lr wd)", "settle_steps": "2 / (lr wd)"},
                        "plateaus": {f"D{r['D']}/{r['member']}": r["plateaus"] for r in rows},
                        "cluster": {"executor": ctx.executor, "slurm": dict(ctx.slurm), "wait": ctx.wait}})
        return summary

    def lines(self, summary: dict) -> list[str]:
        classes = [c for c in summary["total"] if summary["total"][c]]
        out = [f"{summary['members']} runs", f"{'D':>6} " + " ".join(f"{c:>14.14}" for c in classes)]
        out += [f"{D:>6} " + " ".join(f"{counts[c]:>14d}" for c in classes) for D, counts in summary["by_size"].items()]
        clear = summary["clearest_semi_grokking"]
        out.append("clearest semi-grokking run: " + (f"D = {clear['D']}, seed {clear['seed']}, level "
                                                      f"{clear['final_level']:.2f}" if clear else "none found"))
        return out


EXPERIMENT = protocol.register(Semigrok())
