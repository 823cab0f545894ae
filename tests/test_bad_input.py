"""Bad input across the four CLIs, as a new user or an adversary would give it.

Each case asserts: exit code 2 with ONE line on stderr that starts with "error:" and names the parameter, or a
correct result (exit 0) that prints no NaN; never a traceback; and a refused command leaves no run directory.
"""
import math
import os
import pickle

import pytest
import torch
from typer.testing import CliRunner

from commands.figures import app as figures_app
from neural import interop
from commands.neural import app as neural_app
from neural.config import TrainConfig
from neural import train
from commands.simulate import app as simulate_app
from commands.theory import app as theory_app

APPS = {"theory": theory_app, "simulate": simulate_app, "neural": neural_app, "figures": figures_app}
runner = CliRunner()
TINY = ["--p", "11", "--frac", "0.5", "--steps", "3"]
HUGE_INT = str(10**30)
SEEDS_1000 = ",".join(str(s) for s in range(1000))


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    """Real run directories and crafted files the cases point at ({name} placeholders in the cases)."""
    root = tmp_path_factory.mktemp("made")
    paths = {"tmp": root}
    neural_run = root / "neural_run"
    cfg = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=5, eval_points=3)
    train.train(cfg, neural_run, progress=False)
    paths["neural_run"] = neural_run
    assert runner.invoke(simulate_app, ["run", "--preset", "fig2a", "--steps", "50", "--out",
                                        str(root / "toy_run")]).exit_code == 0
    paths["toy_run"] = root / "toy_run"
    (root / "a_file").write_text("not a directory")
    paths["a_file"] = root / "a_file"
    paths["readonly"] = "/proc/circuit-efficiency-test"  # not writable, even for root (CI may run as root)
    (root / "garbage.pth").write_bytes(b"\x00\x01 this is not a torch file")
    paths["garbage"] = root / "garbage.pth"
    torch.save([1, 2, 3], root / "list.pth")
    paths["list"] = root / "list.pth"
    torch.save(torch.zeros(3), root / "tensor.pth")
    paths["tensor"] = root / "tensor.pth"
    torch.save({"model": {"embed.W_E": torch.zeros(8, 12)}}, root / "missing_keys.pth")
    paths["missing_keys"] = root / "missing_keys.pth"
    params, _, mcfg = _load(neural_run)
    torch.save({"model": interop.to_progress_measures(params, mcfg)}, root / "paper_format.pth")  # [x, op, y, =] layout
    paths["paper_format"] = root / "paper_format.pth"
    with open(root / "plain_pickle.pth", "wb") as f:
        pickle.dump({"model": {}}, f)
    paths["plain_pickle"] = root / "plain_pickle.pth"
    truncated = root / "truncated_run"
    truncated.mkdir()
    for name in ("config.json", "metrics.csv", "summary.json"):
        (truncated / name).write_bytes((neural_run / name).read_bytes())
    (truncated / "checkpoint.pt").write_bytes((neural_run / "checkpoint.pt").read_bytes()[:300])
    paths["truncated_run"] = truncated
    empty_metrics = root / "empty_metrics_run"
    empty_metrics.mkdir()
    for name in ("config.json", "checkpoint.pt", "summary.json"):
        (empty_metrics / name).write_bytes((neural_run / name).read_bytes())
    (empty_metrics / "metrics.csv").write_text("")
    paths["empty_metrics_run"] = empty_metrics
    bad_json = root / "bad_json_run"
    bad_json.mkdir()
    (bad_json / "config.json").write_text("{not json")
    (bad_json / "metrics.csv").write_text("step\n0\n")
    paths["bad_json_run"] = bad_json
    (root / "empty_dir").mkdir()
    paths["empty_dir"] = root / "empty_dir"
    return paths


def _load(run):
    from neural import inspect_run

    return inspect_run.load_run(run)


# (cli, args, what the message must name; None = must succeed)
CASES = [
    # ------------------------------------------------------------------ theory
    ("theory", ["check", "--instances", "0"], "instances"),
    ("theory", ["check", "--instances", "-5"], "instances"),
    ("theory", ["check", "--instances", "1000000000000"], "instances"),
    ("theory", ["check", "--instances", "1e12"], "--instances"),
    ("theory", ["check", "--instances", "abc"], "--instances"),
    ("theory", ["check", "D.9"], "NAME"),
    ("theory", ["check", "--seed", "-1"], "seed"),
    ("theory", ["check", "--seed", HUGE_INT], "seed"),
    ("theory", ["check", "--bogus"], "--bogus"),
    ("theory", ["check", "D.1", "--instances", "3", "--out", "/proc/version/x"], "out="),
    ("theory", ["allocate", "--P", "0,2"], "P"),
    ("theory", ["allocate", "--P", "-1,2"], "P"),
    ("theory", ["allocate", "--P", "1e308,2"], "P"),
    ("theory", ["allocate", "--P", "1e-320,2"], "P"),
    ("theory", ["allocate", "--P", "nan,2"], "P"),
    ("theory", ["allocate", "--P", "inf,2"], "P"),
    ("theory", ["allocate", "--P", "1,x"], "P"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "0"], "kappa"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "-1"], "kappa"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "inf"], "kappa"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "1e308"], "kappa"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "1e-320"], "kappa"),
    ("theory", ["allocate", "--P", "1,2", "--q", "0"], "q"),
    ("theory", ["allocate", "--P", "1,2", "--q", "nan"], "q"),
    ("theory", ["allocate", "--P", "1,2", "--q", "1e308"], "q"),
    ("theory", ["allocate", "--P", "1,2", "--alpha", "0"], "alpha"),
    ("theory", ["allocate", "--P", "1,2", "--alpha", "inf"], "alpha"),
    ("theory", ["allocate", "--P", "1,2", "--alpha", "1e-320"], "alpha"),
    ("theory", ["allocate", "--P", "1,2", "--alpha", "1e308"], "alpha"),
    ("theory", ["allocate", "--P", "1,2", "--n-classes", "1"], "n_classes"),
    ("theory", ["allocate", "--P", "1,2", "--n-classes", HUGE_INT], "n_classes"),
    ("theory", ["allocate", "--P", "1,2", "--n-classes", "1.5"], "--n-classes"),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "2", "--q", "2"], None),
    ("theory", ["allocate", "--P", "1,1"], None),
    ("theory", ["allocate", "--P", "1e-6,1e6"], None),
    ("theory", ["allocate", "--P", "1,2", "--kappa", "1.999999", "--q", "2"], None),
    ("theory", ["dcrit", "--gen-norm", "0", "--mem", "500:20,1000:27"], "gen_norm"),
    ("theory", ["dcrit", "--gen-norm", "inf", "--mem", "500:20,1000:27"], "gen_norm"),
    ("theory", ["dcrit", "--gen-norm", "1e308", "--mem", "500:20,1000:27"], "gen_norm"),
    ("theory", ["dcrit", "--gen-norm", "1e-320", "--mem", "500:20,1000:27"], "gen_norm"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "a:b"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "0:5,1000:27"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "1e308:5,1e307:6"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,500:22"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "1e-320:1,1:2"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:1e308,1000:1e308"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:20"], "mem"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--grid", "1"], "grid"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--grid", "1000000000"], "grid"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--grid", "1e9"], "--grid"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--confidence", "0"], "confidence"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--confidence", "1"], "confidence"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--confidence", "nan"], "confidence"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--kappa", "0"], "kappa"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27", "--q", "1e308"], "q"),
    ("theory", ["dcrit", "--gen-norm", "25", "--mem", "500:20,1000:27,2000:37"], None),
    ("theory", ["dcrit", "--gen-norm", "1e-300", "--mem", "500:20,1000:27"], "gen_norm"),
    # ------------------------------------------------------------------ simulate
    ("simulate", ["run", "--preset", "nope"], "preset"),
    ("simulate", ["run", "--P-g", "-1"], "P_G"),
    ("simulate", ["run", "--P-g", "1e308"], "P_G"),
    ("simulate", ["run", "--P-g", "1e-320"], "P_G"),
    ("simulate", ["run", "--P-m", "inf"], "P_M"),
    ("simulate", ["run", "--kappa", "0"], "kappa"),
    ("simulate", ["run", "--kappa", "1e308"], "kappa"),
    ("simulate", ["run", "--alpha", "-1"], "alpha"),
    ("simulate", ["run", "--alpha", "nan"], "alpha"),
    ("simulate", ["run", "--alpha", "1e308"], "alpha"),
    ("simulate", ["run", "--lr", "0"], "lr"),
    ("simulate", ["run", "--lr", "inf"], "lr"),
    ("simulate", ["run", "--lr", "1e308", "--steps", "100"], "lr"),
    ("simulate", ["run", "--lr", "100", "--steps", "2000"], "lr"),
    ("simulate", ["run", "--steps", "0"], "steps"),
    ("simulate", ["run", "--steps", "10000000000000"], "steps"),
    ("simulate", ["run", "--steps", "1e5"], "--steps"),
    ("simulate", ["run", "--n-classes", "2"], "n_classes"),
    ("simulate", ["run", "--n-classes", HUGE_INT], "n_classes"),
    ("simulate", ["run", "--wG1-0", "nan"], "wG1_0"),
    ("simulate", ["run", "--wG1-0", "1e308"], "wG1_0"),
    ("simulate", ["run", "--D", "0"], "D"),
    ("simulate", ["run", "--D", "inf"], "D"),
    ("simulate", ["run", "--D", "1e308", "--steps", "100"], "D"),
    ("simulate", ["run", "--D-crit", "-3"], "D_crit"),
    ("simulate", ["run", "--beta", "-1"], "beta"),
    ("simulate", ["run", "--beta", "1e308"], "beta"),
    ("simulate", ["run", "--init-D", "0"], "init_D"),
    ("simulate", ["run", "--steps", "10", "--out", "{a_file}"], "out"),
    ("simulate", ["run", "--steps", "10", "--out", "{readonly}/x"], "out"),
    ("simulate", ["run", "--steps", "10", "--out", "{a_file}/sub"], "out"),
    ("simulate", ["run", "--steps", "10", "--out", "{neural_run}"], "out"),
    ("simulate", ["run", "--preset", "fig2b", "--steps", "50", "--out", "{toy_run}"], "out"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1:2", "--y", "wG2_0", "--y-values", "1,2"], "x_values"),
    ("simulate", ["sweep", "--x", "bogus", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2"], "bogus"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1,2", "--y", "P_M", "--y-values", "1,2"], "P_M"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "0:1:3:log", "--y", "wG2_0", "--y-values", "1,2"], "x_values"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1:2:1000000:log", "--y", "wG2_0", "--y-values", "1:2:1000"],
     "configurations"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2", "--steps", "0"],
     "steps"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2", "--steps",
                  "1000000000000"], "steps"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "nan,1", "--y", "wG2_0", "--y-values", "1,2"], "P_M"),
    ("simulate", ["sweep", "--x", "lr", "--x-values", "1e308,1", "--y", "wG2_0", "--y-values", "1,2", "--steps",
                  "50"], "lr"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", ",", "--y", "wG2_0", "--y-values", "1,2"], "x_values"),
    ("simulate", ["sweep", "--x", "steps", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2"], "steps"),
    ("simulate", ["sweep", "--x", "P_M", "--x-values", "1,2", "--y", "wG2_0", "--y-values", "1,2", "--steps", "20",
                  "--out", "{a_file}"], "out"),
    # ------------------------------------------------------------------ neural
    ("neural", ["train", "--preset", "nope"], "preset"),
    ("neural", ["train", "--task", "nope"], "task"),
    ("neural", ["train", "--p", "1", "--steps", "3"], "p"),
    ("neural", ["train", "--p", "100003", "--steps", "3"], "memory"),
    ("neural", ["train", "--p", "4000", "--steps", "3"], "memory"),
    ("neural", ["train", "--p", HUGE_INT, "--steps", "3"], "p"),
    ("neural", ["train", "--task", "div", "--p", "12", "--steps", "3"], "p"),
    ("neural", ["train", *TINY, "--frac", "0"], "frac"),
    ("neural", ["train", *TINY, "--frac", "1.5"], "frac"),
    ("neural", ["train", *TINY, "--frac", "nan"], "frac"),
    ("neural", ["train", "--p", "11", "--steps", "3", "--train-size", "0"], "train_size"),
    ("neural", ["train", "--p", "11", "--steps", "3", "--train-size", HUGE_INT], "train_size"),
    ("neural", ["train", "--p", "11", "--steps", "3", "--frac", "0.5", "--train-size", "10"], "train-size"),
    ("neural", ["train", *TINY, "--seeds", "0,0"], "seeds"),
    ("neural", ["train", *TINY, "--seeds", "a"], "seeds"),
    ("neural", ["train", *TINY, "--seeds", "-1"], "seeds"),
    ("neural", ["train", *TINY, "--seeds", HUGE_INT], "seeds"),
    ("neural", ["train", "--steps", "3", "--seeds", SEEDS_1000], "memory"),
    ("neural", ["train", *TINY, "--wd", "-1"], "wd"),
    ("neural", ["train", *TINY, "--wd", "inf"], "wd"),
    ("neural", ["train", *TINY, "--wd", "nan"], "wd"),
    ("neural", ["train", *TINY, "--wd", "1,1"], "wd"),
    ("neural", ["train", *TINY, "--lr", "0"], "lr"),
    ("neural", ["train", *TINY, "--lr", "inf"], "lr"),
    ("neural", ["train", *TINY, "--lr", "1e308"], "lr"),
    ("neural", ["train", *TINY, "--lr", "nan"], "lr"),
    ("neural", ["train", *TINY, "--lr", "0.5", "--wd", "1e4"], "wd"),
    ("neural", ["train", "--p", "11", "--frac", "0.5", "--steps", "0"], "steps"),
    ("neural", ["train", "--p", "11", "--frac", "0.5", "--steps", HUGE_INT], "steps"),
    ("neural", ["train", "--p", "11", "--frac", "0.5", "--steps", "10000000000000"], "steps"),
    ("neural", ["train", *TINY, "--precision", "fp8"], "precision"),
    ("neural", ["train", *TINY, "--precision", "tf32", "--device", "cpu"], "precision"),
    ("neural", ["train", *TINY, "--fmt", "weird"], "fmt"),
    ("neural", ["train", *TINY, "--threads", "0"], "threads"),
    ("neural", ["train", *TINY, "--threads", "999"], "threads"),
    ("neural", ["train", *TINY, "--out", "{a_file}"], "out"),
    ("neural", ["train", *TINY, "--out", "{readonly}/x"], "out"),
    ("neural", ["train", *TINY, "--out", "{a_file}/sub"], "out"),
    ("neural", ["train", *TINY, "--out", "{toy_run}"], "out"),
    ("neural", ["train", *TINY, "--seeds", "1", "--out", "{neural_run}"], "out"),
    ("neural", ["analyze", "{tmp}/does_not_exist"], "source"),
    ("neural", ["analyze", "{garbage}"], "checkpoint"),
    ("neural", ["analyze", "{list}"], "checkpoint"),
    ("neural", ["analyze", "{tensor}"], "checkpoint"),
    ("neural", ["analyze", "{missing_keys}"], "checkpoint"),
    ("neural", ["analyze", "{plain_pickle}"], "checkpoint"),
    ("neural", ["analyze", "{truncated_run}"], "checkpoint"),
    ("neural", ["analyze", "{empty_metrics_run}"], "metrics.csv"),
    ("neural", ["analyze", "{bad_json_run}"], "config.json"),
    ("neural", ["analyze", "{empty_dir}"], "source"),
    ("neural", ["analyze", "{toy_run}"], "source"),
    ("neural", ["analyze", "{paper_format}", "--task", "nope"], "task"),
    ("neural", ["analyze", "{paper_format}"], None),
    ("neural", ["analyze", "{neural_run}"], None),
    ("neural", ["ungrok", "--preset", "nope"], "preset"),
    ("neural", ["ungrok", "--task", "nope"], "task"),
    ("neural", ["ungrok", "--d-prime", "0.9"], "d_prime"),
    ("neural", ["ungrok", "--d-prime", "0"], "d_prime"),
    ("neural", ["ungrok", "--wd", "-1"], "wd"),
    ("neural", ["ungrok", "--wd", "1,1"], "wd"),
    ("neural", ["ungrok", "--seeds", "0,0"], "seeds"),
    ("neural", ["ungrok", "--executor", "nope"], "executor"),
    ("neural", ["ungrok", "--out", "{a_file}"], "out"),
    ("neural", ["efficiency", "--preset", "nope"], "preset"),
    ("neural", ["efficiency", "--task", "mul"], "task"),
    ("neural", ["efficiency", "--executor", "nope"], "executor"),
    ("neural", ["compare", "--preset", "nope"], "preset"),
    ("neural", ["compare", "--task", "x2y2"], "task"),
    ("neural", ["semigrok", "--preset", "nope"], "preset"),
    ("neural", ["semigrok", "--steps", "0"], "steps"),
    ("neural", ["semigrok", "--steps", "10000000000"], "steps"),
    ("neural", ["export", "{neural_run}", "--to", "onnx", "--out", "{tmp}/x.pt"], "to"),
    ("neural", ["export", "{neural_run}", "--member", "9", "--to", "transformer-lens", "--out", "{tmp}/x.pt"],
     "member"),
    ("neural", ["export", "{toy_run}", "--to", "transformer-lens", "--out", "{tmp}/x.pt"], "source"),
    ("neural", ["export", "{neural_run}", "--to", "transformer-lens", "--out", "{a_file}/x.pt"], "out"),
    ("neural", ["export", "{neural_run}", "--to", "progress-measures", "--out", "{tmp}/x.pt"], None),
    # ------------------------------------------------------------------ figures
    ("figures", ["fig2", "{neural_run}", "--out", "{tmp}/f.png"], "run_dir"),
    ("figures", ["fig2", "{tmp}/does_not_exist", "--out", "{tmp}/f.png"], "run_dir"),
    ("figures", ["fig2", "{toy_run}", "--out", "{tmp}/f.xyz"], "out"),
    ("figures", ["fig2", "{toy_run}", "--out", "{a_file}/f.png"], "out"),
    ("figures", ["fig2", "{toy_run}", "--out", "{readonly}/f.png"], "out"),
    ("figures", ["fig2", "{toy_run}", "--out", "{tmp}/f.svg"], None),
    ("figures", ["progress", "{toy_run}"], "run_dir"),
    ("figures", ["progress", "{neural_run}", "--member", "5", "--out", "{tmp}/p.png"], "member"),
    ("figures", ["progress", "{neural_run}", "--member", "-1", "--out", "{tmp}/p.png"], "member"),
    ("figures", ["progress", "{neural_run}", "--out", "{tmp}/p.jpeg2"], "out"),
    ("figures", ["progress", "{empty_metrics_run}", "--out", "{tmp}/p.png"], "metrics.csv"),
    ("figures", ["progress", "{neural_run}", "--out", "{tmp}/p.pdf"], None),
    ("figures", ["phase", "{neural_run}", "--out", "{tmp}/ph.png"], "sweep_dir"),
    ("figures", ["phase", "{toy_run}", "--out", "{tmp}/ph.png"], "sweep_dir"),
    ("figures", ["ungrok", "{toy_run}"], "sweep_dir"),
    ("figures", ["ungrok", "{tmp}/does_not_exist"], "sweep_dir"),
    ("figures", ["efficiency", "{toy_run}"], "sweep_dir"),
    ("figures", ["compare", "{tmp}/does_not_exist"], "sweep_dir"),
    ("figures", ["semigrok", "{toy_run}"], "sweep_dir"),
]


def _fill(args, made):
    return [a.format(**{k: str(v) for k, v in made.items()}) if "{" in a else a for a in args]


@pytest.mark.parametrize("cli,args,names", CASES, ids=[f"{c}:{' '.join(a)[:60]}" for c, a, _ in CASES])
def test_bad_input(cli, args, names, made, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # default run directories (runs/...) land here, not in the repository
    args = _fill(args, made)
    outs = [args[i + 1] for i, a in enumerate(args) if a == "--out"]
    existed = {o: os.path.exists(o) for o in outs}
    r = runner.invoke(APPS[cli], args)
    assert r.exception is None or isinstance(r.exception, SystemExit), f"traceback: {r.exception!r}\n{r.output}"
    assert "Traceback" not in r.output
    if names is None:
        assert r.exit_code == 0, r.output
        assert "nan" not in r.stdout.lower().replace("nanda", ""), r.stdout
        return
    assert r.exit_code == 2, f"exit {r.exit_code}: {r.output}"
    errors = [line for line in r.stderr.splitlines() if line.startswith("error")]  # beside a progress bar's lines
    assert len(errors) == 1 and errors[0].startswith("error: ") and r.stderr.rstrip().endswith(errors[0]), r.stderr
    assert names in errors[0], f"message does not name {names!r}: {errors[0]}"
    assert "nan" not in r.stdout.lower()
    for o, before in existed.items():  # nothing half-made: a refused command creates no run directory
        if not before:
            assert not os.path.exists(o), f"{o} was left behind"


def test_at_least_100_cases():
    assert len(CASES) >= 100 and {c for c, _, _ in CASES} == set(APPS)


def test_no_nan_in_cli_json_of_extreme_but_valid_allocation():
    r = runner.invoke(theory_app, ["allocate", "--P", "1e-6,1e6", "--json"])
    assert r.exit_code == 0 and "nan" not in r.stdout.lower()
    assert math.isfinite(float(r.stdout.split('"loss": ')[1].split(",")[0]))
