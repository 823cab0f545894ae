"""`grok-figures`: draw the paper's figures from saved run directories (never recomputes a run)."""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import List, Optional

import typer

from commands.common import friendly_errors, new_app

from neural import protocol
from rundir.lazy import lazy

phase, progress, report, style, toy = (lazy(f"figures.{m}") for m in ("phase", "progress", "report", "style", "toy"))

app = new_app("Render figures from run directories.")


@app.command()
@friendly_errors
def fig2(run_dirs: List[Path] = typer.Argument(..., help="Run directories of grok-simulate run (e.g. the fig2a, fig2b, "
                                                         "fig2c presets)."),
         out: Path = typer.Option(Path("runs/figures/fig2.png"), help="Output PNG path."),
         pdf: bool = typer.Option(False, "--pdf", help="Also write a PDF.")):
    """Figure 2: losses, circuit weights and parameter norms of toy runs, one column each."""
    paper_panels = [p.name for p in run_dirs] == ["fig2a", "fig2b", "fig2c"]
    titles = toy.PAPER_TITLES if paper_panels else None
    for path in style.save(toy.render(toy.load(run_dirs), titles), out, pdf):
        typer.echo(str(path))


@app.command("phase")
@friendly_errors
def phase_cmd(sweep_dir: Path = typer.Argument(..., help="Directory written by grok-simulate sweep."),
              out: Path = typer.Option(None, help="Output PNG path (default: SWEEP_DIR/phase.png)."),
              pdf: bool = typer.Option(False, "--pdf", help="Also write a PDF.")):
    """Phase diagram of a toy sweep: grokking delay and final test performance."""
    for path in style.save(phase.render(phase.load(sweep_dir)), out or Path(sweep_dir) / "phase.png", pdf):
        typer.echo(str(path))


@app.command("progress")
@friendly_errors
def progress_cmd(run_dir: Path = typer.Argument(..., help="Directory written by grok-neural train."),
                 member: int = typer.Option(0, help="Ensemble member to draw."),
                 out: Path = typer.Option(None, help="Output PNG path (default: RUN_DIR/progress-<member>.png)."),
                 pdf: bool = typer.Option(False, "--pdf", help="Also write a PDF.")):
    """Progress measures of a neural run (Nanda's Figure 7) and the o_t/o_m logits (paper Figure 11)."""
    target = out or Path(run_dir) / f"progress-{member}.png"
    for path in style.save(progress.render(progress.load(run_dir, member)), target, pdf):
        typer.echo(str(path))


@app.command("report")
@friendly_errors
def report_cmd(root: Path = typer.Argument(Path("runs"), help="Directory holding the runs (searched two levels deep)."),
               out: Path = typer.Option(Path("runs/report/index.html"), help="Output: .html (one self-contained "
                                                                             "page) or .md (Markdown beside PNGs).")):
    """The report: one section per toolkit part and per prediction (P1-P4) with its verdict, key numbers,
    figures, command, configuration, training time and package versions; missing runs are named with the
    command that makes them."""
    write_report(root, out)


def write_report(root: Path, out: Path) -> None:
    """The report of the runs under `root` written to `out` (and verdicts.json beside it), each section's verdict
    and what could not be read printed (`grok-figures report`, and the end of `grok-neural paper`)."""
    report.check_out(out)
    sections = report.collect(root)
    paths = report.write(sections, root, out)
    for s in sections:
        typer.echo(f"{s.verdict:<26} {s.title}")
    for bad in report.find_runs(root).get("unreadable", []):
        typer.echo(f"skipped (unreadable): {bad['dir']}: {bad['error']}", err=True)
    typer.echo(f"report: {paths[0].resolve()}")


def _figure_command(exp, module):
    """`grok-figures <experiment> DIR`: the figures the experiment's own command draws, from its saved results
    (its figures module's draw, with that module's DRAW_OPTIONS)."""
    extra = getattr(module, "DRAW_OPTIONS", ())

    def command(**kw):
        data = protocol.read_results(kw["sweep_dir"], exp.name)
        target = Path(kw["out_dir"] or kw["sweep_dir"])
        for name, fig in module.draw(data, **{o.name: kw[o.name] for o in extra}).items():
            for path in style.save(fig, target / f"{name}.png", kw["pdf"]):
                typer.echo(str(path))

    P = inspect.Parameter
    params = [P("sweep_dir", P.POSITIONAL_OR_KEYWORD, annotation=Path,
                default=typer.Argument(..., help=f"Directory written by grok-neural {exp.name}."))]
    params += [P(o.name, P.KEYWORD_ONLY, annotation=Optional[o.kind], default=typer.Option(o.default, help=o.help))
               for o in extra]
    params += [P("out_dir", P.KEYWORD_ONLY, annotation=Optional[Path],
                 default=typer.Option(None, help="Where to write the PNGs (default: SWEEP_DIR).")),
               P("pdf", P.KEYWORD_ONLY, annotation=bool, default=typer.Option(False, "--pdf", help="Also write PDFs."))]
    command.__signature__ = inspect.Signature(params)
    command.__annotations__ = {p.name: p.annotation for p in params}
    command.__doc__ = module.draw.__doc__
    return friendly_errors(command)


def add_figure_commands(app: typer.Typer) -> None:
    """One command per experiment whose figures module draws (figures.drawers)."""
    from figures.drawers import drawers

    experiments = protocol.registry()
    for name, module in drawers().items():
        if callable(getattr(module, "draw", None)):
            app.command(name)(_figure_command(experiments[name], module))


add_figure_commands(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
