"""Phase diagram of a toy sweep: grokking delay and final test performance over two parameters."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import source, style
from rundir.lazy import lazy

colors = lazy("matplotlib.colors")
plt = lazy("matplotlib.pyplot")


def load(sweep_dir: Path) -> dict:
    record, table = source.run_record(sweep_dir, "sweep_dir", "simulate", "sweep", table="sweep.csv")
    cfg = record["config"]
    return {"table": table, "x": cfg["x"], "y": cfg["y"],
            "x_values": np.array(cfg["x_values"], dtype=float), "y_values": np.array(cfg["y_values"], dtype=float),
            "steps": cfg["steps"]}


def render(data: dict):
    style.apply()
    t, xs, ys = data["table"], data["x_values"], data["y_values"]
    shape = (len(ys), len(xs))
    delay = t["grokking_delay"].reshape(shape)
    perf = t["final_test_perf"].reshape(shape)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    finite = delay[np.isfinite(delay) & (delay > 0)]
    norm = colors.LogNorm(vmin=max(finite.min(), 1), vmax=max(finite.max(), 2)) if finite.size else None
    im = axes[0].pcolormesh(xs, ys, np.where(delay > 0, delay, np.nan), norm=norm, cmap="viridis", shading="nearest")
    fig.colorbar(im, ax=axes[0], label="grokking delay (steps; blank: never or none)")
    axes[0].set_title(f"grokking delay after {data['steps']} steps")
    im = axes[1].pcolormesh(xs, ys, perf, vmin=0, vmax=1, cmap="RdYlGn", shading="nearest")
    fig.colorbar(im, ax=axes[1], label="final test performance (p correct)")
    axes[1].set_title("final test performance")
    for ax in axes:
        ax.set_xlabel(data["x"])
        ax.set_ylabel(data["y"])
        for vals, setter in ((xs, ax.set_xscale), (ys, ax.set_yscale)):
            if len(vals) > 2 and np.all(vals > 0) and np.allclose(np.diff(np.log(vals)), np.log(vals[1] / vals[0])):
                setter("log")
    fig.tight_layout()
    return fig
