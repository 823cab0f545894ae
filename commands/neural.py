"""`grok-neural`: train 1-layer transformers on modular arithmetic and measure their circuits.

Every experiment's command is generated from the registry (neural.protocol): its options, the shared
ones (preset, out, overwrite, executor, device, json), the driver `protocol.execute`, its figures (the module of
`figures` that names it, figures.drawers) and its terminal lines. Adding an experiment adds its command here with
no change to this file.
"""
from __future__ import annotations

import inspect
import io
import json
from pathlib import Path
from typing import List, Optional

import typer

import rundir
from commands.common import choice, friendly_errors, new_app, plain
from neural import cluster, device as devices, interop, protocol, tasks
from neural.experiments import paper, surface_plan
from rundir.lazy import lazy

torch, inspect_run = lazy("torch"), lazy("neural.inspect_run")

HELP = "Transformers on modular arithmetic (paper Appendix B) and their progress measures."


def _report_pending(pending: list[tuple[Path, "cluster.Pending"]], as_json: bool) -> None:
    """What sweeps submitted without waiting have running, and what to do next (exit 0)."""
    if as_json:
        sweeps = {str(out): p.status for out, p in pending}
        one = len(sweeps) == 1
        body = {"sweep_dir": next(iter(sweeps)), **next(iter(sweeps.values()))} if one else {"sweeps": sweeps}
        typer.echo(json.dumps(rundir.to_jsonable({"status": "pending", **body})))
        return
    for out, p in pending:
        st = p.status
        typer.echo(f"sweep: {out}: {st['finished']} ensemble(s) finished, {len(st['running'])} still running or "
                   f"queued, {len(st['submitted'])} submitted now ({len(st['resubmitted'])} of them resubmitted "
                   "after failing)")
        for r in st["running"] + st["submitted"]:
            why = f"; the previous one ended: {r['previous_failure']}" if r.get("previous_failure") else ""
            typer.echo(f"  ensemble {r['ensemble']}: job {r['job_id']} (attempt {r['attempts']}{why})")
        typer.echo(f"jobs: {st['jobs_file']}")
    typer.echo("Run the same command again to check, resubmit failed jobs and collect.")


def _shared_options(exp: protocol.Experiment) -> list[inspect.Parameter]:
    """The options every experiment's command has (a sweep also its executor's)."""
    opt = lambda name, default, kind, *decls, **kw: inspect.Parameter(  # noqa: E731
        name, inspect.Parameter.KEYWORD_ONLY, default=typer.Option(default, *decls, **kw), annotation=kind)
    params = [
        opt("preset", exp.default_preset, choice("Preset", exp.presets),
            help="The preset (see `grok-neural presets`)."),
        opt("out", None, Optional[Path], help="Output directory (default: under runs/neural/, named by the "
                                              "experiment, preset and task)."),
        opt("overwrite", False, bool, "--overwrite",
            help="Replace what --out holds (results of another command or settings)."),
        opt("device", "auto", str, help=f"{devices.CHOICES}; recorded in each run's config.json."),
        opt("allow_device_change", False, bool, "--allow-device-change",
            help="Resume runs started on another device here (their numbers then differ from an uninterrupted "
                 "run's; recorded in config.json)."),
        opt("as_json", False, bool, "--json", help="Print the summary as one JSON object."),
    ]
    if exp.sweep:
        params += [
            opt("executor", "local", choice("Executor", cluster.EXECUTORS),
                help="Where ensembles train (submitit-local and slurm need '.[cluster]')."),
            opt("slurm", None, Optional[List[str]], "--slurm",
                help="KEY=VALUE, repeatable: partition, time (minutes), gpus_per_node, cpus_per_task, mem_gb, "
                     "account, qos, array_parallelism, constraint."),
            opt("slurm_config", None, Optional[Path], "--slurm-config",
                help="A TOML file of the same keys (top level or [slurm]); --slurm items win."),
            opt("no_wait", False, bool, "--no-wait",
                help="Submit and return (jobs recorded in the sweep's jobs.json); the same command later reports, "
                     "resubmits failed jobs and collects."),
        ]
    return params


def _own_options(exp: protocol.Experiment) -> list[inspect.Parameter]:
    """The experiment's own options: allowed values as choices, and each preset's value in the help of an option
    whose default is the preset's."""
    out = []
    for o in exp.options:
        decls = (f"--{o.name.replace('_', '-')}/--no-{o.name.replace('_', '-')}",) if o.kind is bool else ()
        defaults = protocol.preset_defaults(exp, o)
        text = o.help + (f" [default: the preset's: {defaults}]" if defaults else "")
        kind = choice(o.name.title(), o.choices) if o.choices else o.kind
        out.append(inspect.Parameter(o.name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[kind],
                                     default=typer.Option(o.default, *decls, help=text,
                                                          show_default=o.default is not None)))
    return out


def _save_figures(exp: protocol.Experiment, out: Path) -> list[str]:
    """The experiment's figures (its figures module's draw, from its validated results), saved into its
    directory."""
    from figures import style
    from figures.drawers import drawers

    module = drawers().get(exp.name)
    if module is None or not callable(getattr(module, "draw", None)):
        return []
    figs = module.draw(protocol.read_results(out, exp.name))
    return [str(style.save(fig, out / f"{name}.png")[0]) for name, fig in figs.items()]


def _echo_result(exp: protocol.Experiment, out: Path, summary: dict, wall: float, paths: list[str]) -> None:
    waited = summary.get("core_wait_seconds_this_session", summary.get("core_wait_seconds")) or 0.0
    typer.echo(f"{exp.name}: {out}   ({wall:.0f} s" + (f", of which {waited:.0f} s waiting for CPU cores held by other "
                                                      f"runs)" if 0.5 <= waited <= wall else ")"))
    for line in exp.lines(summary):
        typer.echo(line)
    if paths:
        typer.echo("figures: " + ", ".join(paths))


def command_for(exp: protocol.Experiment):
    """The Typer command of one registered experiment."""
    own = [o.name for o in exp.options]

    def command(**kw):
        kw = {k: plain(v) for k, v in kw.items()}
        devices.check_spec(kw["device"])
        cluster_kw = {"executor": kw["executor"], "slurm": cluster.parse_options(kw["slurm"], kw["slurm_config"]),
                      "wait": not kw["no_wait"]} if exp.sweep else {}
        ctx = protocol.Context(device=kw["device"], allow_device_change=kw["allow_device_change"],
                               progress=not kw["as_json"], **cluster_kw)
        if ctx.executor == "local":
            devices.resolve(kw["device"])  # trains here: the device must exist here (a SLURM job resolves its own)
        try:
            out, summary, wall = protocol.execute(exp, kw["preset"], {k: kw[k] for k in own}, out=kw["out"],
                                                  overwrite=kw["overwrite"], ctx=ctx)
        except cluster.Pending as p:
            out = kw["out"] or exp.default_out(kw["preset"], exp.settings(kw["preset"], {k: kw[k] for k in own}))
            return _report_pending(p.sweeps or [(out, p)], kw["as_json"])
        paths = _save_figures(exp, out)
        if kw["as_json"]:
            body = {k: v for k, v in summary.items() if k != "reused"}
            typer.echo(json.dumps(rundir.to_jsonable({"out": str(out), "wall_seconds": wall, "figures": paths,
                                                      **body})))
            return
        _echo_result(exp, out, summary, wall, paths)

    params = _own_options(exp) + _shared_options(exp)
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__name__ = exp.name.replace("-", "_")
    command.__doc__ = exp.help
    return friendly_errors(command)


def build_app() -> typer.Typer:
    """grok-neural: presets, analyze, export and one command per registered experiment."""
    app = new_app(HELP)
    app.command("presets")(friendly_errors(presets))
    app.command("demo")(friendly_errors(demo))
    app.command("paper")(friendly_errors(paper_cmd))
    app.command("analyze")(friendly_errors(analyze))
    app.command("export")(friendly_errors(export))
    for name, exp in protocol.registry().items():
        app.command(name, help=exp.help)(command_for(exp))
    return app


def _demo_presets() -> list[str]:
    """Every preset some experiment of the demo has (demo first)."""
    names = [p for exp in protocol.registry().values() if exp.in_demo for p in exp.presets]
    return sorted(set(names), key=lambda p: (p != "demo", names.index(p)))


def demo(preset: choice("DemoPreset", _demo_presets()) = typer.Option("demo", help="demo (about 8 minutes on 2 "
                                                                                   "cores), cpu (about 13) or paper "
                                                                                   "(a cluster's work)."),
         record: Path = typer.Option(None, help="Where to write what ran (default runs/neural/demo-<preset>.json).")):
    """Every experiment the demo runs (`in_demo` in the registry), in registration order, each at this preset
    where it has one (else its default) into its default directory; finished results are reused. Ends by writing
    `record` (what ran, where, and the identities), the file `make demo` waits for."""
    preset = plain(preset)
    record = rundir.check_file_target(record or Path("runs/neural") / f"demo-{preset}.json", "record")
    ran = []
    for exp in protocol.registry().values():
        if not exp.in_demo:
            continue
        name = preset if preset in exp.presets else exp.default_preset
        out, summary, wall = protocol.execute(exp, name, {}, ctx=protocol.Context())
        _echo_result(exp, out, summary, wall, _save_figures(exp, out))
        ran.append({"experiment": exp.name, "preset": name, "out": str(out)})
    rundir.write_json(record, {"preset": preset, "ran": ran, "provenance": rundir.provenance()})


def paper_cmd(scale: choice("Scale", paper.SCALES) = typer.Option("paper", help="The paper's size (Appendix B; a GPU) "
                                                                                "or a tiny model that runs the same "
                                                                                "path in seconds."),
              budget_minutes: float = typer.Option(paper.BUDGET_MINUTES, help="Device minutes the training may take "
                                                   "(estimated from a step-time law measured here first)."),
              out: Optional[Path] = typer.Option(None, help="Output directory (default runs/paper-<scale>)."),
              rung: Optional[int] = typer.Option(None, help="Run this rung of the cut ladder whatever the estimate "
                                                            "(default: the first that fits the budget)."),
              plan_only: bool = typer.Option(False, "--plan-only", help="Print the plan and stop."),
              surface: bool = typer.Option(False, "--surface", help="Plan and run the D_crit surface over modulus "
                                           "and width at this scale instead (each cell's step time measured "
                                           "first; days of one GPU at the paper scale, unless cut)."),
              device: str = typer.Option("auto", help=f"{devices.CHOICES}."),
              overwrite: bool = typer.Option(False, "--overwrite", help="Plan again and replace what --out holds.")):
    """The paper's scale within a device budget: a grokking run with progress measures, the efficiency (P1) and
    ungrokking (P2, P3) sweeps and theory against measurement, cut by a fixed rule (neural.experiments.paper's
    LADDER) to fit --budget-minutes; with --surface, the D_crit surface (neural.experiments.surface_plan's LADDER).
    Prints the plan first, ends with the report and verdicts.json. A second call resumes the plan recorded in
    --out."""
    scale = plain(scale)
    dev = devices.resolve(device)
    planner = surface_plan if surface else paper
    root = out or Path("runs") / (f"paper-{scale}" + ("-surface" if surface else ""))
    plan = None if overwrite else planner.recorded(root)
    if plan is not None:
        if plan.scale != scale:
            raise ValueError(f"out={str(root)!r} holds a plan of the {plan.scale} scale: choose another --out, "
                             f"--scale {plan.scale}, or pass --overwrite")
        typer.echo(f"resuming the plan recorded in {root / 'plan.json'} (pass --overwrite to plan again)")
    elif surface:
        paper.check_options(scale, budget_minutes * 60, rung, surface_plan.SCALES, len(surface_plan.LADDER))
        costs = surface_plan.measure(scale, dev, on_cell=lambda key: typer.echo(
            f"measuring the step time of cell {key} ({scale} scale) on {devices.describe(dev)} ..."))
        plan = surface_plan.make(scale, budget_minutes * 60, costs, rung)
    else:
        paper.check_options(scale, budget_minutes * 60, rung)
        typer.echo(f"measuring the step time of the {scale}-size model on {devices.describe(dev)} ...")
        plan = paper.make(scale, budget_minutes * 60, paper.measure(scale, dev), rung)
    for line in plan.lines():
        typer.echo(line)
    if plan_only:
        return
    ctx = protocol.Context(device=device, overwrite=overwrite)
    echo = lambda name, o, summary, wall: _echo_result(  # noqa: E731
        protocol.REGISTRY[name], o, summary, wall, _save_figures(protocol.REGISTRY[name], o))
    if surface:
        echo("surface", *surface_plan.execute(plan, root, ctx))
    else:
        paper.execute(plan, root, ctx, on_result=echo)
    from commands.figures import write_report

    write_report(root, root / "report" / "index.html")


def presets(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Every experiment's presets, described from their fields."""
    table = {name: {p: exp.describe(exp.settings(p, {})) for p in exp.presets}
             for name, exp in protocol.registry().items()}
    if as_json:
        typer.echo(json.dumps(table))
        return
    for name, rows in table.items():
        typer.echo(f"{name}:")
        for p, desc in rows.items():
            typer.echo(f"  {p:<6} {desc}")


def analyze(source: Path = typer.Argument(..., help="A grok-neural run directory (or its checkpoint.pt), or a torch "
                                                    "file in TransformerLens 3.x (HookedTransformer state_dict), 4.x "
                                                    "(TransformerBridge bridge_state_dict) or progress-measures layout "
                                                    "(.pth), as grok-neural export writes them or the tools save them"),
            task: Optional[choice("Task", tasks.TASKS)] = typer.Option(
                None, help="Task of an imported checkpoint (default: the one its meta records, else add)."),
            as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """Progress measures, key frequencies and the o_t/o_m split of a saved run or an imported checkpoint
    (TransformerLens or progress-measures layout, either sequence format; train/test measures where the file
    records its split)."""
    task = plain(task)
    if not source.exists():
        raise ValueError(f"source={str(source)!r} does not exist")
    if source.is_file() and source.name in rundir.owned_files(source.parent):  # RUN/checkpoint.pt: the run itself
        source = source.parent
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


def export(run_dir: Path = typer.Argument(..., help="A grok-neural run directory."),
           member: int = typer.Option(0, help="Which ensemble member (0-based)."),
           to: choice("Layout", interop.LAYOUTS) = typer.Option(..., help="The tool whose layout the file takes."),
           out: Path = typer.Option(..., help="The torch file to write (tensors and plain values only)."),
           overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing file at --out (never a run's "
                                                                     "own files).")):
    """One member as a torch file for another tool. transformer-lens: {"state_dict", "config"} for 3.x's
    HookedTransformer and {"bridge_state_dict", "bridge_config"} for 4.x's TransformerBridge.boot_native;
    progress-measures: {"state_dict", "model"}; every file: "meta" (task, p, format, the sequence and its token
    ids, the member's training pairs and split, seed/wd/lr, step)."""
    to = plain(to)
    if out.name in rundir.owned_files(out.parent):
        raise ValueError(f"out={str(out)!r} is a run directory's own {out.name}: export elsewhere")
    if out.exists() and not overwrite:
        raise ValueError(f"out={str(out)!r} already exists: pass --overwrite to replace it")
    rundir.check_file_target(out)
    content = inspect_run.export_run(run_dir, member, to)
    buf = io.BytesIO()
    torch.save(content, buf)
    rundir.atomic_write_bytes(out, buf.getvalue())
    meta = content["meta"]
    typer.echo(f"{out}: member {member} of {run_dir} (step {meta['step']}) in the {to} layout; task {meta['task']}, "
               f"p = {meta['p']}, format {meta['format']}, {len(meta['train_pairs'])} training pairs")


def main() -> None:
    app()


app = build_app()

if __name__ == "__main__":
    main()
