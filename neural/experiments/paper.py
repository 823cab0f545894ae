"""The paper's own scale within a device budget (`grok-neural paper`, `make paper`): a grokking run with progress
measures, the efficiency sweep (P1), the ungrokking sweep (P2, P3) and theory against measurement (compare), at
the paper's size (Appendix B: p = 113, d_model 128), cut by a rule fixed here to fit a stated budget.

The plan is made before anything trains: the step-time law of the paper-size model is measured on the device
itself (neural.stepcost), every ensemble the experiments would train is packed by that law, and each is costed at
its step cap (members stop earlier at convergence, so the estimate is an upper bound on training time; drawing
and the report are extra). `LADDER` lists cuts of the paper's grid, each rung keeping those above it, from none
to the most; the plan takes the first rung whose estimate fits the budget, or refuses, saying what the last rung
needs. Always kept:
the paper's model, modulus, training split, learning rate, the D' and memorisation grids' ranges, the parents'
and the grokking run's step counts. Semi-grokking (about 200 runs of 10^7 steps) is never in the plan: it is a
cluster's job (`grok-neural semigrok --preset paper --executor slurm`).

The plan is recorded in the output directory's plan.json and a second call resumes it rather than plan again
(the experiments reuse what finished). The same code runs at the `smoke` scale, a tiny model, in CI.
"""
from __future__ import annotations

import dataclasses
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import rundir
from neural import protocol, runner, stepcost
from neural.config import CPU_MODEL, PRESETS as TRAIN_PRESETS, TrainConfig, describe as describe_train
from neural.experiments import compare, efficiency, ungrok

BUDGET_MINUTES = 8.0  # default: one H100/H200's share of a lent device session


@dataclass(frozen=True)
class Grid:
    """What the plan runs: the grokking run and the two sweeps' settings (compare trains nothing)."""
    train: TrainConfig
    ungrok: ungrok.Preset
    efficiency: efficiency.Preset


# The smoke scale: a tiny model that groks in a few hundred steps (lr 1e-2, wd 1: 1/(lr wd) = 100 steps), so that
# every experiment's code path runs, children included, in well under a minute on a CPU.
_SMOKE_MODEL = CPU_MODEL.with_(p=29, frac=0.6, d_model=32, d_head=8, d_mlp=128, lrs=(1e-2,), eval_points=30)
SCALES: dict[str, Grid] = {
    "paper": Grid(TRAIN_PRESETS["paper"], ungrok.PRESETS["paper"], efficiency.PRESETS["paper"]),
    "smoke": Grid(_SMOKE_MODEL.with_(steps=1000),
                  ungrok.Preset(_SMOKE_MODEL, parent_steps=1500, parent_wd=1.0, child_windows=10, wds=(1.0, 2.0),
                                seeds=(0, 1, 2), d_prime_fracs=(0.2, 0.3, 0.45)),
                  efficiency.Preset(_SMOKE_MODEL, mem_sizes=(40, 70, 120, 200), gen_fracs=(0.5, 0.7, 0.9), wds=(1.0,),
                                    seeds=(0, 1), mem_cap=1000, gen_cap=1000)),
}


def _caps(g: Grid, factor: float) -> Grid:
    """Every sweep's cap times `factor` (steps rounded to 100, at least 100; ungrokking's windows to 0.1, at least
    one window)."""
    def cap(n: int) -> int:
        return max(100, int(round(n * factor / 100)) * 100)
    windows = max(1.0, round(g.ungrok.child_windows * factor, 1))
    return dataclasses.replace(g, ungrok=dataclasses.replace(g.ungrok, child_windows=windows),
                               efficiency=dataclasses.replace(g.efficiency, mem_cap=cap(g.efficiency.mem_cap),
                                                              gen_cap=cap(g.efficiency.gen_cap)))


def _ungrok(**changes: Callable[[ungrok.Preset], object]) -> Callable[[Grid], Grid]:
    """A cut of the ungrokking preset: each field replaced by a function of the preset."""
    return lambda g: dataclasses.replace(g, ungrok=dataclasses.replace(
        g.ungrok, **{k: f(g.ungrok) for k, f in changes.items()}))


def _efficiency(**changes: Callable[[efficiency.Preset], object]) -> Callable[[Grid], Grid]:
    """A cut of the efficiency preset: each field replaced by a function of the preset."""
    return lambda g: dataclasses.replace(g, efficiency=dataclasses.replace(
        g.efficiency, **{k: f(g.efficiency) for k, f in changes.items()}))


def every_other(values: tuple) -> tuple:
    """Every other value of a sorted grid, both ends kept (its range stays)."""
    v = tuple(sorted(values))
    return v if len(v) <= 3 else tuple(sorted(set(v[::2]) | {v[-1]}))


def _without_smallest(values: tuple) -> tuple:
    """Weight decays without the smallest (the slowest to converge: its window 1/(lr wd) is the longest), while
    at least two stay."""
    return tuple(sorted(values)[1:]) if len(values) > 2 else tuple(values)


@dataclass(frozen=True)
class Rung:
    what: str  # the cut in words (besides the caps)
    cut: Callable[[Grid], Grid]  # applied after every rung above it
    caps: float  # every sweep's step cap at this rung, as a fraction of the scale's own


LADDER: tuple[Rung, ...] = (
    Rung("none: the paper's grid as its presets hold it", lambda g: g, 1.0),
    Rung("ungrokking seeds to the first 5", _ungrok(seeds=lambda p: p.seeds[:5]), 1 / 2),
    Rung("ungrokking seeds to the first 3 (the fewest that give a t-interval)", _ungrok(seeds=lambda p: p.seeds[:3]),
         3 / 10),
    Rung("the efficiency sweep's smallest weight decay", _efficiency(wds=lambda p: _without_smallest(p.wds)), 1 / 5),
    Rung("the ungrokking sweep's smallest weight decay", _ungrok(wds=lambda p: _without_smallest(p.wds)), 3 / 20),
    Rung("efficiency seeds to the first 2", _efficiency(seeds=lambda p: p.seeds[:2]), 1 / 10),
    Rung("every other D' and memorisation size (both ends kept)",
         lambda g: _efficiency(mem_sizes=lambda p: every_other(p.mem_sizes))(
             _ungrok(d_prime_fracs=lambda p: every_other(p.d_prime_fracs))(g)), 1 / 15),
)


def grid_at(scale: str, rung: int) -> Grid:
    """The scale's grid with the cuts of LADDER[1..rung] applied, every cap at that rung's fraction."""
    g = _caps(SCALES[scale], LADDER[rung].caps)
    for r in LADDER[1:rung + 1]:
        g = r.cut(g)
    return g


def ensembles(g: Grid, costs: stepcost.Costs) -> dict[str, list[TrainConfig]]:
    """Every ensemble the grid trains, per experiment, packed as the sweeps will pack them with `costs`."""
    out = {"train": [g.train]}
    pre = g.ungrok
    parents = runner.pack(ungrok.parent_specs(pre, pre.tasks[0]), costs=costs)
    stand_in = [{"ensemble": "parents", "member": k, "seed": s} for k, s in enumerate(pre.seeds)]  # not yet trained
    children = runner.pack(ungrok.child_specs(pre, pre.tasks[0], stand_in), costs=costs)
    out["ungrok"] = [cfg for cfg, _ in parents + children]
    out["efficiency"] = [cfg for cfg, _ in runner.pack(efficiency.specs(g.efficiency), costs=costs)]
    return out


def estimate(g: Grid, costs: stepcost.Costs) -> dict[str, float]:
    """Seconds of training per experiment, every ensemble at its step cap (an upper bound)."""
    return {name: sum(costs.run_seconds(cfg) for cfg in cfgs) for name, cfgs in ensembles(g, costs).items()}


def check(g: Grid) -> None:
    """ValueError naming the first bad setting of a grid, before anything runs."""
    g.train.validate()
    ungrok.check(g.ungrok)
    efficiency.check(g.efficiency)


@dataclass(frozen=True)
class Plan:
    scale: str
    rung: int
    grid: Grid
    budget_seconds: float
    costs: stepcost.Costs
    seconds: dict[str, float]  # estimated training seconds per experiment

    def record(self) -> dict:
        """What plan.json holds: enough to resume the same plan and to read how it was made."""
        return {"scale": self.scale, "rung": self.rung, "cuts": self.cuts(),
                "budget_seconds": self.budget_seconds, "estimated_seconds": self.seconds,
                "costs": self.costs.to_dict(), "semigrok": "not planned: a cluster's job"}

    def cuts(self) -> list[str]:
        """What this plan cut from its scale's grid, in words."""
        rungs = LADDER[1:self.rung + 1]
        return [r.what for r in rungs] + ([f"every step cap x {LADDER[self.rung].caps:.3g}"] if rungs else [])

    def lines(self) -> list[str]:
        g, total = self.grid, sum(self.seconds.values())
        c0, c1, c2 = self.costs.step
        return [f"plan ({self.scale} scale) on {self.costs.device}: a step of E members on D pairs costs "
                f"{1e3 * c0:.2f} + {1e3 * c1:.3f} E ms + {1e6 * c2:.3f} E D us (measured there when planned)",
                f"budget {self.budget_seconds / 60:.1f} min; estimated training {total / 60:.1f} min at most "
                f"(every member to its step cap; those that converge stop earlier)",
                f"cut (rung {self.rung} of {len(LADDER) - 1}): "
                + ("nothing" if self.rung == 0 else "; ".join(self.cuts())),
                f"  train      {self.seconds['train'] / 60:6.1f} min  {describe_train(g.train)}",
                f"  efficiency {self.seconds['efficiency'] / 60:6.1f} min  "
                f"{efficiency.EXPERIMENT.describe(g.efficiency)}",
                f"  ungrok     {self.seconds['ungrok'] / 60:6.1f} min  {ungrok.EXPERIMENT.describe(g.ungrok)}",
                "  compare    (no training) the ungrokking sweep against the efficiency sweep",
                "  semigrok   not planned: about 200 runs of 10^7 steps, a cluster's job "
                "(grok-neural semigrok --preset paper --executor slurm)"]


def check_options(scale: str, budget_seconds: float, rung: int | None = None, scales: dict = SCALES,
                  rungs: int = len(LADDER)) -> None:
    """ValueError naming the first bad option of a plan (before anything is measured); `scales` and `rungs`: the
    plan's own (this module's by default)."""
    if scale not in scales:
        raise ValueError(f"scale={scale!r} is unknown: choose from {', '.join(scales)}")
    if not (math.isfinite(budget_seconds) and budget_seconds > 0):
        raise ValueError(f"budget_minutes={budget_seconds / 60:g} is not allowed: must be a number > 0")
    if rung is not None and not 0 <= rung < rungs:
        raise ValueError(f"rung={rung} is not allowed: must lie in [0, {rungs - 1}]")


def first_fitting(rungs: int, estimate_at: Callable[[int], dict], seconds: Callable[[dict], float],
                  budget_seconds: float, rung: int | None, where: str) -> tuple[int, dict]:
    """The first of `rungs` rungs whose estimate's total `seconds` fits the budget (or `rung` whatever its
    estimate), with that estimate; ValueError naming --budget-minutes with what the last rung needs (`where`: the
    scale and device) when none does. The rule every plan cuts by."""
    for k in ([rung] if rung is not None else range(rungs)):
        estimate = estimate_at(k)
        if rung is not None or seconds(estimate) <= budget_seconds:
            return k, estimate
    raise ValueError(f"budget_minutes={budget_seconds / 60:g} is too small for {where}: its last cut (rung "
                     f"{rungs - 1}) needs about {seconds(estimate) / 60:.0f} min of training there; give a larger "
                     f"--budget-minutes, a faster device (a GPU), or --scale smoke")


def make(scale: str, budget_seconds: float, costs: stepcost.Costs, rung: int | None = None) -> Plan:
    """The first rung of LADDER (or `rung`) whose estimate fits the budget (first_fitting)."""
    check_options(scale, budget_seconds, rung)

    def seconds_at(k: int) -> dict[str, float]:
        grid = grid_at(scale, k)
        check(grid)
        return estimate(grid, costs)
    k, seconds = first_fitting(len(LADDER), seconds_at, lambda s: sum(s.values()), budget_seconds, rung,
                               f"the {scale} scale on {costs.device}")
    return Plan(scale, k, grid_at(scale, k), budget_seconds, costs, seconds)


def measure(scale: str, dev) -> stepcost.Costs:
    """The step-time law of the scale's model on `dev`."""
    return stepcost.measure(SCALES[scale].ungrok.base, dev)[0]


def recorded(root: Path) -> Plan | None:
    """The plan recorded in `root`/plan.json (its scale, rung, budget and measured law), or None; ValueError when
    the file is not one."""
    path = Path(root) / "plan.json"
    if not path.is_file():
        return None
    rec = rundir.read_object(path, {"scale": str, "rung": int, "budget_seconds": (int, float), "costs": dict})
    try:
        return make(rec["scale"], rec["budget_seconds"], stepcost.Costs.from_dict(rec["costs"]), rec["rung"])
    except (ValueError, TypeError):
        raise ValueError(f"out={str(root)!r}: its plan.json is not a plan this version wrote: choose another --out "
                         f"(or pass --overwrite)") from None


def directories(root: Path) -> dict[str, Path]:
    """Where each experiment of a plan writes (two levels below `root`, where the report looks)."""
    return {name: Path(root) / "neural" / name for name in ("train", "efficiency", "ungrok", "compare")}


def execute(plan: Plan, root: Path, ctx: protocol.Context, on_result=None) -> None:
    """Run the plan into `root` (plan.json first), each experiment through protocol.run_settings under the
    scale's name as its preset; `on_result(name, out, summary, seconds)` after each. A
    compare that its sweeps cannot feed (parents that never generalised, no fitted law) is reported and skipped:
    the report then shows it as not run, with the sweeps' own verdicts."""
    root = Path(root)
    rundir.write_json(root / "plan.json", plan.record())
    ctx = dataclasses.replace(ctx, costs=plan.costs)
    dirs = directories(root)
    st = compare.Settings(plan.scale, plan.grid.ungrok.tasks[0], dirs["ungrok"], dirs["efficiency"],
                          start_missing=False)
    for name, settings in (("train", plan.grid.train), ("efficiency", plan.grid.efficiency),
                           ("ungrok", plan.grid.ungrok), ("compare", st)):
        try:
            out, summary, wall = protocol.run_settings(protocol.REGISTRY[name], plan.scale, settings, dirs[name],
                                                       overwrite=ctx.overwrite, ctx=ctx)
        except ValueError as e:
            if name != "compare":
                raise
            # what the sweeps measured cannot be compared (no stage 2, no fitted law): the report says "not run"
            print(f"compare: not run: {e}", file=sys.stderr)
            continue
        if on_result is not None:
            on_result(name, out, summary, wall)
