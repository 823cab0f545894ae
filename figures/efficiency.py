"""Figure 3 (efficiency) from a `grok-neural efficiency` directory, and Figure 12 from a `grok-neural compare` one."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cm
from matplotlib.colors import LogNorm
from matplotlib.ticker import NullFormatter

from figures import source, style

KIND_NAMES = {"mem": "memorisation (random labels)", "gen": "generalisation (trigonometric share >= 0.95)"}


def load(sweep_dir: Path, table: str = "members.csv") -> dict:
    maker = "grok-neural efficiency" if table == "members.csv" else "grok-neural compare"
    return source.sweep_record(sweep_dir, table, maker)


def render_fig3(data: dict):
    """Top: (D, parameter norm) of every kept member, coloured by its centred label logit (log scale). Bottom:
    isologit curves, parameter norm against D within each logit bucket, with the fitted D-exponent."""
    style.apply()
    fig, axes = plt.subplots(2, 2, figsize=(10, 7.5))
    for col, kind in enumerate(("mem", "gen")):
        info = data["summary"]["kinds"][kind]
        rows = [r for r in data["rows"] if r["kind"] == kind and r["kept"] and r["converged"] and r["label_logit"] > 0]
        ax = axes[0, col]
        if rows:
            logits = np.array([r["label_logit"] for r in rows])
            sc = ax.scatter([r["D"] for r in rows], [r["norm"] for r in rows], c=logits, cmap="viridis", s=18,
                            norm=LogNorm(logits.min(), max(logits.max(), logits.min() * 1.01)))
            style.plain_log(fig.colorbar(sc, ax=ax, label="centred label logit (log scale)").ax.yaxis)
        ax.set_xscale("log")
        ax.set_xlabel("dataset size D (pairs)")
        ax.set_ylabel("parameter norm (L2)")
        ax.set_title(f"{KIND_NAMES[kind]}\n{info['fitted']} converged and kept of {info['members']}", fontsize=9)
        ax = axes[1, col]
        curves = [c for c in info["isologit"] if c["D"]]
        colours = cm.plasma(np.linspace(0, 0.85, max(len(curves), 1)))
        for colour, c in zip(colours, curves):
            lo, hi = c["logit_range"]
            ax.plot(c["D"], c["norm"], "-o", ms=3, color=colour, label=f"logit {lo:.3g}-{hi:.3g}")
        law = info["law"]
        if law:
            b, (blo, bhi) = law["beta"], law["beta_interval"]
            ax.text(0.03, 0.95, f"norm at fixed logit ∝ D^{b:.2f} [{blo:.2f}, {bhi:.2f}]", transform=ax.transAxes,
                    va="top", fontsize=8)
        ax.set_xscale("log")
        ax.set_xlabel("dataset size D (pairs)")
        ax.set_ylabel("mean parameter norm in bucket")
        ax.set_title(f"isologit curves: {kind}", fontsize=9)
        if curves:
            ax.legend(fontsize=6, loc="lower right")
        sizes = sorted({r["D"] for r in data["rows"] if r["kind"] == kind})
        for a in axes[:, col]:  # label the sizes themselves: a log axis under a decade has no labelled majors
            a.set_xticks(sizes, [f"{int(D)}" for D in sizes])
            a.xaxis.set_minor_formatter(NullFormatter())
    fig.tight_layout()
    return fig


def render_fig12(data: dict):
    """(a) o_t / o_m at convergence against D' for every ungrokking member (o_m > 0), coloured by parameter-norm
    bucket, with the theory's prediction; (b) test accuracy against D', same colours, predicted D_crit dotted."""
    style.apply()
    s = data["summary"]
    rows = data["rows"]
    norms = np.array([r["norm"] for r in rows], dtype=float)
    edges = np.geomspace(norms.min(), norms.max() * (1 + 1e-9), 5) if len(rows) else np.array([1, 2])
    colours = cm.viridis(np.linspace(0, 0.9, len(edges) - 1))
    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.2))
    for k in range(len(edges) - 1):
        mine = [r for r in rows if edges[k] <= r["norm"] < edges[k + 1]]
        label = f"norm {edges[k]:.3g}-{edges[k + 1]:.3g}"
        pos = [r for r in mine if r["measured_ratio"] is not None]
        a.scatter([r["d_prime"] for r in pos], [r["measured_ratio"] for r in pos], s=14, color=colours[k], label=label)
        b.scatter([r["d_prime"] for r in mine], [r["test_acc"] for r in mine], s=14, color=colours[k], label=label)
    curve, pred = s["prediction"]["curve"], s["prediction"]
    if pred["d4_case"] == 2:
        a.plot(curve["D"], curve["ratio"], "k-", lw=1.2, label=f"theory (D.4 case 2, kappa {pred['kappa']:.2f})")
    elif pred["d_crit"] is not None:  # case 1: one circuit only, o_t/o_m = 0 below D_crit and infinite above
        a.axvline(pred["d_crit"], color="k", lw=1.2, label=f"theory (D.4 case 1, kappa {pred['kappa']:.2f}): o_m only "
                                                           f"below D_crit {pred['d_crit']:.0f}, o_t only above")
    skipped = sum(r["measured_ratio"] is None for r in rows)
    a.set(xscale="log", yscale="log", xlabel="reduced dataset size D' (pairs)", ylabel="o_t / o_m at convergence",
          title=f"logit ratio ({skipped} members with o_m <= 0 not shown)")
    style.plain_log(a.xaxis)
    a.legend(fontsize=7, title="colour: parameter norm (L2)", title_fontsize=7, loc="upper left")
    toy = s["prediction"].get("toy")
    if toy:
        b.plot(toy["D"], toy["test_perf"], "k--", lw=1, label="toy at the measured D_crit, beta, kappa\n"
                                                             "(test correct-class probability)")
    crit = s["prediction"]["d_crit"]
    if crit is not None:
        b.axvline(crit, color="k", ls=":", lw=1, label=f"predicted D_crit {crit:.0f}")
    b.axhline(0.5, color="grey", lw=0.6)
    b.set(xscale="log", xlabel="reduced dataset size D' (pairs)", ylabel="test accuracy at convergence",
          title="test accuracy", ylim=(-0.03, 1.03))
    style.plain_log(b.xaxis)
    b.legend(fontsize=7, title="colour: parameter norm (L2)", title_fontsize=7, loc="upper left",
             bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig
