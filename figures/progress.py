"""Nanda et al.'s progress measures (their Figure 7) and the o_t/o_m logits of Varma et al. (Figure 11)
for one member of a grok-neural run: losses, restricted/excluded loss, Gini of W_E and W_L, parameter norm,
and the correct-class trigonometric and memorisation logits."""
from __future__ import annotations

from pathlib import Path

import numpy as np

import rundir
from figures import source, style, verdicts
from neural import protocol
from figures.sections import Section, figure_of, num, section_for
from neural.experiments import grokking as grokking_experiment
from rundir.lazy import lazy

plt = lazy("matplotlib.pyplot")


def load(run_dir: Path, member: int = 0) -> dict:
    """One member's curves: each metric with its own steps (the Fourier and Gini measures are taken at the
    log-spaced evaluations only, so their blank cells are dropped rather than drawn as gaps)."""
    d = Path(run_dir)
    _, table = source.run_record(d, "run_dir", "neural")
    if "member" not in table:
        raise ValueError(f"run_dir={str(d)!r}: its metrics.csv has no rows yet")
    mine = table["member"] == member
    if not mine.any():
        raise ValueError(f"member={member} is not in {d}: it has members {sorted(set(table['member'].astype(int)))}")
    return {"name": d.name, "member": member, "metrics": {k: v[mine] for k, v in table.items()},
            "summary": rundir.read_json(d / "summary.json") if (d / "summary.json").exists() else None}


class _Curves:
    """A member's metrics; xy(key) gives the steps where `key` was measured and its values there."""

    def __init__(self, metrics: dict[str, np.ndarray]):
        self.metrics = metrics

    def __contains__(self, key: str) -> bool:
        return key in self.metrics and bool(np.isfinite(self.metrics[key]).any())

    def xy(self, key: str, f=lambda y: y) -> tuple[np.ndarray, np.ndarray]:
        y = self.metrics[key]
        ok = np.isfinite(y)
        return np.maximum(self.metrics["step"][ok], 1), f(y[ok])


def render(data: dict):
    style.apply()
    metrics = data["metrics"]
    m = _Curves(metrics)
    fig, axes = plt.subplots(2, 3, figsize=(13, 7))
    ax = axes[0, 0]
    ax.plot(*m.xy("train/loss"), color=style.COLORS["train"], label="train loss")
    ax.plot(*m.xy("test/loss"), color=style.COLORS["test"], label="test loss")
    ax.set_yscale("log")
    ax.set_title("loss")
    ax = axes[0, 1]
    for key, color, label in (("restricted_loss", "#ff7f0e", "restricted (key freqs only, test)"),
                              ("excluded_loss", "#8c564b", "excluded (key freqs removed, train)"),
                              ("test/loss", style.COLORS["test"], "test loss")):
        if key in m:
            ax.plot(*m.xy(key), color=color, label=label)
    ax.set_yscale("log")
    ax.set_title("restricted and excluded loss")
    ax = axes[0, 2]
    ax.plot(*m.xy("train/acc"), color=style.COLORS["train"], label="train")
    ax.plot(*m.xy("test/acc"), color=style.COLORS["test"], label="test")
    ax.set_title("accuracy")
    ax = axes[1, 0]
    for key, color in (("gini/W_E", "#17becf"), ("gini/W_L", "#bcbd22")):
        if key in m:
            ax.plot(*m.xy(key), color=color, label=key)
    ax.set_title("Gini of Fourier norms")
    ax = axes[1, 1]
    ax.plot(*m.xy("norm/total"), color=style.COLORS["total"], label="||θ|| (norm/total)")
    ax.set_title("parameter norm (Nanda et al. plot its square)")
    ax = axes[1, 2]
    for key, color, label in (("train/o_t", style.COLORS["G"], "$o_t$ (trigonometric)"),
                              ("train/o_m", style.COLORS["M"], "$o_m$ (memorisation, train)"),
                              ("test/o_m", "#e377c2", "$o_m$ (memorisation, test)")):
        if key in m:
            ax.plot(*m.xy(key), color=color, label=label)
    ax.set_title("correct-class logit split (Appendix C)")
    for ax in axes.flat:
        ax.set_xscale("log")
        ax.set_xlabel("step")
        ax.legend(fontsize=7)
    fig.suptitle(f"{data['name']} member {data['member']}", fontsize=10)
    fig.tight_layout()
    return fig


def grokking_section(found: dict) -> Section:
    s, run = section_for("grokking", "Grokking in a transformer, with Nanda et al.'s progress measures",
                         "A 1-layer transformer on modular addition fits its training set first and generalises much "
                         "later; the Fourier progress measures move before test accuracy does.",
                         protocol.command_line("train"), found.get("train", []))
    if run is None:
        return s
    cfg = run["config"].get("config", {})
    m = run["summary"]["members"][0]
    fin = m["final"]
    s.config = (f"task {cfg.get('task')}, p = {cfg.get('p')}, train fraction {cfg.get('frac')}, d_model "
                f"{cfg.get('d_model')}, lr {cfg.get('lrs')}, wd {cfg.get('wds')}, {cfg.get('steps')} steps, "
                f"seed {m.get('seed')}")
    s.rows = [("train fit step (train acc 1)", num(m["train_fit_step"], "d")),
              ("grok step (test acc >= threshold)", num(m["grok_step"], "d")),
              ("final train / test accuracy", f"{num(fin['train/acc'])} / {num(fin['test/acc'])}"),
              ("final restricted / excluded loss", f"{num(fin.get('restricted_loss'))} / "
                                                   f"{num(fin.get('excluded_loss'))}"),
              ("final o_t / o_m (train, correct class)", f"{num(fin.get('train/o_t'))} / {num(fin.get('train/o_m'))}")]
    lr, wd = m.get("lr", (cfg.get("lrs") or [1e-3])[0]), m.get("wd", (cfg.get("wds") or [1.0])[0])
    s.judge(verdicts.grokking(m["train_fit_step"], m["grok_step"], lr, wd))
    s.figures.append(figure_of("Progress measures (Nanda et al. Figure 7) and the o_t/o_m logits (paper Figure 11)",
                             lambda: render(load(run["dir"], 0))))
    return s

EXPERIMENT = grokking_experiment.EXPERIMENT  # what this module draws (figures.drawers)
SECTIONS = (grokking_section,)
