"""Figure 3 (efficiency) from a `grok-neural efficiency` directory, and Figure 12 from a `grok-neural compare` one."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import source, style, verdicts
from neural import protocol
from figures.sections import Section, figure_of, num, section_for, with_interval
from neural.experiments import efficiency as efficiency_experiment
from rundir.lazy import lazy

cm = lazy("matplotlib.cm")
colors = lazy("matplotlib.colors")
plt = lazy("matplotlib.pyplot")
ticker = lazy("matplotlib.ticker")


KIND_NAMES = {"mem": "memorisation (random labels)", "gen": "generalisation (trigonometric share >= 0.95)"}


def load(sweep_dir: Path) -> dict:
    return source.sweep_record(sweep_dir, "efficiency")


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
                            norm=colors.LogNorm(logits.min(), max(logits.max(), logits.min() * 1.01)))
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
            a.xaxis.set_minor_formatter(ticker.NullFormatter())
    fig.tight_layout()
    return fig


def draw(data: dict) -> dict:
    """Figure 3: parameter norm against D coloured by logit, and isologit curves, per circuit (what `grok-neural
    efficiency` writes, by stem)."""
    return {"fig3": render_fig3(data)}


def efficiency_section(found: dict) -> Section:
    s, run = section_for("p1", "P1 — efficiency: memorisation gets less efficient with D, generalisation does not",
                         "To produce a fixed logit, memorisation-only networks need a parameter norm that grows with "
                         "the dataset size D; generalisation-only networks need the same norm at every D (paper "
                         "Section 4.1, Figure 3).",
                         protocol.command_line("efficiency"), found.get("efficiency", []))
    if run is None:
        return s
    kinds = run["summary"]["kinds"]
    for kind, label in (("mem", "memorisation"), ("gen", "generalisation")):
        k = kinds[kind]
        law, kap = k["law"], k["kappa"]
        s.rows.append((f"{label}: norm at fixed logit ∝ D^β",
                       with_interval(law["beta"], law["beta_interval"], ".3f") + f" (95%, {law['n']} members)"
                       if law else
                       "no law (needs >= 4 converged members at >= 2 sizes)"))
        s.rows.append((f"{label}: members kept / fitted",
                       f"{k['kept']} of {k['members']} kept{' (' + k['dropped_reason'] + ')' if k['dropped'] else ''}; "
                       f"{k['unconverged']} unconverged at the cap; {k['fitted']} fitted"))
        if k.get("dropped_by_size"):
            s.rows.append((f"{label}: dropped by the filter, by size D", ", ".join(
                f"D {D}: {n}" for D, n in k["dropped_by_size"].items())))
        s.rows.append((f"{label}: κ (logit homogeneity degree)",
                       f"{num(kap['mean'], '.2f')} (sd {num(kap['sd'], '.2f')}); Theorem D.4 case "
                       f"{kap['d4_case_q2']} at q = 2"
                       if kap["mean"] is not None else "n/a"))
        if law and law.get("leave_one_out"):
            betas = [e["law"]["beta"] for e in law["leave_one_out"] if e["law"]]
            s.rows.append((f"{label}: β leaving one member out", f"{min(betas):.3f} to {max(betas):.3f} "
                           f"({len(betas)} refits)" if betas else "n/a"))
        if k.get("law_with_unconverged"):
            w = k["law_with_unconverged"]
            s.rows.append((f"{label}: β with the unconverged members",
                           with_interval(w["beta"], w["beta_interval"], ".3f")))
    laws = [{**k["law"], "with_unconverged": k.get("law_with_unconverged")} if k["law"] else None
            for k in (kinds["mem"], kinds["gen"])]
    s.judge(verdicts.p1(*laws))
    s.figures.append(figure_of("Figure 3: parameter norm against D coloured by logit, and isologit curves",
                             lambda: render_fig3(load(run["dir"]))))
    return s

EXPERIMENT = efficiency_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (efficiency_section,)
