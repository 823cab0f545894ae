"""`grok-neural paper`: the step-time law it plans with, the cut ladder, the plan's choice, and (slow) the whole path
at the smoke scale as a user runs it."""
from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neural import stepcost
from neural.config import TrainConfig
from neural.dataset import eval_steps
from neural.experiments import paper

ROOT = Path(__file__).resolve().parents[2]
TINY = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=50, eval_points=5, threads=1)


def test_run_seconds_is_steps_times_the_law_plus_evaluations():
    costs = stepcost.Costs("x", (1e-3, 2e-4, 3e-6), (5e-3, 1e-3))
    cfg = TINY.with_(member_specs=({"seed": 0, "wd": 1.0, "lr": 1e-3, "subset": 20},
                                   {"seed": 1, "wd": 1.0, "lr": 1e-3, "subset": 40}))
    expected = 50 * (1e-3 + 2 * 2e-4 + 3e-6 * 2 * 40) + len(eval_steps(cfg)) * (5e-3 + 2 * 1e-3)
    assert costs.run_seconds(cfg) == pytest.approx(expected)


def test_measured_member_memory_bounds_an_ensemble():
    costs = stepcost.Costs("x", (0.0, 0.0, 1.0), member_bytes=3 << 20, ensemble_bytes=10 << 20, max_members=256)
    assert costs.members_within(TINY, 64) == 3
    assert costs.members_within(TINY, 2) == 2
    assert dataclasses.replace(costs, member_bytes=20 << 20).members_within(TINY, 64) == 1


def test_measure_fits_the_shapes_it_timed():
    costs, rows = stepcost.measure(TINY, torch.device("cpu"), ((1, 10), (2, 30), (3, 30)), repeats=1)
    assert [(E, D) for E, D, _ in rows] == [(1, 10), (2, 30), (3, 30)]
    assert all(s > 0 for *_, s in rows) and all(c >= 0 for c in costs.step + costs.evaluation)
    assert costs.device == "cpu" and costs.member_bytes == 0  # memory is measured on CUDA only


def _kept(g: paper.Grid) -> tuple:
    u, e = g.ungrok, g.efficiency
    return (u.base, e.base, g.train, u.parent_steps, u.parent_wd, min(u.d_prime_fracs), max(u.d_prime_fracs),
            min(e.mem_sizes), max(e.mem_sizes), e.gen_fracs)


@pytest.mark.parametrize("scale", sorted(paper.SCALES))
def test_each_rung_cuts_more_and_keeps_what_the_plan_promises(scale):
    """Every rung is a valid grid, costs no more than the rung above it (by any step law), and keeps the model,
    the split, the parents' and grokking run's steps and the grids' ranges."""
    grids = [paper.grid_at(scale, k) for k in range(len(paper.LADDER))]
    assert grids[0] == paper.SCALES[scale]
    for costs in (stepcost.CPU_REFERENCE, stepcost.Costs("flat", (1.0, 0.0, 0.0))):
        seconds = [sum(paper.estimate(g, costs).values()) for g in grids]
        assert all(b <= a for a, b in zip(seconds, seconds[1:])), seconds
    for g in grids:
        paper.check(g)
        assert _kept(g) == _kept(grids[0])
    assert len(grids[-1].ungrok.seeds) < len(grids[0].ungrok.seeds) or scale == "smoke"


def test_the_plan_takes_the_first_rung_that_fits_and_refuses_naming_the_budget():
    costs = stepcost.CPU_REFERENCE
    seconds = [sum(paper.estimate(paper.grid_at("paper", k), costs).values()) for k in range(len(paper.LADDER))]
    budget = (seconds[2] + seconds[3]) / 2  # rung 3 fits, rung 2 does not
    plan = paper.make("paper", budget, costs)
    assert plan.rung == 3 and sum(plan.seconds.values()) <= budget
    assert plan.cuts()[-1] == f"every step cap x {paper.LADDER[3].caps:.3g}"
    with pytest.raises(ValueError, match=r"budget_minutes=.* too small .*\(rung 6\)"):
        paper.make("paper", seconds[-1] / 2, costs)
    with pytest.raises(ValueError, match="scale='big' is unknown"):
        paper.make("big", 60, costs)
    assert paper.make("paper", 1.0, costs, rung=6).rung == 6  # a rung asked for runs whatever the estimate


def test_plan_only_prints_the_plan_and_writes_nothing(tmp_path):
    out = tmp_path / "p"
    r = subprocess.run([sys.executable, "-m", "commands.neural", "paper", "--scale", "smoke", "--plan-only",
                        "--out", str(out), "--device", "cpu"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "plan (smoke scale) on cpu" in r.stdout and "semigrok   not planned" in r.stdout
    assert not out.exists()


@pytest.mark.slow
def test_the_smoke_scale_runs_end_to_end_and_resumes(tmp_path):
    """The same path `make paper` takes on a GPU, with the tiny model: plan printed first, every experiment
    run, the report and verdicts.json written; a second call resumes the recorded plan and retrains nothing."""
    out = tmp_path / "paper"
    cmd = [sys.executable, "-m", "commands.neural", "paper", "--scale", "smoke", "--budget-minutes", "0.5",
           "--out", str(out), "--device", "cpu"]
    env = {**os.environ, "TQDM_DISABLE": "1"}
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.index("plan (smoke scale)") < r.stdout.index("train: ")
    plan = json.loads((out / "plan.json").read_text())
    assert plan["scale"] == "smoke" and sum(plan["estimated_seconds"].values()) <= 30
    verdicts = {v["key"]: v for v in json.loads((out / "report" / "verdicts.json").read_text())}
    assert (out / "report" / "index.html").is_file()
    ran = {k for k, v in verdicts.items() if v["verdict"] != "not run"}
    assert {"grokking", "p1", "p2", "p3", "compare"} <= ran, verdicts
    again = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0 and "resuming the plan recorded" in again.stdout
    assert json.loads((out / "report" / "verdicts.json").read_text()) == list(verdicts.values())
