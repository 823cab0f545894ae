"""Member-steps per second: a 16-member ensemble of mixed D' (one ungrokking weight decay's grid at the cpu
size) against the same 16 members trained one after another, alternating, in one run.

    .venv/bin/python benchmarks/bench_sweep.py [--steps 300] [--rounds 2]

The ensemble pads every member's training set to the largest D' (a step costs E x max D'); the sweep runner
therefore packs members of similar D' (within 2x) into one ensemble. Both layouts are timed: all 16 in one
padded ensemble, and the runner's packing.
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from neural import train
from neural.config import TrainConfig
from neural.experiments import runner

BASE = TrainConfig(p=59, frac=0.5, d_model=64, n_heads=4, d_head=16, d_mlp=256, eval_points=2, eval_every=10**9)


def members() -> list[dict]:
    sizes = np.geomspace(0.04, 0.25, 8) * 59 * 59
    return [{"seed": s, "wd": 1.0, "lr": 1e-3, "subset": int(D)} for D in sizes for s in (0, 1)]


def seconds(cfgs: list[TrainConfig]) -> float:
    t = time.perf_counter()
    for cfg in cfgs:
        train.train(cfg, None, progress=False)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    base = BASE.with_(steps=args.steps)
    ms = members()
    layouts = {
        "one after another": [base.with_(member_specs=(m,)) for m in ms],
        "one padded ensemble of 16": [base.with_(member_specs=tuple(ms))],
        "runner.pack (D' within 2x)": [cfg for cfg, _ in runner.pack([runner.Spec(base, m) for m in ms])],
    }
    times = {k: [] for k in layouts}
    for r in range(args.rounds):
        for k in (list(layouts) if r % 2 == 0 else list(layouts)[::-1]):
            times[k].append(seconds(layouts[k]))
    seq = statistics.median(times["one after another"])
    print(f"16 members, D' {sorted({m['subset'] for m in ms})}, {args.steps} steps, median of {args.rounds} rounds")
    print(f"{'layout':<30} {'ensembles':>9} {'seconds':>8} {'member-steps/s':>15} {'speed-up':>9}")
    for k, cfgs in layouts.items():
        t = statistics.median(times[k])
        print(f"{k:<30} {len(cfgs):>9} {t:>8.1f} {16 * args.steps / t:>15.0f} {seq / t:>8.2f}x")


if __name__ == "__main__":
    main()
