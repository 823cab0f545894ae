"""The engine's host work against an earlier commit (default 76512f0, before the device-resident step), in one run.

    .venv/bin/python benchmarks/bench_host_work.py [--commit 76512f0] [--rounds 3]

For each tree (the earlier one taken from git into a temporary directory, both run with this environment):
- backend ops and host synchronisations of `neural.train.train` (cpu preset, seeds 0..E-1, 40 steps, no run
  directory), counted with neural.hostwork over the whole call, at E = 1 and E = 32: growth per added member per
  step (ops) and per run (syncs); and ops per step at E = 32 (40 against 80 steps);
- the cost of one checkpoint (25 members, 100 new metric rows) once the history holds 1,000 and 40,000 rows;
- eager step time at the cpu size with 8 members, the trees alternating, as a ratio;
- this tree's step with the training loss compiled (torch.compile, inductor) against eager, alternating, after
  the compile (its time printed).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vs_commit import ROOT, checkout  # noqa: E402

COUNT = """
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("hostwork", sys.argv[1])
hostwork = importlib.util.module_from_spec(spec); sys.modules["hostwork"] = hostwork; spec.loader.exec_module(hostwork)
from neural import train
from neural.config import PRESETS
base = PRESETS["cpu"].with_(threads=2)
out = {}
for E, steps in ((1, 40), (1, 80), (2, 40), (2, 80), (32, 40), (32, 80)):
    c, _ = hostwork.count(train.train, base.with_(seeds=tuple(range(E)), steps=steps), None, progress=False)
    out[f"{E}x{steps}"] = [c.ops, c.syncs]
print(json.dumps(out))
"""

CHECKPOINT = """
import json, sys, tempfile, time
from pathlib import Path
import torch
from neural import model, train
from neural.config import PRESETS
from neural.state import Layout, TrainState
cfg = PRESETS["cpu"].with_(seeds=tuple(range(25)), threads=2)
mcfg = train.model_config(cfg)
new = hasattr(train, "checkpoint")  # this tree: neural.checkpoint and append-only metrics
row = {"step": 0, "member": 0, **{c: 0.123456789 for c in ("train/loss", "test/loss", "train/acc", "test/acc",
       "norm/total", "gini/W_E", "gini/W_L", "train/o_t", "train/o_m", "test/o_m", "restricted_loss")}}
out = {}
for history in (1000, 40000):
    times = []
    for r in range(3):
        st = TrainState.fresh(Layout.of(mcfg), model.init_params(mcfg, list(range(25))))
        st.rows = [dict(row, step=i // 25, member=i % 25) for i in range(history)]
        with tempfile.TemporaryDirectory() as d:
            d = Path(d)
            if new:
                run = train._Run.__new__(train._Run)
                run.d, run.st, run.cfg = type("D", (), {"path": d})(), st, cfg
                run.columns = train.evaluation.columns(cfg)
                run.checkpoint()  # the history on disk
                st.rows += [dict(row, step=10**6, member=i) for i in range(100)]
                t0 = time.perf_counter(); run.checkpoint(); times.append(time.perf_counter() - t0)
            else:
                st.rows += [dict(row, step=10**6, member=i) for i in range(100)]
                t0 = time.perf_counter()
                train._save_checkpoint(d / "checkpoint.pt", st.to_checkpoint(cfg.to_dict()))
                train._write_metrics(d, st.rows)
                times.append(time.perf_counter() - t0)
    out[history] = min(times)
print(json.dumps(out))
"""

STEP = """
import json, sys, time
import torch
from neural import train
from neural.config import PRESETS
cfg = PRESETS["cpu"].with_(seeds=tuple(range(8)), threads=2, steps=10**6)
train.tune_process(); torch.set_num_threads(2)
st = train._start(cfg, train.model_config(cfg), torch.device("cpu"), None)
run = train._Run(cfg, torch.device("cpu"), None, st)
if sys.argv[2] == "compiled":
    train.losses = torch.compile(train.losses)
    t0 = time.perf_counter(); run.train_step(); print(f"compile: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
for _ in range(5): run.train_step()
t0 = time.perf_counter()
for _ in range(int(sys.argv[1])): run.train_step()
print(json.dumps((time.perf_counter() - t0) / int(sys.argv[1])))
"""


def run_in(tree: Path, driver: str, *args: str) -> object:
    done = subprocess.run([sys.executable, "-c", driver, *args], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree)})
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default="76512f0")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    hostwork = str(ROOT / "neural" / "hostwork.py")
    with tempfile.TemporaryDirectory() as tmp:
        trees = {args.commit: checkout(args.commit, Path(tmp) / "old"), "this tree": ROOT}
        print("host work of train() (cpu preset, 40 steps): E = 1 -> 2 -> 32")
        for name, tree in trees.items():
            c = run_in(tree, COUNT, hostwork)
            ops = (c["32x40"][0] - c["1x40"][0]) / 31 / 40
            ops2 = (c["32x40"][0] - c["2x40"][0]) / 30 / 40
            syncs = (c["32x40"][1] - c["1x40"][1]) / 31
            step_E = {E: (c[f"{E}x80"][0] - c[f"{E}x40"][0]) / 40 for E in (1, 2, 32)}  # ops a step, evaluations incl.
            per_step = (step_E[32] - step_E[2]) / 30
            setup = (c["32x40"][0] - c["2x40"][0]) / 30 - 40 * per_step
            print(f"  {name:<10} ops {c['1x40'][0]:>7} -> {c['2x40'][0]:>7} -> {c['32x40'][0]:>7}: {ops:5.2f} per "
                  f"added member per step from E=1, {ops2:5.2f} from E=2 (each step: {per_step:5.2f} a member, "
                  f"{step_E[32]:.1f} at E=32, {step_E[2] - step_E[1]:.1f} more at E=2 than at E=1; the setup: "
                  f"{setup:5.1f} a member, once); syncs {c['1x40'][1]:>5} -> "
                  f"{c['32x40'][1]:>6} ({syncs:7.1f} per added member per run)", flush=True)
        print("one checkpoint (25 members, 100 new rows) with a history of 1,000 / 40,000 metric rows")
        for name, tree in trees.items():
            t = run_in(tree, CHECKPOINT)
            print(f"  {name:<10} {t['1000'] * 1e3:7.1f} ms / {t['40000'] * 1e3:7.1f} ms = "
                  f"{t['40000'] / t['1000']:.2f}x", flush=True)
        print(f"eager step, cpu size, 8 members ({args.rounds} alternating rounds of 30 steps)")
        times: dict[str, list[float]] = {k: [] for k in trees}
        for r in range(args.rounds):
            for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                times[name].append(run_in(trees[name], STEP, "30", "eager"))
        old, new = (statistics.median(times[k]) for k in trees)
        print(f"  {args.commit} / this tree: {old * 1e3:.1f} ms / {new * 1e3:.1f} ms = {old / new:.2f}x", flush=True)
        print(f"this tree, eager against the loss compiled ({args.rounds} alternating rounds of 30 steps)")
        modes: dict[str, list[float]] = {"eager": [], "compiled": []}
        for r in range(args.rounds):
            for mode in (list(modes) if r % 2 == 0 else list(modes)[::-1]):
                modes[mode].append(run_in(ROOT, STEP, "30", mode))
        eager, compiled = (statistics.median(modes[k]) for k in modes)
        print(f"  eager / compiled: {eager * 1e3:.1f} ms / {compiled * 1e3:.1f} ms = {eager / compiled:.2f}x")


if __name__ == "__main__":
    main()
