"""The one shape of an experiment, and the registry every command line, the demo and the report iterate.

An experiment is a subclass of `Experiment` registered with `register`: its presets, its own options (each a
command-line option of `grok-neural <name>`), `settings` (a preset with the options applied, validated before
anything runs), `identity` (every setting that changes its results), `run` (train or reuse, write its tables,
return the summary's body) and `lines` (what the terminal shows); the module of `figures` that draws it and writes
its report sections names it by object (figures.drawers). `execute` is the driver every command
shares: it owns the output directory as rundir.RunDir owns a run's: locked, its identity recorded in
config.json, the same command resumes or reuses it, a different one is refused naming the differing fields
(unless `overwrite`), and summary.json records the experiment, the preset and the identity.

Layers: nothing here imports `figures`; the entry points (commands/) compose computing and drawing.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import rundir
from neural import cluster, stepcost


@dataclass(frozen=True)
class Option:
    """One command-line option of an experiment: `--<name>` (underscores become dashes), parsed as `kind`
    (str, int, float, bool or Path; None means 'not given: the preset's'). `field` names the settings attribute
    it sets (dotted for nested ones: "base.steps"), so that help shows each preset's value; `choices` are its
    allowed values where they are few."""
    name: str
    kind: type
    help: str
    default: Any = None
    field: str | None = None
    choices: tuple[str, ...] = ()


def shown(value: Any) -> str:
    """A setting as an option would take it: lists comma-separated, numbers plain (1,000 steps as 1000)."""
    if isinstance(value, (tuple, list)):
        return ",".join(shown(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return "none" if value is None else str(value)


def preset_defaults(experiment: "Experiment", option: Option) -> str:
    """What each preset gives an option left out, e.g. "cpu 3000, paper 20000", or "1000 (every preset)" (empty
    without a field)."""
    if option.field is None:
        return ""
    values = {}
    for name in experiment.presets:
        value: Any = experiment.settings(name, {})
        for part in option.field.split("."):
            value = getattr(value, part)
        values[name] = shown(value)
    if len(set(values.values())) == 1:
        return f"{next(iter(values.values()))} (every preset)"
    return ", ".join(f"{name} {v}" for name, v in values.items())


def numbers(name: str, text: str, kind: type = float) -> tuple:
    """A comma-separated option as a tuple of numbers; ValueError naming the option when malformed or empty."""
    try:
        values = tuple(kind(v) for v in str(text).split(",") if v.strip() != "")
    except ValueError:
        raise ValueError(f"{name}={text!r} is malformed: give comma-separated numbers, e.g. 0,1,2") from None
    if not values:
        raise ValueError(f"{name}={text!r} is empty: give at least one value")
    return values


@dataclass(frozen=True)
class Context:
    """Where and how an experiment's training runs: the same for every experiment."""
    executor: str = "local"
    slurm: dict = field(default_factory=dict)
    wait: bool = True
    progress: bool = True
    device: str = "auto"
    allow_device_change: bool = False
    overwrite: bool = False  # --overwrite: train's own directory, or an experiment's sub-experiments (scaling)
    costs: stepcost.Costs = stepcost.CPU_REFERENCE  # how sweeps are packed (measured on the device, or the reference)

    def placement(self) -> dict:
        return {"executor": self.executor, "slurm": dict(self.slurm), "wait": self.wait, "progress": self.progress,
                "device": self.device, "allow_device_change": self.allow_device_change}

    def check(self) -> None:
        cluster.Submission(self.executor, dict(self.slurm), self.wait).check()


class Experiment:
    """Subclass and register one per experiment. `presets` maps names to preset objects; `options` are the
    command-line options beyond the shared ones (preset, out, overwrite, executor, device, json)."""
    name: ClassVar[str]
    help: ClassVar[str]  # the command's help: what it runs and draws
    presets: ClassVar[dict[str, Any]]
    default_preset: ClassVar[str] = "cpu"
    options: ClassVar[tuple[Option, ...]] = ()
    sweep: ClassVar[bool] = True  # trains through the sweep runner (executors, --no-wait); False: in this process
    owns_directory: ClassVar[bool] = True  # False: run() owns its output directory itself (train's RunDir)
    in_demo: ClassVar[bool] = False  # `grok-neural demo` (make demo) runs it
    order: ClassVar[int] = 1000  # where it comes in commands, the demo and the report (the paper's order)
    extendable: ClassVar[tuple[str, ...]] = ()  # identity fields a re-run may change (a larger step cap extends)
    tables: ClassVar[tuple[str, ...]] = ()  # the result tables run() writes (owned; removed by --overwrite)
    summary_keys: ClassVar[dict[str, type]] = {}  # what a reader needs in summary.json, with its JSON type
    columns: ClassVar[tuple[str, ...]] = ()  # what a reader needs in the first table
    text_columns: ClassVar[tuple[str, ...]] = ()  # columns of names that may look like numbers (a digest)

    def preset(self, name: str) -> Any:
        if name not in self.presets:
            raise ValueError(f"preset={name!r} is unknown: choose from {', '.join(self.presets)}")
        return self.presets[name]

    def settings(self, preset: str, opts: dict[str, Any]) -> Any:
        """The preset with the options that were given applied; ValueError naming the first bad setting."""
        raise NotImplementedError

    def identity(self, settings: Any) -> dict[str, Any]:
        """Every setting that changes results, as flat JSON values (names as the user would read them)."""
        raise NotImplementedError

    def describe(self, settings: Any) -> str:
        """The settings in words, generated from their fields (for `presets` and the report)."""
        raise NotImplementedError

    def default_out(self, preset: str, settings: Any) -> Path:
        """runs/neural/<experiment>-<preset>[-<task>] (the task where the settings have one)."""
        task = getattr(settings, "task", None)
        return Path("runs/neural") / "-".join([self.name, preset] + ([str(task)] if task else []))

    def run(self, settings: Any, out: Path, ctx: Context) -> dict:
        """Train (or reuse) and measure; write the experiment's tables into `out`; return the summary's body."""
        raise NotImplementedError

    def lines(self, summary: dict) -> list[str]:
        """The summary for a terminal."""
        return []

    def sources(self, settings: Any) -> list[Path]:
        """Directories whose training time this experiment's compute_seconds counts (default: its own)."""
        return []

    def before(self, settings: Any, out: Path, ctx: Context) -> None:
        """Work that must happen before `out` is locked (compare: the sweeps it reads); nothing by default."""


REGISTRY: dict[str, Experiment] = {}


def register(experiment: Experiment) -> Experiment:
    """Add an experiment to the registry (its name is its command); returns it."""
    if not experiment.name or not experiment.name.replace("-", "").isalnum():
        raise ValueError(f"experiment name {experiment.name!r} is not allowed: letters, digits and dashes only")
    REGISTRY[experiment.name] = experiment
    return experiment


def registry() -> dict[str, Experiment]:
    """Every experiment, ordered by its `order` (the paper's argument, the demo's and the report's order), then
    name. The toolkit's own are found by importing every module of neural.experiments (each registers its class): no
    list to keep; one registered from elsewhere (a plug-in, a test) joins by importing its module."""
    import importlib
    import pkgutil

    import neural.experiments as package

    for module in pkgutil.iter_modules(package.__path__):
        importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(REGISTRY.items(), key=lambda item: (item[1].order, item[0])))


def command_line(name: str, preset: str | None = None, **options: Any) -> str:
    """The command that makes an experiment's results, for the report and messages: `grok-neural NAME --preset P`
    (P the demo's preset where the experiment has one, else its default) with `options` as --key value."""
    exp = registry()[name]
    preset = preset or ("demo" if "demo" in exp.presets else exp.default_preset)
    extra = "".join(f" --{k.replace('_', '-')} {v}" for k, v in options.items())
    return f"grok-neural {name} --preset {preset}{extra}"


def flat(d: dict, prefix: str = "") -> dict[str, Any]:
    """A nested dict as one level with dotted keys, values as JSON would store them (tuples become lists)."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(flat(v, key + "."))
        else:
            out[key] = rundir.to_jsonable(v)
    return out


def identity_of(experiment: Experiment, preset: str, settings: Any) -> dict[str, Any]:
    return {"experiment": experiment.name, "preset": preset, **experiment.identity(settings)}


def recorded_identity(path: Path, param: str = "sweep") -> dict:
    """The identity a finished experiment recorded in its config.json; ValueError naming the directory when it is
    missing, unfinished or not an experiment's."""
    d = Path(path)
    if not (d / "summary.json").is_file():
        raise ValueError(f"{param}={str(d)!r} holds no finished experiment (no summary.json)")
    record = rundir.read_json(d / "config.json") if (d / "config.json").is_file() else None
    ident = record.get("config") if isinstance(record, dict) else None
    if not isinstance(ident, dict) or "experiment" not in ident:
        raise ValueError(f"{param}={str(d)!r} records no experiment identity in config.json: re-run its command "
                         f"with --overwrite")
    return ident


def read_results(path: Path, name: str, param: str = "sweep_dir") -> dict:
    """A finished experiment's directory, summary.json and first table, validated: {"dir", "summary", "rows"}.
    ValueError in one line naming the directory or file and what is missing, wrong or of another experiment."""
    exp = registry()[name]
    d = Path(path)
    where = f"{param}={str(d)!r}"
    record = rundir.read_json(d / "config.json") if (d / "config.json").is_file() else None
    if record is not None and (not isinstance(record, dict) or record.get("experiment") != name):
        other = record.get("experiment") if isinstance(record, dict) else None
        raise ValueError(f"{where} holds {other + ' results' if other else 'results of another command'}, not "
                         f"{name}'s: pass a directory written by `grok-neural {name}`")
    if not (d / "summary.json").is_file():
        raise ValueError(f"{where} holds no finished {name} results (no summary.json): pass a directory written "
                         f"by `grok-neural {name}`")
    summary = rundir.read_object(d / "summary.json", exp.summary_keys)
    rows = rundir.read_rows(d / exp.tables[0], text=exp.text_columns, required=exp.columns) if exp.tables else []
    return {"dir": d, "summary": summary, "rows": rows}


def execute(experiment: Experiment, preset: str, opts: dict[str, Any], *, out: Path | None = None,
            overwrite: bool = False, ctx: Context = Context()) -> tuple[Path, dict, float]:
    """Run `experiment` at `preset` with `opts` into `out` (default: its own directory): validate everything,
    own the directory, run, write summary.json. Returns (out, summary, wall seconds). cluster.Pending passes
    through while jobs run without waiting."""
    settings = experiment.settings(preset, opts)
    out = Path(out) if out is not None else experiment.default_out(preset, settings)
    return run_settings(experiment, preset, settings, out, overwrite=overwrite, ctx=ctx)


def run_settings(experiment: Experiment, preset: str, settings: Any, out: Path, *, overwrite: bool = False,
                 ctx: Context = Context()) -> tuple[Path, dict, float]:
    """`execute` for settings already made and validated (by `experiment.settings`, or by hand in a test)."""
    out = Path(out)
    ctx = dataclasses.replace(ctx, overwrite=overwrite)
    if experiment.sweep:
        ctx.check()
    t0 = time.perf_counter()
    if not experiment.owns_directory:
        return out, experiment.run(settings, out, ctx), time.perf_counter() - t0
    _refuse_foreign(out, experiment.name, overwrite)
    experiment.before(settings, out, ctx)
    ident = identity_of(experiment, preset, settings)
    with rundir.RunDir.open(out, ident, overwrite=overwrite, extendable=experiment.extendable,
                            results=experiment.tables) as d:
        d.write_config({"experiment": experiment.name, "config": ident, "tables": list(experiment.tables),
                        "environment": rundir.environment()})
        body = experiment.run(settings, out, ctx)
        summary = rundir.write_sweep_summary(out, {"experiment": experiment.name, "preset": preset,
                                                   "description": experiment.describe(settings),
                                                   "identity": ident, **body}, experiment.sources(settings))
    return out, summary, time.perf_counter() - t0


def run_preset(experiment: Experiment, settings: Any, out: Path, *, preset: str = "custom", overwrite: bool = False,
               **ctx: Any) -> dict:
    """The summary of hand-made settings (a test's tiny preset) run through the driver; `ctx` are Context's fields."""
    return run_settings(experiment, preset, settings, out, overwrite=overwrite, ctx=Context(**ctx))[1]


def _refuse_foreign(out: Path, name: str, overwrite: bool) -> None:
    """Refuse, before anything is locked or written, a directory that holds another command's results (RunDir
    repeats the check under the lock): the differing fields are named."""
    record = out / "config.json"
    if overwrite or not record.is_file():
        return
    recorded = rundir.read_json(record)
    old = recorded.get("config") if isinstance(recorded, dict) else None
    if not isinstance(old, dict) or old.get("experiment") != name:
        what = old.get("experiment") if isinstance(old, dict) and old.get("experiment") else (
            "a training run" if isinstance(recorded, dict) and recorded.get("package") else "something else")
        raise ValueError(f"out={str(out)!r} holds {what!s} results, not {name}'s: choose another "
                         f"--out (or pass --overwrite to replace them)")
