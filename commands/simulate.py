"""`grok-simulate`: the three-ingredient toy (Appendix B.5): presets, single runs, two-parameter sweeps."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from commands.common import choice, friendly_errors, new_app, plain

import rundir
from rundir.lazy import lazy
from simulate import presets
from simulate.config import ToyConfig

run_mod, sweep_mod = lazy("simulate.run"), lazy("simulate.sweep")

app = new_app("The illustrative three-ingredient simulation of grokking (paper Appendix B.5).")


@app.command("presets")
@friendly_errors
def presets_cmd(as_json: bool = typer.Option(False, "--json", help="Print one JSON object.")):
    """List the presets with their parameters."""
    if as_json:
        typer.echo(json.dumps({name: {"description": d, "config": c.to_dict()}
                               for name, (c, d) in presets.PRESETS.items()}))
        return
    for name, (c, desc) in presets.PRESETS.items():
        typer.echo(f"{name:<12} {desc}")
        typer.echo(f"{'':<12} P_G={c.P_G:g} P_M={c.memorisation_norm():.4g} kappa={c.kappa:g} alpha={c.alpha:g} "
                   f"w_G1(0)={c.wG1_0:g} w_G2(0)={c.wG2_0:g} w_M1(0)={c.wM1_0:g} w_M2(0)={c.wM2_0:g} "
                   f"n_classes={c.n_classes} lr={c.lr:g} steps={c.steps}"
                   + (f"  [D={c.D:g} D_crit={c.D_crit:g} beta={c.beta:g} init_D={c.init_D}]"
                      if c.D is not None else ""))


def _config(preset: Optional[str], overrides: dict) -> ToyConfig:
    base = presets.get(preset) if preset else ToyConfig()
    return base.with_(**{k: v for k, v in overrides.items() if v is not None}).validate()


@app.command()
@friendly_errors
def run(preset: Optional[choice("Preset", presets.PRESETS)] = typer.Option(None, help="Start from a preset (see "
                                                                                     "`presets`); default: Table 1 "
                                                                                     "(a)."),
        steps: Optional[int] = typer.Option(None, help="Gradient steps."),
        P_g: Optional[float] = typer.Option(None, "--P-g", help="Norm P_G of the generalising circuit (> 0)."),
        P_m: Optional[float] = typer.Option(None, "--P-m", help="Norm P_M of the memorising circuit (> 0)."),
        kappa: Optional[float] = typer.Option(None, help="kappa > 0: circuit norm is |w|^(1/kappa) P."),
        alpha: Optional[float] = typer.Option(None, help="Weight decay alpha >= 0."),
        lr: Optional[float] = typer.Option(None, help="Step size lambda > 0."),
        wG1_0: Optional[float] = typer.Option(None, "--wG1-0", help="Initial subweight w_G1(0)."),
        wG2_0: Optional[float] = typer.Option(None, "--wG2-0", help="Initial subweight w_G2(0)."),
        wM1_0: Optional[float] = typer.Option(None, "--wM1-0", help="Initial subweight w_M1(0)."),
        wM2_0: Optional[float] = typer.Option(None, "--wM2-0", help="Initial subweight w_M2(0)."),
        n_classes: Optional[int] = typer.Option(None, help="Number of classes (>= 3)."),
        D: Optional[float] = typer.Option(None, "--D", help="Dataset size: sets P_M = P_G (D/D_crit)^beta."),
        D_crit: Optional[float] = typer.Option(None, "--D-crit", help="Critical dataset size (> 0)."),
        beta: Optional[float] = typer.Option(None, help="Exponent of P_M(D) (>= 0)."),
        init_D: Optional[float] = typer.Option(None, "--init-D", help="Start from theory's optimum at this D."),
        out: Optional[Path] = typer.Option(None, help="Run directory (default runs/simulate/<preset or custom>)."),
        overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished run in --out."),
        plot: bool = typer.Option(False, "--plot", help="Also draw the run's figure (figure.png in the run "
                                                        "directory)."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as one JSON object.")):
    """Run one configuration; write config.json, metrics.csv, summary.json (and figure.png with --plot)."""
    preset = plain(preset)
    cfg = _config(preset, {"steps": steps, "P_G": P_g, "P_M": P_m, "kappa": kappa, "alpha": alpha, "lr": lr,
                           "wG1_0": wG1_0, "wG2_0": wG2_0, "wM1_0": wM1_0, "wM2_0": wM2_0, "n_classes": n_classes,
                           "D": D, "D_crit": D_crit, "beta": beta, "init_D": init_D})
    out = out or Path("runs/simulate") / (preset or "custom")
    summary = run_mod.run(cfg, out, overwrite=overwrite, progress=not as_json)
    if summary.pop("reused", False):
        typer.echo(f"{out} already holds this finished run (pass --overwrite to redo it); its summary:", err=True)
    if plot:
        from figures import style, toy

        style.save(toy.render(toy.load([out])), out / "figure.png")
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"run_dir": str(out), **summary})))
        return
    f, th = summary["final"], summary["theory"]
    typer.echo(f"run: {out}")
    typer.echo(f"train fit step: {summary['train_fit_step']}   grok step: {summary['grok_step']}   "
               f"delay: {summary['grokking_delay']}   ungrok step: {summary['ungrok_step']}")
    typer.echo(f"final   w_G = {f['w_G']:.5g}  w_M = {f['w_M']:.5g}  test perf = {f['test/perf']:.3f}  "
               f"loss = {f['loss/total']:.6g}")
    if th is None:
        typer.echo("theory  no optimum: without weight decay (alpha = 0) the loss has no minimiser")
    else:
        typer.echo(f"theory  w_G = {th['w_G']:.5g}  w_M = {th['w_M']:.5g}  test perf = {th['test_perf']:.3f}  "
                   f"loss = {th['loss']:.6g}  (case {th['case']})")
    if plot:
        typer.echo(f"figure: {out / 'figure.png'}")


@app.command()
@friendly_errors
def sweep(x: str = typer.Option(..., help="First parameter (a ToyConfig field, e.g. P_M)."),
          x_values: str = typer.Option(..., help="Grid: start:stop:num, start:stop:num:log, or v1,v2,..."),
          y: str = typer.Option(..., help="Second parameter (e.g. wG2_0)."),
          y_values: str = typer.Option(..., help="Grid for y, same syntax."),
          preset: Optional[choice("Preset", presets.PRESETS)] = typer.Option(
              None, help="Base configuration (default: Table 1 (a))."),
          steps: int = typer.Option(20_000, help="Gradient steps for every configuration (>= 1)."),
          out: Optional[Path] = typer.Option(None, help="Sweep directory (default runs/simulate/sweep/<x>-<y>)."),
          overwrite: bool = typer.Option(False, "--overwrite", help="Replace a finished sweep in --out."),
          no_plot: bool = typer.Option(False, "--no-plot", help="Skip the phase diagram (phase.png)."),
          as_json: bool = typer.Option(False, "--json", help="Print a JSON summary.")):
    """Grid over two parameters as one vectorised batch; writes sweep.csv and the phase diagram."""
    if steps < 1:
        raise ValueError(f"steps={steps} is not allowed: must be an integer >= 1")
    xs, ys = sweep_mod.parse_grid("x_values", x_values), sweep_mod.parse_grid("y_values", y_values)
    preset = plain(preset)
    base = presets.get(preset) if preset else ToyConfig()
    out = out or Path("runs/simulate/sweep") / f"{x}-{y}"
    sweep_mod.run_sweep(base, x, xs, y, ys, steps, out, overwrite=overwrite, progress=not as_json)
    if not no_plot:
        from figures import phase, style

        style.save(phase.render(phase.load(out)), out / "phase.png")
    summary = rundir.read_json(out / "summary.json")
    if as_json:
        typer.echo(json.dumps(rundir.to_jsonable({"sweep_dir": str(out), **summary})))
        return
    typer.echo(f"sweep: {out}  ({summary['configurations']} configurations x {steps} steps)")
    typer.echo(f"grokked: {summary['grokked']}   median delay: {summary['median_grokking_delay']}   "
               f"mean |test perf - theory|: {summary['mean_abs_test_perf_gap_to_theory']:.3g}")
    if not no_plot:
        typer.echo(f"phase diagram: {out / 'phase.png'}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
