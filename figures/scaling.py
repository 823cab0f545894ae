"""D_crit against model width, measured and predicted; the laws against width; and the allocation diagnostics
(o_t/o_m against D' with the case-2 fit, continued members' drift), for `grok-neural scaling`."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import source, style, verdicts
from neural import protocol
from figures.sections import Section, figure_of, num, section_for, with_interval
from neural.experiments import scaling as scaling_experiment
from rundir.lazy import lazy

cm = lazy("matplotlib.cm")
plt = lazy("matplotlib.pyplot")
ticker = lazy("matplotlib.ticker")


def load(out: Path) -> dict:
    return source.sweep_record(out, "scaling")


def _log_if_positive(ax, ys: list, x: bool = True) -> bool:
    """Log axes where the panel has positive values `ys` (a panel with nothing measured stays linear, says so)."""
    if not any(y is not None and y > 0 for y in ys):
        ax.text(0.5, 0.5, "nothing measured", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return False
    if x:
        ax.set_xscale("log")
    ax.set_yscale("log")
    return True


def _fit_line(ax, widths, fit, colour, label):
    if not fit:
        return
    x = np.geomspace(min(widths), max(widths), 20)
    mid = np.exp(np.mean(np.log(widths)))
    ax.plot(x, fit["anchor"] * (x / mid) ** fit["slope"], color=colour, lw=1, ls="--",
            label=f"{label} slope {fit['slope']:.2f} [{fit['interval'][0]:.2f}, {fit['interval'][1]:.2f}]")


def render_dcrit(data: dict):
    """Measured D_crit (every seed, and the geometric mean with its 95% interval) and predicted D_crit (with its
    interval) against width, log-log, with the fitted slopes."""
    style.apply()
    rows, summary = data["summary"]["widths"], data["summary"]
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    widths = [r["width"] for r in rows]
    for r in rows:
        seeds = [v for v in summary["per_width"][str(r["width"])]["d_crit_by_seed"].values() if v]
        ax.scatter([r["width"] * 0.98] * len(seeds), seeds, s=10, color="tab:blue", alpha=0.5)
    for key, colour, label, shift in (("d_crit", "tab:blue", "measured", 0.98), ("predicted", "tab:orange",
                                                                               "predicted", 1.02)):
        pts = [(r["width"] * shift, r[key], r[f"{key}_lo"], r[f"{key}_hi"]) for r in rows if r[key]]
        if pts:
            x, y, lo, hi = (np.array([p[k] or np.nan for p in pts], dtype=float) for k in range(4))
            err = np.vstack([np.where(np.isnan(lo), 0, y - lo), np.where(np.isnan(hi), 0, hi - y)])
            ax.errorbar(x, y, yerr=err, fmt="o", color=colour, capsize=3, label=f"{label} D_crit [95%]")
        fit = summary["slopes"][key if key == "predicted" else "measured"]
        if fit and pts:
            _fit_line(ax, widths, {**fit, "anchor": float(np.exp(np.mean(np.log([p[1] for p in pts]))))}, colour,
                      label)
    ax.set(xlabel="width (d_model; d_mlp = 4 d_model)", ylabel="D_crit (pairs)",
           title="critical dataset size against model width")
    ax.set_xscale("log")
    ax.set_xlim(min(widths) / 1.25, max(widths) * 1.25)  # the widths' range, measured or not
    ax.set_xticks(widths, [str(w) for w in widths])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    plotted = [r[k] for r in rows for k in ("d_crit", "predicted")]
    if _log_if_positive(ax, plotted, x=False):
        style.plain_log(ax.yaxis)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def render_laws(data: dict):
    """The width's own laws: memorisation beta, P_G at the reference logit, and kappa."""
    style.apply()
    rows = data["summary"]["widths"]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.4))
    for ax, key, label in zip(axes, ("beta", "P_G", "kappa"), ("memorisation beta", "P_G (at o_ref)",
                                                               "kappa (homogeneity)")):
        pts = [(r["width"], r[key]) for r in rows if r[key] is not None]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-")
        widths = [r["width"] for r in rows]
        ax.set(xscale="log", xlim=(min(widths) / 1.25, max(widths) * 1.25), xlabel="width", title=label)
        ax.set_xticks(widths, [str(w) for w in widths])
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    fig.tight_layout()
    return fig


def render_mixture(data: dict):
    """(a) o_t/o_m at convergence against D' per width, with the case-2 line of each width's kappa_eff; (b) the
    continued members' o_t/o_m over their continuation."""
    style.apply()
    summary = data["summary"]
    fig, (a, b) = plt.subplots(1, 2, figsize=(12, 4))
    widths = [r["width"] for r in summary["widths"]]
    colours = cm.viridis(np.linspace(0, 0.85, len(widths)))
    for w, colour in zip(widths, colours):
        pw = summary["per_width"][str(w)]
        pts = [(p["d_prime"], p["ratio"]) for p in pw["ratios"] if p["ratio"] and p["ratio"] > 0]
        if not pts:
            continue
        keff = pw["kappa_eff"]
        label = f"width {w}" + (f": kappa_eff {keff['kappa']:.2f}" if keff and keff["kappa"] else "")
        a.scatter([p[0] for p in pts], [p[1] for p in pts], s=12, color=colour, label=label)
        if keff:
            x = np.geomspace(min(p[0] for p in pts), max(p[0] for p in pts), 20)
            mid_x = np.exp(np.mean(np.log([p[0] for p in pts])))
            mid_y = np.exp(np.mean(np.log([p[1] for p in pts])))
            a.plot(x, mid_y * (x / mid_x) ** keff["ratio_slope"], color=colour, lw=1)
    a.set(xlabel="D' (pairs)", ylabel="o_t / o_m at convergence", title="a mixture at convergence (lines: case-2 fit)")
    _log_if_positive(a, [p["ratio"] for w in widths for p in summary["per_width"][str(w)]["ratios"]])
    if a.get_legend_handles_labels()[0]:
        a.legend(fontsize=7)
    for c in summary["continuation"]:
        if not (c.get("start_ratio") and c.get("end_ratio")):
            continue
        label = f"D' {c['d_prime']}: slope {num(c['slope_per_window'], '.3f')} per window"
        curve = source.member_curve(data["dir"] / c["run_dir"], 0) if c.get("run_dir") else None
        if curve is not None:  # the whole continuation: its full evaluations (where o_t and o_m were measured)
            floor = scaling_experiment.MIN_LOGIT  # the logits the drift is measured on (both above it)
            ok = np.isfinite(curve["train/o_m"]) & (curve["train/o_m"] > floor) & (curve["train/o_t"] > floor)
            b.plot(c["start_step"] + curve["step"][ok], curve["train/o_t"][ok] / curve["train/o_m"][ok], label=label)
        else:
            b.plot([c["start_step"], c["start_step"] + c["continued_steps"]], [c["start_ratio"], c["end_ratio"]],
                   "o-", label=label)
    b.set(xlabel="step (from the child's start)", ylabel="o_t / o_m", title="continued past convergence")
    _log_if_positive(b, [c.get("end_ratio") for c in summary["continuation"]], x=False)
    if b.get_legend_handles_labels()[0]:
        b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def draw(data: dict) -> dict:
    """D_crit and the laws against width, and the allocation diagnostics: what `grok-neural scaling` writes."""
    return {"dcrit-width": render_dcrit(data), "laws-width": render_laws(data), "mixture": render_mixture(data)}


def scaling_section(found: dict) -> Section:
    s, run = section_for("scaling", "Beyond the paper: D_crit across model widths, and why a mixture",
                         "A theory that explains grokking should predict how D_crit moves with model size: each "
                         "width's own efficiency laws predict its D_crit, to be set against ungrokking at that width. "
                         "And with kappa > q the theory predicts winner-takes-all, yet networks keep a mixture: why?",
                         protocol.command_line("scaling"), found.get("scaling", []))
    if run is None:
        return s
    summ = run["summary"]
    for r in summ["widths"]:
        measured, predicted = ([r[f"{k}_lo"], r[f"{k}_hi"]] if r[f"{k}_lo"] else None for k in ("d_crit", "predicted"))
        s.rows.append((f"width {r['width']}: D_crit measured / predicted [95%]",
                       f"{with_interval(r['d_crit'], measured)} / {with_interval(r['predicted'], predicted)}"
                       f"; beta {num(r['beta'], '.3f')}, P_G {num(r['P_G'])}, kappa {num(r['kappa'], '.2f')}"))
    for kind in ("measured", "predicted"):
        fit = summ["slopes"][kind]
        s.rows.append((f"slope of log D_crit on log width, {kind}", with_interval(fit["slope"], fit["interval"], ".2f")
                       if fit else "n/a"))
    s.rows.append(("why a mixture", f"{summ['conclusion']['supported']}: {summ['conclusion']['text']}"))
    s.judge(verdicts.scaling(summ["slopes"]))
    data = load(run["dir"])
    s.figures.append(figure_of("D_crit against width, measured and predicted", lambda: render_dcrit(data)))
    s.figures.append(figure_of("o_t/o_m at convergence against D', and continued members",
                               lambda: render_mixture(data)))
    return s


EXPERIMENT = scaling_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (scaling_section,)
