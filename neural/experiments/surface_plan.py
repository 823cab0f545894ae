"""The D_crit surface at the paper's size within a device budget (`grok-neural paper --surface`): issue 33's
paper-size cells, planned the way `grok-neural paper` plans the paper's sweeps (neural.experiments.paper).

Cells differ in modulus and width, so one step-time law cannot cost them all: before anything trains, the law of
every cell's own model is measured on the device (neural.stepcost). Every ensemble a cell may train is then costed
at its cap, an upper bound: the parents to parent_cap; `max_rounds` rounds of seeds x per_round children at the
children's cap, the first round at its known sizes and every later one at the largest size the search may reach
(the parents' split); the cell's efficiency sweep at its caps. Ensembles are packed as the run will pack them,
by the law of the cell whose member takes the most memory (the run packs every cell with it, so every ensemble
fits the device), and costed by their own cell's law.

`LADDER` lists cuts, each rung keeping those above it; the plan takes the first rung whose estimate fits the
budget, or refuses, saying what the last rung needs. Always kept: each cell's model, modulus and width, the
parents' split, chunk and cap (a cell whose parents fall short loses its seeds), the search's start range,
precision and per-round count, and at least 4 moduli on the p axis (the law rule's minimum).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import rundir
from neural import protocol, runner, search, stepcost
from neural.config import TrainConfig
from neural.experiments import efficiency as eff_mod, paper, surface
from neural.experiments.paper import Rung, every_other

_SMOKE_BASE = paper.SCALES["smoke"].ungrok.base  # the paper plan's tiny model (lr 1e-2: a window is 100 steps)
SCALES: dict[str, surface.Preset] = {
    "paper": dataclasses.replace(surface.PRESETS["paper"], name="paper"),
    "smoke": surface.Preset(
        _SMOKE_BASE, ps=(17, 19, 23, 29), widths=(16, 32), width_ps=(23,), seeds=(0, 1), parent_chunk=500,
        parent_cap=1000, child_windows=3, start=(0.1, 0.5), per_round=2, precision=0.3, max_rounds=2,
        efficiency=dataclasses.replace(paper.SCALES["smoke"].efficiency, gen_fracs=(0.5, 0.6), mem_cap=500,
                                       gen_cap=500),
        name="smoke"),
}
MIN_MODULI = 4  # theory.rival_laws.MIN_MODULI: the p axis keeps at least this many


def _caps(pre: surface.Preset, factor: float) -> surface.Preset:
    """The children's cap in windows and the efficiency sweeps' step caps times `factor` (the parents' cap kept)."""
    def cap(n: int) -> int:
        return max(100, int(round(n * factor / 100)) * 100)
    e = pre.efficiency
    return dataclasses.replace(pre, child_windows=max(1.0, round(pre.child_windows * factor, 1)),
                               efficiency=dataclasses.replace(e, mem_cap=cap(e.mem_cap), gen_cap=cap(e.gen_cap)))


def _fewer_moduli(pre: surface.Preset) -> surface.Preset:
    """Every other modulus of the p axis (both ends kept), where at least MIN_MODULI remain."""
    ps = every_other(pre.ps)
    return dataclasses.replace(pre, ps=ps if len(ps) >= MIN_MODULI else pre.ps)


LADDER: tuple[Rung, ...] = (
    Rung("none: the surface as its preset holds it", lambda s: s, 1.0),
    Rung("seeds to the first 3 (the fewest that give a t-interval)",
         lambda s: dataclasses.replace(s, seeds=s.seeds[:3]), 1.0),
    Rung("the width axis at its largest modulus only",
         lambda s: dataclasses.replace(s, width_ps=(max(s.width_ps),)), 1.0),
    Rung("every other modulus of the p axis (both ends kept, at least 4)", _fewer_moduli, 1 / 2),
    Rung("the search's rounds to 3", lambda s: dataclasses.replace(s, max_rounds=min(s.max_rounds, 3)), 1 / 4),
)


def preset_at(scale: str, rung: int) -> surface.Preset:
    """The scale's surface with the cuts of LADDER[1..rung] applied, its caps at that rung's fraction."""
    pre = _caps(SCALES[scale], LADDER[rung].caps)
    for r in LADDER[1:rung + 1]:
        pre = r.cut(pre)
    return pre


def cell_key(p: int, width: int) -> str:
    return f"p{p}-w{width}"


def cell_ensembles(pre: surface.Preset, p: int, width: int, pack_costs: stepcost.Costs
                   ) -> dict[str, list[TrainConfig]]:
    """Every ensemble one cell may train at most, per part (parents, children, efficiency), packed by `pack_costs`."""
    model = surface.cell_model(pre, p, width)
    lr = model.lrs[0]
    packed = lambda specs: [cfg for cfg, _ in runner.pack(specs, costs=pack_costs)]  # noqa: E731
    parents = [runner.Spec(model.with_(steps=pre.parent_cap), {"seed": s, "wd": pre.wd, "lr": lr})
               for s in pre.seeds]
    child = surface.child_model(pre, p, width)
    first = search.geometric(*surface.start_sizes(pre, p), pre.per_round)
    rounds = [first] + [[model.train_pairs()] * pre.per_round] * (pre.max_rounds - 1)
    children = [cfg for sizes in rounds for cfg in packed(
        [runner.Spec(child, {"seed": s, "wd": pre.wd, "lr": lr, "subset": D}) for s in pre.seeds for D in sizes])]
    return {"parents": packed(parents), "children": children,
            "efficiency": packed(eff_mod.specs(surface.cell_efficiency(pre, p, width)))}


def packing_costs(costs: dict[str, stepcost.Costs]) -> stepcost.Costs:
    """The law the run packs every cell by: the cell whose member takes the most memory (then the most time)."""
    return max(costs.values(), key=lambda c: (c.member_bytes, c.step[2]))


def estimate(pre: surface.Preset, costs: dict[str, stepcost.Costs]) -> dict[str, dict[str, float]]:
    """Seconds of training per cell and part, every ensemble at its cap (an upper bound)."""
    pack = packing_costs(costs)
    return {cell_key(p, w): {part: sum(costs[cell_key(p, w)].run_seconds(cfg) for cfg in cfgs)
                             for part, cfgs in cell_ensembles(pre, p, w, pack).items()}
            for p, w in surface.cells(pre)}


def total(seconds: dict[str, dict[str, float]]) -> float:
    return sum(sum(parts.values()) for parts in seconds.values())


@dataclass(frozen=True)
class Plan:
    scale: str
    rung: int
    preset: surface.Preset
    budget_seconds: float
    costs: dict[str, stepcost.Costs]  # per cell key, measured on the device
    seconds: dict[str, dict[str, float]]  # estimated training seconds per cell and part

    def record(self) -> dict:
        """What plan.json holds: enough to resume the same plan and to read how it was made."""
        return {"scale": self.scale, "rung": self.rung, "cuts": self.cuts(), "budget_seconds": self.budget_seconds,
                "estimated_seconds": self.seconds, "costs": {k: c.to_dict() for k, c in self.costs.items()},
                "experiment": "surface"}

    def cuts(self) -> list[str]:
        rungs = LADDER[1:self.rung + 1]
        caps = LADDER[self.rung].caps
        return [r.what for r in rungs] + ([f"children's windows and efficiency caps x {caps:.3g}"] if caps < 1
                                          else [])

    def lines(self) -> list[str]:
        device = next(iter(self.costs.values())).device
        out = [f"surface plan ({self.scale} scale) on {device}: each cell's step time measured there for its own "
               "model (a step of E members on D pairs: c0 + c1 E + c2 E D)",
               f"budget {self.budget_seconds / 60:.1f} min; estimated training {total(self.seconds) / 60:.1f} min at "
               "most (every member to its cap; those that converge stop earlier)",
               f"cut (rung {self.rung} of {len(LADDER) - 1}): " + ("nothing" if not self.cuts()
                                                                   else "; ".join(self.cuts())),
               "every rung's estimate: " + ", ".join(
                   f"{k} {total(estimate(preset_at(self.scale, k), self.costs)) / 3600:.1f} h"
                   for k in range(len(LADDER))),
               f"  {surface.EXPERIMENT.describe(self.preset)}",
               f"  {'cell':>10} {'c0 ms':>7} {'c2 us':>7} {'parents':>8} {'children':>9} {'efficiency':>10} "
               f"{'min':>7}"]
        for key, parts in self.seconds.items():
            c0, _, c2 = self.costs[key].step
            out.append(f"  {key:>10} {1e3 * c0:7.2f} {1e6 * c2:7.3f} {parts['parents'] / 60:8.1f} "
                       f"{parts['children'] / 60:9.1f} {parts['efficiency'] / 60:10.1f} "
                       f"{sum(parts.values()) / 60:7.1f}")
        return out


def make(scale: str, budget_seconds: float, costs: dict[str, stepcost.Costs], rung: int | None = None) -> Plan:
    """The first rung of LADDER (or `rung`) whose estimate fits the budget (paper.first_fitting). `costs`: a law
    for every cell of the scale's full surface (cuts only remove cells)."""
    paper.check_options(scale, budget_seconds, rung, SCALES, len(LADDER))
    missing = [cell_key(p, w) for p, w in surface.cells(SCALES[scale]) if cell_key(p, w) not in costs]
    if missing:
        raise ValueError(f"costs: no step-time law for cell(s) {', '.join(missing)}")
    device = next(iter(costs.values())).device
    k, seconds = paper.first_fitting(len(LADDER), lambda k: estimate(preset_at(scale, k), costs), total,
                                     budget_seconds, rung, f"the surface at the {scale} scale on {device}")
    pre = preset_at(scale, k)
    surface.check(pre)
    return Plan(scale, k, pre, budget_seconds, costs, seconds)


def measure(scale: str, dev, on_cell=None) -> dict[str, stepcost.Costs]:
    """The step-time law of every cell's model on `dev` (`on_cell(key)` before each)."""
    pre, out = SCALES[scale], {}
    for p, w in surface.cells(pre):
        if on_cell is not None:
            on_cell(cell_key(p, w))
        out[cell_key(p, w)] = stepcost.measure(surface.cell_model(pre, p, w), dev)[0]
    return out


def recorded(root: Path) -> Plan | None:
    """The plan recorded in `root`/plan.json, or None; ValueError when the file is not a surface plan."""
    path = Path(root) / "plan.json"
    if not path.is_file():
        return None
    rec = rundir.read_object(path, {"scale": str, "rung": int, "budget_seconds": (int, float), "costs": dict})
    try:
        if rec.get("experiment") != "surface":
            raise ValueError
        costs = {k: stepcost.Costs.from_dict(c) for k, c in rec["costs"].items()}
        return make(rec["scale"], rec["budget_seconds"], costs, rec["rung"])
    except (ValueError, TypeError):
        raise ValueError(f"out={str(root)!r}: its plan.json is not a surface plan this version wrote: choose "
                         f"another --out (or pass --overwrite)") from None


def execute(plan: Plan, root: Path, ctx: protocol.Context) -> tuple[Path, dict, float]:
    """Run the plan into `root` (plan.json first): the surface experiment under the scale's name as its preset,
    every cell packed by packing_costs. Returns protocol.run_settings' (out, summary, seconds)."""
    root = Path(root)
    rundir.write_json(root / "plan.json", plan.record())
    ctx = dataclasses.replace(ctx, costs=packing_costs(plan.costs))
    return protocol.run_settings(protocol.REGISTRY["surface"], plan.scale, plan.preset, root / "neural" / "surface",
                                 overwrite=ctx.overwrite, ctx=ctx)
