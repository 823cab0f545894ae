"""Trainer: exact resume, divergence handling, memorisation-only runs, CLI; slow: the cpu preset groks."""
import inspect
import json

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

import rundir
from neural import analysis, checkpoint, config as cfgmod, dataset, evaluation, train
from commands.neural import app
from neural.config import PRESETS, TrainConfig

SMALL = TrainConfig(p=23, frac=0.5, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=40, seeds=(0, 1),
                    wds=(1.0, 0.3), checkpoint_every=10, eval_points=20)
runner = CliRunner()


def test_resume_is_bit_identical(tmp_path):
    full = train.train(SMALL, tmp_path / "full", progress=False)
    assert train.train(SMALL, tmp_path / "cut", progress=False, stop_after=25).stopped_at == 25
    assert not rundir.is_finished(tmp_path / "cut")
    resumed = train.train(SMALL, tmp_path / "cut", progress=False)
    for k in full.params:
        assert torch.equal(full.params[k], resumed.params[k]), k
    assert full.rows == resumed.rows
    assert (tmp_path / "full" / "metrics.csv").read_text() == (tmp_path / "cut" / "metrics.csv").read_text()


def test_diverging_member_is_frozen_at_its_last_finite_state(tmp_path, capsys, monkeypatch):
    """An update that overflows (a huge gradient injected into member 1 at its 6th step: Adam's second moment
    overflows) is not committed for that member alone: it ends exactly where a run stopped after 5 steps ends,
    the other member trains on, nothing non-finite is saved."""
    cfg = SMALL.with_(seeds=(0,), wds=(1.0,), lrs=(1e-3, 3e-3), steps=30)
    real = train.gradients
    calls = {"n": 0}

    def overflowing(params, loss_E):
        g = real(params, loss_E)
        if inspect.stack()[1].function != "_device_step":  # a full evaluation's gradient (AdamW's regime), not a step
            return g
        calls["n"] += 1
        if calls["n"] == 6:
            g[1] = 1e30
        return g

    monkeypatch.setattr(train, "gradients", overflowing)
    r = train.train(cfg, tmp_path / "d", progress=False)
    monkeypatch.setattr(train, "gradients", real)
    members = r.summary["members"]
    assert members[0]["diverged_step"] is None and members[1]["diverged_step"] == 5
    assert "frozen at its last finite state" in capsys.readouterr().err
    five = train.train(cfg.with_(steps=5), None, progress=False)
    for k in r.params:
        assert torch.equal(r.params[k][1], five.params[k][1]), k
        assert not torch.equal(r.params[k][0], five.params[k][0]) or k.startswith("b_"), k
    saved = checkpoint.load(tmp_path / "d" / "checkpoint.pt")
    assert all(torch.isfinite(v).all() for v in saved["params"].values())
    assert all(torch.isfinite(v).all() for part in ("m", "v") for v in saved["opt"][part].values())


def test_random_label_run_memorises_without_trig_circuit():
    cfg = SMALL.with_(seeds=(0,), wds=(1.0,), random_labels=True, frac=0.6, steps=300, lrs=(3e-3,), d_mlp=128)
    r = train.train(cfg, None, progress=False)
    last = r.rows[-1]
    assert last["train/acc"] > 0.9 and last["test/acc"] < 0.2
    # memorised random labels: the true answers' trigonometric logit is small next to the fitted logits
    assert abs(last["train/o_t"]) < 1.0


def test_cli_train_flags_change_only_what_they_name(tmp_path, monkeypatch):
    """Seeds and random labels come from the preset unless given, and random labels can be switched either way."""
    seen = []
    monkeypatch.setattr(train, "train", lambda cfg, out, **kw: seen.append(cfg) or train.TrainResult(summary={
        "members": [], "steps": cfg.steps}))
    monkeypatch.setitem(cfgmod.PRESETS, "cpu", cfgmod.PRESETS["cpu"].with_(seeds=(4, 5), random_labels=True))
    for args, seeds, random in (([], (4, 5), True), (["--seeds", "1"], (1,), True),
                                (["--no-random-labels"], (4, 5), False)):
        r = runner.invoke(app, ["train", "--preset", "cpu", "--out", str(tmp_path / "r"), "--json", *args])
        assert r.exit_code == 0, r.output
        assert (seen[-1].seeds, seen[-1].random_labels) == (seeds, random)


def test_cli_train_json_and_errors(tmp_path):
    out = tmp_path / "run"
    r = runner.invoke(app, ["train", "--preset", "cpu", "--p", "23", "--frac", "0.5", "--steps", "20", "--seeds", "0,1",
                            "--wd", "1.0", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(summary["members"]) == 2 and {"grok_step", "final"} <= set(summary["members"][0])
    for f in ("config.json", "metrics.csv", "checkpoint.pt", "summary.json"):
        assert (out / f).exists()
    table = rundir.read_csv(out / "metrics.csv")
    assert {"train/o_t", "test/o_m", "restricted_loss", "excluded_loss", "gini/W_E", "norm/W_E"} <= set(table)
    a = runner.invoke(app, ["analyze", str(out), "--json"])
    assert a.exit_code == 0, a.output
    assert "key_frequencies" in json.loads(a.stdout)["members"][0]
    for args in (["--p", "1"], ["--task", "div", "--p", "8"], ["--frac", "1.5"], ["--train-size", "100000"],
                 ["--task", "nope"], ["--preset", "nope"], ["--wd", "-1"], ["--seeds", "a,b"]):
        bad = runner.invoke(app, ["train", "--steps", "1", "--out", str(tmp_path / "bad"), *args])
        assert bad.exit_code == 2, (args, bad.output)
        assert len(bad.output.strip().splitlines()) == 1 and "Traceback" not in bad.output


@pytest.mark.slow
def test_cpu_preset_groks(tmp_path):
    r = train.train(PRESETS["cpu"], tmp_path / "cpu", progress=False)
    m = r.summary["members"][0]
    assert m["grok_step"] is not None and m["final"]["test/acc"] >= 0.95
    assert m["train_fit_step"] is not None and m["train_fit_step"] < m["grok_step"] / 3  # memorised well before
    # restricted loss (key frequencies only) falls below 1 nat before test loss does
    rows = [row for row in r.rows if row["member"] == 0 and "restricted_loss" in row]  # the full evaluations
    first = lambda key: next(row["step"] for row in rows if row[key] < 1.0)  # noqa: E731
    assert first("restricted_loss") < first("test/loss")
    keys = analysis.key_frequencies(r.params, 59)[0]
    assert 1 <= len(keys) <= 8


def test_progress_figure_from_run(tmp_path):
    from commands.figures import app as fig_app

    train.train(SMALL, tmp_path / "r", progress=False)
    r = runner.invoke(fig_app, ["progress", str(tmp_path / "r"), "--member", "1", "--out", str(tmp_path / "p.png")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "p.png").stat().st_size > 10_000
    bad = runner.invoke(fig_app, ["progress", str(tmp_path / "r"), "--member", "7"])
    assert bad.exit_code == 2 and "member=7" in bad.output


def test_extend_finished_run_equals_longer_run(tmp_path):
    short = SMALL.with_(steps=20)
    train.train(short, tmp_path / "ext", progress=False)
    again = train.train(short, tmp_path / "ext", progress=False)  # the same command: the finished run, not redone
    assert again.reused and again.summary["steps"] == 20
    with pytest.raises(ValueError, match="steps=10"):  # a run is never shortened
        train.train(SMALL.with_(steps=10), tmp_path / "ext", progress=False)
    extended = train.train(SMALL, tmp_path / "ext", progress=False)  # 20 -> 40 steps from the checkpoint
    straight = train.train(SMALL, None, progress=False)
    for k in straight.params:
        assert torch.equal(straight.params[k], extended.params[k]), k
    assert rundir.read_json(tmp_path / "ext" / "summary.json")["steps"] == 40


CONVERGING = TrainConfig(p=17, frac=0.6, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=200, eval_points=20,
                         checkpoint_every=25, threads=1, converge=True, lrs=(0.01,), wds=(1.0, 5.0, 20.0), seeds=(0, 1))


def test_members_leave_the_batch_when_they_converge_and_keep_their_final_state(tmp_path):
    """Converged members leave the batch at different steps (the ensemble shrinks); each keeps the weights it had
    when it converged (those of a run capped at that step), its last row carries every metric, and a run cut
    between the departures resumes bit-identical."""
    full = train.train(CONVERGING, tmp_path / "full", progress=False)
    steps = [m["converged_step"] for m in full.summary["members"]]
    ended = sorted({s for s in steps if s is not None})
    assert len(ended) >= 2 and None in steps  # members left at different steps; some trained to the cap
    first = ended[0]
    capped = train.train(CONVERGING.with_(steps=first), None, progress=False)
    for e, s in enumerate(steps):
        if s == first:
            for k in full.params:
                assert torch.equal(full.params[k][e], capped.params[k][e]), (e, k)
        last = [r for r in full.rows if r["member"] == e][-1]
        assert last["step"] == (s if s is not None else CONVERGING.steps)
        assert last.get("train/o_t") is not None and last.get("gini/W_E") is not None
    cut_at = (ended[0] + ended[1]) // 2
    assert train.train(CONVERGING, tmp_path / "cut", progress=False, stop_after=cut_at).stopped_at == cut_at
    resumed = train.train(CONVERGING, tmp_path / "cut", progress=False)
    for k in full.params:
        assert torch.equal(full.params[k], resumed.params[k]), k
    assert full.rows == resumed.rows


def test_cheap_evaluations_between_the_full_ones():
    """The frequent evaluations carry the convergence test's metrics only; the log-spaced ones carry all; the
    cheap metrics are the full evaluation's own values."""
    cfg = CONVERGING.with_(converge=False, steps=60, eval_points=4, eval_every=10, wds=(1.0,), seeds=(0,))
    r = train.train(cfg, None, progress=False)
    full = dataset.full_eval_steps(cfg)
    assert {row["step"] for row in r.rows} == dataset.eval_steps(cfg) and full < dataset.eval_steps(cfg)
    for row in r.rows:
        assert ("train/o_t" in row) == (row["step"] in full), row["step"]
    mcfg = train.model_config(cfg)
    data = dataset.Data(cfg, torch.device("cpu"))
    params = train.model.init_params(mcfg, [3])
    cheap, every = (evaluation.evaluate(params, mcfg, data, cfg, full=f) for f in (False, True))
    assert set(cheap) < set(every) and all(np.array_equal(cheap[k], every[k]) for k in cheap)


def test_every_metric_named_anywhere_is_declared_once():
    """The summary's final metrics, the results table's and the metrics table's first columns are all declared
    in neural.metrics, each once."""
    from neural import metrics

    declared = [*metrics.CHEAP, *metrics.FULL_CYCLIC, *metrics.FULL_FOURIER, *metrics.FULL_ADAM]
    assert len(declared) == len(set(declared))
    assert set(metrics.FINAL) <= set(declared) and set(metrics.RESULTS) <= set(metrics.FINAL)
    assert set(metrics.FIRST) - {"step", "member"} <= set(declared)
