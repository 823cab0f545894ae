"""The composable trainer and sweeps: mixed D' ensembles, starting from a parent, detectors, runner, executors."""
import dataclasses
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import rundir
from neural import budget, dataset, evaluation, model, protocol, runner, stepcost, train
from neural.config import TrainConfig
from neural.experiments import ungrok

ROOT = Path(__file__).resolve().parents[2]
BASE = TrainConfig(p=17, frac=0.6, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=12, eval_points=6,
                   checkpoint_every=4, threads=1)


def _grads(cfg: TrainConfig) -> dict[str, torch.Tensor]:
    data = dataset.Data(cfg, torch.device("cpu"))
    mcfg = train.model_config(cfg)
    params = model.init_params(mcfg, [m["seed"] for m in cfg.members()])
    for p in params.values():
        p.requires_grad_(True)
    loss_E = train.losses(params, mcfg, data, cfg.precision)
    return dict(zip(params, torch.autograd.grad(loss_E.sum(), list(params.values()))))


def test_members_with_different_training_sets_get_the_gradients_they_get_alone():
    members = ({"seed": 0, "wd": 1.0, "lr": 1e-3, "subset": 20}, {"seed": 1, "wd": 1.0, "lr": 1e-3},
               {"seed": 2, "wd": 1.0, "lr": 1e-3, "subset": 71, "split_seed": 5})
    together = _grads(BASE.with_(member_specs=members))
    for e, m in enumerate(members):
        alone = _grads(BASE.with_(member_specs=(m,)))
        for k in alone:
            torch.testing.assert_close(together[k][e], alone[k][0], rtol=1e-5, atol=1e-7)
    sizes = dataset.Data(BASE.with_(member_specs=members), torch.device("cpu")).sizes
    assert sizes == [20, round(0.6 * 17 * 17), 71]


def test_nested_subset_lies_in_the_parents_split_and_metrics_see_it():
    cfg = BASE.with_(member_specs=({"seed": 3, "wd": 1.0, "lr": 1e-3, "subset": 30},))
    data = dataset.Data(cfg, torch.device("cpu"))
    assert data.train_mask.sum() == 30 and bool((data.train_mask <= data.seen_mask).all())
    assert data.seen_mask.sum() == round(0.6 * 289)
    # mirror of (x, y) is (y, x): a test pair whose mirror is trained is flagged
    x, y = divmod(int(data.train_idx[0, 0]), 17)
    assert bool(data.mirror_trained[0, y * 17 + x])


def test_child_starts_from_its_parent_with_the_parents_logits(tmp_path):
    parent = tmp_path / "parent"
    done = train.train(BASE.with_(seeds=(0, 1)), parent, progress=False)
    child = BASE.with_(member_specs=({"seed": 7, "wd": 0.3, "lr": 1e-3, "subset": 25, "split_seed": 1,
                                      "parent": str(parent), "parent_member": 1},))
    mcfg = train.model_config(child)
    st = train.TrainState.fresh(train.Layout.of(mcfg), model.init_params(mcfg, [7]))
    train.init_from_parents(child, mcfg, st)
    tokens = dataset.Data(child, torch.device("cpu")).tokens
    with torch.no_grad():
        assert torch.equal(model.forward(st.params(), mcfg, tokens)[0],  # on the CPU, wherever the parent trained
                           model.forward({k: v[1:2].cpu() for k, v in done.params.items()}, mcfg, tokens)[0])
    assert st.t == 0 and float(st.m.abs().sum()) == 0  # reset, as recorded
    r = train.train(child, tmp_path / "child", progress=False)
    assert rundir.read_json(tmp_path / "child" / "config.json")["config"]["reset_on_init"] == ["optimizer", "step"]
    assert r.rows[0]["test/acc"] == pytest.approx(
        evaluation.evaluate({k: v[1:2] for k, v in done.params.items()}, mcfg, dataset.Data(child, torch.device("cpu")),
                       child)["test/acc"][0].item())


def test_d_crit_crossing_on_synthetic_curves():
    D = np.array([100, 200, 400, 800])
    assert ungrok.crossing(D, [0.0, 0.25, 0.75, 1.0]) == pytest.approx(np.exp((np.log(200) + np.log(400)) / 2))
    assert ungrok.crossing(D, [0.9, 0.95, 1, 1]) is None and ungrok.crossing(D, [0, 0, 0.1, 0.2]) is None
    assert ungrok.crossing(D, [0.0, 0.5, 0.2, 0.9]) == pytest.approx(200)  # the first upward crossing
    lo, hi = ungrok.interval([300.0, 400.0, 350.0])
    assert lo < np.exp(np.mean(np.log([300, 400, 350]))) < hi and ungrok.interval([300.0]) is None


def test_the_ungrokking_cap_is_the_same_number_of_windows_for_every_weight_decay():
    """A cap in windows of 1/(lr wd): wd 3 gets a third of wd 1's steps, so that both get the same training time on
    the scale their dynamics run on; the children of one weight decay share that cap (one ensemble's steps)."""
    pre = dataclasses.replace(ungrok.CPU, child_windows=18, wds=(1.0, 2.0, 3.0))
    assert [ungrok.child_steps(pre, w) for w in pre.wds] == [6000, 3000, 2000]
    parents = [{"seed": 0, "ensemble": "e0", "member": 0}]
    steps = {s.member["wd"]: s.base.steps for s in ungrok.child_specs(pre, "add", parents)}
    assert steps == {1.0: 6000, 2.0: 3000, 3.0: 2000}
    with pytest.raises(ValueError, match="windows"):
        ungrok.check(dataclasses.replace(pre, child_windows=0))
    with pytest.raises(ValueError, match="wd="):
        ungrok.check(dataclasses.replace(pre, wds=(0.0, 1.0)))


def test_the_long_training_control_trains_the_parents_split_and_the_largest_d_prime_to_the_cap():
    pre = dataclasses.replace(ungrok.CPU, child_windows=18, wds=(1.0, 3.0), long_control=True)
    specs = ungrok.long_specs(pre, "add", [{"seed": 0, "ensemble": "e0", "member": 0}])
    assert [(s.member["wd"], s.member["subset"], s.tags["d_prime"], s.base.steps, s.base.converge, s.tags["stage"])
            for s in specs] == [(1.0, None, pre.base.train_pairs(), 6000, False, 3), (1.0, 870, 870, 6000, False, 3),
                                (3.0, None, pre.base.train_pairs(), 2000, False, 3), (3.0, 870, 870, 2000, False, 3)]
    assert all(s.member["parent"] == "e0" for s in specs)


def test_the_ungrokking_summary_marks_seeds_whose_crossing_is_not_converged():
    grid = [100, 200, 400, 800]
    rows = [{"stage": 2, "seed": s, "wd": 1.0, "d_prime": D, "test/acc": a, "test/acc_unseen": a,
             "test/acc_no_mirror": a, "train/acc": 1.0, "steps_run": 10, "converged": not (s == 1 and D == 400)}
            for s in (0, 1) for D, a in zip(grid, [0.0, 0.05, 0.7, 1.0])]
    w = ungrok.summarise(rows, cap_windows={1.0: 18.0})["by_wd"]["1.0"]
    assert w["bracket_converged_by_seed"] == {"0": True, "1": False} and w["cap_windows"] == 18.0
    expected = ungrok.transition_width(grid, [0.0, 0.05, 0.7, 1.0])
    assert w["width_by_seed"] == {"0": expected, "1": expected} == w["width_no_mirror_by_seed"]
    assert w["no_mirror_acc_by_seed"]["0"] == [0.0, 0.05, 0.7, 1.0]


def _specs(tmp: Path) -> list[runner.Spec]:
    return [runner.Spec(BASE, {"seed": s, "wd": wd, "lr": 1e-3, "subset": D}, {"d_prime": D})
            for s in (0, 1) for wd in (1.0, 3.0) for D in (20, 60)]


def test_pack_mixes_weight_decays_and_cuts_where_cost_is_least():
    ensembles = runner.pack(_specs(Path(".")), max_members=32)
    assert len(ensembles) == 1 and {m["wd"] for m in ensembles[0][0].members()} == {1.0, 3.0}
    capped = runner.pack(_specs(Path(".")), max_members=3)
    assert sorted(len(idx) for _, idx in capped) == [2, 3, 3]
    parents = [runner.Spec(BASE.with_(steps=5), {"seed": 0, "wd": 1.0, "lr": 1e-3})]  # other shared settings
    assert len(runner.pack(_specs(Path(".")) + parents)) == 2


def test_pack_keeps_an_ensemble_within_the_memory_budget():
    """Where the memory estimate of a large ensemble passes the budget, the cut makes smaller ones."""
    one = budget.estimate_bytes(BASE)
    three = budget.estimate_bytes(BASE.with_(seeds=(0, 1, 2)))
    assert len(runner.pack(_specs(Path(".")))) == 1  # 8 members fit the default budget
    small = dataclasses.replace(stepcost.CPU_REFERENCE, ensemble_bytes=(one + three) // 2)  # room for 1 or 2, not 3
    cap = small.members_within(BASE, 32)
    assert 1 <= cap < 3
    ensembles = runner.pack(_specs(Path(".")), costs=small)
    assert all(len(idx) <= cap for _, idx in ensembles) and sum(len(idx) for _, idx in ensembles) == 8


@pytest.mark.parametrize("seed", range(5))
def test_pack_is_the_cheapest_partition(seed):
    """Against every partition of the specs into ensembles (not only cuts of the sorted order): none is cheaper."""
    rng = np.random.default_rng(seed)
    sizes = [int(x) for x in rng.choice([5, 20, 40, 80, 150, 280], size=7)]
    specs = [runner.Spec(BASE, {"seed": k, "wd": 1.0, "lr": 1e-3, "subset": D}) for k, D in enumerate(sizes)]
    got = sum(runner.step_cost([sizes[i] for i in idx]) for _, idx in runner.pack(specs, max_members=3))

    def partitions(items):
        if not items:
            yield []
            return
        first, rest = items[0], items[1:]
        for part in partitions(rest):
            yield [[first]] + part
            for k in range(len(part)):
                yield part[:k] + [[first] + part[k]] + part[k + 1:]

    best = min(sum(runner.step_cost([sizes[i] for i in block]) for block in part)
               for part in partitions(list(range(7))) if all(len(b) <= 3 for b in part))
    assert got == pytest.approx(best)


def test_submitit_local_executor_gives_the_in_process_results(tmp_path):
    pytest.importorskip("submitit")
    specs = _specs(tmp_path)[:4]
    here = runner.run(specs, tmp_path / "local", progress=False)
    there = runner.run(specs, tmp_path / "submitit", executor="submitit-local", progress=False)
    assert here == there  # same ensembles (same directory names), same numbers


SWEEP = """
import sys
from pathlib import Path
from neural.config import TrainConfig
from neural import runner
BASE = TrainConfig(p=17, frac=0.6, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=12, eval_points=6,
                   checkpoint_every=4, threads=1)
specs = [runner.Spec(BASE, {"seed": s, "wd": wd, "lr": 1e-3, "subset": D}, {"d_prime": D})
         for s in (0, 1) for wd in (1.0, 3.0) for D in (20, 60)]
rows = runner.run(specs, Path(sys.argv[1]), max_members=2, progress=False)  # 4 ensembles
runner.write_table(rows, Path(sys.argv[1]) / "results.csv")
"""


def test_killed_sweep_resumes_to_the_uninterrupted_table(tmp_path):
    def sweep(out, env=None):
        return subprocess.run([sys.executable, "-c", SWEEP, str(out)], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, **(env or {})})

    assert sweep(tmp_path / "straight").returncode == 0
    killed = sweep(tmp_path / "cut", {rundir.KILL_AT_ENV: "checkpoint.pt:5"})  # mid-way through the 2nd ensemble
    assert killed.returncode == -signal.SIGKILL
    finished = [d for d in (tmp_path / "cut" / "ensembles").iterdir() if rundir.is_finished(d)]
    assert 1 <= len(finished) < 4
    stamps = {d.name: (d / "summary.json").stat().st_mtime_ns for d in finished}
    assert sweep(tmp_path / "cut").returncode == 0
    assert (tmp_path / "cut" / "results.csv").read_text() == (tmp_path / "straight" / "results.csv").read_text()
    assert all((tmp_path / "cut" / "ensembles" / n / "summary.json").stat().st_mtime_ns == t for n, t in stamps.items())


def test_ungrok_skips_stage_two_when_a_parent_did_not_generalise(tmp_path):
    """A parent trained 12 steps cannot have generalised: its task gets no children, the summary says why, and
    the figures show the reason instead of empty axes."""
    from figures import ungrok as ungrok_fig

    pre = ungrok.Preset(BASE, parent_steps=12, parent_wd=1.0, child_windows=0.012, wds=(1.0,), seeds=(0,),
                        d_prime_fracs=(0.2, 0.4))
    summary = protocol.run_preset(ungrok.EXPERIMENT, pre, tmp_path, progress=False)
    task = summary["tasks"]["add"]
    assert not task["parents_generalised"] and task["by_wd"] == {}
    assert "no stage 2" in task["stage2_skipped"] and f"< {ungrok.GENERALISED}" in task["stage2_skipped"]
    rows = rundir.read_rows(tmp_path / "results.csv", text=runner.TEXT_COLUMNS)
    assert [r["stage"] for r in rows] == [1]
    assert list(ungrok_fig.render_all(ungrok_fig.load(tmp_path))) == ["fig4"]


def test_a_finished_sweep_is_read_from_its_ensembles_when_the_packing_changes(tmp_path):
    """Results come from what each finished ensemble's config.json says it holds: after the cost model changes
    (so today's packing would cut other ensembles) the same sweep retrains nothing and gives the same rows."""
    specs = _specs(tmp_path)
    first = runner.run(specs, tmp_path / "s", progress=False)
    stamps = {d.name: (d / "summary.json").stat().st_mtime_ns for d in (tmp_path / "s" / "ensembles").iterdir()}
    c0, c1, c2 = stepcost.CPU_REFERENCE.step
    free = dataclasses.replace(stepcost.CPU_REFERENCE, step=(0.0, c1, c2))  # ensembles now free: one per D'
    assert len(runner.pack(specs, costs=free)) != len(stamps)
    again = runner.run(specs, tmp_path / "s", progress=False, costs=free)
    assert again == first
    after = {d.name: (d / "summary.json").stat().st_mtime_ns for d in (tmp_path / "s" / "ensembles").iterdir()}
    assert after == stamps  # no new ensemble, none rewritten
