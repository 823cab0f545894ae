"""Which run directory a figure needs, checked before anything is read: a wrong kind of run is named."""
from __future__ import annotations

from pathlib import Path

import rundir

MAKERS = {("simulate", None): "grok-simulate run", ("simulate", "sweep"): "grok-simulate sweep",
          ("neural", None): "grok-neural train"}


def run_record(path: Path, param: str, package: str, experiment: str | None = None,
               table: str = "metrics.csv") -> tuple[dict, dict[str, object]]:
    """config.json and the table of a run made by the command for (package, experiment); ValueError naming
    `param` if the directory is missing, of another kind, or its table is unreadable."""
    d = Path(path)
    maker = MAKERS[(package, experiment)]
    if not (d / "config.json").is_file():
        raise ValueError(f"{param}={str(d)!r} is not a run directory (no config.json): pass one written by `{maker}`")
    record = rundir.read_json(d / "config.json")
    kind = (record.get("package"), record.get("experiment"))
    if kind != (package, experiment):
        found = MAKERS.get(kind, "something else")
        raise ValueError(f"{param}={str(d)!r} was written by `{found}`; this figure needs a run of `{maker}`")
    return record, rundir.read_csv(d / table)


def sweep_record(sweep_dir: Path, experiment: str) -> dict:
    """A finished experiment's directory, summary.json and results table (rows as dicts), validated by the
    experiment's own declaration (neural.protocol.read_results): a one-line ValueError naming the
    directory or file and what is missing."""
    from neural import protocol

    return protocol.read_results(sweep_dir, experiment)


def member_curve(run_dir: Path, member: float) -> dict:
    """One ensemble member's logged metrics (columns of its run's metrics.csv, its rows only)."""
    table = rundir.read_csv(Path(run_dir) / "metrics.csv")
    mine = table["member"] == member
    return {k: v[mine] for k, v in table.items()}

