"""The D_crit surface (issue 33): lockstep searches, the rival laws and their rules on planted data, the parents'
chunked training, and the experiment end to end at a tiny size."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from typer.testing import CliRunner

from commands.neural import build_app
from figures import surface as surface_figures, verdicts
from neural import checkpoint, protocol, search
from neural.config import TrainConfig
from neural.experiments import efficiency, surface
from theory import rival_laws


def neural_app():
    return build_app()


def logistic(d_crit: float, width: float):
    """Accuracy rising through 1/2 at d_crit, 10-90% over `width` (a ratio of D')."""
    k = 2 * math.log(9) / math.log(width)
    return lambda D: 1 / (1 + math.exp(-k * math.log(D / d_crit)))


def test_lockstep_measures_every_search_in_one_stage_a_round_and_finds_what_each_would_alone():
    curves = {0: logistic(300, 1.5), 1: logistic(180, 3.0), 2: logistic(2000, 2.0)}  # the last above the range
    stages = []

    def measure(asked):
        stages.append(sorted(asked))
        return {s: [curves[s](D) for D in sizes] for s, sizes in asked.items()}

    settings = dict(ceiling=5000, per_round=4, precision=0.15, max_rounds=6)
    together = search.lockstep({s: search.rounds(139, 870, **settings) for s in curves}, measure)
    for s, curve in curves.items():
        alone = search.search(lambda sizes: [curve(D) for D in sizes], 139, 870, **settings)
        assert together[s].points == alone.points and together[s].d_crit == alone.d_crit
        assert together[s].finished
        assert abs(math.log(together[s].d_crit / {0: 300, 1: 180, 2: 2000}[s])) <= math.log(1.15)
    assert len(stages) == max(r.rounds for r in together.values())  # one stage a round, every live seed in it
    assert stages[0] == [0, 1, 2]


def planted(law, seed: int, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    ps = [p for p in (23, 31, 41, 59, 83) for _ in range(3)]
    return ps, [0.1 * law(p) * math.exp(rng.normal(0, noise)) for p in ps]


@pytest.mark.parametrize("name, law", [("p^2", lambda p: p ** 2), ("p^(5/3)", lambda p: p ** (5 / 3)),
                                       ("p log p", lambda p: p * math.log(p))])
def test_the_law_rule_names_a_planted_law(name, law):
    ps, ds = planted(law, seed=7)
    fit = rival_laws.fit(ps, ds)
    v = verdicts.surface_laws(fit)
    assert v.verdict == verdicts.CONFIRMED and f"~ {name} preferred" in v.decided_by
    assert fit["laws"]["free power"]["weight"] is None  # it nests the others: the nesting test, not a weight
    assert sum(e["weight"] for e in fit["laws"].values() if e["weight"] is not None) == pytest.approx(1)


def test_the_law_rule_rejects_a_law_nobody_proposed_and_waits_for_four_moduli():
    ps, ds = planted(lambda p: p, seed=3)
    v = verdicts.surface_laws(rival_laws.fit(ps, ds))
    assert v.verdict == verdicts.NOT_CONFIRMED and "excludes p^2, p^(5/3), p log p" in v.decided_by
    assert rival_laws.fit([23, 31, 41] * 3, [50.0] * 9) is None
    assert verdicts.surface_laws(None).verdict == verdicts.INCONCLUSIVE


def test_the_fits_agree_with_an_independent_least_squares():
    ps, ds = planted(lambda p: p ** 1.8, seed=11)
    fit = rival_laws.fit(ps, ds)
    slope, intercept = np.polyfit(np.log(ps), np.log(ds), 1)
    assert fit["exponent"]["value"] == pytest.approx(slope)
    resid = np.log(ds) - 2 * np.log(ps)
    rss = float(((resid - resid.mean()) ** 2).sum())
    assert fit["laws"]["p^2"]["rss"] == pytest.approx(rss)
    n = len(ds)
    assert fit["laws"]["p^2"]["aicc"] == pytest.approx(n * math.log(rss / n) + 4 + 12 / (n - 3))
    assert rival_laws.exponent(rival_laws.LAWS[2], np.array([23.0, 83.0])) == pytest.approx(
        math.log(83 * math.log(83) / (23 * math.log(23))) / math.log(83 / 23))


def test_the_theory_joins_only_with_a_prediction_at_every_modulus():
    ps, ds = planted(lambda p: p ** 2, seed=5)
    full = rival_laws.fit(ps, ds, {p: 0.1 * p ** 2 for p in set(ps)})
    assert rival_laws.THEORY in full["laws"] and full["laws"][rival_laws.THEORY]["parameters"] == 1
    partial = rival_laws.fit(ps, ds, {23: 53.0})
    assert rival_laws.THEORY not in partial["laws"] and "no prediction at p = 31" in partial["theory"]


def slope(value: float, half: float, widths: int = 4) -> dict:
    se = half / 4.303  # t(0.975, 2)
    return {"fit": {"slope": value, "stderr": se, "dof": 2, "interval": [value - half, value + half]},
            "widths_measured": widths}


@pytest.mark.parametrize("slopes, verdict, word", [
    ({"23": slope(-0.4, 0.2), "41": slope(-0.5, 0.3)}, verdicts.CONFIRMED, "negative at every modulus"),
    ({"23": slope(-0.4, 0.2), "41": slope(0.5, 0.3)}, verdicts.NOT_CONFIRMED, "no one sign"),
    ({"23": slope(0.02, 0.05), "41": slope(-0.03, 0.05)}, verdicts.CONFIRMED, "flat at every modulus"),
    ({"23": slope(-0.4, 0.6), "41": slope(-0.5, 0.3)}, verdicts.INCONCLUSIVE, "undecided"),
    ({"23": slope(-0.4, 0.2, widths=2), "41": slope(-0.5, 0.3)}, verdicts.INCONCLUSIVE, "undecided"),
])
def test_the_width_rule(slopes, verdict, word):
    v = verdicts.surface_width(slopes)
    assert v.verdict == verdict and word in v.decided_by


def cell(p: int, measured: float, predicted: float | None, extrapolated: bool = False) -> dict:
    return {"p": p, "width": 32, "d_crit": measured, "d_crit_interval": [measured / 1.1, measured * 1.1],
            "d_crit_dof": 2, "predicted": predicted,
            "predicted_interval": [predicted / 1.2, predicted * 1.2] if predicted else None, "predicted_dof": 10,
            "extrapolation": {"extrapolated": extrapolated}}


def test_the_theory_rule_per_cell():
    close = [cell(p, 100.0 * p, 100.0 * p * 1.05) for p in (23, 31, 41)]
    assert verdicts.surface_theory(close).verdict == verdicts.CONFIRMED
    assert verdicts.surface_theory(close + [cell(59, 5900.0, 1500.0)]).verdict == verdicts.NOT_CONFIRMED
    assert verdicts.surface_theory(close[:2]).verdict == verdicts.INCONCLUSIVE  # fewer than 3 cells
    unpredicted = [cell(p, 100.0 * p, None) for p in (59, 83, 97, 101)]
    assert "too few" in verdicts.surface_theory(close + unpredicted).decided_by  # under half predicted
    far_out = close[:2] + [cell(41, 4100.0, 4100.0, extrapolated=True)]
    assert verdicts.surface_theory(far_out).verdict == verdicts.INCONCLUSIVE


def test_bad_settings_are_refused_by_name():
    exp = surface.EXPERIMENT
    with pytest.raises(ValueError, match="ps=23,23"):
        exp.settings("cpu", {"ps": "23,23"})
    with pytest.raises(ValueError, match="base width 32"):
        exp.settings("cpu", {"widths": "24,48"})
    with pytest.raises(ValueError, match="multiple of n_heads"):
        exp.settings("cpu", {"widths": "30,32"})
    r = CliRunner().invoke(neural_app(), ["surface", "--ps", "23,x"])
    assert r.exit_code == 2 and "ps=" in r.output and "Traceback" not in r.output


TINY = TrainConfig(p=17, frac=0.8, d_model=16, n_heads=2, d_head=8, d_mlp=64, lrs=(3e-3,), eval_points=6, threads=1)


@pytest.fixture
def tiny_surface(monkeypatch):
    e = efficiency.Preset(TINY, mem_sizes=(40,), gen_fracs=(0.5, 0.7), wds=(1.0,), seeds=(0, 1), mem_cap=20,
                          gen_cap=20)
    pre = surface.Preset(TINY, ps=(11, 13, 17, 19), widths=(8, 16), width_ps=(17,), seeds=(0, 1), parent_chunk=20,
                         parent_cap=40, child_windows=0.06, start=(0.1, 0.4), per_round=2, precision=0.3,
                         max_rounds=2, efficiency=e)
    monkeypatch.setitem(surface.PRESETS, "tiny", pre)
    monkeypatch.setattr(surface, "GENERALISED", 0.0)  # tiny parents never generalise: search anyway
    return pre


def test_surface_end_to_end_at_a_tiny_size(tiny_surface, tmp_path):
    out = tmp_path / "surface"
    r = CliRunner().invoke(neural_app(), ["surface", "--preset", "tiny", "--out", str(out)])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert [(c["p"], c["width"]) for c in summary["cells"]] == [(11, 16), (13, 16), (17, 16), (19, 16), (17, 8)]
    for c in summary["cells"]:
        assert c["members"] == sum(len(v["points"]) for v in c["seeds"].values())
        assert json.loads((out / f"p{c['p']}-w{c['width']}" / "efficiency" / "summary.json").read_text())[
            "experiment"] == "efficiency"
    searched = (out / "searches.csv").read_text().splitlines()
    assert searched[0].startswith("p,width,seed,round,d_prime") and len(searched) > 1
    assert {"dcrit-p.png", "dcrit-width.png", "theory.png", "searches.png"} <= {p.name for p in out.iterdir()}
    found = {"surface": [{"dir": out, "summary": summary, "config": {}}]}
    sections = [make(found) for make in surface_figures.SECTIONS]
    assert [s.key for s in sections] == ["surface-p", "surface-width", "surface-theory"]
    assert sections[1].verdict == verdicts.INCONCLUSIVE  # two widths never decide a sign
    trained = sorted(p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt"))
    again = CliRunner().invoke(neural_app(), ["surface", "--preset", "tiny", "--out", str(out)])
    assert again.exit_code == 0, again.output
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("checkpoint.pt")) == trained  # reused, not retrained


def test_parents_train_on_chunk_by_chunk_until_the_cap(tiny_surface, monkeypatch, tmp_path):
    """A parent short of the threshold is continued, weights and AdamW's count and all, until the cap; one that
    never generalises leaves no seed to search, and the cell says so."""
    monkeypatch.setattr(surface, "GENERALISED", 2.0)  # never reached
    pre = dataclasses.replace(tiny_surface, parent_cap=50)  # 20 + 20 + 10
    parents = surface.train_parents(pre, 13, 16, tmp_path, protocol.Context(progress=False))
    assert [r["parent_steps"] for r in parents] == [50, 50] and not any(r["generalised"] for r in parents)
    for r in parents:
        saved = checkpoint.load(tmp_path / "ensembles" / r["ensemble"] / "checkpoint.pt")
        assert int(saved["opt"]["step"]) == 50  # AdamW's count went on: one training, in chunks
    results, rows = surface.search_cell(pre, 13, 16, parents, tmp_path, protocol.Context(progress=False))
    assert results == {} and rows == []
