"""`grok-figures`: draw the paper's figures from saved run directories (never recomputes a run)."""
from __future__ import annotations

from pathlib import Path
from typing import List

import typer

from commands.common import friendly_errors, new_app

from figures import compare, efficiency, phase, progress, report, semigrok, style, toy, ungrok

app = new_app("Render figures from run directories.")


@app.command()
@friendly_errors
def fig2(run_dirs: List[Path] = typer.Argument(..., help="Run directories of grok-simulate run (e.g. the fig2a, fig2b, "
                                                         "fig2c presets)."),
         out: Path = typer.Option(Path("runs/figures/fig2.png"), help="Output PNG path."),
         pdf: bool = typer.Option(False, help="Also write a PDF.")):
    """Figure 2: losses, circuit weights and parameter norms of toy runs, one column each."""
    paper_panels = [p.name for p in run_dirs] == ["fig2a", "fig2b", "fig2c"]
    titles = toy.PAPER_TITLES if paper_panels else None
    for path in style.save(toy.render(toy.load(run_dirs), titles), out, pdf):
        typer.echo(str(path))


@app.command("phase")
@friendly_errors
def phase_cmd(sweep_dir: Path = typer.Argument(..., help="Directory written by grok-simulate sweep."),
              out: Path = typer.Option(None, help="Output PNG path (default: SWEEP_DIR/phase.png)."),
              pdf: bool = typer.Option(False, help="Also write a PDF.")):
    """Phase diagram of a toy sweep: grokking delay and final test performance."""
    for path in style.save(phase.render(phase.load(sweep_dir)), out or Path(sweep_dir) / "phase.png", pdf):
        typer.echo(str(path))


@app.command("progress")
@friendly_errors
def progress_cmd(run_dir: Path = typer.Argument(..., help="Directory written by grok-neural train."),
                 member: int = typer.Option(0, help="Ensemble member to draw."),
                 out: Path = typer.Option(None, help="Output PNG path (default: RUN_DIR/progress-<member>.png)."),
                 pdf: bool = typer.Option(False, help="Also write a PDF.")):
    """Progress measures of a neural run (Nanda's Figure 7) and the o_t/o_m logits (paper Figure 11)."""
    target = out or Path(run_dir) / f"progress-{member}.png"
    for path in style.save(progress.render(progress.load(run_dir, member)), target, pdf):
        typer.echo(str(path))


@app.command("ungrok")
@friendly_errors
def ungrok_cmd(sweep_dir: Path = typer.Argument(..., help="Directory written by grok-neural ungrok."),
               wd: float = typer.Option(1.0, help="Weight decay of Figures 1b and 8."),
               out_dir: Path = typer.Option(None, help="Where to write the PNGs (default: SWEEP_DIR)."),
               pdf: bool = typer.Option(False, help="Also write PDFs.")):
    """Figures 1a/1b (grokking, then ungrokking), 4 (test accuracy vs D' per weight decay), 8 (many ungrokking
    runs over time), or 9 (one panel per task) for a multitask sweep."""
    data = ungrok.load(sweep_dir)
    target = Path(out_dir or sweep_dir)
    for name, fig in ungrok.render_all(data, wd).items():
        for path in style.save(fig, target / f"{name}.png", pdf):
            typer.echo(str(path))


@app.command("efficiency")
@friendly_errors
def efficiency_cmd(sweep_dir: Path = typer.Argument(..., help="Directory written by grok-neural efficiency."),
                   out_dir: Path = typer.Option(None, help="Where to write the PNG (default: SWEEP_DIR)."),
                   pdf: bool = typer.Option(False, help="Also write a PDF.")):
    """Figure 3: parameter norm against D coloured by logit, and isologit curves, per circuit."""
    fig = efficiency.render_fig3(efficiency.load(sweep_dir))
    for path in style.save(fig, Path(out_dir or sweep_dir) / "fig3.png", pdf):
        typer.echo(str(path))


@app.command("compare")
@friendly_errors
def compare_cmd(compare_dir: Path = typer.Argument(..., help="Directory written by grok-neural compare."),
                out_dir: Path = typer.Option(None, help="Where to write the PNG (default: COMPARE_DIR)."),
                pdf: bool = typer.Option(False, help="Also write a PDF.")):
    """Figure 12: o_t/o_m and test accuracy against D' at convergence, with the theory's predictions."""
    fig = compare.render_fig12(compare.load(compare_dir))
    for path in style.save(fig, Path(out_dir or compare_dir) / "fig12.png", pdf):
        typer.echo(str(path))


@app.command("semigrok")
@friendly_errors
def semigrok_cmd(sweep_dir: Path = typer.Argument(..., help="Directory written by grok-neural semigrok."),
                 ungrok_dir: Path = typer.Option(None, "--ungrok", help="An ungrokking sweep to draw beside "
                                                                        "(routes figure)."),
                 out_dir: Path = typer.Option(None, help="Where to write the PNGs (default: SWEEP_DIR)."),
                 pdf: bool = typer.Option(False, help="Also write PDFs.")):
    """Figures 5, 1c, 6 and the two routes to middling accuracy."""
    rows = ungrok.load(ungrok_dir)["rows"] if ungrok_dir else None  # validated: one line naming what is wrong
    for name, fig in semigrok.render_all(semigrok.load(sweep_dir), rows).items():
        for path in style.save(fig, Path(out_dir or sweep_dir) / f"{name}.png", pdf):
            typer.echo(str(path))


@app.command("report")
@friendly_errors
def report_cmd(root: Path = typer.Argument(Path("runs"), help="Directory holding the runs (searched two levels deep)."),
               out: Path = typer.Option(Path("runs/report/index.html"), help="Output: .html (one self-contained "
                                                                             "page) or .md (Markdown beside PNGs).")):
    """The report: one section per toolkit part and per prediction (P1-P4) with its verdict, key numbers,
    figures, command, configuration, training time and package versions; missing runs are named with the
    command that makes them."""
    report.check_out(out)
    sections = report.collect(root)
    paths = report.write(sections, root, out)
    for s in sections:
        typer.echo(f"{s.verdict:<26} {s.title}")
    for bad in report.find_runs(root).get("unreadable", []):
        typer.echo(f"skipped (unreadable): {bad['dir']}: {bad['error']}", err=True)
    typer.echo(f"report: {paths[0].resolve()}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
