"""A grid over any two toy parameters, run as one vectorised batch (every configuration at once)."""
from __future__ import annotations

from dataclasses import fields
from functools import lru_cache
from pathlib import Path

import numpy as np

import rundir
from simulate import dynamics
from rundir.progress import bar as progress_bar
from simulate.config import CHOICES, NUMERIC_FIELDS, ToyConfig
from theory.allocation import Q_L2, allocate

SWEEPABLE = tuple(f for f in NUMERIC_FIELDS if f not in ("steps",))
MAX_CONFIGURATIONS = 10**6
MAX_CONFIG_STEPS = 3 * 10**9
COLUMNS = ("x", "y", "P_M", "train_fit_step", "grok_step", "ungrok_step", "grokking_delay", "final_test_perf",
           "final_w_G", "final_w_M", "theory_w_G", "theory_w_M", "theory_test_perf", "diverged")


def parse_grid(name: str, spec: str) -> np.ndarray:
    """'start:stop:num' (linear), 'start:stop:num:log' (geometric) or 'v1,v2,...'."""
    err = ValueError(f"{name}={spec!r} is malformed: use start:stop:num, start:stop:num:log (start, stop > 0) "
                     f"or a comma list v1,v2,...")
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
                raise err
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 1:
                raise err
            if len(parts) == 4:
                if a <= 0 or b <= 0:
                    raise err
                return np.geomspace(a, b, n)
            return np.linspace(a, b, n)
        values = np.array([float(v) for v in spec.split(",") if v.strip() != ""])
    except ValueError as e:
        if e is err:
            raise
        raise err from None
    if values.size == 0:
        raise err
    return values


def grid_configs(base: ToyConfig, x: str, xs: np.ndarray, y: str, ys: np.ndarray) -> list[ToyConfig]:
    """Configurations in row-major order: y varies slowest."""
    for name in (x, y):
        if name not in SWEEPABLE:
            raise ValueError(f"parameter {name!r} cannot be swept: choose from {', '.join(SWEEPABLE)}")
    if x == y:
        raise ValueError(f"x and y are both {x!r}: sweep two different parameters")
    ints = {f.name for f in fields(ToyConfig) if f.type in ("int", int)}
    cast = lambda name, v: int(round(v)) if name in ints else float(v)  # noqa: E731
    return [base.with_(**{x: cast(x, xv), y: cast(y, yv)}).validate() for yv in ys for xv in xs]


@lru_cache(maxsize=100_000)
def _theory(P_G: float, P_M: float, kappa: float, alpha: float, n_classes: int) -> tuple[float, float]:
    a = allocate([P_G, P_M], kappa=kappa, q=Q_L2, alpha=alpha, n_classes=n_classes)
    return a.weights[0], a.weights[1]


def run_sweep(base: ToyConfig, x: str, xs: np.ndarray, y: str, ys: np.ndarray, steps: int,
              out: Path | None = None, *, overwrite: bool = False, progress: bool = True) -> dict:
    """Simulate every (x, y) pair for `steps` steps in one batch; write sweep.csv; return the table columns."""
    base = base.with_(steps=steps).validate()
    n = len(xs) * len(ys)
    if n > MAX_CONFIGURATIONS or n * steps > MAX_CONFIG_STEPS:
        raise ValueError(f"x_values x y_values = {n:,} configurations x {steps:,} steps is too much: at most "
                         f"{MAX_CONFIGURATIONS:,} configurations and {MAX_CONFIG_STEPS:.0e} configuration-steps "
                         f"(about 200 ns each, so about 10 minutes)")
    configs = grid_configs(base, x, xs, y, ys)
    if out is None:
        return _simulate_grid(configs, x, y, steps, progress)[0]
    identity = {"base": base.to_dict(), "x": x, "x_values": xs, "y": y, "y_values": ys, "steps": steps}
    with rundir.RunDir.open(out, identity, overwrite=overwrite) as d:
        if d.state == "finished":
            return rundir.read_csv(d.path / "sweep.csv")
        table, summary = _simulate_grid(configs, x, y, steps, progress)
        d.write_config({"package": "simulate", "experiment": "sweep", "config": identity, "choices": CHOICES,
                        "environment": rundir.environment()})
        rundir.write_csv(d.path / "sweep.csv", COLUMNS, zip(*(table[c] for c in COLUMNS)))
        d.finish(summary)
    return table


def _simulate_grid(configs: list[ToyConfig], x: str, y: str, steps: int, progress: bool) -> tuple[dict, dict]:
    """The sweep table (one entry per column of COLUMNS) and its summary."""
    p = dynamics.params_of(configs)
    bar = None
    if progress:
        bar = progress_bar(steps, unit="step", desc=f"sweep {len(configs)} configs", leave=False)
    traj = dynamics.simulate(dynamics.initial_state(configs), p, steps, progress=bar.update if bar else None)
    if bar:
        bar.close()
    wG, wM = dynamics.weights(traj.s_B4)
    _, perf = dynamics.correct_probabilities(wG, wM, p)
    theory_w = np.array([_theory(c.P_G, c.memorisation_norm(), c.kappa, c.alpha, int(c.n_classes)) for c in configs])
    _, theory_perf = dynamics.correct_probabilities(theory_w[:, 0], theory_w[:, 1], p)
    never = lambda a: np.where(a >= 0, a, np.nan)  # noqa: E731
    table = {
        "x": np.array([getattr(c, x) for c in configs], dtype=float),
        "y": np.array([getattr(c, y) for c in configs], dtype=float),
        "P_M": p.P_M, "train_fit_step": never(traj.train_fit_step), "grok_step": never(traj.grok_step),
        "ungrok_step": never(traj.ungrok_step),
        "grokking_delay": never(traj.grok_step) - never(traj.train_fit_step),
        "final_test_perf": perf, "final_w_G": wG, "final_w_M": wM,
        "theory_w_G": theory_w[:, 0], "theory_w_M": theory_w[:, 1], "theory_test_perf": theory_perf,
        "diverged": traj.diverged.astype(float),
    }
    summary = {
        "configurations": len(configs), "steps": steps,
        "grokked": int(np.sum(traj.grok_step >= 0)), "diverged": int(traj.diverged.sum()),
        "median_grokking_delay": float(np.nanmedian(table["grokking_delay"]))
        if np.isfinite(table["grokking_delay"]).any() else None,
        "mean_abs_test_perf_gap_to_theory": float(np.mean(np.abs(perf - theory_perf)))}
    return table, summary
