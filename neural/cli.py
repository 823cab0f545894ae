"""`grok-neural`: train 1-layer transformers on modular arithmetic and measure their circuits."""
from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path
from typing import Optional

import torch
import typer

from rundir.cli import friendly_errors, new_app

import rundir
from neural import config as cfgmod
from neural import inspect_run, interop, train as train_mod

app = new_app("Transformers on modular arithmetic (paper Appendix B) and their progress measures.")


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
          seeds: str = typer.Option("0", help="Comma-separated seeds, e.g. 0,1,2."),
          wd: Optional[str] = typer.Option(None, help="Comma-separated weight decays (>= 0), e.g. 1.0,0.3."),
          lr: Optional[str] = typer.Option(None, help="Comma-separated learning rates (> 0)."),
          steps: Optional[int] = typer.Option(None, help="Full-batch training steps."),
          checkpoint_every: Optional[int] = typer.Option(None, help="Steps between checkpoints (default 1,000)."),
          precision: Optional[str] = typer.Option(None, help="float32 (default) or bf16 (autocast; faster, shifts dynamics)."),
          fmt: Optional[str] = typer.Option(None, help="paper: [x, op, y, =]; nanda: [x, y, =]."),
          random_labels: bool = typer.Option(False, help="Random labels: a memorisation-only run."),
          threads: Optional[int] = typer.Option(None, help="torch CPU threads (results depend on it; default: all "
                                                "cores, or what the run in --out recorded). Runs share cores: one "
                                                "that cannot get its threads' cores waits."),
          out: Optional[Path] = typer.Option(None, help="Run directory (default runs/neural/<preset>-<task>-p<p>)."),
          overwrite: bool = typer.Option(False, help="Replace a finished run (or restart an unfinished one)."),
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
    cfg = cfg.with_(seeds=_numbers("seeds", seeds, int), random_labels=random_labels or cfg.random_labels)
    if wd is not None:
        cfg = cfg.with_(wds=_numbers("wd", wd))
    if lr is not None:
        cfg = cfg.with_(lrs=_numbers("lr", lr))
    cfg.validate()
    out = out or Path("runs/neural") / f"{preset}-{cfg.task}-p{cfg.p}"
    result = train_mod.train(cfg, out, overwrite=overwrite, progress=True)
    summary = result["summary"]
    if result.get("reused"):
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
    typer.echo(f"{summary['ms_per_step_this_session']:.1f} ms/step on {train_mod.device()}")


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
           out: Path = typer.Option(..., help="The torch file to write (tensors and plain values only).")):
    """One member as a torch file for another tool: {"state_dict", "meta"} (+ "config": HookedTransformerConfig
    keyword arguments for transformer-lens; + "model" for progress-measures code)."""
    if to not in interop.LAYOUTS:
        raise ValueError(f"to={to!r} is unknown: choose from {', '.join(interop.LAYOUTS)}")
    content = inspect_run.export_run(run_dir, member, to)
    buf = io.BytesIO()
    torch.save(content, buf)
    rundir.atomic_write_bytes(out, buf.getvalue())
    meta = content["meta"]
    typer.echo(f"{out}: member {member} of {run_dir} (step {meta['step']}) in the {to} layout; task {meta['task']}, "
               f"p = {meta['p']}, format {meta['format']}, {len(meta['train_pairs'])} training pairs")


@app.command()
@friendly_errors
def ungrok(preset: str = typer.Option("cpu", help="cpu or paper (see the README's ungrokking section)."),
           task: str = typer.Option("add", help="A task (add, sub, mul, div, x2y2, x2xyy2, x3xy, s5) or multitask "
                                                "(add, sub, mul, x2y2, x2xyy2, x3xy, s5: Figure 9)."),
           wd: Optional[str] = typer.Option(None, help="Stage-2 weight decays, e.g. 0.3,1,3."),
           seeds: Optional[str] = typer.Option(None, help="Parent seeds, e.g. 0,1,2."),
           d_prime: Optional[str] = typer.Option(None, help="Stage-2 sizes D' as fractions of all pairs, e.g. "
                                                            "0.04,0.07,0.12 (each within the parents' split)."),
           out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/neural/ungrok-<preset>-<task>)."),
           executor: str = typer.Option("local", help="local, submitit-local or slurm (needs '.[cluster]')."),
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
    out = out or Path("runs/neural") / f"ungrok-{preset}-{task}"
    t0 = time.perf_counter()
    summary = ungrok_mod.run(pre, names, out, executor=executor, progress=not as_json)
    wall = time.perf_counter() - t0
    data = ungrok_fig.load(out)
    figures = {"fig4" if len(names) == 1 else "fig9": ungrok_fig.render_fig4(data)}
    if len(names) == 1:
        wd_mid = 1.0 if 1.0 in pre.wds else pre.wds[0]
        figures["fig8"] = ungrok_fig.render_fig8(data, wd=wd_mid)
        figures["fig1ab"] = ungrok_fig.render_fig1(data, wd=wd_mid)
    paths = [str(style.save(fig, out / f"{name}.png")[0]) for name, fig in figures.items()]
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"sweep_dir": str(out), "wall_seconds": wall, "figures": paths,
                                                  **summary})))
        return
    typer.echo(f"sweep: {out}   ({wall:.0f} s)")
    for name, t in summary["tasks"].items():
        gen = "all generalised" if t["parents_generalised"] else "NOT all generalised"
        typer.echo(f"{name}: parents test acc {[round(p['test_acc'], 3) for p in t['parents']]} ({gen})")
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


def main() -> None:
    app()
