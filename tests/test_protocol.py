"""The experiment protocol: an eighth experiment added as one new module of neural.experiments and one of
figures (written to disk here, found where the toolkit's own are found) gets its command, its presets, its figures,
its directory identity and its report section, with no other file touched."""
import enum
import json
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from figures import report, verdicts
from neural import protocol

runner = CliRunner()

EXPERIMENT_MODULE = '''
"""Counts to n: its result (the sum 0 + 1 + ... + n-1) is known in closed form."""
import rundir
from neural import protocol


class Count(protocol.Experiment):
    name = "count"
    help = "A toy experiment: sums 0..n-1 and writes one row per term."
    presets = {"small": 3, "big": 6}
    default_preset = "small"
    sweep = False
    order = 80
    tables = ("terms.csv",)
    summary_keys = {"total": int}
    columns = ("k",)
    options = (protocol.Option("n", int, "Sum up to this (exclusive), >= 1."),)

    def settings(self, name, opts):
        n = opts["n"] if opts.get("n") is not None else self.preset(name)
        if n < 1:
            raise ValueError(f"n={n} is not allowed: must be >= 1")
        return n

    def identity(self, n):
        return {"n": n}

    def describe(self, n):
        return f"sums 0..{n - 1}"

    def run(self, n, out, ctx):
        rundir.write_csv(out / "terms.csv", ["k"], [[k] for k in range(n)])
        return {"total": sum(range(n))}

    def lines(self, summary):
        return [f"total {summary['total']}"]


EXPERIMENT = protocol.register(Count())
'''

FIGURES_MODULE = '''
"""The count experiment's figure and report section."""
import matplotlib.pyplot as plt

from figures import verdicts
from figures.sections import figure_of, section_for
from neural import protocol
from neural.experiments import count


def draw(data):
    fig, ax = plt.subplots()
    ax.plot([r["k"] for r in data["rows"]])
    return {"terms": fig}


def count_section(found):
    s, run = section_for("count", "Counting", "0 + 1 + ... + (n-1) = n(n-1)/2.", protocol.command_line("count"),
                         found.get(EXPERIMENT.name, []))
    if run is None:
        return s
    total, n = run["summary"]["total"], run["summary"]["identity"]["n"]
    s.rows.append(("total", str(total)))
    s.judge(verdicts.Verdict(verdicts.CONFIRMED if total == n * (n - 1) // 2 else verdicts.NOT_CONFIRMED,
                             "the closed form", f"total {total} for n = {n}", {"total": total}))
    s.figures.append(figure_of("the terms", lambda: draw(protocol.read_results(run["dir"], "count"))["terms"]))
    return s


EXPERIMENT = count.EXPERIMENT
SECTIONS = (count_section,)
'''


def add_modules(monkeypatch, tmp_path, experiment: str, figures_source: str) -> None:
    """Write `experiment` as neural/experiments/count.py and `figures_source` as figures/count.py of two extra
    package directories (as a new file in the source tree would be found), undone after the test."""
    import figures
    import neural.experiments

    protocol.registry()  # the toolkit's own first
    monkeypatch.setattr(protocol, "REGISTRY", dict(protocol.REGISTRY))
    for package, source in ((neural.experiments, experiment), (figures, figures_source)):
        where = tmp_path / package.__name__.replace(".", "_")
        where.mkdir()
        (where / "count.py").write_text(textwrap.dedent(source))
        monkeypatch.setattr(package, "__path__", [*package.__path__, str(where)])


@pytest.fixture(autouse=True)
def forget_count():
    """The modules a test wrote leave with it."""
    yield
    for name in ("neural.experiments.count", "figures.count"):
        sys.modules.pop(name, None)


@pytest.fixture
def registered(monkeypatch, tmp_path):
    add_modules(monkeypatch, tmp_path, EXPERIMENT_MODULE, FIGURES_MODULE)
    from commands.neural import build_app

    return build_app()


def test_a_registered_experiment_has_a_command_presets_figures_and_a_report_section(registered, tmp_path,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "runs" / "neural" / "count-small"
    r = runner.invoke(registered, ["count", "--n", "5"])
    assert r.exit_code == 0, r.output
    assert "total 10" in r.stdout and (out / "terms.png").is_file()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["experiment"] == "count" and summary["preset"] == "small" and summary["identity"]["n"] == 5
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"}
    refused = runner.invoke(registered, ["count", "--n", "6"])  # another setting into the same directory
    assert refused.exit_code == 2 and "n: recorded 5, asked 6" in refused.stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.name != ".lock"} == before
    assert runner.invoke(registered, ["count", "--n", "6", "--overwrite"]).exit_code == 0
    assert json.loads((out / "summary.json").read_text())["total"] == 15
    listing = runner.invoke(registered, ["presets", "--json"])
    assert json.loads(listing.stdout)["count"] == {"small": "sums 0..2", "big": "sums 0..5"}
    assert list(protocol.registry())[-1] == "count"  # its order (80) puts it after the toolkit's seven
    sections = {s.key: s for s in report.collect(tmp_path / "runs")}
    assert sections["count"].verdict == verdicts.CONFIRMED and ("total", "15") in sections["count"].rows
    assert sections["count"].figures and sections["count"].figures[0][1].startswith(b"\x89PNG")
    import typer

    from commands import figures as figures_cli

    app = typer.Typer()
    figures_cli.add_figure_commands(app)  # grok-figures count DIR draws from the saved results
    drawn = runner.invoke(app, ["count", str(out), "--out-dir", str(tmp_path / "drawn")])
    assert drawn.exit_code == 0, drawn.output
    assert (tmp_path / "drawn" / "terms.png").read_bytes().startswith(b"\x89PNG")


def test_bad_input_to_a_registered_experiment_is_one_line(registered, tmp_path):
    r = runner.invoke(registered, ["count", "--n", "0", "--out", tmp_path / "c"])
    assert r.exit_code == 2 and r.stderr.strip() == "error: n=0 is not allowed: must be >= 1"
    assert not (tmp_path / "c").exists()


def test_default_directories_are_named_by_experiment_preset_and_task():
    """make demo, the report's commands and the README name these directories."""
    outs = {name: str(exp.default_out("cpu", exp.settings("cpu", {}))) for name, exp in protocol.registry().items()
            if name in ("train", "efficiency", "ungrok", "compare", "semigrok")}
    assert outs == {"train": "runs/neural/cpu-add-p59", "efficiency": "runs/neural/efficiency-cpu-add",
                    "ungrok": "runs/neural/ungrok-cpu-add", "compare": "runs/neural/compare-cpu-add",
                    "semigrok": "runs/neural/semigrok-cpu"}
    ungrok = protocol.registry()["ungrok"]
    assert str(ungrok.default_out("cpu", ungrok.settings("cpu", {"task": "multitask"}))) == \
        "runs/neural/ungrok-cpu-multitask"


def _every_command():
    import importlib

    import typer

    for cli in ("theory", "simulate", "neural", "figures"):
        group = typer.main.get_command(importlib.import_module(f"commands.{cli}").app)
        for name, command in group.commands.items():
            yield f"grok-{cli} {name}", command


def test_one_dialect_across_the_command_lines():
    """Switches are single flags (--overwrite), both forms only where the default is a preset's (--random-labels /
    --no-random-labels); lists are one comma-separated token, the one repeated option being --slurm (SLURM's own
    values may hold commas); enumerated values are choices that help lists."""
    for where, command in _every_command():
        for p in command.params:
            if getattr(p, "is_flag", False) and p.secondary_opts:
                assert p.default is None, f"{where} {p.opts}: a switch with a --no- form"
            if getattr(p, "multiple", False) and p.param_type_name == "option":
                assert p.opts == ["--slurm"], f"{where} {p.opts}: a repeated list option"
            if p.name in ("preset", "executor", "scale", "task", "precision", "fmt"):
                kind = p.type_descriptor.annotation
                assert isinstance(kind, type) and issubclass(kind, enum.Enum), f"{where} --{p.name} is not a choice"


def test_help_shows_what_each_preset_gives_an_option_left_out():
    from typer.testing import CliRunner

    from commands.neural import app
    from neural.config import PRESETS

    text = " ".join(CliRunner().invoke(app, ["train", "--help"]).output.split())
    steps = ", ".join(f"{name} {cfg.steps}" for name, cfg in PRESETS.items())
    assert f"[default: the preset's: {steps}]" in text


def test_demo_refuses_a_preset_no_demo_experiment_has(tmp_path):
    from typer.testing import CliRunner

    from commands.neural import app

    r = CliRunner().invoke(app, ["demo", "--preset", "dmeo", "--record", str(tmp_path / "r.json")])
    assert r.exit_code == 2 and "'dmeo' is not one of 'demo'" in r.output
    assert not (tmp_path / "r.json").exists()


def test_a_figures_module_that_draws_nothing_is_an_error(monkeypatch, tmp_path):
    """An experiment with results whose figures module lacks draw (misnamed), or a module without SECTIONS, or
    one naming something that is not a registered experiment, is refused by name when the link is made."""
    from figures.drawers import drawers

    misnamed = FIGURES_MODULE.replace("def draw(", "def drow(").replace("draw(protocol", "drow(protocol")
    add_modules(monkeypatch, tmp_path, EXPERIMENT_MODULE, misnamed)
    with pytest.raises(ValueError, match="figures.count has no draw"):
        drawers()
    sys.modules.pop("figures.count")
    (tmp_path / "figures" / "count.py").write_text(FIGURES_MODULE.replace("SECTIONS = (count_section,)", ""))
    with pytest.raises(ValueError, match="figures.count declares no SECTIONS"):
        report.section_makers()
    sys.modules.pop("figures.count")
    (tmp_path / "figures" / "count.py").write_text(FIGURES_MODULE.replace("EXPERIMENT = count.EXPERIMENT",
                                                                          "EXPERIMENT = count.Count()"))
    with pytest.raises(ValueError, match="not a registered experiment"):
        drawers()
