"""`grok-neural`: train 1-layer transformers on modular arithmetic and measure their circuits."""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import List, Optional

import torch
import typer

from rundir.cli import friendly_errors, new_app

import rundir
from neural import config as cfgmod
from neural import device as devices, inspect_run, interop, train as train_mod
from neural.experiments import cluster

app = new_app("Transformers on modular arithmetic (paper Appendix B) and their progress measures.")


# every training command: where it trains, and whether a run may be resumed on another device
DEVICE = typer.Option("auto", help=f"{devices.CHOICES}; recorded in each run's config.json.")
ALLOW_DEVICE_CHANGE = typer.Option(False, "--allow-device-change", help="Resume runs started on another device here (their numbers then "
                                               "differ from an uninterrupted run's; recorded in config.json).")


# every sweep command: where its ensembles run, with which cluster options, and whether the command waits
EXECUTOR = typer.Option("local", help="local, submitit-local or slurm (needs '.[cluster]').")
SLURM = typer.Option(None, "--slurm", help="KEY=VALUE, repeatable: partition, time (minutes), gpus_per_node, "
                                           "cpus_per_task, mem_gb, account, qos, array_parallelism, constraint.")
SLURM_CONFIG = typer.Option(None, "--slurm-config", help="A TOML file of the same keys (top level or [slurm]); "
                                                          "--slurm items win.")
NO_WAIT = typer.Option(False, "--no-wait", help="Submit and return (jobs recorded in the sweep's jobs.json); the same "
                                                "command later reports, resubmits failed jobs and collects.")


def _submission(executor: str, slurm: Optional[List[str]], slurm_config: Optional[Path], no_wait: bool) -> dict:
    """The runner's cluster keywords, validated before anything is submitted."""
    from neural.experiments import cluster

    sub = cluster.Submission(executor, cluster.parse_options(slurm, slurm_config), not no_wait)
    sub.check()
    return {"executor": sub.executor, "slurm": sub.slurm, "wait": sub.wait}


def _report_pending(pending: list[tuple[Path, "cluster.Pending"]], as_json: bool) -> None:
    """What sweeps submitted without waiting have running, and what to do next (exit 0)."""
    if as_json:
        sweeps = {str(out): p.status for out, p in pending}
        body = {"sweep_dir": next(iter(sweeps)), **next(iter(sweeps.values()))} if len(sweeps) == 1 else {"sweeps": sweeps}
        typer.echo(json.dumps(rundir.to_jsonable({"status": "pending", **body})))
        return
    for out, p in pending:
        st = p.status
        typer.echo(f"sweep: {out}: {st['finished']} ensemble(s) finished, {len(st['running'])} still running or "
                   f"queued, {len(st['submitted'])} submitted now ({len(st['resubmitted'])} of them resubmitted "
                   "after failing)")
        for r in st["running"] + st["submitted"]:
            typer.echo(f"  ensemble {r['ensemble']}: job {r['job_id']} (attempt {r['attempts']})")
        typer.echo(f"jobs: {st['jobs_file']}")
    typer.echo("Run the same command again to check, resubmit failed jobs and collect.")


def _placement(device: str, allow_device_change: bool, executor: str = "local") -> dict:
    """The device keywords for train and the sweeps, checked now: the spec always, and on this machine when the
    runs train here (a SLURM job resolves it where it runs)."""
    devices.check_spec(device)
    if executor == "local":
        devices.resolve(device)
    return {"device": device, "allow_device_change": allow_device_change}


def _numbers(name: str, text: str, kind=float) -> tuple:
    try:
        values = tuple(kind(v) for v in text.split(",") if v.strip() != "")
    except ValueError:
        raise ValueError(f"{name}={text!r} is malformed: give comma-separated numbers, e.g. 0,1,2") from None
    if not values:
        raise ValueError(f"{name}={text!r} is empty: give at least one value")
    return values


@app.command()
@friendly_errors
def presets(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """What each preset is."""
    if as_json:
        typer.echo(json.dumps({k: {"description": d, "config": c.to_dict()} for k, (c, d) in cfgmod.PRESETS.items()}))
        return
    for name, (_, desc) in cfgmod.PRESETS.items():
        typer.echo(f"{name:<6} {desc}")


@app.command()
@friendly_errors
def train(preset: str = typer.Option("cpu", help="cpu or paper (see `presets`)."),
          task: Optional[str] = typer.Option(None, help="add, sub, mul, div, x2y2, x2xyy2, x3xy or s5."),
          p: Optional[int] = typer.Option(None, "--p", help="Modulus (prime where the task needs a field)."),
          frac: Optional[float] = typer.Option(None, help="Training fraction of all pairs, in (0, 1]."),
          train_size: Optional[int] = typer.Option(None, help="Exact training-set size D (instead of --frac)."),
          seeds: Optional[str] = typer.Option(None, help="Comma-separated seeds, e.g. 0,1,2 (default: the preset's)."),
          wd: Optional[str] = typer.Option(None, help="Comma-separated weight decays (>= 0), e.g. 1.0,0.3."),
          lr: Optional[str] = typer.Option(None, help="Comma-separated learning rates (> 0)."),
          steps: Optional[int] = typer.Option(None, help="Full-batch training steps."),
          checkpoint_every: Optional[int] = typer.Option(None, help="Steps between checkpoints (default 1,000)."),
          precision: Optional[str] = typer.Option(None, help="float32 (default) or bf16 (autocast; faster, shifts dynamics)."),
          fmt: Optional[str] = typer.Option(None, help="paper: [x, op, y, =]; nanda: [x, y, =]."),
          random_labels: Optional[bool] = typer.Option(None, "--random-labels/--no-random-labels",
                                                       help="Random labels: a memorisation-only run (default: the "
                                                            "preset's)."),
          threads: Optional[int] = typer.Option(None, help="torch CPU threads (results depend on it; default: all "
                                                "cores, or what the run in --out recorded). Runs share cores: one "
                                                "that cannot get its threads' cores waits."),
          out: Optional[Path] = typer.Option(None, help="Run directory (default runs/neural/<preset>-<task>-p<p>)."),
          overwrite: bool = typer.Option(False, help="Replace a finished run (or restart an unfinished one)."),
          device: str = DEVICE, allow_device_change: bool = ALLOW_DEVICE_CHANGE,
          as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """Train every (seed, wd, lr) combination as one ensemble; resumes an interrupted run in --out."""
    cfg = cfgmod.preset(preset)
    changes = {"task": task, "p": p, "steps": steps, "precision": precision, "fmt": fmt, "threads": threads,
               "checkpoint_every": checkpoint_every}
    cfg = cfg.with_(**{k: v for k, v in changes.items() if v is not None})
    if train_size is not None:
        if frac is not None:
            raise ValueError("give either --frac or --train-size, not both")
        cfg = cfg.with_(frac=None, train_size=train_size)
    elif frac is not None:
        cfg = cfg.with_(frac=frac)
    if seeds is not None:
        cfg = cfg.with_(seeds=_numbers("seeds", seeds, int))
    if random_labels is not None:
        cfg = cfg.with_(random_labels=random_labels)
    if wd is not None:
        cfg = cfg.with_(wds=_numbers("wd", wd))
    if lr is not None:
        cfg = cfg.with_(lrs=_numbers("lr", lr))
    cfg.validate()
    out = out or Path("runs/neural") / f"{preset}-{cfg.task}-p{cfg.p}"
    result = train_mod.train(cfg, out, overwrite=overwrite, progress=True,
                             **_placement(device, allow_device_change))
    summary = result.summary
    if result.reused:
        typer.echo(f"{out} already holds this finished run (pass --overwrite to redo it, or more --steps to extend "
                   f"it); its summary:", err=True)
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"run_dir": str(out), **summary})))
        return
    typer.echo(f"run: {out}")
    for m in summary["members"]:
        f = m["final"]
        typer.echo(f"member {m['member']} (seed {m['seed']}, wd {m['wd']}, lr {m['lr']}): grok step {m['grok_step']}, "
                   f"train acc 1.0 at {m['train_fit_step']}, final train/test acc {f['train/acc']:.3f}/{f['test/acc']:.3f}, "
                   f"test loss {f['test/loss']:.3g}, norm {f['norm/total']:.2f}"
                   + (f", diverged at {m['diverged_step']}" if m["diverged_step"] is not None else ""))
    typer.echo(f"{summary['ms_per_step_this_session']:.1f} ms/step on {summary.get('device_this_session', 'n/a')}")


@app.command()
@friendly_errors
def analyze(source: Path = typer.Argument(..., help="A grok-neural run directory or a progress-measures checkpoint (.pth)."),
            task: Optional[str] = typer.Option(None, help="Task of an imported checkpoint (default: the one its "
                                                          "meta records, else add)."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Progress measures, key frequencies and the o_t/o_m split of a saved run or an imported checkpoint
    (TransformerLens or progress-measures layout, either sequence format; train/test measures where the file
    records its split)."""
    if not source.exists():
        raise ValueError(f"source={str(source)!r} does not exist")
    result = inspect_run.analyze_run(source) if source.is_dir() else inspect_run.analyze_checkpoint(source, task)
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable(result)))
        return
    typer.echo(f"{result['source']}: task {result['task']}, p = {result['p']}"
               + (f"; {result['layout']} layout, format {result['format']}, training split: {result['split']}"
                  if "layout" in result else ""))
    for m in result["members"]:
        typer.echo(f"member {m['member']}: key frequencies {m['key_frequencies']}")
        for k, v in m.items():
            if k not in ("member", "key_frequencies") and v is not None:
                typer.echo(f"  {k:<26} {v:.6g}" if isinstance(v, float) else f"  {k:<26} {v}")


@app.command()
@friendly_errors
def export(run_dir: Path = typer.Argument(..., help="A grok-neural run directory."),
           member: int = typer.Option(0, help="Which ensemble member (0-based)."),
           to: str = typer.Option(..., help="transformer-lens or progress-measures."),
           out: Path = typer.Option(..., help="The torch file to write (tensors and plain values only)."),
           overwrite: bool = typer.Option(False, help="Replace an existing file at --out (never a run's own files).")):
    """One member as a torch file for another tool: {"state_dict", "meta"} (+ "config": HookedTransformerConfig
    keyword arguments for transformer-lens; + "model" for progress-measures code)."""
    if to not in interop.LAYOUTS:
        raise ValueError(f"to={to!r} is unknown: choose from {', '.join(interop.LAYOUTS)}")
    if out.name in rundir.OWNED_FILES and (out.parent / "config.json").is_file():
        raise ValueError(f"out={str(out)!r} is a run directory's own {out.name}: export elsewhere")
    if out.exists() and not overwrite:
        raise ValueError(f"out={str(out)!r} already exists: pass --overwrite to replace it")
    content = inspect_run.export_run(run_dir, member, to)
    buf = io.BytesIO()
    torch.save(content, buf)
    try:
        rundir.atomic_write_bytes(out, buf.getvalue())
    except OSError as e:
        raise ValueError(f"out={str(out)!r} cannot be written: {e.strerror or e}") from None
    meta = content["meta"]
    typer.echo(f"{out}: member {member} of {run_dir} (step {meta['step']}) in the {to} layout; task {meta['task']}, "
               f"p = {meta['p']}, format {meta['format']}, {len(meta['train_pairs'])} training pairs")


@app.command()
@friendly_errors
def ungrok(preset: str = typer.Option("cpu", help="demo, cpu or paper (see the README's ungrokking section)."),
           task: str = typer.Option("add", help="A task (add, sub, mul, div, x2y2, x2xyy2, x3xy, s5) or multitask "
                                                "(add, sub, mul, x2y2, x2xyy2, x3xy, s5: Figure 9)."),
           wd: Optional[str] = typer.Option(None, help="Stage-2 weight decays, e.g. 0.3,1,3."),
           seeds: Optional[str] = typer.Option(None, help="Parent seeds, e.g. 0,1,2."),
           d_prime: Optional[str] = typer.Option(None, help="Stage-2 sizes D' as fractions of all pairs, e.g. "
                                                            "0.04,0.07,0.12 (each within the parents' split)."),
           out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/neural/ungrok-<preset>-<task>)."),
           executor: str = EXECUTOR, slurm: Optional[List[str]] = SLURM, slurm_config: Optional[Path] = SLURM_CONFIG,
           no_wait: bool = NO_WAIT, device: str = DEVICE, allow_device_change: bool = ALLOW_DEVICE_CHANGE,
           as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """Ungrokking: train parents to generalisation, continue each on nested subsets D' for every weight decay
    until convergence; report test accuracy against D', D_crit per weight decay and the P3 spread; draw
    Figures 1a, 1b, 4 and 8 (Figure 9 for multitask) into the sweep directory."""
    import time

    from figures import style, ungrok as ungrok_fig
    from neural.experiments import ungrok as ungrok_mod

    pre = ungrok_mod.preset(preset, multitask=task == "multitask")
    changes = {}
    if wd is not None:
        changes["wds"] = _numbers("wd", wd)
    if seeds is not None:
        changes["seeds"] = _numbers("seeds", seeds, int)
    if d_prime is not None:
        fracs = _numbers("d_prime", d_prime)
        bad = [f for f in fracs if not 0 < f <= pre.base.frac]
        if bad:
            raise ValueError(f"d_prime={d_prime!r} is not allowed: fractions must lie in (0, {pre.base.frac}] "
                             f"(the parents' training split)")
        changes["d_prime"] = tuple(sorted(fracs))
    pre = dataclasses.replace(pre, **changes)
    names = list(ungrok_mod.MULTITASK) if task == "multitask" else [task]
    ungrok_mod.check(pre, names, executor)
    submission = _submission(executor, slurm, slurm_config, no_wait)
    place = _placement(device, allow_device_change, executor)
    out = out or Path("runs/neural") / f"ungrok-{preset}-{task}"
    t0 = time.perf_counter()
    try:
        summary = ungrok_mod.run(pre, names, out, progress=not as_json, **submission, **place)
    except cluster.Pending as pending:
        return _report_pending([(out, pending)], as_json)
    wall = time.perf_counter() - t0
    figures = ungrok_fig.render_all(ungrok_fig.load(out), wd=1.0 if 1.0 in pre.wds else pre.wds[0])
    paths = [str(style.save(fig, out / f"{name}.png")[0]) for name, fig in figures.items()]
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"sweep_dir": str(out), "wall_seconds": wall, "figures": paths,
                                                  **summary})))
        return
    typer.echo(f"sweep: {out}   ({wall:.0f} s)")
    for name, t in summary["tasks"].items():
        gen = "all generalised" if t["parents_generalised"] else "NOT all generalised"
        typer.echo(f"{name}: parents test acc {[round(p['test_acc'], 3) for p in t['parents']]} ({gen})")
        if t["stage2_skipped"]:
            typer.echo(f"  {t['stage2_skipped']}")
        for w, s in t["by_wd"].items():
            ci = s["d_crit_interval"]
            crit = "none in grid" if s["d_crit"] is None else f"{s['d_crit']:.0f}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")
            typer.echo(f"  wd {float(w):<4g} D_crit {crit:<22} min train acc {s['min_train_acc']:.3f}  "
                       f"unconverged {len(s['unconverged'])}")
            typer.echo("    D'        " + " ".join(f"{int(D):>6d}" for D in s["d_prime"]))
            typer.echo("    test acc  " + " ".join(f"{a:>6.3f}" for a in s["mean_test_acc"]))
            typer.echo("    no mirror " + " ".join(f"{a:>6.3f}" for a in s["mean_test_acc_no_mirror"]))
        if "wd_spread" in t:
            sp = t["wd_spread"]
            ratio = f"{sp['d_crit_ratio_max_min']:.2f}" if sp["d_crit_ratio_max_min"] else "n/a"
            typer.echo(f"  spread between weight decays: max gap {sp['max_acc_gap']:.3f}, mean gap "
                       f"{sp['mean_acc_gap']:.3f}, D_crit max/min {ratio}")
    typer.echo("figures: " + ", ".join(paths))


@app.command()
@friendly_errors
def efficiency(preset: str = typer.Option("cpu", help="demo, cpu or paper (see the README's efficiency section)."),
               task: str = typer.Option("add", help="add or sub (the trigonometric filter needs a Fourier task)."),
               out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/neural/efficiency-<preset>-<task>)."),
               executor: str = EXECUTOR, slurm: Optional[List[str]] = SLURM,
               slurm_config: Optional[Path] = SLURM_CONFIG, no_wait: bool = NO_WAIT,
               device: str = DEVICE, allow_device_change: bool = ALLOW_DEVICE_CHANGE,
               as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """P1, Figure 3 and kappa: memorisation-only (random labels) and generalisation-only networks at several D
    and weight decays, trained to convergence; fits the norm needed for a fixed logit against D per circuit and
    measures kappa (the logit's homogeneity degree under scaling all parameters)."""
    import time

    from figures import efficiency as eff_fig, style
    from neural.experiments import efficiency as eff_mod

    pre = eff_mod.preset(preset)
    eff_mod.check(pre, task)
    submission = _submission(executor, slurm, slurm_config, no_wait)
    place = _placement(device, allow_device_change, executor)
    out = out or Path("runs/neural") / f"efficiency-{preset}-{task}"
    t0 = time.perf_counter()
    try:
        summary = eff_mod.run(pre, out, task, progress=not as_json, **submission, **place)
    except cluster.Pending as pending:
        return _report_pending([(out, pending)], as_json)
    wall = time.perf_counter() - t0
    path = str(style.save(eff_fig.render_fig3(eff_fig.load(out)), out / "fig3.png")[0])
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"sweep_dir": str(out), "wall_seconds": wall, "figures": [path],
                                                  **summary})))
        return
    typer.echo(f"sweep: {out}   ({wall:.0f} s)")
    for kind, k in summary["kinds"].items():
        law, kap = k["law"], k["kappa"]
        drop = f", {k['dropped']} dropped ({k['dropped_reason']})" if k["dropped"] else ""
        typer.echo(f"{kind}: {k['kept']} of {k['members']} kept{drop}; {k['unconverged']} unconverged at the cap "
                   f"(left out of the fits); {k['fitted']} fitted")
        if law:
            lo, hi = law["beta_interval"]
            typer.echo(f"  norm at fixed logit ∝ D^{law['beta']:.3f} [95%: {lo:.3f}, {hi:.3f}]; logit slope gamma "
                       f"{law['gamma']:.3f} (n = {law['n']}, sizes {', '.join(str(D) for D in law['sizes'])})")
            betas = [e["law"]["beta"] for e in law["leave_one_out"] if e["law"]]
            if betas:
                typer.echo(f"  beta leaving one member out: {min(betas):.3f} to {max(betas):.3f} ({len(betas)} refits)"
                           + (f"; with the unconverged: {k['law_with_unconverged']['beta']:.3f}"
                              if k["law_with_unconverged"] else ""))
        else:
            typer.echo("  no law fitted (needs >= 4 members with positive logits at >= 2 sizes)")
        if kap["mean"] is not None:
            typer.echo(f"  kappa {kap['mean']:.3f} (sd {kap['sd'] or 0:.3f}, range {kap['min']:.3f}-{kap['max']:.3f}); "
                       f"Theorem D.4 case {kap['d4_case_q2']} at q = 2")
    typer.echo(f"figure: {path}")


@app.command()
@friendly_errors
def compare(preset: str = typer.Option("cpu", help="demo, cpu or paper: runs (or reuses) that preset's ungrokking and "
                                                   "efficiency sweeps, then compares."),
            task: str = typer.Option("add", help="add or sub."),
            out: Optional[Path] = typer.Option(None, help="Output directory (default runs/neural/compare-<preset>-<task>)."),
            executor: str = EXECUTOR, slurm: Optional[List[str]] = SLURM, slurm_config: Optional[Path] = SLURM_CONFIG,
            no_wait: bool = NO_WAIT, device: str = DEVICE, allow_device_change: bool = ALLOW_DEVICE_CHANGE,
            as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """Theory against measurement: D_crit and o_t/o_m predicted from the measured efficiencies and kappa
    (Theorem D.4, theory.efficiency) against the ungrokking sweep's D_crit per weight decay and o_t/o_m per
    member; Figure 12 and the toy's predicted transition."""
    import time

    from figures import efficiency as eff_fig, style
    from neural.experiments import compare as cmp_mod, efficiency as eff_mod, ungrok as ungrok_mod

    eff_pre, ungrok_pre = eff_mod.preset(preset), ungrok_mod.preset(preset)
    eff_mod.check(eff_pre, task)
    ungrok_mod.check(ungrok_pre, [task])
    submission = _submission(executor, slurm, slurm_config, no_wait)
    place = _placement(device, allow_device_change, executor)
    root = Path("runs/neural")
    eff_dir, ungrok_dir = root / f"efficiency-{preset}-{task}", root / f"ungrok-{preset}-{task}"
    out = out or root / f"compare-{preset}-{task}"
    t0 = time.perf_counter()
    pending = []  # with --no-wait both missing sweeps are submitted by one command
    sweeps = ((ungrok_dir, lambda: ungrok_mod.run(ungrok_pre, [task], ungrok_dir, progress=not as_json, **submission,
                                                  **place)),
              (eff_dir, lambda: eff_mod.run(eff_pre, eff_dir, task, progress=not as_json, **submission, **place)))
    for sweep_dir, start in sweeps:
        if not rundir.is_finished(sweep_dir):  # a finished sweep is read as it is (its summary keeps its own command)
            try:
                start()
            except cluster.Pending as p:
                pending.append((sweep_dir, p))
    if pending:
        return _report_pending(pending, as_json)
    summary = cmp_mod.run(eff_dir, ungrok_dir, out, task)
    wall = time.perf_counter() - t0
    path = str(style.save(eff_fig.render_fig12(eff_fig.load(out, "compare.csv")), out / "fig12.png")[0])
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"out": str(out), "wall_seconds": wall, "figures": [path], **summary})))
        return
    pred = summary["prediction"]
    typer.echo(f"compare: {out}   ({wall:.0f} s, reusing {ungrok_dir} and {eff_dir} where finished)")
    fmt = lambda v, ci: "n/a" if v is None else f"{v:.0f}" + (f" [{ci[0]:.0f}, {ci[1]:.0f}]" if ci else "")  # noqa: E731
    f3 = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    typer.echo(f"kappa {f3(pred['kappa'])} (mem {f3(pred['kappa_by_kind']['mem'])}, gen {f3(pred['kappa_by_kind']['gen'])})"
               f" -> Theorem D.4 case {pred['d4_case']} at q = 2; reference logit {pred['o_ref']:.3g}")
    if pred["law_M"]:
        typer.echo(f"P_M(D) = {pred['law_M']['a']:.4g} D^{pred['law_M']['beta']:.3f}; P_G = {pred['P_G']:.4g} "
                   f"(generalisation slope {pred['gen_slope']:.3f})")
    for r in summary["d_crit"]:
        ratio = f"{r['measured_over_predicted']:.2f}" if r["measured_over_predicted"] else "n/a"
        typer.echo(f"  wd {r['wd']:<4g} D_crit measured {fmt(r['measured'], r['measured_interval']):<18} predicted "
                   f"{fmt(r['predicted'], r['predicted_interval']):<18} measured/predicted {ratio}")
    if pred["d_crit_unavailable"]:
        typer.echo(f"  no predicted D_crit: {pred['d_crit_unavailable']}")
    else:
        extra, sens = pred["extrapolation"], pred["sensitivity"]
        rng = sens["d_crit_range"]
        typer.echo(f"  prediction: P_G's uncertainty included (P_M's alone: "
                   f"{fmt(pred['d_crit'], pred['d_crit_interval_mem_only'])}); memorisation sizes "
                   f"{extra['mem_D_range'][0]:.0f}-{extra['mem_D_range'][1]:.0f}, extrapolated {extra['factor']:.2f}x; "
                   f"leaving one member out {fmt(rng and rng[0], None)}-{fmt(rng and rng[1], None)}, with the "
                   f"unconverged {fmt(sens['d_crit_with_unconverged'], None)}")
    rc, base = summary["ratio_rank_correlation"], summary["ratio_baselines"]
    if rc:
        typer.echo(f"o_t/o_m: Spearman {rc['spearman']:.3f} (p = {rc['p_value']:.2g}, {rc['members']} members; "
                   f"{summary['members_without_ratio']} with o_m <= 0); naive predictors: D'-monotone "
                   f"{base['monotone_in_d_prime'] or float('nan'):.3f}, best grid step "
                   f"{base['best_grid_step'] or float('nan'):.3f}")
    if summary["dominant_circuit_agreement"] is not None:
        typer.echo(f"dominant circuit (o_t/o_m above or below 1) as predicted for "
                   f"{summary['dominant_circuit_agreement']:.0%} of members")
    for d in summary["disagreement_by_d_prime"][:3]:
        typer.echo(f"  D' = {d['d_prime']:g}: predicted o_t/o_m {d['predicted_ratio']:.3g}, measured median "
                   f"{d['median_measured_ratio']:.3g} (off by {d['factor']:.3g}x; dominant circuit agrees for "
                   f"{d['dominant_circuit_agreement']:.0%})")
    typer.echo(f"figure: {path}")


@app.command()
@friendly_errors
def semigrok(preset: str = typer.Option("cpu", help="demo, cpu or paper (see the README's semi-grokking section)."),
             steps: Optional[int] = typer.Option(None, help="Step cap; a larger one than a finished sweep's extends "
                                                            "every run (resume)."),
             out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/neural/semigrok-<preset>)."),
             ungrok: Optional[Path] = typer.Option(None, help="An ungrokking sweep to draw beside (default "
                                                              "runs/neural/ungrok-<preset>-add if it exists)."),
             executor: str = EXECUTOR, slurm: Optional[List[str]] = SLURM, slurm_config: Optional[Path] = SLURM_CONFIG,
             no_wait: bool = NO_WAIT, device: str = DEVICE, allow_device_change: bool = ALLOW_DEVICE_CHANGE,
             as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """P4: many seeds from random initialisation a little above D_crit, run long; every run classified
    (memorised, grokked, semi-grokked, transient, ungrokked, not fitted, unsettled); Figures 5, 1c, 6 and the
    two routes to middling accuracy."""
    import time

    from figures import semigrok as semi_fig, style
    from neural.experiments import semigrok as semi_mod

    pre = semi_mod.preset(preset)
    if steps is not None:
        pre = dataclasses.replace(pre, base=pre.base.with_(steps=steps))
    semi_mod.check(pre)
    submission = _submission(executor, slurm, slurm_config, no_wait)
    place = _placement(device, allow_device_change, executor)
    out = out or Path("runs/neural") / f"semigrok-{preset}"
    ungrok = ungrok or Path("runs/neural") / f"ungrok-{preset}-add"
    t0 = time.perf_counter()
    try:
        summary = semi_mod.run(pre, out, progress=not as_json, **submission, **place)
    except cluster.Pending as pending:
        return _report_pending([(out, pending)], as_json)
    wall = time.perf_counter() - t0
    ungrok_rows = rundir.read_rows(ungrok / "results.csv") if (ungrok / "results.csv").is_file() else None
    figs = semi_fig.render_all(semi_fig.load(out), ungrok_rows)
    paths = [str(style.save(fig, out / f"{name}.png")[0]) for name, fig in figs.items()]
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"sweep_dir": str(out), "wall_seconds": wall, "figures": paths,
                                                  **summary})))
        return
    typer.echo(f"sweep: {out}   ({wall:.0f} s this call, {summary['members']} runs)")
    classes = [c for c in summary["total"] if summary["total"][c]]
    typer.echo(f"{'D':>6} " + " ".join(f"{c:>14.14}" for c in classes))
    for D, counts in summary["by_size"].items():
        typer.echo(f"{D:>6} " + " ".join(f"{counts[c]:>14d}" for c in classes))
    clear = summary["clearest_semi_grokking"]
    typer.echo("clearest semi-grokking run: " + (f"D = {clear['D']}, seed {clear['seed']}, level "
                                                  f"{clear['final_level']:.2f}" if clear else "none found"))
    typer.echo("figures: " + ", ".join(paths))


def main() -> None:
    app()
