"""How long every command's --help takes, each in a fresh process as a user types it (the target: under 1 s).

    .venv/bin/python benchmarks/bench_help.py [--rounds 3]

Prints the median over rounds for each `grok-<cli> [COMMAND] --help`, and the slowest.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

import typer

ROOT = Path(__file__).resolve().parents[1]
CLIS = ("theory", "simulate", "neural", "figures")


def commands_of(cli: str) -> list[str]:
    module = __import__(f"commands.{cli}", fromlist=["app"])
    app = module.app if hasattr(module, "app") else module.build_app()
    return sorted(typer.main.get_command(app).commands)


def seconds(cli: str, command: str | None) -> float:
    args = [sys.executable, "-m", f"commands.{cli}", *([command] if command else []), "--help"]
    t0 = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(args[2:])}: exit {done.returncode}: {done.stderr[-500:]}")
    return elapsed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    rows = []
    for cli in CLIS:
        for command in [None, *commands_of(cli)]:
            t = statistics.median(seconds(cli, command) for _ in range(args.rounds))
            rows.append((f"grok-{cli} {command or ''}".strip() + " --help", t))
            print(f"{rows[-1][0]:<36} {t:6.2f} s", flush=True)
    worst = max(rows, key=lambda r: r[1])
    print(f"slowest: {worst[0]} {worst[1]:.2f} s over {len(rows)} help pages (median of {args.rounds} each)")


if __name__ == "__main__":
    main()
