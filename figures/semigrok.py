"""Semi-grokking figures from a `grok-neural semigrok` directory: Figure 5 (every run's test accuracy over
training, coloured by its class), 1c (the clearest semi-grokking run, if the classifier found one), 6 (one run in
detail: accuracy, loss, parameter norm), and the two routes to the mixed state (final test accuracy against D for
runs from random initialisation and for ungrokking runs from a grokked network)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from figures import source, style, verdicts
from figures import ungrok as ungrok_figures
from neural import phases, protocol
from figures.sections import Section, figure_of, section_for
from neural.experiments import semigrok as semigrok_experiment
from rundir.lazy import lazy

plt = lazy("matplotlib.pyplot")


COLOURS = {"memorised": "tab:grey", "grokked": "tab:blue", "semi-grokked": "tab:red",
           "transient semi-grokking": "tab:purple", "ungrokked": "tab:brown", "middling without delay": "tab:orange",
           "not fitted": "black", "unsettled": "tab:olive"}


def load(sweep_dir: Path) -> dict:
    return source.sweep_record(sweep_dir, "semigrok")


def _curve(data: dict, row: dict) -> dict[str, np.ndarray]:
    return source.member_curve(data["dir"] / f"D{int(row['D'])}", row["member"])


def render_fig5(data: dict):
    """Test accuracy (pairs without a trained mirror) over steps for every run, coloured by class."""
    style.apply()
    fig, ax = plt.subplots(figsize=(7, 4.2))
    seen = set()
    for r in data["rows"]:
        c = _curve(data, r)
        label = None if r["class"] in seen else f"{r['class']} ({data['summary']['total'][r['class']]})"
        seen.add(r["class"])
        ax.plot(np.maximum(c["step"], 1), c["test/acc_no_mirror"], color=COLOURS[r["class"]], lw=0.8, alpha=0.7,
                label=label)
    ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="step", ylabel="test accuracy (mirror not trained)",
           title=f"{len(data['rows'])} runs from random initialisation, D = "
                 f"{', '.join(str(int(D)) for D in sorted({r['D'] for r in data['rows']}))}")
    ax.legend(fontsize=7, title="class (runs)", title_fontsize=7)
    fig.tight_layout()
    return fig


def _detail(ax, c: dict, with_norm: bool):
    ax.plot(np.maximum(c["step"], 1), c["train/loss"], color="tab:blue", label="train loss")
    ax.plot(np.maximum(c["step"], 1), c["test/loss"], color="tab:red", label="test loss")
    ax.set(xscale="log", yscale="log", xlabel="step", ylabel="loss (solid)")
    right = ax.twinx()
    right.plot(np.maximum(c["step"], 1), c["train/acc"], "--", color="tab:blue", label="train acc")
    right.plot(np.maximum(c["step"], 1), c["test/acc_no_mirror"], "--", color="tab:red", label="test acc (no mirror)")
    right.set(ylim=(-0.03, 1.03), ylabel="accuracy (dashed)")
    if with_norm:
        far = ax.twinx()
        far.spines["right"].set_position(("axes", 1.15))
        far.plot(np.maximum(c["step"], 1), c["norm/total"], ":", color="black", label="parameter norm")
        far.set_ylabel("parameter norm (dotted)")
    lines = [h for a in ax.figure.axes for h in a.get_lines()]
    ax.legend(lines, [h.get_label() for h in lines], fontsize=7, loc="center left")


def render_detail(data: dict, with_norm: bool):
    """Figure 1c (with_norm False) / Figure 6 (True): the clearest semi-grokking run; if the classifier found
    none, the run with the highest settled final level below phases.HIGH, titled with its real class."""
    style.apply()
    clear = data["summary"]["clearest_semi_grokking"]
    if clear:
        row = next(r for r in data["rows"] if r["D"] == clear["D"] and r["member"] == clear["member"])
    else:
        candidates = [r for r in data["rows"] if r["final_level"] < phases.HIGH] or data["rows"]
        row = max(candidates, key=lambda r: r["final_level"])
    fig, ax = plt.subplots(figsize=(7.5 if with_norm else 6.5, 4))
    _detail(ax, _curve(data, row), with_norm)
    what = "semi-grokking" if clear else f"no run semi-grokked; shown: a '{row['class']}' run"
    ax.set_title(f"{what} (D = {int(row['D'])}, seed {int(row['seed'])}, final level {row['final_level']:.2f})",
                 fontsize=9)
    fig.tight_layout()
    return fig


def render_routes(data: dict, ungrok_rows: list[dict] | None):
    """Final test accuracy (mirror not trained) against D: from random initialisation (this sweep, by class)
    and by ungrokking a grokked network (the ungrokking sweep's members), on one axis."""
    style.apply()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for cls, colour in COLOURS.items():
        mine = [r for r in data["rows"] if r["class"] == cls]
        if mine:
            ax.scatter([r["D"] for r in mine], [r["final_level"] for r in mine], color=colour, s=16,
                       label=f"from random init: {cls}")
    if ungrok_rows:
        kids = [r for r in ungrok_rows if r.get("stage") == 2]
        ax.scatter([r["d_prime"] for r in kids], [r["test/acc_no_mirror"] for r in kids], marker="x", s=16,
                   color="tab:green", label="ungrokking from a grokked network")
    ax.axhspan(phases.LOW, phases.HIGH, color="tab:red", alpha=0.05)
    ax.set(xscale="log", ylim=(-0.03, 1.03), xlabel="dataset size D (pairs)",
           ylabel="final test accuracy (mirror not trained)", title="two routes to middling accuracy (shaded)")
    style.plain_log(ax.xaxis)
    ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def render_all(data: dict, ungrok_rows: list[dict] | None = None) -> dict:
    return {"fig5": render_fig5(data), "fig1c": render_detail(data, False), "fig6": render_detail(data, True),
            "routes": render_routes(data, ungrok_rows)}


DRAW_OPTIONS = (protocol.Option("ungrok", Path, "An ungrokking sweep to draw beside (routes figure; default: the one "
                                                 "the sweep recorded, if any)."),)


def draw(data: dict, ungrok: Path | None = None) -> dict:
    """Figures 5, 1c, 6 and the two routes to middling accuracy (beside an ungrokking sweep): what `grok-neural
    semigrok` writes, by stem."""
    beside = ungrok or data["summary"].get("beside")
    rows = ungrok_figures.load(Path(beside))["rows"] if beside else None
    return render_all(data, rows)


def semigrok_section(found: dict) -> Section:
    s, run = section_for("p4", "P4 — semi-grokking: a little above D_crit, a delayed rise to middling test accuracy",
                         "Near D_crit both circuits are about equally efficient, so some runs should end in a "
                         "mixture: a delayed transition to middling test accuracy (paper Section 4.3, Figure 5).",
                         protocol.command_line("semigrok"), found.get("semigrok", []))
    if run is None:
        return s
    summ = run["summary"]
    classes = [c for c, n in summ["total"].items() if n]
    for D, counts in summ["by_size"].items():
        s.rows.append((f"D = {D}", ", ".join(f"{counts[c]} {c}" for c in classes)))
    clear = summ.get("clearest_semi_grokking")
    if clear:
        s.rows.append(("clearest semi-grokking run", f"D = {clear['D']}, seed {clear['seed']}, level "
                                                     f"{clear['final_level']:.2f}"))
    s.judge(verdicts.p4(summ["total"].get("semi-grokked", 0), summ["members"]))
    data = load(run["dir"])
    ungrok_runs = ungrok_figures.sweeps(found, multitask=False)
    rows = ungrok_figures.load(ungrok_runs[0]["dir"])["rows"] if ungrok_runs else None
    s.figures.append(figure_of("Figure 5: test accuracy over training for every run, by dataset size",
                             lambda: render_fig5(data)))
    s.figures.append(figure_of("Two routes to middling accuracy: semi-grokking runs beside ungrokking children",
                             lambda: render_routes(data, rows)))
    return s

EXPERIMENT = semigrok_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (semigrok_section,)
