"""Ungrokking (paper Section 4.2, Figures 1b, 4, 8, 9): grokked parents continued on nested subsets D' < D.

Stage 1 trains parents (one per seed) on a large training split until they generalise. Stage 2 continues
every parent, for every weight decay, on nested subsets D' of its own training split (a geometric grid), until
convergence (neural.convergence) or a cap counted in weight-decay windows 1/(lr wd), so that every weight decay
gets the same training time on the scale its dynamics run on (a cap in steps gives wd 3 three times wd 1's
windows, and the weight-decay comparison, P3, a bias that depends on the very variable it is about). Test
accuracy is measured on the pairs outside D' (`test/acc`, the paper's), and beside it on pairs never trained in
either stage (`test/acc_unseen`) and on test pairs whose mirror (y, x) is not in D' (`test/acc_no_mirror`: for
commutative tasks a memorised (x, y) answers (y, x)).

Choices the paper leaves open, recorded in the sweep's summary: what is reset when a child starts from its
parent (TrainConfig.reset_on_init: AdamW's moments and step counter, as for a fresh run); the parents' weight
decay (1.0, the paper's default) and step count; D_crit of a seed is where its test accuracy first crosses 1/2
going up the D' grid (log-linear interpolation between grid points); its interval over seeds is a t-interval of
log D_crit (with fewer than 2 seeds, none). A seed's D_crit is "at convergence" only when both members whose D'
bracket its crossing converged (`bracket_converged_by_seed`). The transition's width per seed is the ratio of the
D' where its accuracy crosses 0.9 to where it crosses 0.1 (log-linear interpolation, as for D_crit), on the test
pairs and on the test pairs whose mirror is not in D'.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neural import convergence, protocol, runner, tasks
from neural.search import crossing, upward_index
from neural.config import ADAM_EPS, CPU_MODEL, PAPER_MODEL, TrainConfig, describe_model
from rundir.lazy import lazy

stats = lazy("scipy.stats")

CHILD_PRECISIONS = ("float32", "float64")  # the exact numerics and the control (tf32, bf16 are speed-ups, not controls)
MULTITASK = ("add", "sub", "mul", "x2y2", "x2xyy2", "x3xy", "s5")


@dataclass(frozen=True)
class Preset:
    base: TrainConfig  # model, modulus, the parents' training split (frac) and lr
    parent_steps: int  # stage 1 steps
    parent_wd: float  # stage 1 weight decay
    child_windows: float  # stage 2 cap in windows of 1/(lr wd) steps (members stop earlier at convergence)
    wds: tuple[float, ...]  # stage 2 weight decays
    seeds: tuple[int, ...]
    d_prime_fracs: tuple[float, ...]  # stage 2 sizes as fractions of all pairs (geometric); in pairs: d_prime_sizes
    tasks: tuple[str, ...] = ("add",)
    child_precision: str = "float32"  # stage 2's numerics ("float64": the numerics control; the parents stay float32)
    long_control: bool = False  # also train, to the cap without stopping, each parent on its own split and the
    # largest-D' children (stage 3): the long-training control


# the cap: 18 windows, what the former cap of 6,000 steps gave wd 1 (the same cost there; wd 2 and 3 now stop at
# 3,000 and 2,000 steps where they had 36 and 54 windows)
CPU = Preset(CPU_MODEL.with_(lrs=(3e-3,), eval_points=60), parent_steps=1500, parent_wd=1.0, child_windows=18,
             wds=(1.0, 2.0, 3.0), seeds=(0, 1, 2), d_prime_fracs=tuple(np.geomspace(0.04, 0.25, 6).round(4)))
PRESETS = {
    "cpu": CPU,
    # Appendix B; the D' grid is Figure 8's, 390-1,494 pairs of 113^2 (a GPU job)
    "paper": Preset(PAPER_MODEL.with_(eval_points=100), parent_steps=20_000, parent_wd=1.0, child_windows=100,
                    wds=(0.3, 1.0, 3.0), seeds=tuple(range(10)),
                    d_prime_fracs=tuple((np.geomspace(390, 1494, 7) / 113**2).round(5))),
    # make demo: wd 1/3 and 3 seeds (with one seed neither D_crit nor the weight-decay comparison, P3, has an
    # interval; 3 is the least that gives a t-interval with 2 degrees of freedom). Re-sized for the second referee's
    # rules (2026-12), before any run they judge: the cpu grid's 5 smallest D' (139-603), because P2's width needs
    # every seed's curve below 0.1 at the low end and at 201 the cpu run's means were 0.08-0.10; a cap of 30 windows
    # (10,000 steps at wd 1, 3,334 at wd 3), because at 18 windows the previous demo's wd-1 members beside the
    # crossing had not converged and P2 and P3 judge only converged crossings. Re-sized again by cost (2026-12-06),
    # before the run it judges: at 30 windows the members at D' = 290, beside every seed's crossing, were still
    # falling 0.005-0.007 per window (wd 1 seed 0, wd 3 seeds 0 and 1); exponential fits to their curves put the
    # slope under 0.003 per window at 23-60 windows. A window costs 1/(lr wd) steps, so weight decays 3 and 9 (the same
    # 3x ratio) at 90 windows cost what wd 1 and 3 at 30 did (10,000 and 3,334 steps) with 3x the training time.
    "demo": dataclasses.replace(CPU, seeds=(0, 1, 2), wds=(3.0, 9.0), d_prime_fracs=CPU.d_prime_fracs[:5],
                                child_windows=90),
}
# Figure 9 at the cpu size: every task, one seed, wd 1/3, and the parents longer (the harder tasks need them)
MULTITASK_CPU = dataclasses.replace(CPU, seeds=(0,), wds=(1.0, 3.0), parent_steps=2000, child_windows=12)

# identity fields added after sweeps were first written, with the value a sweep recorded without them ran at
IDENTITY_DEFAULTS = {"base.adam_eps": ADAM_EPS, "child_precision": "float32", "long_control": False}

GENERALISED = CPU_MODEL.grok_threshold  # a parent generalised when its test accuracy reaches this; else no stage 2


def d_prime_sizes(pre: Preset, task: str) -> list[int]:
    """The D' grid in pairs for `task` (fractions of its pairs; at least 1, distinct, within the split)."""
    top = pre.base.with_(task=task).train_pairs()
    return sorted({min(top, tasks.pairs_from_fraction(f, task, pre.base.p)) for f in pre.d_prime_fracs})


def parent_specs(pre: Preset, task: str) -> list[runner.Spec]:
    base = pre.base.with_(task=task, steps=pre.parent_steps)
    return [runner.Spec(base, {"seed": s, "wd": pre.parent_wd, "lr": base.lrs[0]}, {"task": task, "stage": 1})
            for s in pre.seeds]


def child_steps(pre: Preset, wd: float) -> int:
    """The stage-2 step cap of weight decay `wd`: child_windows windows of 1/(lr wd) steps."""
    return convergence.cap_steps(pre.child_windows, pre.base.lrs[0], wd)


def child_specs(pre: Preset, task: str, parents: list[dict]) -> list[runner.Spec]:
    specs = []
    for parent in parents:
        # the parent by its directory's name: a sibling of the child's under ensembles/ (train resolves it there)
        source = {"parent": parent["ensemble"], "parent_member": int(parent["member"])}
        for wd in pre.wds:
            base = pre.base.with_(task=task, steps=child_steps(pre, wd), converge=True, precision=pre.child_precision)
            for D in d_prime_sizes(pre, task):
                member = {"seed": int(parent["seed"]), "wd": wd, "lr": base.lrs[0], "subset": D, **source}
                specs.append(runner.Spec(base, member, {"task": task, "stage": 2, "d_prime": D}))
    return specs


def long_specs(pre: Preset, task: str, parents: list[dict]) -> list[runner.Spec]:
    """The long-training control (stage 3): for every parent and weight decay, a member on the parent's own
    split (D' = D) and one on the largest D', each trained to the cap with no convergence stop: as long as the
    longest-running children. Ungrokking is confounded if these lose test accuracy too."""
    full, top = pre.base.with_(task=task).train_pairs(), max(d_prime_sizes(pre, task))
    specs = []
    for parent in parents:
        source = {"parent": parent["ensemble"], "parent_member": int(parent["member"])}
        for wd in pre.wds:
            base = pre.base.with_(task=task, steps=child_steps(pre, wd), converge=False,
                                  precision=pre.child_precision)
            for D, subset in ((full, None), (top, top)):
                member = {"seed": int(parent["seed"]), "wd": wd, "lr": base.lrs[0], "subset": subset, **source}
                specs.append(runner.Spec(base, member, {"task": task, "stage": 3, "d_prime": D}))
    return specs


def long_training(rows: list[dict]) -> dict:
    """Stage 3's members by weight decay: their D', seed, test accuracy at the cap and steps."""
    out: dict[str, list] = {}
    for r in rows:
        if r.get("stage") == 3:
            out.setdefault(str(r["wd"]), []).append({"seed": r["seed"], "d_prime": r["d_prime"],
                                                     "test_acc": r["test/acc"], "steps": r["steps_run"]})
    return out


def check(pre: Preset) -> None:
    """ValueError naming the first bad setting, before anything runs: every parent and child configuration."""
    for name, values in (("seeds", pre.seeds), ("wd", pre.wds), ("d_prime", pre.d_prime_fracs), ("task", pre.tasks)):
        if not values:
            raise ValueError(f"{name} is empty: give at least one value")
        if len(set(values)) != len(values):
            raise ValueError(f"{name}={','.join(map(str, values))} repeats a value")
    if pre.child_precision not in CHILD_PRECISIONS:
        raise ValueError(f"child_precision={pre.child_precision!r} is not allowed: choose "
                         f"{', '.join(CHILD_PRECISIONS)}")
    if not pre.child_windows > 0:
        raise ValueError(f"windows={pre.child_windows} is not allowed: the stage-2 cap must be > 0 windows")
    if min(pre.wds) <= 0:
        raise ValueError(f"wd={','.join(f'{w:g}' for w in pre.wds)} is not allowed: stage-2 weight decays must be "
                         f"> 0 (the cap is counted in windows of 1/(lr wd) steps)")
    bad = [f for f in pre.d_prime_fracs if not 0 < f <= pre.base.frac]
    if bad:
        raise ValueError(f"d_prime={','.join(map(str, pre.d_prime_fracs))} is not allowed: fractions must lie in "
                         f"(0, {pre.base.frac}] (the parents' training split)")
    for task in pre.tasks:
        tasks.get_task(task)
        sizes = d_prime_sizes(pre, task)
        if len(sizes) < len(pre.d_prime_fracs):
            raise ValueError(f"d_prime={','.join(map(str, pre.d_prime_fracs))} is not allowed for task {task!r}: two "
                             f"fractions give the same D' ({', '.join(map(str, sizes))} pairs)")
        for spec in parent_specs(pre, task):
            spec.base.with_(member_specs=(spec.member,)).validate()
        for w in pre.wds:
            members = tuple({"seed": s, "wd": w, "lr": pre.base.lrs[0], "subset": D} for s in pre.seeds for D in sizes)
            pre.base.with_(task=task, steps=child_steps(pre, w), converge=True, member_specs=members,
                           precision=pre.child_precision).validate()


def transition_width(D: list[float], acc: list[float | None], low: float = 0.1, high: float = 0.9) -> float | None:
    """How wide a seed's transition is: D'(crossing `high`) / D'(crossing `low`), each the first upward crossing
    (log-linear, as D_crit), the high one at or after the low one. None when the curve does not cross both on the
    grid (starts above `low`, or never reaches `high`): the width is then not measured."""
    pts = [(d, a) for d, a in zip(D, acc) if a is not None]
    if not pts:
        return None
    Ds, accs = [d for d, _ in pts], [a for _, a in pts]
    lo = crossing(Ds, accs, low)
    if lo is None:
        return None
    start = next(k for k in range(len(Ds)) if Ds[k] >= lo)
    hi = crossing([lo] + Ds[start:], [low] + accs[start:], high)
    return None if hi is None else hi / lo


def interval(values: list[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """t-interval of the geometric mean of positive values (None with fewer than 2)."""
    if len(values) < 2:
        return None
    logs = np.log(values)
    half = stats.t.ppf(0.5 + confidence / 2, len(logs) - 1) * logs.std(ddof=1) / math.sqrt(len(logs))
    return float(np.exp(logs.mean() - half)), float(np.exp(logs.mean() + half))


def bracket_converged(curve: list[float], converged: list[bool]) -> bool | None:
    """Whether both members bracketing the curve's first upward crossing of 1/2 converged (None without one)."""
    k = upward_index(curve)
    return None if k is None else bool(converged[k - 1] and converged[k])


def adam_regime(rows: list[dict]) -> dict | None:
    """Where the children's AdamW stood at their last row: the median share of parameters with sqrt(v) below eps and
    the median L2 strength alpha_eff the gradient balances, over members (None for a sweep without them)."""
    got = [r for r in rows if r.get("adam/small_v") is not None and r.get("adam/alpha_eff") is not None]
    if not got:
        return None
    return {"median_small_v": float(np.median([r["adam/small_v"] for r in got])),
            "median_alpha_eff": float(np.median([r["adam/alpha_eff"] for r in got])), "members": len(got)}


def summarise(rows: list[dict], metric: str = "test/acc", cap_windows: dict[float, float] | None = None) -> dict:
    """Per weight decay: test accuracy at convergence against D', D_crit per seed and over seeds, whether each
    seed's crossing is bracketed by converged members, each seed's transition width on the test and no-mirror
    pairs, the cap in windows (`cap_windows`, by weight decay); the spread between the weight-decay curves (P3);
    train accuracy, mirror accuracies, unconverged members (P2)."""
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
            per_seed[s]["bracket"] = bracket_converged([table[s][D][metric] for D in grid],
                                                       [bool(table[s][D]["converged"]) for D in grid])
            per_seed[s]["width"] = transition_width(grid, [table[s][D][metric] for D in grid])
            per_seed[s]["width_no_mirror"] = transition_width(grid, [table[s][D]["test/acc_no_mirror"] for D in grid])
        def mean_over_seeds(key: str) -> list[float]:
            return [float(np.mean([table[s][D][key] for s in seeds if D in table[s]])) for D in Ds]

        mean = mean_over_seeds(metric)
        curves[wd] = np.array(mean)
        found = [v[metric] for v in per_seed.values() if v[metric] is not None]
        out["by_wd"][str(wd)] = {
            "d_prime": Ds, "mean_test_acc": mean,
            "test_acc_by_seed": {str(s): [table[s][D][metric] if D in table[s] else None for D in Ds] for s in seeds},
            "no_mirror_acc_by_seed": {str(s): [table[s][D]["test/acc_no_mirror"] if D in table[s] else None
                                               for D in Ds] for s in seeds},
            "bracket_converged_by_seed": {str(s): v["bracket"] for s, v in per_seed.items()},
            "width_by_seed": {str(s): v["width"] for s, v in per_seed.items()},
            "width_no_mirror_by_seed": {str(s): v["width_no_mirror"] for s, v in per_seed.items()},
            "cap_windows": (cap_windows or {}).get(wd),
            "mean_test_acc_unseen": mean_over_seeds("test/acc_unseen"),
            "mean_test_acc_no_mirror": mean_over_seeds("test/acc_no_mirror"),
            "d_crit_by_seed": {str(s): v[metric] for s, v in per_seed.items()},
            "d_crit_unseen_by_seed": {str(s): v["test/acc_unseen"] for s, v in per_seed.items()},
            "d_crit_no_mirror_by_seed": {str(s): v["test/acc_no_mirror"] for s, v in per_seed.items()},
            "d_crit": float(np.exp(np.mean(np.log(found)))) if found else None,
            "d_crit_interval": interval(found),
            "seeds_without_crossing": [s for s, v in per_seed.items() if v[metric] is None],
            "min_train_acc": min(r["train/acc"] for r in mine),
            "adam": adam_regime(mine),
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


class Ungrok(protocol.Experiment):
    name = "ungrok"
    order = 30
    in_demo = True
    tables = ("results.csv",)
    summary_keys = {"tasks": dict}
    columns = ("task", "stage", "seed", "wd", "p", "ensemble", "member", "test/acc", "train/acc", "converged",
               "train/o_t", "train/o_m", "norm/total", "train/label_logit")
    text_columns = runner.TEXT_COLUMNS
    help = ("Ungrokking: train parents to generalisation, continue each on nested subsets D' for every weight decay "
            "until convergence; report test accuracy against D', D_crit per weight decay and the P3 spread; draw "
            "Figures 1a, 1b, 4 and 8 (Figure 9 for multitask) into the sweep directory.")
    presets = PRESETS
    options = (
        protocol.Option("task", str, f"A task, or multitask ({', '.join(MULTITASK)}: Figure 9).", "add",
                        choices=(*tasks.TASKS, "multitask")),
        protocol.Option("wd", str, "Stage-2 weight decays, e.g. 0.3,1,3.", field="wds"),
        protocol.Option("seeds", str, "Parent seeds, e.g. 0,1,2.", field="seeds"),
        protocol.Option("d_prime", str, "Stage-2 sizes D' as fractions of all pairs, e.g. 0.04,0.07,0.12 (each "
                                        "within the parents' split; two may not give the same D').",
                        field="d_prime_fracs"),
        protocol.Option("windows", float, "Stage-2 cap in weight-decay windows of 1/(lr wd) steps, the same for "
                                          "every weight decay (members stop earlier at convergence).",
                        field="child_windows"),
        protocol.Option("child_precision", str, "The children's numerics: float64 re-runs stage 2 in double "
                                                "precision from the same float32 parents (the numerics control of "
                                                "issue 32; about 2x slower on a CPU); its own default directory.",
                        field="child_precision", choices=CHILD_PRECISIONS),
        protocol.Option("long_control", bool, "Also train each parent on its own split and the largest-D' children to "
                                              "the cap without stopping (the long-training control: ungrokking is "
                                              "confounded if they lose accuracy too); its own default directory.",
                        field="long_control"),
        protocol.Option("adam_eps", float, "AdamW's eps for both stages (the control of issue 32: where converged "
                                           "members sit in eps's regime, eps sets the L2 strength; the theory says "
                                           "D_crit does not depend on it). A non-default eps gets its own default "
                                           "directory.", field="base.adam_eps"),
    )

    def settings(self, name: str, opts: dict) -> Preset:
        task = opts.get("task") or "add"
        pre = self.preset(name)
        if task == "multitask":  # Figure 9: every task (the cpu preset's own multitask sizes)
            pre = dataclasses.replace(MULTITASK_CPU if name == "cpu" else pre, tasks=MULTITASK)
        else:
            pre = dataclasses.replace(pre, tasks=(task,))
        changes = {}
        if opts.get("wd") is not None:
            changes["wds"] = protocol.numbers("wd", opts["wd"])
        if opts.get("seeds") is not None:
            changes["seeds"] = protocol.numbers("seeds", opts["seeds"], int)
        if opts.get("d_prime") is not None:
            changes["d_prime_fracs"] = tuple(sorted(protocol.numbers("d_prime", opts["d_prime"])))
        if opts.get("windows") is not None:
            changes["child_windows"] = opts["windows"]
        if opts.get("long_control") is not None:
            changes["long_control"] = bool(opts["long_control"])
        if opts.get("child_precision") is not None:
            changes["child_precision"] = opts["child_precision"]
        if opts.get("adam_eps") is not None:
            changes["base"] = pre.base.with_(adam_eps=opts["adam_eps"])
            changes["base"].validate()
        pre = dataclasses.replace(pre, **changes)
        check(pre)
        return pre

    def identity(self, pre: Preset) -> dict:
        return protocol.flat({"tasks": list(pre.tasks), "parent_steps": pre.parent_steps, "parent_wd": pre.parent_wd,
                              "child_windows": pre.child_windows, "child_precision": pre.child_precision,
                              "long_control": pre.long_control,
                              "wds": list(pre.wds), "seeds": list(pre.seeds),
                              "d_prime": list(pre.d_prime_fracs), "base": pre.base.to_dict()})

    def describe(self, pre: Preset) -> str:
        """The preset in words, from its fields."""
        grid = ", ".join(f"{t}: {min(d_prime_sizes(pre, t))}-{max(d_prime_sizes(pre, t))}" for t in pre.tasks)
        return (f"tasks {', '.join(pre.tasks)}; {describe_model(pre.base)}; parents {pre.parent_steps:,} steps on "
                f"{pre.base.frac:.0%} of pairs at wd {pre.parent_wd:g}; children on {len(pre.d_prime_fracs)} "
                f"geometric D' ({grid} pairs), wd {'/'.join(f'{w:g}' for w in pre.wds)}, seeds "
                f"{','.join(map(str, pre.seeds))}, cap {pre.child_windows:g} windows of 1/(lr wd) ("
                f"{', '.join(f'{child_steps(pre, w):,}' for w in pre.wds)} steps)"
                + (f"; children in {pre.child_precision}" if pre.child_precision != "float32" else "")
                + ("; with the long-training control" if pre.long_control else ""))

    def default_out(self, preset: str, pre: Preset) -> Path:
        task = pre.tasks[0] if len(pre.tasks) == 1 else "multitask"
        eps = f"-eps{pre.base.adam_eps:g}" if pre.base.adam_eps != ADAM_EPS else ""
        numerics = f"-{pre.child_precision}" if pre.child_precision != "float32" else ""
        long = "-long" if pre.long_control else ""
        return Path("runs/neural") / f"ungrok-{preset}-{task}{eps}{numerics}{long}"

    def run(self, pre: Preset, sweep_dir: Path, ctx: protocol.Context = protocol.Context()) -> dict:
        """Both stages for every task; writes results.csv in `sweep_dir`; returns the summary's body. Without waiting
        (a submitit executor) cluster.Pending is raised while a stage's jobs run."""
        place = ctx.placement()
        sweep_dir = Path(sweep_dir)
        rows, skipped = [], {}
        for task in pre.tasks:
            parents = runner.run(parent_specs(pre, task), sweep_dir, costs=ctx.costs, **place)
            rows += parents
            failed = [r for r in parents if not (r["test/acc"] or 0) >= GENERALISED]
            if failed:  # a child of a parent that never generalised has nothing to ungrok
                accs = ", ".join(f"{r['test/acc']:.3f}" for r in failed)
                skipped[task] = (f"no stage 2: parent(s) of seed {', '.join(str(r['seed']) for r in failed)} reached "
                                 f"test accuracy {accs} < {GENERALISED} after {pre.parent_steps} steps")
                continue
            rows += runner.run(child_specs(pre, task, parents), sweep_dir, costs=ctx.costs, **place)
            if pre.long_control:
                rows += runner.run(long_specs(pre, task, parents), sweep_dir, costs=ctx.costs, **place)
        runner.write_table(rows, sweep_dir / "results.csv")
        caps = {w: child_steps(pre, w) * pre.base.lrs[0] * w for w in pre.wds}
        return {"tasks": {t: {**summarise([r for r in rows if r["task"] == t], cap_windows=caps),
                              "long_training": long_training([r for r in rows if r["task"] == t]),
                              "stage2_skipped": skipped.get(t)} for t in pre.tasks},
                "choices": {"reset_on_init": list(pre.base.reset_on_init), "parent_wd": pre.parent_wd,
                            "parent_steps": pre.parent_steps, "child_windows": pre.child_windows,
                            "child_steps": {f"{w:g}": child_steps(pre, w) for w in pre.wds},
                            "d_crit": "first upward crossing of test acc 1/2 along D', log-linear interpolation; "
                                      "interval: t-interval of log D_crit over seeds",
                            "convergence": f"neural.convergence: trend over the last {pre.base.converge_windows} "
                                           "windows of 1/(lr wd) steps; test acc drift (+2 se) within "
                                           f"{pre.base.converge_acc_drift} per window, train loss within "
                                           f"{pre.base.converge_loss_drift:.0%} per window"},
                "cluster": {"executor": ctx.executor, "slurm": dict(ctx.slurm), "wait": ctx.wait}}

    def lines(self, summary: dict) -> list[str]:
        out = []
        for name, t in summary["tasks"].items():
            gen = "all generalised" if t["parents_generalised"] else "NOT all generalised"
            out.append(f"{name}: parents test acc {[round(p['test_acc'], 3) for p in t['parents']]} ({gen})")
            if t["stage2_skipped"]:
                out.append(f"  {t['stage2_skipped']}")
            for w, s in t["by_wd"].items():
                ci = s["d_crit_interval"]
                crit = "none in grid" if s["d_crit"] is None else f"{s['d_crit']:.0f}" + (
                    f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")
                out.append(f"  wd {float(w):<4g} D_crit {crit:<22} min train acc {s['min_train_acc']:.3f}  "
                           f"unconverged {len(s['unconverged'])}")
                out.append("    D'        " + " ".join(f"{int(D):>6d}" for D in s["d_prime"]))
                out.append("    test acc  " + " ".join(f"{a:>6.3f}" for a in s["mean_test_acc"]))
                out.append("    no mirror " + " ".join(f"{a:>6.3f}" for a in s["mean_test_acc_no_mirror"]))
            if "wd_spread" in t:
                sp = t["wd_spread"]
                ratio = f"{sp['d_crit_ratio_max_min']:.2f}" if sp["d_crit_ratio_max_min"] else "n/a"
                out.append(f"  spread between weight decays: max gap {sp['max_acc_gap']:.3f}, mean gap "
                           f"{sp['mean_acc_gap']:.3f}, D_crit max/min {ratio}")
        return out


EXPERIMENT = protocol.register(Ungrok())
