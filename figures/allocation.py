"""Theorem D.4 drawn: how the optimal weight splits between two circuits as kappa approaches q.

Below kappa = q (case 2) both circuits keep weight, w_i ∝ P_i^(-q kappa/(q - kappa)); at and above it (case 1)
the more efficient circuit takes all of it. Computed by `theory.allocation.optimal_shares` (the closed form the
checker verifies), for a few norm ratios P_M / P_G."""
from __future__ import annotations

import numpy as np

from figures import style
from rundir.lazy import lazy
from theory.penalty import Q_L2

allocation, plt = lazy("theory.allocation"), lazy("matplotlib.pyplot")


RATIOS = (1.05, 1.25, 2.0)  # P_M / P_G: memorisation this much less efficient


def render(q: float = Q_L2, kappa_max: float = 3.0):
    style.apply()
    kappas = np.linspace(0.05, kappa_max, 300)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for ratio, colour in zip(RATIOS, ("#9467bd", "#1f77b4", "#2ca02c")):
        share = [allocation.optimal_shares(np.array([1.0, ratio]), float(k), q)[0][0] for k in kappas]
        ax.plot(kappas / q, share, color=colour, label=f"P_M / P_G = {ratio:g}")
    ax.axvline(1.0, color="k", ls=":", lw=1)
    ax.text(0.5, 0.08, "case 2: a mixture", ha="center", transform=ax.get_xaxis_transform(), fontsize=8)
    ax.text(1.22, 0.08, "case 1: winner\ntakes all", ha="center", transform=ax.get_xaxis_transform(), fontsize=8)
    ax.set(xlabel="κ / q (logit homogeneity degree over the norm exponent)", ylim=(0.45, 1.02),
           ylabel="optimal share of the generalising circuit\nw_G / (w_G + w_M)",
           title="Theorem D.4: optimal allocation between two circuits")
    ax.legend(fontsize=7, loc="center right")
    fig.tight_layout()
    return fig
