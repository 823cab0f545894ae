"""`grok-neural paper --surface`: the D_crit surface planned at the paper's size, each cell costed by its own
step-time law, cut by a fixed ladder to a budget; (slow) the smoke scale end to end, within its plan."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from neural import stepcost
from neural.experiments import surface, surface_plan as sp
from neural.experiments.paper import every_other

ROOT = Path(__file__).resolve().parents[2]
FLAT = stepcost.Costs("flat", (1.0, 0.0, 0.0))


def laws(scale: str, law: stepcost.Costs = stepcost.CPU_REFERENCE) -> dict[str, stepcost.Costs]:
    return {sp.cell_key(p, w): law for p, w in surface.cells(sp.SCALES[scale])}


def _kept(pre: surface.Preset) -> tuple:
    return (pre.base, pre.widths, min(pre.ps), max(pre.ps), pre.parent_chunk, pre.parent_cap, pre.start,
            pre.precision, pre.per_round, pre.wd, pre.efficiency.gen_fracs, pre.efficiency.base)


@pytest.mark.parametrize("scale", sorted(sp.SCALES))
def test_each_rung_cuts_more_and_keeps_what_the_plan_promises(scale):
    presets = [sp.preset_at(scale, k) for k in range(len(sp.LADDER))]
    assert presets[0] == sp.SCALES[scale]
    for law in (stepcost.CPU_REFERENCE, FLAT):
        seconds = [sp.total(sp.estimate(pre, laws(scale, law))) for pre in presets]
        assert all(b <= a for a, b in zip(seconds, seconds[1:])), seconds
    for pre in presets:
        surface.check(pre)
        assert _kept(pre) == _kept(presets[0])
        assert len(pre.ps) >= min(sp.MIN_MODULI, len(presets[0].ps))
        assert set(surface.cells(pre)) <= set(surface.cells(presets[0]))  # cuts only remove cells
    if scale == "paper":  # the paper's surface is cut where its ladder says
        last = presets[-1]
        assert last.seeds == (0, 1, 2) and last.width_ps == (113,) and last.ps == every_other(presets[0].ps)
        assert last.child_windows < presets[0].child_windows and last.max_rounds == 3


def test_every_cell_is_costed_by_its_own_law_and_packed_by_the_largest_members():
    costs = laws("paper")
    dear = "p113-w192"
    costs[dear] = dataclasses.replace(stepcost.CPU_REFERENCE, step=tuple(10 * c for c in stepcost.CPU_REFERENCE.step),
                                      evaluation=(1.0, 1.0), member_bytes=1 << 30)
    base = sp.estimate(sp.SCALES["paper"], laws("paper"))
    pre = sp.SCALES["paper"]
    got = sp.estimate(pre, costs)
    assert sp.packing_costs(costs) is costs[dear]  # the run packs every cell by the largest member
    for key in got:
        if key != dear:  # the same ensembles' steps (packed 4 to a GiB now), at the same law
            cfgs = sp.cell_ensembles(pre, *map(int, key[1:].split("-w")), costs[dear])
            assert got[key] == {part: sum(stepcost.CPU_REFERENCE.run_seconds(c) for c in cs)
                                for part, cs in cfgs.items()}
    assert sum(got[dear].values()) > 10 * sum(base[dear].values()) * 0.99


def test_the_upper_bound_counts_every_member_the_search_may_train():
    pre = sp.SCALES["paper"]
    parts = sp.cell_ensembles(pre, 113, 128, stepcost.CPU_REFERENCE)
    members = {part: sum(len(c.members()) for c in cfgs) for part, cfgs in parts.items()}
    assert members["parents"] == len(pre.seeds)
    assert members["children"] == len(pre.seeds) * pre.per_round * pre.max_rounds
    assert all(c.steps == pre.parent_cap for c in parts["parents"])
    top = surface.cell_model(pre, 113, 128).train_pairs()
    assert max(m.get("subset") or 0 for c in parts["children"] for m in c.members()) == top


def test_the_plan_takes_the_first_rung_that_fits_and_refuses_naming_the_budget():
    costs = laws("paper")
    seconds = [sp.total(sp.estimate(sp.preset_at("paper", k), costs)) for k in range(len(sp.LADDER))]
    plan = sp.make("paper", (seconds[2] + seconds[3]) / 2, costs)
    assert plan.rung == 3 and sp.total(plan.seconds) <= plan.budget_seconds
    assert plan.cuts()[-1] == "children's windows and efficiency caps x 0.5"
    with pytest.raises(ValueError, match=r"budget_minutes=.* too small for the surface .*\(rung 4\)"):
        sp.make("paper", seconds[-1] / 2, costs)
    with pytest.raises(ValueError, match="no step-time law for cell"):
        sp.make("paper", 1e9, {k: v for k, v in costs.items() if k != "p47-w128"})
    with pytest.raises(ValueError, match="rung=9 is not allowed"):
        sp.make("paper", 1e9, costs, rung=9)
    assert sp.make("paper", 1.0, costs, rung=4).rung == 4


def test_a_recorded_plan_resumes_and_another_file_is_refused(tmp_path):
    plan = sp.make("smoke", 600, laws("smoke"))
    (tmp_path / "plan.json").write_text(json.dumps(plan.record()))
    again = sp.recorded(tmp_path)
    assert (again.rung, again.preset, again.seconds) == (plan.rung, plan.preset, plan.seconds)
    (tmp_path / "plan.json").write_text(json.dumps({**plan.record(), "experiment": "paper"}))
    with pytest.raises(ValueError, match="not a surface plan"):
        sp.recorded(tmp_path)


def test_plan_only_measures_every_cell_prints_the_plan_and_writes_nothing(tmp_path):
    out = tmp_path / "s"
    r = subprocess.run([sys.executable, "-m", "commands.neural", "paper", "--surface", "--scale", "smoke",
                        "--plan-only", "--out", str(out), "--device", "cpu"], cwd=ROOT, capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    cells = [sp.cell_key(p, w) for p, w in surface.cells(sp.SCALES["smoke"])]
    assert all(f"measuring the step time of cell {k}" in r.stdout for k in cells)
    assert "surface plan (smoke scale) on cpu" in r.stdout and all(f"  {k} " in r.stdout for k in cells)
    assert not out.exists()
    bad = subprocess.run([sys.executable, "-m", "commands.neural", "paper", "--surface", "--budget-minutes", "-1",
                          "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "budget_minutes=-1" in bad.stderr + bad.stdout and "Traceback" not in bad.stderr


@pytest.mark.slow
def test_the_smoke_surface_runs_within_its_plan_and_resumes(tmp_path):
    """The path a GPU run takes, with the tiny model: plan printed first, the surface run, the report written; no
    ensemble trains more members or steps than the plan counted; a second call resumes and retrains nothing."""
    out = tmp_path / "surface"
    cmd = [sys.executable, "-m", "commands.neural", "paper", "--surface", "--scale", "smoke", "--budget-minutes",
           "5", "--out", str(out), "--device", "cpu"]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.index("surface plan (smoke scale)") < r.stdout.index("surface: ")
    plan = sp.recorded(out)
    summary = json.loads((out / "neural" / "surface" / "summary.json").read_text())
    assert [(c["p"], c["width"]) for c in summary["cells"]] == surface.cells(plan.preset)
    pack = sp.packing_costs(plan.costs)
    for p, w in surface.cells(plan.preset):
        planned = sp.cell_ensembles(plan.preset, p, w, pack)
        bound = sum(len(c.members()) * c.steps for part in ("parents", "children") for c in planned[part])
        cell = out / "neural" / "surface" / sp.cell_key(p, w) / "search" / "ensembles"
        trained = sum(len(json.loads((d / "config.json").read_text())["members"])
                      * json.loads((d / "summary.json").read_text())["steps_run"] for d in sorted(cell.iterdir()))
        assert trained <= bound, (p, w, trained, bound)
    verdicts = {v["key"]: v for v in json.loads((out / "report" / "verdicts.json").read_text())}
    assert {"surface-p", "surface-width", "surface-theory"} <= set(verdicts)
    trained = sorted(p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt"))
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and "resuming the plan recorded" in again.stdout
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt")) == trained
