"""Results as pandas DataFrames, for notebooks and scripts (pandas is the `pandas` extra: pip install
'circuit-efficiency[pandas]').

- `load_run(run_dir)`: a training run's metrics.csv, one row per evaluated step and member, with each member's
  coordinates (seed, wd, lr, D', parent) as columns; `.attrs` holds its config.json and summary.json.
- `load_sweep(sweep_dir)`: an experiment's results table (results.csv, members.csv, compare.csv, classes.csv:
  the first table its config.json lists, or `table=`); `.attrs` holds its summary and identity.
- `load_curves(sweep_dir)`: every training run below a directory (a sweep's ensembles) as one metrics table,
  with an `ensemble` column: the curves of Figure 8 in one frame.

Columns keep the names the files use ("train/loss", "test/acc", ...). Columns that name things (an ensemble's
digest, a task) stay text even where they look like numbers.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import rundir

MEMBER_COLUMNS = ("seed", "wd", "lr", "split_seed", "subset", "parent", "parent_member")


def _pandas():
    try:
        import pandas
    except ImportError:
        raise ValueError("pandas is not installed: pip install 'circuit-efficiency[pandas]' (or pandas)") from None
    return pandas


def _record(path: Path, name: str) -> dict:
    f = Path(path) / name
    if not f.is_file():
        return {}
    record = rundir.read_json(f)
    return record if isinstance(record, dict) else {}


def load_run(run_dir: Path | str) -> Any:
    """A training run's metrics (pandas.DataFrame), members' coordinates joined; ValueError naming the directory
    when it holds no training run."""
    pd = _pandas()
    d = Path(run_dir)
    config = _record(d, "config.json")
    if config.get("package") != "neural" or not (d / "metrics.csv").is_file():
        raise ValueError(f"run_dir={str(d)!r} holds no grok-neural training run (config.json and metrics.csv): "
                         f"for an experiment's directory use load_sweep, for a sweep's curves load_curves")
    frame = pd.DataFrame(rundir.read_rows(d / "metrics.csv", required=("step", "member")))
    frame["step"] = frame["step"].astype(int)
    frame["member"] = frame["member"].astype(int)
    members = config.get("members")
    if isinstance(members, list) and members and all(isinstance(m, dict) for m in members):
        coords = pd.DataFrame([{"member": e, **{k: m.get(k) for k in MEMBER_COLUMNS}} for e, m in enumerate(members)])
        frame = frame.merge(coords, on="member", how="left")
    frame.attrs = {"run_dir": str(d), "config": config, "summary": _record(d, "summary.json")}
    return frame


def load_sweep(sweep_dir: Path | str, table: str | None = None) -> Any:
    """An experiment's results table (pandas.DataFrame); ValueError naming the directory when it holds none, or
    naming the tables it has when `table` is not one of them."""
    from neural import protocol

    pd = _pandas()
    d = Path(sweep_dir)
    config = _record(d, "config.json")
    tables = [t for t in config.get("tables") or [] if isinstance(t, str)]
    if not tables:
        raise ValueError(f"sweep_dir={str(d)!r} holds no experiment's results table (its config.json lists none): "
                         f"pass a directory written by a grok-neural experiment")
    name = table or tables[0]
    if name not in tables:
        raise ValueError(f"table={name!r} is not one of {str(d)!r}'s tables: {', '.join(tables)}")
    exp = protocol.registry().get(config.get("experiment"))
    text = exp.text_columns if exp is not None else ("ensemble", "parent", "task", "kind")
    frame = pd.DataFrame(rundir.read_rows(d / name, text=text))
    frame.attrs = {"sweep_dir": str(d), "experiment": config.get("experiment"),
                   "identity": config.get("config"), "summary": _record(d, "summary.json")}
    return frame


def load_curves(root: Path | str) -> Any:
    """Every training run below `root` (a sweep's ensembles, or any tree of runs) as one metrics table with an
    `ensemble` column (the run directory's name); ValueError when there is none."""
    pd = _pandas()
    runs = sorted(p.parent for p in Path(root).glob("**/metrics.csv")
                  if _record(p.parent, "config.json").get("package") == "neural")
    if not runs:
        raise ValueError(f"root={str(root)!r} holds no grok-neural training run below it")
    frames = [load_run(r).assign(ensemble=r.name) for r in runs]
    return pd.concat(frames, ignore_index=True)
