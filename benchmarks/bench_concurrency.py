"""Two `grok-neural train --preset cpu` runs at once against the same two one after the other (issue: two
torch processes on 2 cores used to slow each other 3-27x). Rounds alternate the orders; prints wall times and
the ratio concurrent / sequential (<= 1 means running them together is no slower).

    .venv/bin/python benchmarks/bench_concurrency.py [--steps 1000] [--rounds 2]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def job(out: Path, steps: int, threads: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "neural", "train", "--preset", "cpu", "--steps", str(steps),
                             "--out", str(out), "--overwrite", *threads], cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wall(mode: str, steps: int, threads: list[str], tmp: Path) -> float:
    t0 = time.perf_counter()
    if mode == "sequential":
        for k in range(2):
            assert job(tmp / f"s{k}", steps, threads).wait() == 0
    else:
        jobs = [job(tmp / f"c{k}", steps, threads) for k in range(2)]
        assert all(j.wait() == 0 for j in jobs)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    settings = {"default threads (all cores; the second run waits for the first's cores)": [],
                "--threads 1 (each run one core)": ["--threads", "1"]}
    times = {(s, m): [] for s in settings for m in ("sequential", "concurrent")}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            for s, threads in settings.items():
                for m in (("sequential", "concurrent") if r % 2 == 0 else ("concurrent", "sequential")):
                    times[(s, m)].append(wall(m, args.steps, threads, Path(tmp)))
    print(f"two cpu-preset runs of {args.steps} steps, {args.rounds} alternating rounds (wall seconds, median)")
    print(f"{'setting':<72} {'sequential':>10} {'concurrent':>10} {'ratio':>7}")
    for s in settings:
        seq, con = statistics.median(times[(s, 'sequential')]), statistics.median(times[(s, 'concurrent')])
        print(f"{s:<72} {seq:>10.1f} {con:>10.1f} {con / seq:>7.2f}")
    base = statistics.median(times[(next(iter(settings)), "sequential")])
    one = statistics.median(times[("--threads 1 (each run one core)", "concurrent")])
    print(f"two 1-thread runs at once vs two default runs one after the other: {one / base:.2f}")


if __name__ == "__main__":
    main()
