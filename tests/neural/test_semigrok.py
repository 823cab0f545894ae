"""The semi-grokking sweep end to end at a tiny size: classes for every run, figures, and extension by a larger cap."""
import pytest

import rundir
from neural.config import TrainConfig
from neural.experiments import semigrok
from neural import protocol, phases

TINY = semigrok.Preset(TrainConfig(p=17, frac=None, train_size=60, d_model=16, n_heads=2, d_head=8, d_mlp=32,
                                   lrs=(3e-3,), wds=(3.0,), seeds=(0, 1), steps=40, eval_points=10, eval_every=10,
                                   checkpoint_every=20, threads=1), sizes=(60, 90))


def test_semigrok_sweep_classifies_every_run_and_extends(tmp_path):
    from figures import semigrok as semi_fig

    summary = protocol.run_preset(semigrok.EXPERIMENT, TINY, tmp_path, progress=False)
    rows = rundir.read_rows(tmp_path / "classes.csv")
    assert summary["members"] == len(rows) == 4
    assert sum(sum(c.values()) for c in summary["by_size"].values()) == 4
    # 40 steps is far below two weight-decay time scales (667 steps): no run can be settled
    assert {r["class"] for r in rows} <= {"unsettled", "not fitted"}
    assert summary["clearest_semi_grokking"] is None
    figs = semi_fig.render_all(semi_fig.load(tmp_path))
    assert set(figs) == {"fig5", "fig1c", "fig6", "routes"}
    longer = semigrok.Preset(TINY.base.with_(steps=60), TINY.sizes)
    protocol.run_preset(semigrok.EXPERIMENT, longer, tmp_path, progress=False)
    assert all(r["steps"] == 60 for r in rundir.read_rows(tmp_path / "classes.csv"))
    metrics = rundir.read_csv(tmp_path / "D60" / "metrics.csv")
    steps0 = list(metrics["step"][metrics["member"] == 0])
    assert steps0 == sorted(set(steps0)) and steps0[-1] == 60  # extended, nothing logged twice


@pytest.mark.parametrize("bad", [semigrok.Preset(TINY.base, (60, 60)), semigrok.Preset(TINY.base, ())])
def test_semigrok_refuses_bad_sizes(bad):
    with pytest.raises(ValueError, match="sizes"):
        semigrok.check(bad)


def test_an_interrupted_semigrok_sweep_resumes_to_the_same_results(tmp_path):
    """Stop the first ensemble mid-run (as a kill between checkpoints leaves it), run the sweep again: the
    classes and every metric row equal an uninterrupted sweep's."""
    from neural import train

    protocol.run_preset(semigrok.EXPERIMENT, TINY, tmp_path / "whole", progress=False)
    cfg = semigrok.configs(TINY)[60]
    assert train.train(cfg, tmp_path / "cut" / "D60", progress=False, stop_after=20).stopped_at == 20
    protocol.run_preset(semigrok.EXPERIMENT, TINY, tmp_path / "cut", progress=False)
    assert rundir.read_rows(tmp_path / "cut" / "classes.csv") == rundir.read_rows(tmp_path / "whole" / "classes.csv")
    for D in TINY.sizes:
        assert (tmp_path / "cut" / f"D{D}" / "metrics.csv").read_bytes() == \
               (tmp_path / "whole" / f"D{D}" / "metrics.csv").read_bytes()


def test_a_sweep_without_weight_decay_is_classified(tmp_path):
    """wd 0: the classifier's minimum span comes from convergence.window_steps (a quarter of the run), not from
    2 / (lr wd), which divides by zero."""
    pre = semigrok.Preset(TINY.base.with_(wds=(0.0,), seeds=(0,)), (60,))
    summary = protocol.run_preset(semigrok.EXPERIMENT, pre, tmp_path, progress=False)
    assert summary["members"] == 1
    curve = semigrok.member_curves(tmp_path / "D60")[0]
    quarter = 2 * TINY.base.steps / 4  # twice convergence.window_steps at wd 0: a quarter of the 40-step run
    expected = phases.classify(curve["step"], curve["train/acc"], curve["test/acc_no_mirror"], min_steps=quarter)
    assert rundir.read_rows(tmp_path / "classes.csv", text=("class",))[0]["class"] == expected["class"]
