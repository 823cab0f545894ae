"""Member-steps per second of a sweep's layouts, and the step-cost model runner.pack cuts by.

    .venv/bin/python benchmarks/bench_sweep.py [--steps 300] [--rounds 2]

1. 16 members of mixed D' (one ungrokking grid at the cpu size: 8 sizes x 2 weight decays), trained one after
   another, as one padded ensemble, and as runner.pack cuts them; alternating, in one run.
2. The cost of one training step over a grid of ensemble sizes E and padded training-set sizes D, fitted to
   c0 + c1 E + c2 E D, printed beside the constants runner.pack uses (ENSEMBLE_COST = c0 / c2, MEMBER_COST =
   c1 / c2, in member-pairs).
"""
from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from neural import runner, stepcost, train
from neural.config import TrainConfig

BASE = TrainConfig(p=59, frac=0.5, d_model=64, n_heads=4, d_head=16, d_mlp=256, eval_points=2, eval_every=10**9)


def members() -> list[dict]:
    sizes = np.geomspace(0.04, 0.25, 8) * 59 * 59
    return [{"seed": 0, "wd": wd, "lr": 1e-3, "subset": int(D)} for D in sizes for wd in (1.0, 3.0)]


def seconds(cfgs: list[TrainConfig]) -> float:
    t = time.perf_counter()
    for cfg in cfgs:
        train.train(cfg, None, progress=False)
    return time.perf_counter() - t


def layouts(steps: int, rounds: int) -> None:
    base = BASE.with_(steps=steps)
    ms = members()
    ways = {
        "one after another": [base.with_(member_specs=(m,)) for m in ms],
        "one padded ensemble of 16": [base.with_(member_specs=tuple(ms))],
        "runner.pack (by step cost)": [cfg for cfg, _ in runner.pack([runner.Spec(base, m) for m in ms])],
    }
    times = {k: [] for k in ways}
    for r in range(rounds):
        for k in (list(ways) if r % 2 == 0 else list(ways)[::-1]):
            times[k].append(seconds(ways[k]))
    seq = statistics.median(times["one after another"])
    print(f"16 members, D' {sorted({m['subset'] for m in ms})}, wd 1/3, {steps} steps, median of {rounds} rounds")
    print(f"{'layout':<30} {'ensembles':>9} {'seconds':>8} {'member-steps/s':>15} {'speed-up':>9}")
    for k, cfgs in ways.items():
        t = statistics.median(times[k])
        print(f"{k:<30} {len(cfgs):>9} {t:>8.1f} {16 * steps / t:>15.0f} {seq / t:>8.2f}x")


def step_cost_fit() -> None:
    grid = ((1, 200), (1, 600), (1, 1740), (4, 200), (4, 600), (8, 200), (8, 600), (8, 1740), (16, 600))
    costs, rows = stepcost.measure(BASE, torch.device("cpu"), grid, repeats=8)
    (c0, c1, c2), ref = costs.step, stepcost.CPU_REFERENCE.step
    print("one training step, ms (best of 3 x 8 steps): " + ", ".join(f"E={E} D={D}: {1e3 * s:.2f}"
                                                                      for E, D, s in rows))
    print(f"fit c0 + c1 E + c2 E D: c0 = {1e3 * c0:.2f} ms, c1 = {1e3 * c1:.3f} ms, c2 = {1e6 * c2:.2f} us; in "
          f"member-pairs c0/c2 = {c0 / c2:.0f}, c1/c2 = {c1 / c2:.0f} (the reference runner.pack uses: "
          f"{ref[0] / ref[2]:.0f}, {ref[1] / ref[2]:.0f})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    layouts(args.steps, args.rounds)
    step_cost_fit()


if __name__ == "__main__":
    main()
