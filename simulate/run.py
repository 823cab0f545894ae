"""One toy run as a user runs it: simulate, log metrics, compare with theory, write the run directory."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import rundir
from simulate import dynamics
from rundir.progress import bar as progress_bar
from simulate.config import CHOICES, ToyConfig
from theory import toy

METRIC_COLUMNS = ("step", "train/loss", "test/loss", "train/perf", "test/perf", "test/acc", "w_G", "w_M",
                  "w_G1", "w_G2", "w_M1", "w_M2", "norm/G", "norm/M", "norm/total", "loss/total")


def log_spaced_steps(total: int, dense_until: int = 1000, n_log: int = 500) -> np.ndarray:
    """Every step up to `dense_until`, then at least `n_log` log-spaced steps up to `total` (inclusive)."""
    dense = np.arange(0, min(dense_until, total) + 1)
    if total <= dense_until:
        return dense
    late = np.unique(np.round(np.geomspace(dense_until, total, n_log + 1)).astype(int))
    # rounding merges near-equal steps; top up with linear steps so at least n_log remain after dense_until
    if len(late) - 1 < n_log:
        late = np.unique(np.concatenate([late, np.linspace(dense_until, total, n_log + 1).round().astype(int)]))
    return np.unique(np.concatenate([dense, late]))


def metrics_rows(steps: np.ndarray, s_T4: np.ndarray, p: dynamics.Params) -> np.ndarray:
    """(T, len(METRIC_COLUMNS)) table for one configuration (p has B = 1)."""
    wG, wM = s_T4[:, 0] * s_T4[:, 1], s_T4[:, 2] * s_T4[:, 3]
    tr, te = dynamics.train_loss(wG, wM, p), dynamics.test_loss(wG, wM, p)
    nG, nM = dynamics.circuit_norms(wG, wM, p)
    return np.column_stack([steps, tr, te, np.exp(-tr), np.exp(-te), (wG > wM).astype(float), wG, wM,
                            s_T4[:, 0], s_T4[:, 1], s_T4[:, 2], s_T4[:, 3], nG, nM, np.sqrt(nG**2 + nM**2),
                            tr + p.alpha / 2 * (nG**2 + nM**2)])


def theory_prediction(cfg: ToyConfig) -> dict:
    """Theory's exact optimum of the same loss (eq. 5 with q = 2) for this configuration."""
    return toy.converged(cfg.P_G, cfg.memorisation_norm(), kappa=cfg.kappa, alpha=cfg.alpha, n_classes=cfg.n_classes)


def run(cfg: ToyConfig, out: Path | None = None, *, overwrite: bool = False, progress: bool = True) -> dict:
    """Simulate `cfg`; write config.json, metrics.csv and summary.json under `out` if given; return the summary.

    A finished run in `out` with the same configuration is returned as it is (with "reused": True); one with
    another configuration is refused unless `overwrite`. A run that diverges raises ValueError naming lr and
    leaves nothing in `out`."""
    cfg.validate()
    if out is None:
        return _simulate(cfg, progress)[0]
    with rundir.RunDir.open(out, cfg.to_dict(), overwrite=overwrite) as d:
        if d.state == "finished":
            return {**rundir.read_json(d.path / "summary.json"), "reused": True}
        t0 = time.perf_counter()
        summary, rows = _simulate(cfg, progress)
        summary["wall_seconds_this_session"] = time.perf_counter() - t0
        d.write_config({"package": "simulate", "config": cfg.to_dict(), "choices": CHOICES,
                        "environment": rundir.environment()})
        rundir.write_csv(d.path / "metrics.csv", METRIC_COLUMNS, rows)
        d.finish(summary)
    return summary


def _simulate(cfg: ToyConfig, progress: bool) -> tuple[dict, np.ndarray]:
    """The run's summary and its metrics rows (len(METRIC_COLUMNS) columns)."""
    p = dynamics.params_of([cfg])
    log_steps = log_spaced_steps(cfg.steps)
    bar = progress_bar(cfg.steps, unit="step", desc="simulate", leave=False) if progress else None
    traj = dynamics.simulate(dynamics.initial_state([cfg]), p, cfg.steps, log_steps, bar.update if bar else None)
    if bar:
        bar.close()
    if traj.diverged[0]:
        raise ValueError(f"lr={cfg.lr:g} is too large for this configuration: the weights overflowed float64 "
                         f"(diverged); lower lr")
    rows = metrics_rows(traj.logged_steps, traj.logged_s_TB4[:, 0, :], p)
    final = dict(zip(METRIC_COLUMNS, rows[-1]))
    pred = theory_prediction(cfg) if cfg.alpha > 0 else None  # without weight decay the loss has no minimiser
    fit, grok, ungrok = int(traj.train_fit_step[0]), int(traj.grok_step[0]), int(traj.ungrok_step[0])
    summary = {
        "train_fit_step": fit if fit >= 0 else None,
        "grok_step": grok if grok >= 0 else None,
        "ungrok_step": ungrok if ungrok >= 0 else None,
        "grokking_delay": grok - fit if (grok >= 0 and fit >= 0) else None,
        "diverged": False,
        "P_M": cfg.memorisation_norm(),
        "final": {k: final[k] for k in ("w_G", "w_M", "train/loss", "test/loss", "test/perf", "test/acc",
                                        "norm/G", "norm/M", "norm/total", "loss/total")},
        "theory": pred,
        "final_vs_theory": None if pred is None else {
            "w_G_rel_err": abs(final["w_G"] - pred["w_G"]) / max(pred["w_G"], 1e-12),
            "w_M_rel_err": abs(final["w_M"] - pred["w_M"]) / max(pred["w_M"], 1e-12),
            "loss_gap": final["loss/total"] - pred["loss"]},
    }
    return summary, rows

