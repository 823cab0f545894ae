"""The report: one page that walks through the paper's argument with this toolkit's own saved results.

`collect(root)` finds the finished runs under `root` (by what their summary.json holds, not by their names) and
builds one `Section` per toolkit part and per prediction: the claim, a one-line verdict with its reason, the key
numbers, the figures (drawn afresh from the saved results), the command that made it, its configuration,
training time and package versions. `to_html` writes a self-contained page (figures embedded as base64 PNG,
opens from disk); `to_markdown` a notes version beside PNG files. A section whose runs are missing says so
and gives the command that makes them.

Verdict rules are fixed before looking at results and live, each with its reason, in `figures.verdicts`; every
section shows its rule, the numbers it used and the condition that decided it, and `write` saves the same as
`verdicts.json` beside the page.
"""
from __future__ import annotations

import base64
import datetime
import html
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import rundir
from figures import allocation, efficiency, progress, semigrok, style, toy, ungrok, verdicts
from figures.verdicts import NOT_CONFIRMED, NOT_RUN, Verdict
PREFERENCE = ("paper", "cpu", "demo")  # several runs of one kind: the largest preset found is shown


@dataclass
class Section:
    key: str  # anchor and test handle
    title: str
    claim: str  # what the paper says (or what the part does)
    verdict: str  # one of figures.verdicts' five
    why: str  # one line: the condition that decided the verdict with its numbers, or what to run
    command: str  # the command that made the results (or would make them)
    rows: list[tuple[str, str]] = field(default_factory=list)  # key numbers
    figures: list[tuple[str, bytes]] = field(default_factory=list)  # (caption, PNG)
    config: str = ""  # the preset or configuration in words
    compute_seconds: float | None = None  # training time recorded by the runs
    environment: dict | None = None  # package versions etc. of the run that wrote it
    source: str = ""  # run directory
    others: list[str] = field(default_factory=list)  # further runs of the same kind, not shown
    rule: str = ""  # the verdict's rule in words
    numbers: dict = field(default_factory=dict)  # what the rule used

    def judge(self, v: Verdict) -> None:
        self.verdict, self.why, self.rule, self.numbers = v.verdict, v.decided_by, v.rule, v.numbers

    def verdict_record(self) -> dict:
        """The verdicts.json entry: section, verdict, rule, numbers, decided_by."""
        return {"section": self.title, "key": self.key, "verdict": self.verdict, "rule": self.rule,
                "numbers": self.numbers, "decided_by": self.why}


# ------------------------------------------------------------------------------------------- finding runs
def _kind(summary: dict, config: dict) -> str | None:
    """What wrote this summary.json (by its keys; names of directories are the user's choice)."""
    if summary.get("kind") == "theory-prove" and "results" in summary:
        return "theory-prove"
    if "results" in summary and "seed" in summary:
        return "theory-check"
    if "prediction" in summary and "d_crit" in summary:
        return "compare"
    if "kinds" in summary:
        return "efficiency"
    if "by_size" in summary:
        return "semigrok"
    if "tasks" in summary:
        return "ungrok-multitask" if len(summary["tasks"]) > 1 else "ungrok"
    if config.get("package") == "neural" and "members" in summary:
        return "train"
    if config.get("package") == "simulate" and "grok_step" in summary:
        return "toy"
    return None


def find_runs(root: Path) -> dict[str, list[dict]]:
    """Finished runs two levels below `root` by kind: {kind: [{"dir", "summary", "config"}]}, largest first."""
    found: dict[str, list[dict]] = {}
    for path in sorted(Path(root).glob("*/*/summary.json")) + sorted(Path(root).glob("*/summary.json")):
        try:
            summary = rundir.read_json(path)
            config = rundir.read_json(path.parent / "config.json") if (path.parent / "config.json").is_file() else {}
        except ValueError:
            continue
        if not isinstance(summary, dict):
            continue
        kind = _kind(summary, config)
        if kind:
            found.setdefault(kind, []).append({"dir": path.parent, "summary": summary, "config": config})
    for runs in found.values():
        runs.sort(key=_rank)
    return found


def _rank(run: dict) -> tuple:
    """Paper preset before cpu before demo (by the directory's name), then more training time first."""
    name = run["dir"].name
    pref = next((k for k, p in enumerate(PREFERENCE) if f"-{p}" in f"-{name}"), len(PREFERENCE))
    return pref, -(run["summary"].get("compute_seconds") or 0), str(run["dir"])


# ------------------------------------------------------------------------------------------- formatting
def _f(x, fmt: str = ".3g") -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "n/a"
    return format(x, fmt)


def _ci(value, interval, fmt: str = ".0f") -> str:
    text = _f(value, fmt)
    return text + (f" [{_f(interval[0], fmt)}, {_f(interval[1], fmt)}]" if interval else "")


def _provenance(run: dict) -> tuple[str, dict | None]:
    prov = run["summary"].get("provenance") or {}
    env = prov.get("environment") or run["config"].get("environment")
    return prov.get("command", ""), env


def _figure(caption: str, make: Callable[[], object]) -> tuple[str, bytes]:
    return caption, style.png_bytes(make())


def _base(key: str, title: str, claim: str, command: str, runs: list[dict]) -> tuple[Section, dict | None]:
    """A section for `runs` (largest first) and the run it shows, or a 'not run' one naming `command` and None."""
    if not runs:
        return Section(key, title, claim, NOT_RUN, f"no finished run under this root: run `{command}`", command), None
    run = runs[0]
    recorded, env = _provenance(run)
    return Section(key, title, claim, NOT_RUN, "", recorded or command, source=str(run["dir"]), environment=env,
                   compute_seconds=run["summary"].get("compute_seconds", run["summary"].get("wall_seconds_this_session")),
                   config=str(run["summary"].get("preset", "")), others=[str(r["dir"]) for r in runs[1:]]), run


# ------------------------------------------------------------------------------------------- sections
def theory_section(found: dict) -> Section:
    s, run = _base("theory", "Theory: the appendix's theorems and lemmas, checked as printed",
                   "Theorems D.1, D.4 and Lemmas D.2, D.3 of the paper hold on every sampled instance.",
                   "grok-theory check --out runs/theory/check", found.get("theory-check", []))
    if run is None:
        return s
    summary = run["summary"]
    results = summary["results"]
    s.config = f"seed {summary['seed']}; each statement's own instance count"
    proofs = _certified(found.get("theory-prove", []))
    for r in results:
        status = "holds" if r["holds"] else "FAILS as printed" + (
            "; corrected form holds" if r.get("corrected") and r["corrected"]["holds"] else "; no correction holds")
        certified = "; ".join(proofs[n] for n in (r["name"], r["name"] + " (corrected)") if n in proofs)
        s.rows.append((r["name"], f"{r['instances']} instances, worst margin {_f(r['worst_margin'])}: {status}"
                       + (f" | certified: {certified}" if certified else
                          " | certified: not run (grok-theory prove --out runs/theory/prove)")))
    s.judge(verdicts.theory(results))
    s.figures.append(_figure("Theorem D.4 (checked above): the optimal share of the more efficient circuit against "
                             "κ/q — a mixture below κ = q, winner takes all above", allocation.render))
    return s


def _certified(runs: list[dict]) -> dict[str, str]:
    """Each statement's certified verdict and box from the newest `grok-theory prove` summary, in words."""
    if not runs:
        return {}
    out = {}
    for r in runs[0]["summary"].get("results") or []:
        if not (isinstance(r, dict) and isinstance(r.get("name"), str) and isinstance(r.get("verdict"), str)):
            continue  # a malformed entry is left out rather than guessed at
        bounds = r.get("box") if isinstance(r.get("box"), dict) else {}
        box = ", ".join(f"{k} in [{v[0]:g}, {v[1]:g}]" for k, v in bounds.items()
                        if isinstance(v, list) and len(v) == 2 and all(isinstance(e, (int, float)) for e in v))
        if r["name"] == "Theorem D.4":
            box = f"{len(r.get('allocations') or [])} parameter sets of allocate"
        text = f"{r['name']} {r['verdict']}"
        if r["verdict"] == "undecided" and isinstance(r.get("certified_share"), (int, float)):
            text += f" (certified share {r['certified_share']:.4g})"
        out[r["name"]] = text + (f" on {box}" if box else "")
    return out


def toy_section(found: dict) -> Section:
    command = ("for p in fig2a fig2b fig2c; do grok-simulate run --preset $p; done")
    runs = {r["dir"].name: r for r in found.get("toy", [])}
    panels = [runs.get(n) for n in ("fig2a", "fig2b", "fig2c")]
    s, _ = _base("toy", "The three ingredients: the toy of Appendix B.5 (Table 1, Figure 2)",
                 "With a generalising circuit that is more efficient but slower to learn, the toy groks (a); a less "
                 "efficient one never generalises (b); an equally fast one generalises without delay (c).",
                 command, [p for p in panels if p][:1])
    if not all(panels):
        s.source, s.verdict = "", NOT_RUN
        s.why = f"needs the fig2a, fig2b and fig2c toy runs: run `{command}`"
        s.command = command
        return s
    s.command, s.source = command, ", ".join(str(p["dir"]) for p in panels)
    s.compute_seconds = sum(p["summary"].get("wall_seconds_this_session") or 0 for p in panels) or None
    s.config = "Table 1 presets (fig2a, fig2b, fig2c)"
    a, b, c = (p["summary"] for p in panels)
    for name, p in zip("abc", (a, b, c)):
        fin = p["final"]
        s.rows.append((f"({name}) fit step / grok step / delay",
                       f"{_f(p['train_fit_step'], 'd')} / {_f(p['grok_step'], 'd')} / {_f(p['grokking_delay'], 'd')}; "
                       f"final test accuracy {_f(fin['test/acc'])}, w_G {_f(fin['w_G'])}, w_M {_f(fin['w_M'])}"))
    s.judge(verdicts.toy(a["grokking_delay"], b["grok_step"], c["grokking_delay"]))
    s.figures.append(_figure("Figure 2: losses, circuit weights and parameter norms of the three toy settings",
                             lambda: toy.render(toy.load([p["dir"] for p in panels]), toy.PAPER_TITLES)))
    return s


def grokking_section(found: dict) -> Section:
    s, run = _base("grokking", "Grokking in a transformer, with Nanda et al.'s progress measures",
                   "A 1-layer transformer on modular addition fits its training set first and generalises much later; "
                   "the Fourier progress measures move before test accuracy does.",
                   "grok-neural train --preset cpu", found.get("train", []))
    if run is None:
        return s
    cfg = run["config"].get("config", {})
    m = run["summary"]["members"][0]
    fin = m["final"]
    s.config = (f"task {cfg.get('task')}, p = {cfg.get('p')}, train fraction {cfg.get('frac')}, d_model "
                f"{cfg.get('d_model')}, lr {cfg.get('lrs')}, wd {cfg.get('wds')}, {cfg.get('steps')} steps, "
                f"seed {m.get('seed')}")
    s.rows = [("train fit step (train acc 1)", _f(m["train_fit_step"], "d")),
              ("grok step (test acc >= threshold)", _f(m["grok_step"], "d")),
              ("final train / test accuracy", f"{_f(fin['train/acc'])} / {_f(fin['test/acc'])}"),
              ("final restricted / excluded loss", f"{_f(fin.get('restricted_loss'))} / {_f(fin.get('excluded_loss'))}"),
              ("final o_t / o_m (train, correct class)", f"{_f(fin.get('train/o_t'))} / {_f(fin.get('train/o_m'))}")]
    lr, wd = m.get("lr", (cfg.get("lrs") or [1e-3])[0]), m.get("wd", (cfg.get("wds") or [1.0])[0])
    s.judge(verdicts.grokking(m["train_fit_step"], m["grok_step"], lr, wd))
    s.figures.append(_figure("Progress measures (Nanda et al. Figure 7) and the o_t/o_m logits (paper Figure 11)",
                             lambda: progress.render(progress.load(run["dir"], 0))))
    return s


def efficiency_section(found: dict) -> Section:
    s, run = _base("p1", "P1 — efficiency: memorisation gets less efficient with D, generalisation does not",
                   "To produce a fixed logit, memorisation-only networks need a parameter norm that grows with the dataset "
                   "size D; generalisation-only networks need the same norm at every D (paper Section 4.1, Figure 3).",
                   "grok-neural efficiency --preset demo", found.get("efficiency", []))
    if run is None:
        return s
    kinds = run["summary"]["kinds"]
    for kind, label in (("mem", "memorisation"), ("gen", "generalisation")):
        k = kinds[kind]
        law, kap = k["law"], k["kappa"]
        s.rows.append((f"{label}: norm at fixed logit ∝ D^β",
                       _ci(law["beta"], law["beta_interval"], ".3f") + f" (95%, {law['n']} members)" if law else
                       "no law (needs >= 4 converged members at >= 2 sizes)"))
        s.rows.append((f"{label}: members kept / fitted",
                       f"{k['kept']} of {k['members']} kept{' (' + k['dropped_reason'] + ')' if k['dropped'] else ''}; "
                       f"{k['unconverged']} unconverged at the cap; {k['fitted']} fitted"))
        s.rows.append((f"{label}: κ (logit homogeneity degree)",
                       f"{_f(kap['mean'], '.2f')} (sd {_f(kap['sd'], '.2f')}); Theorem D.4 case {kap['d4_case_q2']} at q = 2"
                       if kap["mean"] is not None else "n/a"))
        if law and law.get("leave_one_out"):
            betas = [e["law"]["beta"] for e in law["leave_one_out"] if e["law"]]
            s.rows.append((f"{label}: β leaving one member out", f"{min(betas):.3f} to {max(betas):.3f} "
                           f"({len(betas)} refits)" if betas else "n/a"))
        if k.get("law_with_unconverged"):
            w = k["law_with_unconverged"]
            s.rows.append((f"{label}: β with the unconverged members", _ci(w["beta"], w["beta_interval"], ".3f")))
    laws = [{**k["law"], "with_unconverged": k.get("law_with_unconverged")} if k["law"] else None
            for k in (kinds["mem"], kinds["gen"])]
    s.judge(verdicts.p1(*laws))
    s.figures.append(_figure("Figure 3: parameter norm against D coloured by logit, and isologit curves",
                             lambda: efficiency.render_fig3(efficiency.load(run["dir"]))))
    return s


def _ungrok_task(run: dict) -> dict:
    """The single task's summary of an ungrokking sweep."""
    return next(iter(run["summary"]["tasks"].values()))


def ungrokking_section(found: dict) -> Section:
    s, run = _base("p2", "P2 — ungrokking: a grokked network trained on D' < D_crit loses its test accuracy",
                   "Continued training of a grokked network on a subset D' of its data ends, at convergence, with low test "
                   "accuracy below a critical size D_crit and high above it — a sharp transition — while train accuracy "
                   "stays high (paper Section 4.2, Figures 1b, 4, 8).",
                   "grok-neural ungrok --preset demo", found.get("ungrok", []))
    if run is None:
        return s
    t = _ungrok_task(run)
    data = ungrok.load(run["dir"])
    if t.get("stage2_skipped") or not t["by_wd"]:
        s.verdict = NOT_CONFIRMED
        s.why = t.get("stage2_skipped") or "no stage-2 runs"
        s.figures.append(_figure("Figure 4 (no stage 2: it says why)", lambda: ungrok.render_fig4(data)))
        return s
    s.rows.append(("parents' test accuracy", ", ".join(_f(p["test_acc"]) for p in t["parents"])))
    for wd, w in t["by_wd"].items():
        s.rows.append((f"wd {float(wd):g}: test acc at D' = {', '.join(str(int(d)) for d in w['d_prime'])}",
                       ", ".join(_f(a, ".3f") for a in w["mean_test_acc"])))
        s.rows.append((f"wd {float(wd):g}: D_crit [95%] / min train acc / unconverged",
                       f"{_ci(w['d_crit'], w['d_crit_interval'])} / {_f(w['min_train_acc'], '.3f')} / "
                       f"{len(w['unconverged'])}"))
        if w.get("mean_test_acc_unseen"):
            s.rows.append((f"wd {float(wd):g}: never-trained pairs' accuracy", ", ".join(
                _f(a, ".3f") for a in w["mean_test_acc_unseen"])))
    s.judge(verdicts.p2(t["by_wd"]))
    wd_fig = 1.0 if "1.0" in t["by_wd"] else float(next(iter(t["by_wd"])))
    s.figures.append(_figure("Figure 1a/1b: a network groks, then ungroks on a smaller D'",
                             lambda: ungrok.render_fig1(data, wd=wd_fig)))
    s.figures.append(_figure(f"Figure 8: test accuracy over training for every D' (wd {wd_fig:g})",
                             lambda: ungrok.render_fig8(data, wd=wd_fig)))
    return s


def weight_decay_section(found: dict) -> Section:
    s, run = _base("p3", "P3 — D_crit does not depend on weight decay",
                   "The test accuracy after ungrokking, and so D_crit, is the same for every weight decay (paper Section "
                   "4.2, Figure 4).", "grok-neural ungrok --preset demo", found.get("ungrok", []))
    if run is None:
        return s
    t = _ungrok_task(run)
    by_wd = t["by_wd"]
    s.figures.append(_figure("Figure 4: test accuracy at convergence against D', one curve per weight decay",
                             lambda: ungrok.render_fig4(ungrok.load(run["dir"]))))
    for wd, w in by_wd.items():
        seeds = len(w.get("d_crit_by_seed") or {})
        s.rows.append((f"wd {float(wd):g}: D_crit [95%]", f"{_ci(w['d_crit'], w['d_crit_interval'])} ({seeds} seed(s))"))
    spread = t.get("wd_spread") or {}
    s.rows.append(("largest / mean gap between the wd curves",
                   f"{_f(spread.get('max_acc_gap'), '.3f')} / {_f(spread.get('mean_acc_gap'), '.3f')}"))
    s.judge(verdicts.p3(by_wd))
    for pair in s.numbers["pairs"]:
        if "interval" in pair:
            s.rows.append((f"D_crit ratio wd {pair['wd'][0]:g} / {pair['wd'][1]:g} [{verdicts.P3_CONFIDENCE:.0%}]",
                           f"{pair['ratio']:.2f} [{pair['interval'][0]:.2f}, {pair['interval'][1]:.2f}] "
                           f"({pair['seeds']} seeds)"))
    return s


def multitask_section(found: dict) -> Section:
    s, run = _base("p2-tasks", "P2 on other tasks (Figure 9)",
                   "Ungrokking is not special to modular addition: every task whose network generalised ungroks.",
                   "grok-neural ungrok --preset cpu --task multitask", found.get("ungrok-multitask", []))
    if run is None:
        return s
    for task, t in run["summary"]["tasks"].items():
        if t.get("stage2_skipped"):
            s.rows.append((task, t["stage2_skipped"]))
            continue
        crits = {f"{float(wd):g}": w["d_crit"] for wd, w in t["by_wd"].items()}
        s.rows.append((task, "D_crit " + ", ".join(f"wd {wd}: {_f(c, '.0f')}" for wd, c in crits.items())))
    s.judge(verdicts.multitask(run["summary"]["tasks"]))
    s.figures.append(_figure("Figure 9: test accuracy against D', one panel per task",
                             lambda: ungrok.render_fig4(ungrok.load(run["dir"]))))
    return s


def compare_section(found: dict) -> Section:
    s, run = _base("compare", "Theory against measurement: D_crit and o_t/o_m predicted from efficiencies",
                   "Fed only with the efficiency sweep's norms and κ (networks that never ungrokked), the theory "
                   "(P_M(D_crit) = P_G; Theorem D.4's allocation) predicts where the ungrokking sweep's transition lies and "
                   "how the logit splits between the circuits (paper Figure 12).",
                   "grok-neural compare --preset demo", found.get("compare", []))
    if run is None:
        return s
    summ = run["summary"]
    pred = summ["prediction"]
    s.config = f"sources: {summ['sources']['ungrok']} and {summ['sources']['efficiency']}"
    s.rows.append(("κ → Theorem D.4 case (q = 2)", f"{_f(pred['kappa'], '.2f')} → case {pred['d4_case']}"))
    if pred["law_M"]:
        s.rows.append(("laws", f"P_M(D) = {_f(pred['law_M']['a'], '.3g')} D^{_f(pred['law_M']['beta'], '.3f')}, "
                               f"P_G = {_f(pred['P_G'], '.3g')}"))
    s.rows.append(("predicted D_crit [95%, P_G's uncertainty included]", _ci(pred["d_crit"], pred["d_crit_interval"])
                   if pred["d_crit"] is not None else f"n/a ({pred['d_crit_unavailable']})"))
    if pred.get("d_crit_interval_mem_only"):
        s.rows.append(("predicted D_crit interval from P_M's fit alone", _ci(None, pred["d_crit_interval_mem_only"])
                       .replace("n/a ", "")))
    extra, sens = pred.get("extrapolation") or {}, pred.get("sensitivity") or {}
    if extra.get("mem_D_range"):
        s.rows.append(("memorisation sizes measured / extrapolation factor",
                       f"{extra['mem_D_range'][0]:.0f}-{extra['mem_D_range'][1]:.0f} / {_f(extra['factor'], '.2f')}"))
    if sens:
        rng = sens.get("d_crit_range")
        s.rows.append(("predicted D_crit leaving one member out / with the unconverged",
                       f"{_f(rng and rng[0], '.0f')}-{_f(rng and rng[1], '.0f')} "
                       f"({len(sens['leave_one_out'])} refits) / {_f(sens.get('d_crit_with_unconverged'), '.0f')}"))
    for r in summ["d_crit"]:
        s.rows.append((f"wd {r['wd']:g}: measured D_crit [95%], measured/predicted",
                       f"{_ci(r['measured'], r['measured_interval'])}, {_f(r['measured_over_predicted'], '.2f')}"))
    rc, base = summ.get("ratio_rank_correlation"), summ.get("ratio_baselines") or {}
    if rc:
        s.rows.append(("o_t/o_m: Spearman, predicted vs measured / D'-monotone score / best grid step",
                       f"{rc['spearman']:.3f} (p = {rc['p_value']:.2g}, {rc['members']} members) / "
                       f"{_f(base.get('monotone_in_d_prime'), '.3f')} / {_f(base.get('best_grid_step'), '.3f')}"))
    if summ["dominant_circuit_agreement"] is not None:
        s.rows.append(("dominant circuit as predicted", f"{summ['dominant_circuit_agreement']:.0%} of members"))
    s.judge(verdicts.compare(summ))
    s.figures.append(_figure("Figure 12: o_t/o_m and test accuracy against D' with the theory's predictions",
                             lambda: efficiency.render_fig12(efficiency.load(run["dir"], "compare.csv"))))
    return s


def semigrok_section(found: dict) -> Section:
    s, run = _base("p4", "P4 — semi-grokking: a little above D_crit, a delayed rise to middling test accuracy",
                   "Near D_crit both circuits are about equally efficient, so some runs should end in a mixture: a delayed "
                   "transition to middling test accuracy (paper Section 4.3, Figure 5).",
                   "grok-neural semigrok --preset demo", found.get("semigrok", []))
    if run is None:
        return s
    summ = run["summary"]
    classes = [c for c, n in summ["total"].items() if n]
    for D, counts in summ["by_size"].items():
        s.rows.append((f"D = {D}", ", ".join(f"{counts[c]} {c}" for c in classes)))
    clear = summ.get("clearest_semi_grokking")
    if clear:
        s.rows.append(("clearest semi-grokking run", f"D = {clear['D']}, seed {clear['seed']}, level {clear['final_level']:.2f}"))
    s.judge(verdicts.p4(summ["total"].get("semi-grokked", 0), summ["members"]))
    data = semigrok.load(run["dir"])
    ungrok_runs = found.get("ungrok", [])
    rows = ungrok.load(ungrok_runs[0]["dir"])["rows"] if ungrok_runs else None
    s.figures.append(_figure("Figure 5: test accuracy over training for every run, by dataset size",
                             lambda: semigrok.render_fig5(data)))
    s.figures.append(_figure("Two routes to middling accuracy: semi-grokking runs beside ungrokking children",
                             lambda: semigrok.render_routes(data, rows)))
    return s


SECTIONS = (theory_section, toy_section, grokking_section, efficiency_section, ungrokking_section,
            weight_decay_section, multitask_section, compare_section, semigrok_section)


def collect(root: Path) -> list[Section]:
    """Every section of the report from the runs under `root` (ValueError if `root` is not a directory)."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"ROOT={str(root)!r} is not a directory: pass the runs directory (default runs)")
    found = find_runs(root)
    return [make(found) for make in SECTIONS]


# ------------------------------------------------------------------------------------------- writing
def _versions(env: dict | None) -> str:
    if not env:
        return "not recorded"
    pk = ", ".join(f"{k} {v}" for k, v in (env.get("packages") or {}).items() if v)
    commit = env.get("git_commit")
    return f"Python {env.get('python')}; {pk}" + (f"; commit {commit[:10]}" if commit else "")


def _seconds(x: float | None) -> str:
    if x is None:
        return "not recorded"
    return f"{x:.0f} s" if x < 120 else f"{x / 60:.1f} min"


def _meta(s: Section) -> list[tuple[str, str]]:
    out = [("command", s.command)]
    if s.source:
        out += [("results", s.source), ("configuration", s.config or "see the results' config.json"),
                ("compute time", _seconds(s.compute_seconds)), ("packages", _versions(s.environment))]
    if s.others:
        out.append(("also found (not shown)", ", ".join(s.others)))
    return out


CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.7em}h2{margin-top:2.2em;border-top:1px solid #ddd;padding-top:1em}
.verdict{display:inline-block;padding:.15em .6em;border-radius:.3em;font-weight:600;color:#fff}
.confirmed{background:#2e7d32}.confirmed-with-corrections{background:#558b2f}.not-confirmed{background:#c62828}
.inconclusive{background:#ef6c00}.not-run{background:#757575}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;vertical-align:top}
code{background:#f4f4f4;padding:.1em .3em;border-radius:.2em}img{max-width:100%;border:1px solid #eee}
figcaption{color:#555;font-size:.9em}.claim{color:#333}.meta td:first-child{color:#666;white-space:nowrap}
"""


def to_html(sections: list[Section], root: Path) -> str:
    """A self-contained page: figures inline as base64 PNG, no scripts, nothing fetched."""
    esc = html.escape
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    out = ["<!DOCTYPE html>", "<html lang='en'><head><meta charset='utf-8'>",
           "<title>circuit-efficiency report</title>", f"<style>{CSS}</style></head><body>",
           "<h1>Explaining grokking through circuit efficiency: this toolkit's results</h1>",
           f"<p>Runs under <code>{esc(str(root))}</code>, report written {now}. Each section states the paper's claim, "
           "a verdict by a rule fixed in advance (<code>figures/verdicts.py</code>: confirmed, confirmed with corrections, "
           "not confirmed, inconclusive when the evidence is too weak to decide, or not run), the condition that "
           "decided it, the numbers it used, its figures, and how the results were made; <code>verdicts.json</code> "
           "beside this page holds the same verdicts.</p>", "<table><tr><th>section</th><th>verdict</th><th>why</th></tr>"]
    for s in sections:
        out.append(f"<tr><td><a href='#{s.key}'>{esc(s.title)}</a></td><td><span class='verdict "
                   f"{s.verdict.replace(' ', '-')}'>{s.verdict}</span></td><td>{esc(s.why)}</td></tr>")
    out.append("</table>")
    for s in sections:
        out.append(f"<section id='{s.key}'><h2>{esc(s.title)}</h2>")
        out.append(f"<p class='claim'><b>Claim.</b> {esc(s.claim)}</p>")
        out.append(f"<p><span class='verdict {s.verdict.replace(' ', '-')}'>{s.verdict}</span> {esc(s.why)}</p>")
        if s.rule:
            out.append(f"<p class='rule'><b>Rule</b> (fixed in advance): {esc(s.rule)}</p><details><summary>numbers "
                       f"the rule used</summary><pre>{esc(json.dumps(rundir.to_jsonable(s.numbers), indent=1))}</pre></details>")
        if s.rows:
            out.append("<table>" + "".join(f"<tr><td>{esc(k)}</td><td>{esc(v)}</td></tr>" for k, v in s.rows) + "</table>")
        for caption, png in s.figures:
            width = int.from_bytes(png[16:20], "big") * 2 // 3  # PNG header; drawn at 150 dpi, shown at 100
            out.append(f"<figure><img style='width:min(100%,{width}px)' alt='{esc(caption)}' src='data:image/png;base64,"
                       f"{base64.b64encode(png).decode()}'><figcaption>{esc(caption)}</figcaption></figure>")
        out.append("<table class='meta'>" + "".join(
            f"<tr><td>{esc(k)}</td><td>{'<code>' + esc(v) + '</code>' if k == 'command' else esc(v)}</td></tr>"
            for k, v in _meta(s)) + "</table></section>")
    out.append("</body></html>")
    return "\n".join(out)


def to_markdown(sections: list[Section], root: Path, figure_dir: str) -> tuple[str, dict[str, bytes]]:
    """The report as Markdown and the PNG files it links ({relative path: bytes}, under `figure_dir`)."""
    files: dict[str, bytes] = {}
    out = ["# Explaining grokking through circuit efficiency: this toolkit's results", "",
           f"Runs under `{root}`. Verdicts follow rules fixed in advance (`figures/verdicts.py`); "
           "`verdicts.json` beside this file holds them with the numbers they used.", "",
           "| section | verdict | why |", "|---|---|---|"]
    out += [f"| [{s.title}](#{s.key}) | **{s.verdict}** | {s.why} |" for s in sections]
    for s in sections:
        out += ["", f"<a id='{s.key}'></a>", f"## {s.title}", "", f"**Claim.** {s.claim}", "",
                f"**{s.verdict}**: {s.why}", ""] + ([f"*Rule (fixed in advance):* {s.rule}", ""] if s.rule else [])
        if s.rows:
            out += ["| quantity | value |", "|---|---|"] + [f"| {k} | {v} |" for k, v in s.rows] + [""]
        for k, (caption, png) in enumerate(s.figures):
            name = f"{figure_dir}/{s.key}-{k + 1}.png"
            files[name] = png
            out += [f"![{caption}]({name})", f"*{caption}*", ""]
        out += [f"- {k}: `{v}`" if k == "command" else f"- {k}: {v}" for k, v in _meta(s)]
    return "\n".join(out) + "\n", files


def check_out(out: Path) -> Path:
    out = Path(out)
    if out.suffix.lower() not in (".html", ".md"):
        raise ValueError(f"out={str(out)!r} is not allowed: end it in .html (the page) or .md (Markdown)")
    return out


def write(sections: list[Section], root: Path, out: Path) -> list[Path]:
    """Write `out`: .html (self-contained) or .md (PNGs in `<stem>_figures/` beside it), and verdicts.json beside
    it (one object per section: section, verdict, rule, numbers, decided_by); the paths written."""
    out = check_out(out)
    written = []
    try:
        rundir.write_json(out.parent / "verdicts.json", [s.verdict_record() for s in sections])
        written.append(out.parent / "verdicts.json")
        if out.suffix.lower() == ".html":
            rundir.atomic_write_text(out, to_html(sections, root))
        else:
            text, files = to_markdown(sections, root, f"{out.stem}_figures")
            for name, png in files.items():
                rundir.atomic_write_bytes(out.parent / name, png)
                written.append(out.parent / name)
            rundir.atomic_write_text(out, text)
    except OSError as e:
        raise ValueError(f"out={str(out)!r} cannot be written: {e.strerror or e}") from None
    return [out] + written
