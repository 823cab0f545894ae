"""Figure 2 (the three-ingredient toy): losses, circuit weights and parameter norm per run."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import rundir
from figures import source, style
from rundir.lazy import lazy

plt = lazy("matplotlib.pyplot")


PAPER_TITLES = ["(a) all three ingredients", "(b) generalisation less efficient", "(c) generalisation not slower"]


def load(run_dirs: list[Path]) -> list[dict]:
    """Metrics, config and summary of each simulate run directory."""
    data = []
    for d in run_dirs:
        d = Path(d)
        record, metrics = source.run_record(d, "run_dir", "simulate")
        data.append({"name": d.name, "metrics": metrics, "config": record["config"],
                     "summary": rundir.read_json(d / "summary.json") if (d / "summary.json").exists() else {}})
    return data


def render(data: list[dict], titles: list[str] | None = None):
    """One column per run: (top) train/test loss, (middle) w_G and w_M, (bottom) parameter norms."""
    style.apply()
    n = len(data)
    fig, axes = plt.subplots(3, n, figsize=(3.6 * n, 7.2), sharex="col", squeeze=False)
    for k, run in enumerate(data):
        m, c = run["metrics"], run["config"]
        step = np.maximum(m["step"], 1)
        ax = axes[0, k]
        ax.plot(step, m["train/loss"], color=style.COLORS["train"], label="train loss")
        ax.plot(step, m["test/loss"], color=style.COLORS["test"], label="test loss")
        ax.set_yscale("log")
        ax.set_title(titles[k] if titles else f"{run['name']}: P_G={c['P_G']:g}, "
                                              f"P_M={run['summary'].get('P_M', c['P_M']):.3g}, "
                     f"w_G2(0)={c['wG2_0']:g}", fontsize=8)
        if run["summary"].get("grok_step") is not None:
            ax.axvline(max(run["summary"]["grok_step"], 1), color="grey", ls=":", lw=1, label="grok step")
        ax = axes[1, k]
        ax.plot(step, m["w_G"], color=style.COLORS["G"], label="$w_G$ (generalising)")
        ax.plot(step, m["w_M"], color=style.COLORS["M"], label="$w_M$ (memorising)")
        th = run["summary"].get("theory")
        if th:
            ax.axhline(th["w_G"], color=style.COLORS["G"], ls="--", lw=0.8, label="theory optimum")
            ax.axhline(th["w_M"], color=style.COLORS["M"], ls="--", lw=0.8)
        ax = axes[2, k]
        ax.plot(step, m["norm/total"], color=style.COLORS["total"], label="total")
        ax.plot(step, m["norm/G"], color=style.COLORS["G"], lw=0.8, label="generalising")
        ax.plot(step, m["norm/M"], color=style.COLORS["M"], lw=0.8, label="memorising")
        ax.set_xscale("log")
        ax.set_xlabel("step")
    axes[0, 0].set_ylabel("cross-entropy")
    axes[1, 0].set_ylabel("circuit weight")
    axes[2, 0].set_ylabel("parameter norm")
    for row in axes:
        row[0].legend(fontsize=7)
    fig.tight_layout()
    return fig
