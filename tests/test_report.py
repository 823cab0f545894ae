"""The report from tiny real runs of every kind: every section, figure and verdict is present; a missing kind of run
says 'not run' with its command; the page is self-contained; the verdict rules on planted numbers."""
import base64
import html
import dataclasses
import re

import numpy as np
import pytest
from typer.testing import CliRunner

import rundir
from figures import report, verdicts
from commands.figures import app as figures_app
from neural import protocol, train
from neural.config import TrainConfig
from neural.experiments import compare, efficiency, semigrok, ungrok
from simulate import presets as toy_presets
from simulate import run as toy_run
from commands.theory import app as theory_app

TINY = TrainConfig(p=17, frac=0.6, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=20, eval_points=6,
                   checkpoint_every=10, threads=1)


def _planted_efficiency() -> dict:
    """Efficiency laws a tiny run is too short to fit (its members never converge): planted, as the theory's input."""
    cov = np.diag([0.01, 0.002, 0.004]).tolist()
    law = lambda c, beta: {"c": c, "beta": beta, "gamma": 0.7, "cov": cov, "n": 30,  # noqa: E731
                           "beta_interval": [beta - 0.1, beta + 0.1]}
    kind = lambda lw: {"law": lw, "kappa": {"mean": 1.4}, "isologit": [{"D": [100, 200]}]}  # noqa: E731
    return {"kinds": {"mem": kind(law(1.0, 0.3)), "gen": kind(law(2.2, 0.0))}}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A runs root with one tiny run of every kind but the multitask ungrokking sweep."""
    root = tmp_path_factory.mktemp("runs")
    result = CliRunner().invoke(theory_app, ["check", "--instances", "20", "--out", str(root / "theory" / "check")])
    assert result.exit_code == 0, result.output
    for name in ("fig2a", "fig2b", "fig2c"):  # 12,000 steps: (a) groks at ~9,900
        cfg = dataclasses.replace(toy_presets.PRESETS[name][0], steps=12_000)
        toy_run.run(cfg, root / "simulate" / name, progress=False)
    train.train(TINY.with_(steps=40), root / "neural" / "cpu-add-p17", progress=False)
    ungrok_dir = root / "neural" / "ungrok-tiny-add"
    pre = ungrok.Preset(TINY, parent_steps=20, parent_wd=1.0, child_windows=0.02, wds=(1.0, 3.0), seeds=(0,),
                        d_prime_fracs=(0.2, 0.4))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(ungrok, "GENERALISED", 0.0)  # tiny parents never generalise: let stage 2 run anyway
        protocol.run_preset(ungrok.EXPERIMENT, pre, ungrok_dir, preset="tiny", progress=False)
        other_eps = dataclasses.replace(pre, base=TINY.with_(adam_eps=1e-6))  # the eps control beside it
        protocol.run_preset(ungrok.EXPERIMENT, other_eps, root / "neural" / "ungrok-tiny-add-eps1e-06", preset="tiny",
                            progress=False)
        long = dataclasses.replace(pre, long_control=True)  # the long-training control
        protocol.run_preset(ungrok.EXPERIMENT, long, root / "neural" / "ungrok-tiny-add-long", preset="tiny",
                            progress=False)
        double = dataclasses.replace(pre, child_precision="float64")  # the numerics control beside it
        protocol.run_preset(ungrok.EXPERIMENT, double, root / "neural" / "ungrok-tiny-add-float64", preset="tiny",
                            progress=False)
    eff = efficiency.Preset(TINY.with_(frac=None, train_size=100), mem_sizes=(40, 80), gen_fracs=(0.5, 0.7),
                            wds=(1.0,), seeds=(0,), mem_cap=20, gen_cap=20)
    protocol.run_preset(efficiency.EXPERIMENT, eff, root / "neural" / "efficiency-tiny-add", preset="tiny",
                        progress=False)
    planted = tmp_path_factory.mktemp("planted")  # an efficiency sweep whose laws are planted (tiny runs fit none)
    rundir.write_json(planted / "config.json", {"experiment": "efficiency",
                                               "config": {"experiment": "efficiency", "preset": "tiny", "task": "add"}})
    rundir.write_json(planted / "summary.json", {"experiment": "efficiency", **_planted_efficiency()})
    rundir.write_csv(planted / "members.csv", efficiency.Efficiency.columns, [])
    settings = compare.Settings("tiny", "add", ungrok_dir, planted, start_missing=False)
    protocol.run_settings(compare.EXPERIMENT, "tiny", settings, root / "neural" / "compare-tiny-add")
    semi = semigrok.Preset(TINY.with_(frac=None, train_size=60, wds=(3.0,), seeds=(0, 1), eval_every=5),
                           sizes=(60, 90))
    protocol.run_preset(semigrok.EXPERIMENT, semi, root / "neural" / "semigrok-tiny", progress=False)
    return root


@pytest.fixture(scope="module")
def sections(runs):
    return report.collect(runs)


def test_report_has_every_section_figure_and_verdict(runs, sections, tmp_path):
    out = tmp_path / "report" / "index.html"
    assert report.write(sections, runs, out) == [out, out.parent / "verdicts.json"]
    page = out.read_text()
    text = html.unescape(page)  # the page as a reader sees it: rules say ">=", the HTML says "&gt;="
    paper = ["theory", "toy", "grokking", "p1", "p2", "p3", "p2-tasks", "compare", "p4", "scaling"]
    assert [s.key for s in sections if s.key in paper] == paper  # in the paper's order; a new experiment joins in
    record = rundir.read_json(out.parent / "verdicts.json")
    assert [r["section"] for r in record] == [s.title for s in sections]
    for s, r in zip(sections, record):
        assert f"id='{s.key}'" in page and r["verdict"] == s.verdict and r["decided_by"] == s.why
        assert set(r) >= {"section", "verdict", "rule", "numbers", "decided_by"}
        assert s.why and s.command and s.command in text
        if s.verdict != verdicts.NOT_RUN:  # a judged section shows its rule on the page
            assert r["rule"] and s.rule in text, s.key
        if s.key in ("p2-tasks", "scaling") or s.key.startswith("surface-"):  # not run under this root: says so
            assert s.verdict == verdicts.NOT_RUN and s.command in s.why and not s.figures
            continue
        assert s.verdict != verdicts.NOT_RUN, (s.key, s.why)
        assert s.figures and all(png.startswith(b"\x89PNG") for _, png in s.figures), s.key
        assert s.environment and s.environment["packages"]["numpy"], s.key
        assert s.source and s.rows, s.key
    assert page.count("<img ") == sum(len(s.figures) for s in sections)
    # self-contained: every image inline, no scripts, nothing fetched
    assert not re.search(r"(src|href)=['\"](?!data:|#)", page) and "<script" not in page
    img = re.search(r"data:image/png;base64,([A-Za-z0-9+/=]+)", page).group(1)
    assert base64.b64decode(img).startswith(b"\x89PNG")
    # the verdicts the tiny runs earn: the toy is the paper's at full size, the theory checks hold or are corrected
    by_key = {s.key: s for s in sections}
    assert by_key["toy"].verdict == verdicts.CONFIRMED
    assert by_key["theory"].verdict in (verdicts.CONFIRMED, verdicts.CORRECTED)  # 20 instances may miss the errors
    assert by_key["p3"].verdict == verdicts.INCONCLUSIVE  # one seed never decides P3
    # a sweep is described by what it ran (its settings' generated description), not by its preset's name alone
    assert by_key["p2"].config.startswith("tasks add; p=17") and by_key["p2"].config.endswith("(preset tiny)")


def test_markdown_variant_links_its_figures(runs, sections, tmp_path):
    paths = report.write(sections, runs, tmp_path / "notes.md")
    text = paths[0].read_text()
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text)
    assert len(links) == sum(len(s.figures) for s in sections) == len(paths) - 2  # the page and verdicts.json
    assert all((tmp_path / link).read_bytes().startswith(b"\x89PNG") for link in links)
    assert all(f"**{s.verdict}**" in text for s in sections)


def test_an_empty_root_says_what_to_run(tmp_path):
    result = CliRunner().invoke(figures_app, ["report", str(tmp_path), "--out", str(tmp_path / "r" / "index.html")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert len(lines) == len(report.section_makers()) + 1 and all(line.startswith("not run") for line in lines[:-1])
    assert lines[-1] == f"report: {(tmp_path / 'r' / 'index.html').resolve()}"
    sections = report.collect(tmp_path)
    assert all(s.verdict == verdicts.NOT_RUN and "run `" in s.why for s in sections)
    assert "grok-neural ungrok --preset demo" in {s.command for s in sections}


@pytest.mark.parametrize("args, needle", [(["nowhere"], "ROOT="), (["{root}", "--out", "{root}/r.txt"], "out=")])
def test_report_bad_input_is_one_line_exit_2(tmp_path, args, needle):
    result = CliRunner().invoke(figures_app, ["report", *[a.format(root=tmp_path) for a in args]])
    assert result.exit_code == 2 and needle in result.output and "Traceback" not in result.output


def test_one_unreadable_run_does_not_sink_the_page(runs, tmp_path):
    """A summary missing a nested key and a run missing its metrics.csv: their sections say what was wrong, every
    other section is drawn and judged as before, and the page and verdicts.json are written."""
    import json
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    broken = root / "neural" / "ungrok-tiny-add" / "summary.json"
    summary = json.loads(broken.read_text())
    del summary["tasks"]["add"]["by_wd"]
    broken.write_text(json.dumps(summary))
    (root / "neural" / "cpu-add-p17" / "metrics.csv").unlink()
    before = {s.key: s.verdict for s in report.collect(runs)}
    after = {s.key: s for s in report.collect(root)}
    assert "could not be read" in after["p2"].why and "by_wd" in after["p2"].why
    assert "could not be read" in after["grokking"].why
    assert after["p4"].verdict == before["p4"] and after["toy"].verdict == before["toy"]
    assert report.write(list(after.values()), root, tmp_path / "r" / "index.html")[1].is_file()


def test_a_sweep_without_stage_2_is_untested_in_both_sections(runs, tmp_path):
    """Parents that never generalised: P2 and P3 both say the prediction was not tested (inconclusive), with
    the reason the sweep recorded."""
    import json
    import shutil

    root = tmp_path / "runs"
    shutil.copytree(runs, root)
    path = root / "neural" / "ungrok-tiny-add" / "summary.json"
    summary = json.loads(path.read_text())
    summary["tasks"]["add"].update(by_wd={}, stage2_skipped="no stage 2: parent(s) of seed 0 reached 0.1 < 0.95")
    path.write_text(json.dumps(summary))
    got = {s.key: s for s in report.collect(root)}
    assert got["p2"].verdict == got["p3"].verdict == "inconclusive"
    assert "no stage 2" in got["p2"].why and "no stage 2" in got["p3"].why
