"""The D_crit surface, for `grok-neural surface`: D_crit against p with every rival law drawn, D_crit against width
at each modulus of the width axis, the theory's prediction beside each measurement, and where each seed's search
spent its members."""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Callable

import numpy as np

from figures import source, style, verdicts
from figures.sections import Section, figure_of, num, section_for, with_interval
from neural import protocol
from neural.experiments import surface as surface_experiment
from rundir.lazy import lazy

plt = lazy("matplotlib.pyplot")
ticker = lazy("matplotlib.ticker")
rival_laws = lazy("theory.rival_laws")

LAW_STYLES = {"p^2": ("tab:red", "--"), "p^(5/3)": ("tab:purple", "-."), "p log p": ("tab:green", ":"),
              "free power": ("black", "-")}


def load(out: Path) -> dict:
    return source.sweep_record(out, "surface")


def _cells_at(summary: dict, key: str, value: int) -> list[dict]:
    return sorted([c for c in summary["cells"] if c[key] == value], key=lambda c: c["p" if key == "width" else "width"])


def _measured_and_predicted(ax, cells: list[dict], x_key: str) -> None:
    """Every seed's D_crit (dots), the cell's geometric mean with its 95% interval, and the prediction with its
    interval beside it (shifted 3% right)."""
    for c in cells:
        seeds = [v["d_crit"] for v in c["seeds"].values() if v["d_crit"]]
        ax.scatter([c[x_key] * 0.97] * len(seeds), seeds, s=9, color="tab:blue", alpha=0.45, zorder=3)
    for key, colour, label, shift in (("d_crit", "tab:blue", "measured D_crit [95%]", 0.97),
                                      ("predicted", "tab:orange", "predicted from the cell's laws [95%]", 1.03)):
        pts = [(c[x_key] * shift, c[key], c[f"{key}_interval"]) for c in cells if c[key]]
        if not pts:
            continue
        x, y = np.array([p[0] for p in pts]), np.array([p[1] for p in pts])
        lo = np.array([p[2][0] if p[2] else p[1] for p in pts])
        hi = np.array([p[2][1] if p[2] else p[1] for p in pts])
        ax.errorbar(x, y, yerr=np.vstack([y - lo, hi - y]), fmt="o" if key == "d_crit" else "s", color=colour,
                    capsize=3, label=label, zorder=4)


def _log_axes(ax, xs: list[int], cells: list[dict]) -> None:
    """Log-log axes ticked at `xs`, where the panel has something measured or predicted (else it says so), and
    the legend where something is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    if not any(c["d_crit"] or c["predicted"] for c in cells):
        ax.text(0.5, 0.5, "nothing measured", ha="center", va="center", transform=ax.transAxes, fontsize=8)
        return
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(xs, [str(x) for x in xs])
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    style.plain_log(ax.yaxis)


def render_p(data: dict):
    """D_crit against p at the base width, log-log, with every rival law's fit drawn over the measured range."""
    style.apply()
    summary = data["summary"]
    width = summary["choices"]["base_width"]
    cells = _cells_at(summary, "width", width)
    fig, ax = plt.subplots(figsize=(6.8, 4.4))
    _measured_and_predicted(ax, cells, "p")
    laws = summary["laws"]
    ps = [c["p"] for c in cells]
    if laws:
        grid = np.geomspace(min(laws["moduli"]), max(laws["moduli"]), 50)
        shapes = {law.name: law.shape for law in rival_laws.LAWS}
        for name, fit in laws["laws"].items():
            if name not in LAW_STYLES:
                continue
            colour, ls = LAW_STYLES[name]
            curve = fit["scale"] * (grid ** fit["exponent"] if shapes[name] is None else shapes[name](grid))
            weight = f"weight {fit['weight']:.2f}" if fit["weight"] is not None else (
                f"k = {fit['exponent']:.2f} [{laws['exponent']['interval'][0]:.2f}, "
                f"{laws['exponent']['interval'][1]:.2f}]")
            ax.plot(grid, curve, color=colour, ls=ls, lw=1.2, label=f"{name} ({weight})")
        if rival_laws.THEORY in laws["laws"]:
            ax.plot([], [], " ", label=f"theory per cell (weight {laws['laws'][rival_laws.THEORY]['weight']:.2f})")
    ax.set(xlabel="modulus p", ylabel="D_crit (pairs)",
           title=f"critical dataset size against the modulus (d_model {width})")
    _log_axes(ax, ps, cells)
    fig.tight_layout()
    return fig


def render_width(data: dict):
    """D_crit against width at each modulus of the width axis, measured and predicted, with the fitted slope."""
    style.apply()
    summary = data["summary"]
    slopes = summary["width_slopes"]
    fig, axes = plt.subplots(1, max(1, len(slopes)), figsize=(4.6 * max(1, len(slopes)), 4.0), squeeze=False)
    for ax, (p, s) in zip(axes[0], slopes.items()):
        cells = _cells_at(summary, "p", int(p))
        _measured_and_predicted(ax, cells, "width")
        widths = [c["width"] for c in cells]
        fit = s["fit"]
        found = [c["d_crit"] for c in cells if c["d_crit"]]
        if fit and found:
            x = np.geomspace(min(widths), max(widths), 20)
            anchor = math.exp(np.mean(np.log(found)))
            mid = math.exp(np.mean(np.log(widths)))
            ax.plot(x, anchor * (x / mid) ** fit["slope"], color="tab:blue", ls="--", lw=1,
                    label=f"slope {fit['slope']:.2f} [{fit['interval'][0]:.2f}, {fit['interval'][1]:.2f}] -> "
                          f"{verdicts.width_sign(fit, s['widths_measured'])}")
        ax.set(xlabel="width (d_model; d_mlp = 4 d_model)", ylabel="D_crit (pairs)", title=f"p = {p}")
        _log_axes(ax, widths, cells)
    fig.tight_layout()
    return fig


def render_searches(data: dict):
    """Each cell's search: test accuracy against D' for every seed (the sizes it chose, round by round), the level
    1/2 and each seed's D_crit."""
    style.apply()
    cells = data["summary"]["cells"]
    cols = min(4, max(1, len(cells)))
    rows = math.ceil(len(cells) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.5 * rows), squeeze=False)
    for ax in axes.flat[len(cells):]:
        ax.axis("off")
    for ax, c in zip(axes.flat, cells):
        for k, (seed, v) in enumerate(c["seeds"].items()):
            pts = sorted(v["points"])
            if pts:
                ax.plot([d for d, _ in pts], [a for _, a in pts], "o-", ms=3, lw=0.8, color=f"C{k}",
                        label=f"seed {seed}")
            if v["d_crit"]:
                ax.axvline(v["d_crit"], color=f"C{k}", lw=0.6, ls=":")
        ax.axhline(0.5, color="grey", lw=0.6)
        if not c["seeds"]:
            ax.text(0.5, 0.5, "no parent generalised", ha="center", va="center", transform=ax.transAxes, fontsize=7)
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(ticker.LogFormatter(labelOnlyBase=False))
        ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.set(title=f"p {c['p']}, width {c['width']}: {c['members']} sizes (grid {c['grid_members']})",
               ylim=(-0.03, 1.03))
        ax.title.set_fontsize(7)
        ax.tick_params(labelsize=6)
    labelled = next((ax for ax in axes.flat if ax.get_legend_handles_labels()[0]), None)
    if labelled is not None:
        labelled.legend(fontsize=6)
    fig.supxlabel("D' (pairs)", fontsize=8)
    fig.supylabel("test accuracy", fontsize=8)
    fig.tight_layout()
    return fig


def render_theory(data: dict):
    """Every cell's predicted D_crit against its measured one (both with 95% intervals), the diagonal and the
    theory rule's ±1.5x band; cells without a prediction are listed."""
    style.apply()
    cells = data["summary"]["cells"]
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    both = [c for c in cells if c["d_crit"] and c["predicted"]]
    for k, c in enumerate(both):
        m, pr = c["d_crit_interval"] or [c["d_crit"]] * 2, c["predicted_interval"] or [c["predicted"]] * 2
        ax.errorbar([c["d_crit"]], [c["predicted"]], xerr=[[c["d_crit"] - m[0]], [m[1] - c["d_crit"]]],
                    yerr=[[c["predicted"] - pr[0]], [pr[1] - c["predicted"]]], fmt="o", color=f"C{k % 10}",
                    capsize=2, label=f"p {c['p']}, width {c['width']}")
    missing = [f"p {c['p']}/w {c['width']}" for c in cells if c["d_crit"] and not c["predicted"]]
    if both:
        lo = min(min(c["d_crit"], c["predicted"]) for c in both) / 2
        hi = max(max(c["d_crit"], c["predicted"]) for c in both) * 2
        x = np.array([lo, hi])
        ax.plot(x, x, color="grey", lw=1)
        ax.fill_between(x, x / verdicts.CMP_RATIO, x * verdicts.CMP_RATIO, color="grey", alpha=0.12,
                        label=f"within {verdicts.CMP_RATIO}x")
        ax.set_xscale("log")
        ax.set_yscale("log")
        style.plain_log(ax.xaxis)
        style.plain_log(ax.yaxis)
        ax.legend(fontsize=6, ncol=2)
    else:
        ax.text(0.5, 0.5, "no cell has a prediction", ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set(xlabel="measured D_crit (pairs)", ylabel="predicted D_crit (pairs)",
           title="the theory per cell" + ("\n" + textwrap.fill(f"(no prediction: {', '.join(missing)})", 70)
                                           if missing else ""))
    ax.title.set_fontsize(8)
    fig.tight_layout()
    return fig


def draw(data: dict) -> dict:
    """What `grok-neural surface` writes: D_crit against p and against width, the theory per cell, the searches."""
    return {"dcrit-p": render_p(data), "dcrit-width": render_width(data), "theory": render_theory(data),
            "searches": render_searches(data)}


CLAIM = ("Beyond the paper: how D_crit grows with the modulus p and the model width, against the rival laws "
         "registered before the runs (p^2 and p^(5/3): Mohamadi et al. 2024; p log p: Tian 2025; width: Huang et al. "
         "2024 say it falls, Zhu et al. 2024 that it grows) and the circuit-efficiency prediction of each cell.")


def _section(key: str, title: str, found: dict) -> tuple[Section, dict | None]:
    return section_for(key, title, CLAIM, protocol.command_line("surface"), found.get("surface", []))


def _judged(s: Section, run: dict, verdict: verdicts.Verdict, *figures: tuple[str, Callable[[dict], object]]
            ) -> Section:
    """The section judged, with its figures (caption, render) drawn from the run's record."""
    s.judge(verdict)
    data = load(run["dir"])
    s.figures += [figure_of(caption, lambda render=render: render(data)) for caption, render in figures]
    return s


def laws_section(found: dict) -> Section:
    s, run = _section("surface-p", "Beyond the paper: D_crit against the modulus, and the rival laws", found)
    if run is None:
        return s
    summ = run["summary"]
    for c in summ["cells"]:
        s.rows.append((f"p {c['p']}, width {c['width']}: D_crit measured / predicted [95%]",
                       f"{with_interval(c['d_crit'], c['d_crit_interval'])} / "
                       f"{with_interval(c['predicted'], c['predicted_interval'])}; {c['seeds_found']} seeds, "
                       f"{c['members']} sizes searched (a fixed grid: {c['grid_members']}), parents' extra steps "
                       f"{c['parent_extra_steps']:,}"))
    laws = summ["laws"]
    if laws:
        e = laws["exponent"]
        s.rows.append(("exponent of D_crit in p (free power law) [95%]", with_interval(e["value"], e["interval"],
                                                                                       ".2f")))
        s.rows.append(("Akaike weights (AICc)", ", ".join(f"{k} {num(v['weight'], '.2f')}"
                                                         for k, v in laws["laws"].items() if v["weight"] is not None)))
    return _judged(s, run, verdicts.surface_laws(laws), ("D_crit against p, with every rival law", render_p),
                   ("each cell's search", render_searches))


def width_section(found: dict) -> Section:
    s, run = _section("surface-width", "Beyond the paper: D_crit against width at two moduli", found)
    if run is None:
        return s
    for p, w in run["summary"]["width_slopes"].items():
        s.rows.append((f"slope of log D_crit on log width at p = {p} [95%]",
                       with_interval(w["fit"]["slope"], w["fit"]["interval"], ".2f") if w["fit"] else "n/a"))
    return _judged(s, run, verdicts.surface_width(run["summary"]["width_slopes"]),
                   ("D_crit against width, measured and predicted", render_width))


def theory_section(found: dict) -> Section:
    s, run = _section("surface-theory", "Beyond the paper: the theory's D_crit in every cell", found)
    if run is None:
        return s
    for c in run["summary"]["cells"]:
        s.rows.append((f"p {c['p']}, width {c['width']}: predicted / measured",
                       num(c["predicted_over_measured"], ".2f") if c["predicted_over_measured"]
                       else f"n/a ({c['prediction_unavailable'] or 'no measured D_crit'})"))
    return _judged(s, run, verdicts.surface_theory(run["summary"]["cells"]),
                   ("predicted against measured D_crit, every cell", render_theory))


EXPERIMENT = surface_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (laws_section, width_section, theory_section)
