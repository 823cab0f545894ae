"""grok-simulate and grok-figures as a user runs them."""
import json

import numpy as np
import pytest
from typer.testing import CliRunner

import rundir
from commands.figures import app as fig_app
from commands.simulate import app

runner = CliRunner()


def test_run_writes_run_directory_and_plot(tmp_path):
    out = tmp_path / "fig2c"
    r = runner.invoke(app, ["run", "--preset", "fig2c", "--steps", "3000", "--out", str(out), "--plot", "--json"])
    assert r.exit_code == 0, r.output
    summary = json.loads(r.stdout.strip().splitlines()[-1])
    for key in ("grok_step", "train_fit_step", "final", "theory"):
        assert key in summary
    cfg = rundir.read_json(out / "config.json")
    assert cfg["config"]["wG2_0"] == 1 and "choices" in cfg and cfg["environment"]["packages"]["numpy"]
    m = rundir.read_csv(out / "metrics.csv")
    steps = m["step"]
    assert np.array_equal(steps[:1001], np.arange(1001)) and (steps > 1000).sum() >= 500
    assert (out / "figure.png").stat().st_size > 10_000
    # a finished run is kept: the same command returns it, another configuration is refused, unless --overwrite
    before = (out / "metrics.csv").read_bytes()
    same = runner.invoke(app, ["run", "--preset", "fig2c", "--steps", "3000", "--out", str(out), "--json"])
    assert same.exit_code == 0 and json.loads(same.stdout)["grok_step"] == summary["grok_step"]
    r2 = runner.invoke(app, ["run", "--preset", "fig2c", "--steps", "10", "--out", str(out), "--json"])
    assert r2.exit_code == 2 and "steps: recorded 3000, asked 10" in r2.stderr
    assert (out / "metrics.csv").read_bytes() == before


def test_run_without_weight_decay_says_theory_has_no_optimum(tmp_path):
    """alpha = 0 simulates (nothing decays) and reports that the theory has no optimum to compare with, where it
    used to fail after the whole simulation (allocate refuses alpha = 0)."""
    out = tmp_path / "nodecay"
    r = runner.invoke(app, ["run", "--preset", "fig2a", "--alpha", "0", "--steps", "200", "--out", str(out), "--plot"])
    assert r.exit_code == 0, r.output
    assert "no optimum: without weight decay" in r.stdout
    summary = rundir.read_json(out / "summary.json")
    assert summary["theory"] is None and summary["final_vs_theory"] is None and summary["final"]["w_G"] > 0


def test_sweep_and_phase_figure(tmp_path):
    out = tmp_path / "sw"
    r = runner.invoke(app, ["sweep", "--x", "P_M", "--x-values", "0.5,2,4", "--y", "wG2_0", "--y-values",
                            "0.01:1:2:log", "--steps", "2000", "--out", str(out), "--json"])
    assert r.exit_code == 0, r.output
    t = rundir.read_csv(out / "sweep.csv")
    assert len(t["x"]) == 6 and (out / "phase.png").exists()
    assert np.all(np.isnan(t["grok_step"][t["x"] == 0.5]))  # memorisation more efficient: never groks
    r = runner.invoke(fig_app, ["phase", str(out), "--out", str(tmp_path / "p.png")])
    assert r.exit_code == 0 and (tmp_path / "p.png").exists()


def test_fig2_from_run_dirs(tmp_path):
    dirs = []
    for name in ("fig2a", "fig2b", "fig2c"):
        d = tmp_path / name
        assert runner.invoke(app, ["run", "--preset", name, "--steps", "1500", "--out", str(d),
                                   "--json"]).exit_code == 0
        dirs.append(str(d))
    r = runner.invoke(fig_app, ["fig2", *dirs, "--out", str(tmp_path / "fig2.png"), "--pdf"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "fig2.png").exists() and (tmp_path / "fig2.pdf").exists()


@pytest.mark.parametrize("args", [
    ["run", "--preset", "nope"], ["run", "--P-g", "-1"], ["run", "--kappa", "0"], ["run", "--lr", "-0.5"],
    ["sweep", "--x", "P_M", "--x-values", "1:2", "--y", "wG2_0", "--y-values", "1,2"],
    ["sweep", "--x", "bogus", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2"],
])
def test_bad_input_one_line_exit_2(args, tmp_path):
    r = runner.invoke(app, args + ["--out", str(tmp_path / "x")])
    assert r.exit_code == 2, r.output
    assert len(r.output.strip().splitlines()) == 1 and "Traceback" not in r.output


def test_figures_bad_dir(tmp_path):
    r = runner.invoke(fig_app, ["fig2", str(tmp_path)])
    assert r.exit_code == 2 and "no config.json" in r.output
