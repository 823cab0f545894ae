"""The demo's ungrokking and efficiency sweeps against the same sweeps at an earlier commit (default 55e3f17,
before the flat-buffer engine), back to back in one run.

    .venv/bin/python benchmarks/bench_vs_commit.py [--commit 55e3f17] [--rounds 1] [--only ungrok|efficiency]

The earlier tree is taken from git (`git archive`) into a temporary directory and run with this environment's
Python and packages. Both trees run the same work: the `demo` presets as 55e3f17 defines them (written here
relative to the `cpu` presets, which are unchanged, and checked against that tree's own `demo` preset), through
each tree's `run` function, so figure drawing is not timed. Rounds alternate which tree goes first. Prints wall
seconds, the ratio old / new, and each run's headline numbers (which move where the packing of members into
ensembles changed the rounding; see the README).
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# The demo presets of 55e3f17, as replacements of the cpu presets (identical in both trees).
DRIVERS = {
    "ungrok": """
import dataclasses, json, os, sys
import neural
assert os.path.dirname(os.path.dirname(os.path.abspath(neural.__file__))) == os.getcwd(), neural.__file__
from neural.experiments import ungrok
new = hasattr(ungrok, "EXPERIMENT")  # this tree: the experiment protocol; older trees: run(pre, tasks, dir)
extra = {} if new else {"description": "bench"}
cpu = ungrok.PRESETS["cpu"]
grid = {"d_prime_fracs": cpu.d_prime_fracs[1:5]} if new else {"d_prime": cpu.d_prime[1:5]}
pre = dataclasses.replace(cpu, seeds=(0,), wds=(1.0, 3.0), **grid, **extra)
if sys.argv[2] == "check":
    old = dataclasses.replace(ungrok.PRESETS["demo"], **extra)
    assert old == pre, (old, pre)
if new:
    from neural import protocol
    s = protocol.run_preset(ungrok.EXPERIMENT, pre, sys.argv[1], progress=False)
else:
    s = ungrok.run(pre, ["add"], sys.argv[1], progress=False)
s = s["tasks"]["add"]["by_wd"]
print(json.dumps({"d_crit": {wd: v["d_crit"] for wd, v in s.items()}}))
""",
    "efficiency": """
import dataclasses, json, os, sys
import neural
assert os.path.dirname(os.path.dirname(os.path.abspath(neural.__file__))) == os.getcwd(), neural.__file__
from neural.experiments import efficiency
new = hasattr(efficiency, "EXPERIMENT")
extra = {} if new else {"description": "bench"}
cpu = efficiency.PRESETS["cpu"]
pre = dataclasses.replace(cpu, mem_sizes=(100, 200), gen_fracs=(0.5, 0.6), wds=(1.0,), seeds=(0, 1, 2), mem_cap=2500,
                          gen_cap=2500, **extra)
if sys.argv[2] == "check":
    old = dataclasses.replace(efficiency.PRESETS["demo"], **extra)
    assert old == pre, (old, pre)
if new:
    from neural import protocol
    s = protocol.run_preset(efficiency.EXPERIMENT, pre, sys.argv[1], progress=False)["kinds"]
else:
    s = efficiency.run(pre, sys.argv[1], progress=False)["kinds"]
print(json.dumps({k: (v.get("law") or {}).get("beta") for k, v in s.items()}))
""",
}


def checkout(commit: str, into: Path) -> Path:
    """The tree of `commit` (files only) under `into`."""
    blob = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(blob)) as tar:
        tar.extractall(into, filter="data")
    return into


def timed(tree: Path, experiment: str, out: Path, check: bool) -> tuple[float, str]:
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", DRIVERS[experiment], str(out), "check" if check else "-"],
                          cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)},
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{experiment} in {tree} failed:\n{done.stderr[-3000:]}")
    return time.perf_counter() - t0, done.stdout.strip().splitlines()[-1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--commit", default="55e3f17")
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--only", choices=sorted(DRIVERS), action="append")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        old = checkout(args.commit, Path(tmp) / "old")
        trees = {args.commit: (old, True), "this tree": (ROOT, False)}
        for experiment in args.only or list(DRIVERS):
            seconds: dict[str, list[float]] = {k: [] for k in trees}
            for r in range(args.rounds):
                for name in (list(trees) if r % 2 == 0 else list(trees)[::-1]):
                    tree, check = trees[name]
                    s, headline = timed(tree, experiment, Path(tmp) / f"{experiment}-{name}-{r}".replace(" ", "_"),
                                        check)
                    seconds[name].append(s)
                    print(f"{experiment:<10} {name:<10} round {r}: {s:6.1f} s   {headline}", flush=True)
            a, b = (statistics.median(seconds[k]) for k in trees)
            print(f"{experiment:<10} {args.commit} / this tree: {a:.1f} s / {b:.1f} s = {a / b:.2f}x faster "
                  f"(median of {args.rounds} round(s))", flush=True)


if __name__ == "__main__":
    main()
