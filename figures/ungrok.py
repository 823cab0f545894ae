"""Ungrokking figures from a `grok-neural ungrok` sweep directory: Figure 1a (a parent grokking), 1b (one
ungrokking run over time), 4 (test accuracy against D', one line per weight decay), 8 (many ungrokking runs over
time, coloured by D') and 9 (Figure 4 per task)."""
from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np

from figures import source, style, verdicts
from figures.sections import Section, figure_of, num, section_for, with_interval
from neural import protocol
from neural.experiments import ungrok as ungrok_experiment
from rundir.lazy import lazy

cm = lazy("matplotlib.cm")
colors = lazy("matplotlib.colors")
plt = lazy("matplotlib.pyplot")


def load(sweep_dir: Path) -> dict:
    return source.sweep_record(sweep_dir, "ungrok")


def _curve(data: dict, row: dict) -> dict[str, np.ndarray]:
    return source.member_curve(data["dir"] / "ensembles" / row["ensemble"], row["member"])


def render_fig4(data: dict, tasks: list[str] | None = None):
    """Test accuracy at convergence against D' per weight decay (one panel per task: Figure 9 when several)."""
    style.apply()
    names = tasks or list(data["summary"]["tasks"])
    cols = min(len(names), 4)
    rows_n = int(np.ceil(len(names) / cols))
    fig, axes = plt.subplots(rows_n, cols, figsize=(4.2 * cols, 3.4 * rows_n), squeeze=False)
    for ax, task in zip(axes.flat, names):
        by_wd = data["summary"]["tasks"][task]["by_wd"]
        if not by_wd:  # its parents did not generalise: nothing to ungrok
            why = data["summary"]["tasks"][task].get("stage2_skipped") or "no ungrokking runs"
            ax.text(0.5, 0.5, textwrap.fill(why, 34), ha="center", va="center", fontsize=8, transform=ax.transAxes)
            ax.set_title(f"ungrokking: {task}")
            ax.set_xticks([]), ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            continue
        colours = cm.viridis(np.linspace(0, 0.9, len(by_wd)))
        unconverged = 0
        for colour, (wd, s) in zip(colours, by_wd.items()):
            D = np.array(s["d_prime"], dtype=float)
            ax.plot(D, s["mean_test_acc"], "-o", color=colour, ms=3, label=f"weight decay {float(wd):g}")
            late = {(str(u["seed"]), float(u["d_prime"])) for u in s["unconverged"]}
            for seed, accs in s["test_acc_by_seed"].items():
                y = np.array([np.nan if a is None else a for a in accs], dtype=float)
                open_ = np.array([(seed, float(d)) in late for d in D])
                ax.plot(D[~open_], y[~open_], ".", color=colour, alpha=0.35, ms=4)
                ax.plot(D[open_], y[open_], "o", mfc="none", mec=colour, ms=5, mew=0.9)  # unconverged: hollow
            unconverged += len(s["unconverged"])
            if s["d_crit"] is not None:
                ax.axvline(s["d_crit"], color=colour, ls=":", lw=1)
        ax.axhline(0.5, color="grey", lw=0.6)
        ax.set_xscale("log")
        style.plain_log(ax.xaxis)
        ax.set_ylim(-0.03, 1.03)
        ax.set_xlabel("reduced dataset size D' (pairs)")
        ax.set_ylabel("test accuracy at convergence (or at the cap)")
        ax.set_title(f"ungrokking: {task}" + (f" ({unconverged} unconverged at the cap, hollow)" if unconverged
                                              else ""))
        ax.legend(fontsize=7, title="line: mean over seeds, dots: seeds,\nhollow: not converged, dotted: D_crit",
                  title_fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def render_fig8(data: dict, wd: float = 1.0, task: str | None = None):
    """Test accuracy over steps of every ungrokking run at one weight decay, coloured by D'."""
    style.apply()
    task = task or next(iter(data["summary"]["tasks"]))
    runs = [r for r in data["rows"] if r["stage"] == 2 and r["wd"] == wd and r["task"] == task]
    if not runs:
        raise ValueError(f"wd={wd} has no ungrokking runs in {data['dir']}: choose one of "
                         f"{sorted({r['wd'] for r in data['rows'] if r['stage'] == 2})}")
    norm = colors.LogNorm(min(r["d_prime"] for r in runs), max(r["d_prime"] for r in runs))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for r in runs:
        c = _curve(data, r)
        ax.plot(np.maximum(c["step"], 1), c["test/acc"], color=cm.plasma(norm(r["d_prime"]) * 0.9), lw=1, alpha=0.8)
    bar = fig.colorbar(cm.ScalarMappable(norm=norm, cmap="plasma"), ax=ax, label="D' (pairs, log scale)")
    style.plain_log(bar.ax.yaxis)
    ax.set_xscale("log")
    ax.set_xlabel("steps after the switch to D'")
    ax.set_ylabel("test accuracy")
    ax.set_title(f"{len(runs)} ungrokking runs, {task}, wd {wd:g}")
    fig.tight_layout()
    return fig


def render_fig1(data: dict, wd: float = 1.0, task: str | None = None):
    """(a) the parent of seed 0 grokking; (b) it ungrokking on the smallest D' (log x; dotted: the switch)."""
    style.apply()
    task = task or next(iter(data["summary"]["tasks"]))
    parent = next(r for r in data["rows"] if r["stage"] == 1 and r["task"] == task)
    child = min((r for r in data["rows"] if r["stage"] == 2 and r["task"] == task and r["wd"] == wd
                 and r["seed"] == parent["seed"]), key=lambda r: r["d_prime"])
    p, c = _curve(data, parent), _curve(data, child)
    switch = p["step"][-1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
    for ax, curves, title in ((axes[0], [(p, 0)], f"(a) grokking: parent seed {int(parent['seed'])}, "
                                                   f"D = {int(parent['train_size'])}"),
                              (axes[1], [(p, 0), (c, switch)], f"(b) ungrokking on D' = {int(child['d_prime'])}, "
                                                               f"wd {wd:g}")):
        ax2 = ax.twinx()
        for k, (m, offset) in enumerate(curves):
            step = np.maximum(m["step"] + offset, 1)
            lab = k == 0
            ax.plot(step, m["train/loss"], color=style.COLORS["train"], label="train loss" if lab else None)
            ax.plot(step, m["test/loss"], color=style.COLORS["test"], label="test loss" if lab else None)
            ax2.plot(step, m["train/acc"], color=style.COLORS["train"], ls="--", label="train acc" if lab else None)
            ax2.plot(step, m["test/acc"], color=style.COLORS["test"], ls="--", label="test acc" if lab else None)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("loss (solid)")
        ax2.set_ylabel("accuracy (dashed)")
        ax2.set_ylim(-0.03, 1.03)
        if len(curves) > 1:
            ax.axvline(switch, color="grey", ls=":")
        ax.set_title(title, fontsize=9)
        ax.legend(loc="center left", bbox_to_anchor=(0.0, 0.62), fontsize=7)
        ax2.legend(loc="center left", bbox_to_anchor=(0.0, 0.45), fontsize=7)
    fig.tight_layout()
    return fig


def render_all(data: dict, wd: float = 1.0) -> dict:
    """Every figure the sweep supports, by file stem: Figure 9 for several tasks; else Figure 4, and Figures 8
    and 1a/1b where the task has ungrokking runs (its parents generalised)."""
    names = list(data["summary"]["tasks"])
    if len(names) > 1:
        return {"fig9": render_fig4(data)}
    figs = {"fig4": render_fig4(data)}
    if any(r["stage"] == 2 for r in data["rows"]):
        figs.update({"fig8": render_fig8(data, wd=wd), "fig1ab": render_fig1(data, wd=wd)})
    return figs


def figure_wd(summary: dict) -> float:
    """The weight decay Figures 1b and 8 show: 1 where the sweep has it, else its first."""
    wds = sorted({float(w) for t in summary["tasks"].values() for w in t["by_wd"]}) or [1.0]
    return 1.0 if 1.0 in wds else wds[0]


DRAW_OPTIONS = (protocol.Option("wd", float, "Weight decay of Figures 1b and 8 (default: 1 where the sweep has it, "
                                              "else its first)."),)


def draw(data: dict, wd: float | None = None) -> dict:
    """Figures 1a/1b (grokking, then ungrokking), 4 (test accuracy vs D' per weight decay), 8 (many ungrokking
    runs over time), or 9 (one panel per task) for a multitask sweep: what `grok-neural ungrok` writes, by stem."""
    return render_all(data, wd=figure_wd(data["summary"]) if wd is None else wd)


def sweeps(found: dict, multitask: bool) -> list[dict]:
    """The ungrokking sweeps found, of one task (P2, P3) or of several (Figure 9); the paper's experiment first
    (AdamW's default eps, float32 children), the controls' sweeps after it."""
    mine = [r for r in found.get(EXPERIMENT.name, []) if (len(r["summary"].get("tasks") or {}) > 1) == multitask]
    defaults = ungrok_experiment.IDENTITY_DEFAULTS

    def control(run: dict) -> bool:
        ident = run["summary"].get("identity") or {}
        return any(ident.get(k, v) != v for k, v in defaults.items())
    return sorted(mine, key=control)


def _ungrok_task(run: dict) -> dict:
    """The single task's summary of an ungrokking sweep."""
    return next(iter(run["summary"]["tasks"].values()))

def ungrokking_section(found: dict) -> Section:
    s, run = section_for("p2", "P2 — ungrokking: a grokked network trained on D' < D_crit loses its test accuracy",
                         "Continued training of a grokked network on a subset D' of its data ends, at convergence, "
                         "with low test accuracy below a critical size D_crit and high above it — a sharp transition "
                         "— while train accuracy stays high (paper Section 4.2, Figures 1b, 4, 8).",
                         protocol.command_line("ungrok"), sweeps(found, False))
    if run is None:
        return s
    t = _ungrok_task(run)
    data = load(run["dir"])
    if t.get("stage2_skipped") or not t["by_wd"]:  # untested, as P3's section says too
        s.judge(verdicts.p2({}))
        s.why = t.get("stage2_skipped") or "no stage-2 runs"
        s.figures.append(figure_of("Figure 4 (no stage 2: it says why)", lambda: render_fig4(data)))
        return s
    s.rows.append(("parents' test accuracy", ", ".join(num(p["test_acc"]) for p in t["parents"])))
    for wd, w in t["by_wd"].items():
        s.rows.append((f"wd {float(wd):g}: test acc at D' = {', '.join(str(int(d)) for d in w['d_prime'])}",
                       ", ".join(num(a, ".3f") for a in w["mean_test_acc"])))
        s.rows.append((f"wd {float(wd):g}: D_crit [95%] / min train acc / unconverged",
                       f"{with_interval(w['d_crit'], w['d_crit_interval'])} / {num(w['min_train_acc'], '.3f')} / "
                       f"{len(w['unconverged'])}"))
        if w.get("mean_test_acc_unseen"):
            s.rows.append((f"wd {float(wd):g}: never-trained pairs' accuracy", ", ".join(
                num(a, ".3f") for a in w["mean_test_acc_unseen"])))
    s.judge(verdicts.p2(t["by_wd"]))
    wd_fig = 1.0 if "1.0" in t["by_wd"] else float(next(iter(t["by_wd"])))
    s.figures.append(figure_of("Figure 1a/1b: a network groks, then ungroks on a smaller D'",
                             lambda: render_fig1(data, wd=wd_fig)))
    s.figures.append(figure_of(f"Figure 8: test accuracy over training for every D' (wd {wd_fig:g})",
                             lambda: render_fig8(data, wd=wd_fig)))
    return s

def weight_decay_section(found: dict) -> Section:
    s, run = section_for("p3", "P3 — D_crit does not depend on weight decay",
                         "The test accuracy after ungrokking, and so D_crit, is the same for every weight decay "
                         "(paper Section 4.2, Figure 4).", protocol.command_line("ungrok"), sweeps(found, False))
    if run is None:
        return s
    t = _ungrok_task(run)
    by_wd = t["by_wd"]
    late = sum(len(w["unconverged"]) for w in by_wd.values())
    s.figures.append(figure_of(f"Figure 4: test accuracy at convergence against D', one curve per weight decay "
                               f"({late} member(s) unconverged at the cap, drawn hollow)",
                             lambda: render_fig4(load(run["dir"]))))
    for wd, w in by_wd.items():
        seeds = len(w.get("d_crit_by_seed") or {})
        s.rows.append((f"wd {float(wd):g}: D_crit [95%]", f"{with_interval(w['d_crit'], w['d_crit_interval'])} "
                                                          f"({seeds} seed(s))"))
    spread = t.get("wd_spread") or {}
    s.rows.append(("largest / mean gap between the wd curves",
                   f"{num(spread.get('max_acc_gap'), '.3f')} / {num(spread.get('mean_acc_gap'), '.3f')}"))
    s.judge(verdicts.p3(by_wd))
    if t.get("stage2_skipped"):
        s.why = t["stage2_skipped"]
    # beside it, not deciding it: the same rule on the test pairs no memorised mirror can answer
    mirror_free = {wd: {**w, "d_crit_by_seed": w.get("d_crit_no_mirror_by_seed") or {}} for wd, w in by_wd.items()}
    beside = verdicts.p3(mirror_free)
    for label, pairs in (("", s.numbers["pairs"]), (", no-mirror pairs", beside.numbers["pairs"])):
        for pair in pairs:
            if "interval" in pair:
                s.rows.append((f"D_crit ratio {' / '.join(pair['conditions'])}{label} [{verdicts.P3_CONFIDENCE:.0%}]",
                               f"{pair['ratio']:.3f} [{pair['interval'][0]:.3f}, {pair['interval'][1]:.3f}] "
                               f"({pair['seeds']} seeds)"))
    s.rows.append(("the same rule on no-mirror pairs (beside, not deciding)", beside.verdict))
    return s

def multitask_section(found: dict) -> Section:
    s, run = section_for("p2-tasks", "P2 on other tasks (Figure 9)",
                         "Ungrokking is not special to modular addition: every task whose network generalised ungroks.",
                         protocol.command_line("ungrok", "cpu", task="multitask"), sweeps(found, True))
    if run is None:
        return s
    for task, t in run["summary"]["tasks"].items():
        if t.get("stage2_skipped"):
            s.rows.append((task, t["stage2_skipped"]))
            continue
        crits = {f"{float(wd):g}": w["d_crit"] for wd, w in t["by_wd"].items()}
        s.rows.append((task, "D_crit " + ", ".join(f"wd {wd}: {num(c, '.0f')}" for wd, c in crits.items())))
    s.judge(verdicts.multitask(run["summary"]["tasks"]))
    s.figures.append(figure_of("Figure 9: test accuracy against D', one panel per task",
                             lambda: render_fig4(load(run["dir"]))))
    return s

def sweeps_differing_in(found: dict, field: str) -> list[dict]:
    """The largest group of single-task ungrokking sweeps whose identities differ only in `field` (a control: Adam's
    eps "base.adam_eps", the children's numerics "child_precision"), as [{"value", "by_wd", "run"}] in the order of
    the values; [] without two values."""
    groups: dict[str, dict] = {}
    for run in sweeps(found, False):
        ident = {**ungrok_experiment.IDENTITY_DEFAULTS, **(run["summary"].get("identity") or {})}
        value = ident.pop(field)
        key = repr(sorted((k, repr(v)) for k, v in ident.items() if k != "preset"))
        groups.setdefault(key, {}).setdefault(value, {"value": value, "by_wd": _ungrok_task(run)["by_wd"],
                                                      "run": run})
    best = max(groups.values(), key=len, default={})
    return sorted(best.values(), key=lambda x: x["value"]) if len(best) >= 2 else []


def render_epsilon(group: list[dict]):
    """(a) D_crit per seed (converged crossings filled) against AdamW's eps, per weight decay; (b) the L2 strength
    alpha_eff the members' gradients balance, over wd, against eps (the line alpha_eff = wd eps), with the share
    of parameters in eps's regime."""
    style.apply()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    wds = sorted({wd for g in group for wd in g["by_wd"]}, key=float)
    colours = cm.viridis(np.linspace(0, 0.9, len(wds)))
    eps = np.array([g["value"] for g in group])
    hidden = 0
    for k, (colour, wd) in enumerate(zip(colours, wds)):
        shift = 1.25 ** (k - (len(wds) - 1) / 2)  # weight decays side by side at each eps
        for g in group:
            w = g["by_wd"].get(wd)
            if not w:
                continue
            done = verdicts.converged_crits(w)
            for seed, c in (w.get("d_crit_by_seed") or {}).items():
                if c is not None:
                    a.plot(g["value"] * shift, c, "o", color=colour, mfc=colour if seed in done else "none", ms=5)
        a.plot([], [], "o", color=colour, label=f"weight decay {float(wd):g}")
        alphas = [((g["by_wd"].get(wd) or {}).get("adam") or {}).get("median_alpha_eff") for g in group]
        small = [((g["by_wd"].get(wd) or {}).get("adam") or {}).get("median_small_v") for g in group]
        ok = [j for j, x in enumerate(alphas) if x is not None and x > 0]  # a log axis shows positive ones
        b.plot(eps[ok], [alphas[j] / float(wd) for j in ok], "-o", color=colour, label=f"weight decay {float(wd):g}")
        for j in ok:
            b.annotate(f"{small[j]:.0%}", (eps[j], alphas[j] / float(wd)), fontsize=7, xytext=(3, 3),
                       textcoords="offset points")
        hidden += len(alphas) - len(ok)
    b.plot(eps, eps, "k:", lw=1, label="alpha_eff = wd eps (eps's regime)")
    a.set(xscale="log", xlabel="AdamW eps", ylabel="D_crit per seed (pairs)",
          title="D_crit per seed against eps\n(hollow: its crossing beside an unconverged member)")
    b.set(xscale="log", yscale="log", xlabel="AdamW eps", ylabel="alpha_eff / wd (median over members)",
          title="the L2 strength eps sets\n(labels: share of parameters with sqrt(v) < eps"
                + (f"; {hidden} not positive, not shown)" if hidden else ")"))
    for ax in (a, b):
        ax.title.set_fontsize(9)
    a.legend(fontsize=7)
    b.legend(fontsize=7)
    fig.tight_layout()
    return fig


def epsilon_section(found: dict) -> Section:
    group = sweeps_differing_in(found, "base.adam_eps")
    s, _ = section_for("epsilon", "Control: Adam's ε (D_crit against the L2 strength ε sets)",
                       "Converged networks sit in Adam's ε regime (sqrt(v) < ε), where AdamW is gradient descent on "
                       "CE + (α/2)|θ|² with α ≈ wd·ε: ε sets the regulariser. The theory says D_crit does not depend "
                       "on it; ε moves α over orders of magnitude, a stronger test of P3 than weight decay 1 against 3 "
                       "(a control beyond the paper).",
                       "; ".join(protocol.command_line("ungrok", adam_eps=e) for e in ("1e-10", "1e-6")),
                       [g["run"] for g in group])
    if not group:
        return s
    for g in group:
        for wd, w in g["by_wd"].items():
            alpha, small = ((w.get("adam") or {}).get(k) for k in ("median_alpha_eff", "median_small_v"))
            s.rows.append((f"eps {g['value']:g}, wd {float(wd):g}: D_crit [95%] / α_eff / share sqrt(v) < eps",
                           f"{with_interval(w['d_crit'], w['d_crit_interval'])} / {num(alpha, '.3g')} / "
                           f"{num(small, '.1%')}"))
    s.judge(verdicts.epsilon(group))
    s.figures.append(figure_of("D_crit and the effective L2 strength against AdamW's eps",
                               lambda: render_epsilon(group)))
    return s


def long_section(found: dict) -> Section:
    runs = [r for r in sweeps(found, False) if any(_ungrok_task(r).get("long_training") or {})]
    s, run = section_for("long", "Control: long training at fixed data",
                         "Ungrokking below D_crit is evidence for the theory only if networks trained as long on their "
                         "own data, or on a D' above D_crit, keep their test accuracy (else it is anti-grokking or "
                         "slow decay). Each parent on its own split and the largest-D' children train to the cap "
                         "without stopping (a control beyond the paper).",
                         protocol.command_line("ungrok", long_control=""), runs)
    if run is None:
        return s
    for wd, ms in _ungrok_task(run)["long_training"].items():
        for kind, D in (("own split D", max(m["d_prime"] for m in ms)), ("largest D'", min(m["d_prime"] for m in ms))):
            accs = [m["test_acc"] for m in ms if m["d_prime"] == D]
            s.rows.append((f"wd {float(wd):g}, {kind} = {D:.0f}: test accuracy at the cap, per seed",
                           ", ".join(f"{a:.3f}" for a in accs)))
    s.judge(verdicts.long_training(_ungrok_task(run)["long_training"]))
    data = load(run["dir"])
    s.figures.append(figure_of("Test accuracy over training of the long-trained members (each parent on its own split, "
                               "the largest D') beside the stage-2 children at the smallest D'",
                               lambda: render_long(data)))
    return s


def render_long(data: dict):
    """Test accuracy over steps: stage 3 (long-trained, solid) and the smallest-D' stage-2 children (dotted), one
    colour per weight decay."""
    style.apply()
    fig, ax = plt.subplots(figsize=(6.5, 4))
    rows = data["rows"]
    wds = sorted({r["wd"] for r in rows if r["stage"] == 3})
    colours = dict(zip(wds, cm.viridis(np.linspace(0, 0.9, len(wds)))))
    smallest = min((r["d_prime"] for r in rows if r["stage"] == 2), default=None)
    for r in rows:
        if r["stage"] == 3 or (r["stage"] == 2 and r["d_prime"] == smallest and r["wd"] in colours):
            c = _curve(data, r)
            ax.plot(c["step"], c["test/acc"], "-" if r["stage"] == 3 else ":", color=colours[r["wd"]], lw=1)
    for wd, colour in colours.items():
        ax.plot([], [], "-", color=colour, label=f"wd {wd:g}: long-trained (own split, largest D')")
        ax.plot([], [], ":", color=colour, label=f"wd {wd:g}: children at the smallest D' {smallest:.0f}")
    ax.set(xlabel="steps from the parent", ylabel="test accuracy", ylim=(-0.03, 1.03),
           title="stage 2: the long-trained members and the smallest-D' children")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def render_numerics(group: list[dict]):
    """Mean test accuracy against D' per weight decay, one line style per precision of the children."""
    style.apply()
    fig, ax = plt.subplots(figsize=(5.5, 4))
    wds = sorted({wd for g in group for wd in g["by_wd"]}, key=float)
    colours = cm.viridis(np.linspace(0, 0.9, len(wds)))
    for g, ls, marker in zip(group, ("-", "--", ":"), ("o", "x", "+")):
        for colour, wd in zip(colours, wds):
            w = g["by_wd"].get(wd)
            if w:
                ax.plot(w["d_prime"], w["mean_test_acc"], ls, marker=marker, ms=5, color=colour,
                        label=f"wd {float(wd):g}, children in {g['value']}")
    ax.axhline(0.5, color="grey", lw=0.6)
    ax.set(xscale="log", xlabel="reduced dataset size D' (pairs)", ylabel="mean test accuracy (at convergence or cap)",
           title="the same parents ungrokked in float32 and float64", ylim=(-0.03, 1.03))
    style.plain_log(ax.xaxis)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def numerics_section(found: dict) -> Section:
    group = sweeps_differing_in(found, "child_precision")
    s, _ = section_for("numerics", "Control: float64 (the children's numerics)",
                       "Most wd-1 training pairs end with margins above the 16.6 nats where a naive float32 "
                       "log-softmax has no gradient. The toolkit's cross-entropy keeps its gradient there, but float32 "
                       "rounding could still shape ungrokking: the same parents' children re-run in float64 must give "
                       "the same D_crit (a control beyond the paper).",
                       protocol.command_line("ungrok", child_precision="float64"), [g["run"] for g in group])
    if not group:
        return s
    for g in group:
        for wd, w in g["by_wd"].items():
            s.rows.append((f"children in {g['value']}, wd {float(wd):g}: D_crit [95%] / unconverged",
                           f"{with_interval(w['d_crit'], w['d_crit_interval'])} / {len(w['unconverged'])}"))
    s.judge(verdicts.numerics(group))
    s.figures.append(figure_of("Test accuracy against D', the children in float32 and in float64",
                               lambda: render_numerics(group)))
    return s


EXPERIMENT = ungrok_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (ungrokking_section, weight_decay_section, multitask_section, epsilon_section, numerics_section,
            long_section)
