"""Configuration-steps per second of the batched toy simulation; issue target: 10,000 x 20,000 in < 60 s.

Also, in the same run, the batched path against simulating the same configurations one at a time.
Run: .venv/bin/python benchmarks/bench_simulate.py [--configs 10000] [--steps 20000]
"""
import argparse
import time

import numpy as np

from simulate import dynamics
from simulate.config import ToyConfig


def configs(n: int) -> list[ToyConfig]:
    rng = np.random.default_rng(0)
    return [ToyConfig(P_M=float(pm), wG2_0=float(w)) for pm, w in
            zip(rng.uniform(0.5, 4, n), np.exp(rng.uniform(np.log(1e-3), 0, n)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--configs", type=int, default=10_000)
    ap.add_argument("--steps", type=int, default=20_000)
    args = ap.parse_args()
    cfgs = configs(args.configs)
    p, s0 = dynamics.params_of(cfgs), dynamics.initial_state(cfgs)
    t = time.perf_counter()
    dynamics.simulate(s0, p, args.steps)
    big = time.perf_counter() - t
    print(f"batched sweep: {args.configs} configs x {args.steps} steps in {big:.1f} s "
          f"= {args.configs * args.steps / big / 1e6:.2f} M config-steps/s   (target < 60 s)")
    # side by side: 100 configs x 2,000 steps, batched vs one at a time
    few, steps = cfgs[:100], 2000
    t = time.perf_counter()
    dynamics.simulate(dynamics.initial_state(few), dynamics.params_of(few), steps)
    batched = time.perf_counter() - t
    t = time.perf_counter()
    for c in few:
        dynamics.simulate(dynamics.initial_state([c]), dynamics.params_of([c]), steps)
    single = time.perf_counter() - t
    print(f"100 configs x {steps} steps: batched {batched:.2f} s, one at a time {single:.2f} s, "
          f"speed-up {single / batched:.0f}x")


if __name__ == "__main__":
    main()
