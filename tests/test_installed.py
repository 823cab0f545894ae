"""The toolkit as a researcher meets it: results into pandas, and a plain, non-editable install used from
another folder: --version, a run that records the toolkit's version and no git commit, the loader."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import neural
from neural import protocol, train
from neural.config import TrainConfig
from neural.experiments import ungrok

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=30, eval_points=5, threads=1)

pd = pytest.importorskip("pandas")


def test_load_run_has_every_metric_row_with_its_members_coordinates(tmp_path):
    cfg = TINY.with_(seeds=(3, 4), wds=(1.0, 0.5))
    result = train.train(cfg, tmp_path / "r", progress=False)
    frame = neural.load_run(tmp_path / "r")
    assert len(frame) == len(result.rows)
    for e, m in enumerate(cfg.members()):
        mine = frame[frame["member"] == e]
        assert set(mine["seed"]) == {m["seed"]} and set(mine["wd"]) == {m["wd"]}
        rows = [r for r in result.rows if r["member"] == e]
        assert list(mine["test/acc"]) == [r["test/acc"] for r in rows]
    assert frame.attrs["summary"]["members"][0]["seed"] == 3
    with pytest.raises(ValueError, match="load_sweep"):
        neural.load_run(tmp_path)


def test_load_sweep_and_curves_read_an_experiment(tmp_path):
    pre = ungrok.Preset(TINY.with_(frac=0.6, eval_points=5), parent_steps=40, parent_wd=1.0, child_windows=0.03,
                        wds=(1.0,), seeds=(0,), d_prime_fracs=(0.3, 0.5))
    summary = protocol.run_preset(protocol.REGISTRY["ungrok"], pre, tmp_path / "u", progress=False)
    frame = neural.load_sweep(tmp_path / "u")
    table = (tmp_path / "u" / "results.csv").read_text().splitlines()
    assert len(frame) == len(table) - 1 and frame.attrs["experiment"] == "ungrok"
    assert all(isinstance(e, str) for e in frame["ensemble"])  # digests stay names
    assert frame.attrs["summary"]["tasks"] == summary["tasks"]
    curves = neural.load_curves(tmp_path / "u")
    assert set(curves["ensemble"]) == set(frame["ensemble"])
    with pytest.raises(ValueError, match="table='nope' is not one of"):
        neural.load_sweep(tmp_path / "u", table="nope")


def test_a_plain_install_used_from_another_folder(tmp_path):
    """pip install . (not editable) into its own folder, then from an unrelated one: --version, a training run
    whose summary records the toolkit's version and git_commit null, and the loader on it."""
    source, site = tmp_path / "source", tmp_path / "site"  # built from a copy: a build leaves build/ behind
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".*", "runs", "build", "*.egg-info", "__pycache__",
                                                                "docs", "benchmarks"))
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                           "--target", str(site), str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site), "TQDM_DISABLE": "1"}

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, *args], cwd=elsewhere, capture_output=True, text=True, env=env,
                              timeout=300)

    where = run("-c", "import neural; print(neural.__file__)")
    assert where.stdout.strip().startswith(str(site)), where  # the installed copy, not the checkout
    version = run("-m", "commands.neural", "--version")
    assert version.returncode == 0 and version.stdout.strip() == f"circuit-efficiency {neural.__version__}"
    trained = run("-m", "commands.neural", "train", "--p", "11", "--frac", "0.5", "--steps", "20", "--seeds", "0",
                  "--threads", "1", "--out", "r")
    assert trained.returncode == 0, trained.stderr[-2000:]
    summary = json.loads((elsewhere / "r" / "summary.json").read_text())
    assert summary["toolkit_version"] == neural.__version__
    assert summary["provenance"]["environment"]["git_commit"] is None
    loaded = run("-c", "import neural; f = neural.load_run('r'); print(len(f), f['test/acc'].iloc[-1])")
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    rows = (elsewhere / "r" / "metrics.csv").read_text().splitlines()
    assert int(loaded.stdout.split()[0]) == len(rows) - 1


def test_the_progress_figures_norm_is_the_summarys(tmp_path):
    """The parameter-norm panel draws norm/total itself, the number summary.json reports (not its square)."""
    from figures import progress

    train.train(TINY, tmp_path / "r", progress=False)
    fig = progress.render(progress.load(tmp_path / "r"))
    ax = next(a for a in fig.axes if a.get_title().startswith("parameter norm"))
    drawn = ax.get_lines()[0].get_ydata()
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert drawn[-1] == pytest.approx(summary["members"][0]["final"]["norm/total"])
