"""`grok-neural`: train 1-layer transformers on modular arithmetic and measure their circuits."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from rundir.cli import friendly_errors, new_app

import rundir
from neural import config as cfgmod
from neural import inspect_run, train as train_mod

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
            task: str = typer.Option("add", help="Task of an imported checkpoint."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Progress measures, key frequencies and the o_t/o_m split of a saved run or imported checkpoint."""
    if not source.exists():
        raise ValueError(f"source={str(source)!r} does not exist")
    result = inspect_run.analyze_run(source) if source.is_dir() else inspect_run.analyze_checkpoint(source, task)
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable(result)))
        return
    typer.echo(f"{result['source']}: task {result['task']}, p = {result['p']}")
    for m in result["members"]:
        typer.echo(f"member {m['member']}: key frequencies {m['key_frequencies']}")
        for k, v in m.items():
            if k not in ("member", "key_frequencies") and v is not None:
                typer.echo(f"  {k:<26} {v:.6g}" if isinstance(v, float) else f"  {k:<26} {v}")


def main() -> None:
    app()
