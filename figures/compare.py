"""Figure 12 (theory against measurement: o_t/o_m and test accuracy against D' with the predictions) and the
report's section for `grok-neural compare`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import source, style, verdicts
from neural import protocol
from figures.sections import Section, figure_of, num, section_for, with_interval
from neural.experiments import compare as compare_experiment
from rundir.lazy import lazy

cm = lazy("matplotlib.cm")
plt = lazy("matplotlib.pyplot")


def load(compare_dir: Path) -> dict:
    return source.sweep_record(compare_dir, "compare")


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
        for done in (True, False):  # members unconverged at the cap drawn hollow
            these = [r for r in mine if bool(r.get("converged", True)) == done]
            pos = [r for r in these if r["measured_ratio"] is not None]
            kw = dict(s=14, color=colours[k], label=label) if done else dict(s=18, facecolors="none",
                                                                              edgecolors=colours[k])
            a.scatter([r["d_prime"] for r in pos], [r["measured_ratio"] for r in pos], **kw)
            b.scatter([r["d_prime"] for r in these], [r["test_acc"] for r in these], **kw)
    curve, pred = s["prediction"]["curve"], s["prediction"]
    if pred["d4_case"] == 2:
        a.plot(curve["D"], curve["ratio"], "k-", lw=1.2, label=f"theory (D.4 case 2, kappa {pred['kappa']:.2f})")
    elif pred["d_crit"] is not None:  # case 1: one circuit only, o_t/o_m = 0 below D_crit and infinite above
        a.axvline(pred["d_crit"], color="k", lw=1.2, label=f"theory (D.4 case 1, kappa {pred['kappa']:.2f}): o_m only "
                                                           f"below D_crit {pred['d_crit']:.0f}, o_t only above")
    skipped = sum(r["measured_ratio"] is None for r in rows)
    late = sum(not r.get("converged", True) for r in rows)
    a.set(xscale="log", yscale="log", xlabel="reduced dataset size D' (pairs)",
          ylabel="o_t / o_m at convergence (or at the cap)",
          title=f"logit ratio ({skipped} members with o_m <= 0 not shown; {late} unconverged, hollow)")
    style.plain_log(a.xaxis)
    a.legend(fontsize=7, title="colour: parameter norm (L2)", title_fontsize=7, loc="upper left")
    toy = s["prediction"].get("toy")
    if toy:
        b.plot(toy["D"], toy["test_perf"], "k--", lw=1, label="toy at the measured D_crit, beta, kappa\n"
                                                             "(test correct-class probability)")
    crit, span = s["prediction"]["d_crit"], s["prediction"].get("d_crit_interval")
    if crit is not None:
        text = f" [95%: {span[0]:.0f}, {span[1]:.0f}]" if span else " (no interval)"
        b.axvline(crit, color="k", ls=":", lw=1, label=f"predicted D_crit {crit:.0f}{text}")
        if span:
            b.axvspan(*span, color="k", alpha=0.08, lw=0)
    b.axhline(0.5, color="grey", lw=0.6)
    b.set(xscale="log", xlabel="reduced dataset size D' (pairs)", ylabel="test accuracy at convergence (or at the cap)",
          title=f"test accuracy ({late} unconverged, hollow)", ylim=(-0.03, 1.03))
    style.plain_log(b.xaxis)
    b.legend(fontsize=7, title="colour: parameter norm (L2)", title_fontsize=7, loc="upper left",
             bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def draw(data: dict) -> dict:
    """Figure 12: o_t/o_m and test accuracy against D' at convergence, with the theory's predictions (what
    `grok-neural compare` writes, by stem)."""
    return {"fig12": render_fig12(data)}


def compare_section(found: dict) -> Section:
    s, run = section_for("compare", "Theory against measurement: D_crit and o_t/o_m predicted from efficiencies",
                         "Fed only with the efficiency sweep's norms and κ (networks that never ungrokked), the "
                         "theory (P_M(D_crit) = P_G; Theorem D.4's allocation) predicts where the ungrokking sweep's "
                         "transition lies and how the logit splits between the circuits (paper Figure 12).",
                         protocol.command_line("compare"), found.get("compare", []))
    if run is None:
        return s
    summ = run["summary"]
    pred = summ["prediction"]
    s.config = f"sources: {summ['sources']['ungrok']} and {summ['sources']['efficiency']}"
    s.rows.append(("κ → Theorem D.4 case (q = 2)", f"{num(pred['kappa'], '.2f')} → case {pred['d4_case']}"))
    if pred["law_M"]:
        s.rows.append(("laws", f"P_M(D) = {num(pred['law_M']['a'], '.3g')} D^{num(pred['law_M']['beta'], '.3f')}, "
                               f"P_G = {num(pred['P_G'], '.3g')}"))
    predicted = with_interval(pred["d_crit"], pred["d_crit_interval"])
    s.rows.append(("predicted D_crit [95%, P_G's uncertainty included]",
                   predicted if pred["d_crit"] is not None else f"n/a ({pred['d_crit_unavailable']})"))
    if pred.get("d_crit_interval_mem_only"):
        s.rows.append(("predicted D_crit interval from P_M's fit alone",
                       with_interval(None, pred["d_crit_interval_mem_only"]).replace("n/a ", "")))
    extra, sens = pred.get("extrapolation") or {}, pred.get("sensitivity") or {}
    if extra.get("mem_D_range"):
        s.rows.append(("memorisation sizes measured / extrapolation factor",
                       f"{extra['mem_D_range'][0]:.0f}-{extra['mem_D_range'][1]:.0f} / {num(extra['factor'], '.2f')}"))
    if sens:
        rng = sens.get("d_crit_range")
        s.rows.append(("predicted D_crit leaving one member out / with the unconverged",
                       f"{num(rng and rng[0], '.0f')}-{num(rng and rng[1], '.0f')} "
                       f"({len(sens['leave_one_out'])} refits) / {num(sens.get('d_crit_with_unconverged'), '.0f')}"))
    for r in summ["d_crit"]:
        s.rows.append((f"wd {r['wd']:g}: measured D_crit [95%], measured/predicted",
                       f"{with_interval(r['measured'], r['measured_interval'])}, "
                       f"{num(r['measured_over_predicted'], '.2f')}"))
    rc, base = summ.get("ratio_rank_correlation"), summ.get("ratio_baselines") or {}
    if rc:
        s.rows.append(("o_t/o_m: Spearman, predicted vs measured / D'-monotone score / best grid step",
                       f"{rc['spearman']:.3f} (p = {rc['p_value']:.2g}, {rc['members']} members) / "
                       f"{num(base.get('monotone_in_d_prime'), '.3f')} / {num(base.get('best_grid_step'), '.3f')}"))
    if summ["dominant_circuit_agreement"] is not None:
        s.rows.append(("dominant circuit as predicted", f"{summ['dominant_circuit_agreement']:.0%} of members"))
    s.judge(verdicts.compare(summ))
    data = load(run["dir"])
    late = sum(not r.get("converged", True) for r in data["rows"])
    s.figures.append(figure_of(f"Figure 12: o_t/o_m and test accuracy against D' with the theory's predictions "
                               f"and the predicted D_crit's interval ({late} member(s) unconverged, drawn hollow)",
                               lambda: render_fig12(data)))
    return s

EXPERIMENT = compare_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (compare_section,)
