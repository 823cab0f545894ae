"""The engine's host work does not grow with members, and its files do not grow with the run (issue 29)."""
import torch

import rundir
from neural import checkpoint, dataset, hostwork, model, train
from neural.config import TrainConfig, model_config

SMALL = TrainConfig(p=23, frac=0.5, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=40, eval_points=8,
                    eval_every=10, checkpoint_every=10, threads=1)


def _counts(E: int, steps: int) -> hostwork.Counts:
    return hostwork.count(train.train, SMALL.with_(seeds=tuple(range(E)), steps=steps), None, progress=False)[0]


def test_counter_sees_host_reads():
    x = torch.arange(6.0)
    with hostwork.HostWork() as hw:
        x.sum().item()
        x[x > 2]
        x.tolist()
        y = x.cpu()
        y.numpy()  # already on the host: not another synchronisation
    assert hw.counts.syncs == 4 and hw.counts.ops >= 3


def test_steps_and_evaluations_cost_the_same_host_work_for_any_number_of_members():
    """Ops per training step and evaluation are the same at 2 and 8 members; synchronisations do not grow."""
    per_step = {E: _counts(E, 40).ops - _counts(E, 20).ops for E in (2, 8)}
    assert per_step[2] == per_step[8] > 0
    assert _counts(8, 40).syncs == _counts(2, 40).syncs


def test_a_member_adds_only_its_own_draws_to_a_runs_setup():
    """Each member's weights and split come from its own generators, one draw per weight and per split; every
    other op of the setup (padding, masks, scaling, stacking) is done once for the whole ensemble."""
    def setup_ops(E: int):
        cfg = SMALL.with_(member_specs=tuple({"seed": s, "subset": 60 + 7 * s} for s in range(E)))
        return hostwork.count(lambda: (dataset.Data(cfg, torch.device("cpu")),
                                       model.init_params(model_config(cfg), list(range(E)))))[0].by_op
    small, big = setup_ops(2), setup_ops(8)
    growth = {op: big[op] - small[op] for op in small | big if big[op] != small[op]}
    weights = sum(not name.startswith("b_") for name in model_config(SMALL).shapes())
    assert growth == {"aten.randn.generator": weights * 6, "aten.randperm.generator": 2 * 6}  # split, then D'


def test_checkpoint_does_not_grow_with_the_run_and_metrics_are_appended(tmp_path):
    """The checkpoint holds the state, not the history: the same size after 20 and 200 steps; metrics.csv keeps the
    bytes written earlier (appended, never rewritten) and ends as one table."""
    short = train.train(SMALL.with_(steps=20), tmp_path / "a", progress=False)
    size_short = (tmp_path / "a" / "checkpoint.pt").stat().st_size
    head = (tmp_path / "a" / "metrics.csv").read_bytes()
    long = train.train(SMALL.with_(steps=200), tmp_path / "a", progress=False)  # extends the same run
    assert len(long.rows) > 3 * len(short.rows)
    assert abs((tmp_path / "a" / "checkpoint.pt").stat().st_size - size_short) < 64
    assert (tmp_path / "a" / "metrics.csv").read_bytes().startswith(head)
    table = rundir.read_rows(tmp_path / "a" / "metrics.csv")
    assert [(int(r["step"]), int(r["member"])) for r in table] == [(r["step"], r["member"]) for r in long.rows]


def test_a_checkpoint_that_held_its_rows_still_resumes(tmp_path):
    """A run stopped under the earlier format (rows inside checkpoint.pt, metrics.csv rewritten each time) finishes
    as the uninterrupted run does."""
    straight = train.train(SMALL, tmp_path / "straight", progress=False)
    cut = tmp_path / "cut"
    train.train(SMALL, cut, progress=False, stop_after=25)
    saved = checkpoint.load(cut / "checkpoint.pt")
    saved["rows"] = checkpoint.read_rows(cut, saved)
    del saved["metrics_bytes"]
    checkpoint.save(cut / "checkpoint.pt", saved)
    (cut / "metrics.csv").write_text("stale,header\n")
    resumed = train.train(SMALL, cut, progress=False)
    assert all(torch.equal(straight.params[k], resumed.params[k]) for k in straight.params)
    assert (cut / "metrics.csv").read_bytes() == (tmp_path / "straight" / "metrics.csv").read_bytes()


def test_append_cuts_back_to_the_recorded_size(tmp_path):
    path = tmp_path / "t.csv"
    size = rundir.append_csv(path, ["a", "b"], [[1, 0.5]], at=0)
    rundir.append_csv(path, ["a", "b"], [[2, 0.25], [3, 0.125]], at=size)  # a kill after this loses nothing yet
    rundir.append_csv(path, ["a", "b"], [[9, 9.0]], at=size)  # ... but a resume from `size` drops rows 2 and 3
    assert rundir.read_rows(path) == [{"a": 1.0, "b": 0.5}, {"a": 9.0, "b": 9.0}]


def test_checkpoints_by_elapsed_time_change_no_number(tmp_path):
    """checkpoint_seconds=0 checkpoints at every evaluation; cut and resumed, the run ends as one without them."""
    straight = train.train(SMALL, tmp_path / "straight", progress=False)
    train.train(SMALL, tmp_path / "timed", progress=False, stop_after=27, checkpoint_seconds=0)
    assert checkpoint.load(tmp_path / "timed" / "checkpoint.pt")["step"] == 27
    resumed = train.train(SMALL, tmp_path / "timed", progress=False, checkpoint_seconds=0)
    assert all(torch.equal(straight.params[k], resumed.params[k]) for k in straight.params)
    assert (tmp_path / "timed" / "metrics.csv").read_bytes() == (tmp_path / "straight" / "metrics.csv").read_bytes()
