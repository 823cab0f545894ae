"""The training step on the device at hand, today's engine against an earlier one (default 76512f0, before the
device-resident step), side by side in one run.

    .venv/bin/python benchmarks/bench_device.py [--commit 76512f0 | --old-tree DIR] [--members 1,16,64,256]
                                                [--model paper] [--rounds 2]

For each engine, each ensemble size E (paper-size model by default: p = 113, d_model 128, 30% of pairs) and, on
CUDA, TF32 matmuls off and on: the time of one full-batch training step (median over alternating rounds of 10
steps, after 5 warm-up steps, the device synchronised), the backend ops a step issues on the host (kernels
launched one by one, on a GPU; counted with neural.hostwork over one step: a replayed CUDA graph issues none) and
the peak device memory per member (CUDA only). Each engine runs as it trains: this tree under
neural.device.numerics_mode (deterministic algorithms on CUDA, TF32 only in the TF32 rows). On CUDA this tree runs
twice: with its captured step (neural.graphed, after its warm-up and check) and with GROK_CUDA_GRAPH=off (eager), so
the graph's own share shows; a row where the graph was not adopted says so, with the reason the run gave. The
earlier engine is taken from git (`git archive`), or from --old-tree where the checkout has no history (a device
machine's copy). Each measurement runs in a fresh process with PYTHONPATH set to its tree, so the two engines never
share a process.
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

STEP = """
import contextlib, gc, importlib.util, json, statistics, sys, time
import torch
spec = importlib.util.spec_from_file_location("hostwork", sys.argv[1])
hostwork = importlib.util.module_from_spec(spec); sys.modules["hostwork"] = hostwork; spec.loader.exec_module(hostwork)
from neural import train
from neural.config import CPU_MODEL, PAPER_MODEL
E, tf32s, model, steps = int(sys.argv[2]), sys.argv[3].split(","), sys.argv[4], int(sys.argv[5])
dev = torch.device("cuda" if torch.cuda.is_available() else "cpu")
base = PAPER_MODEL if model == "paper" else CPU_MODEL
cfg = base.with_(seeds=tuple(range(E)), steps=10**6)
if dev.type == "cpu":
    train.tune_process()
def sync():
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)
try:  # each engine as it trains: this one with TF32 only when asked and deterministic algorithms on CUDA
    from neural.device import numerics_mode
except ImportError:  # the earlier engine had no such mode
    numerics_mode = None
def one(tf32):
    if numerics_mode is not None:
        numerics = numerics_mode("tf32" if tf32 else "float32", dev)
    else:
        numerics = contextlib.nullcontext()
        torch.backends.cuda.matmul.allow_tf32 = tf32
    gc.collect()
    if dev.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(dev)
        before = torch.cuda.memory_allocated(dev)
    with numerics:
        st = train._start(cfg, train.model_config(cfg), dev, None)
        run = train._Run(cfg, dev, None, st)
        for _ in range(5):  # this tree's graph: 3 warm-up steps, then the capture and its check
            run.train_step()
        sync()
        counts, _ = hostwork.count(run.train_step)
        sync()
        t0 = time.perf_counter()
        for _ in range(steps):
            run.train_step()
        sync()
    out = {"seconds": (time.perf_counter() - t0) / steps, "ops": counts.ops,
           "graphed": getattr(getattr(run, "graph", None), "replay", None) is not None}
    if dev.type == "cuda":
        out["bytes_per_member"] = (torch.cuda.max_memory_allocated(dev) - before) / E
    return out
print(json.dumps({t: one(t == "on") for t in tf32s}))  # one process for every TF32 setting: starts cost seconds
"""


def measure(tree: Path, E: int, tf32s: list[str], model: str, steps: int, env: dict | None = None) -> dict:
    """{tf32 setting: its measurement}, from one fresh process; each {"error": ...} when the process failed."""
    done = subprocess.run([sys.executable, "-c", STEP, str(ROOT / "neural" / "hostwork.py"), str(E), ",".join(tf32s),
                           model, str(steps)], cwd=tree, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(tree), **(env or {})})
    if done.returncode != 0:
        why = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"
        return {t: {"error": why} for t in tf32s}
    said = [line for line in done.stderr.splitlines() if line.startswith("CUDA graph:")]
    return {t: {**x, "graph_said": said} for t, x in json.loads(done.stdout.strip().splitlines()[-1]).items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default="76512f0")
    ap.add_argument("--old-tree", type=Path, help="The earlier engine's files (instead of taking --commit from git).")
    ap.add_argument("--members", default="1,16,64,256")
    ap.add_argument("--model", choices=("paper", "cpu"), default="paper")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args()
    import torch

    cuda = torch.cuda.is_available()
    device = torch.cuda.get_device_name(0) if cuda else "cpu"
    print(f"device {device}; torch {torch.__version__}, CUDA {torch.version.cuda}; {args.model}-size model; "
          f"{args.steps} steps x {args.rounds} alternating rounds", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        old = args.old_tree or checkout(args.commit, Path(tmp) / "old")
        trees = {args.old_tree.name if args.old_tree else args.commit: (old, {}), "this tree": (ROOT, {})}
        if cuda:
            trees["this tree, no graph"] = (ROOT, {"GROK_CUDA_GRAPH": "off"})
        print(f"{'E':>4} {'TF32':>4} | " + " | ".join(f"{name:>34}" for name in trees) + " | speed-up")
        print(f"{'':>4} {'':>4} | " + " | ".join(f"{'ms/step':>10} {'ops/step':>9} {'MB/member':>12}" for _ in trees)
              + " |")
        tf32s = ["off", "on"] if cuda else ["off"]
        for E in (int(x) for x in args.members.split(",")):
            got: dict[str, list[dict]] = {name: [] for name in trees}
            for r in range(args.rounds):
                for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                    tree, env = trees[name]
                    got[name].append(measure(tree, E, tf32s, args.model, args.steps, env))
            for tf32 in tf32s:
                cells, ms = [], {}
                for name, rounds in got.items():
                    results = [x[tf32] for x in rounds]
                    if any("error" in x for x in results):
                        cells.append(f"{next(x for x in results if 'error' in x)['error'][:34]:>34}")
                        continue
                    ms[name] = 1e3 * statistics.median(x["seconds"] for x in results)
                    mb = results[0].get("bytes_per_member")
                    cells.append(f"{ms[name]:>10.2f} {results[0]['ops']:>9} "
                                 f"{(f'{mb / 2**20:.1f}' if mb is not None else 'n/a'):>12}")
                old_ms, new_ms = (ms.get(name) for name in list(trees)[:2])
                ratio = f"{old_ms / new_ms:.2f}x" if old_ms and new_ms else "n/a"
                print(f"{E:>4} {tf32:>4} | " + " | ".join(cells) + f" | {ratio}", flush=True)
                mine = [x[tf32] for x in got["this tree"]]
                if cuda and not any(x.get("graphed") for x in mine):
                    said = sorted({line for x in mine for line in x.get("graph_said", [])})
                    print(f"{'':>11}this tree trained eagerly: {'; '.join(said) or 'no graph was captured'}",
                          flush=True)

if __name__ == "__main__":
    main()
