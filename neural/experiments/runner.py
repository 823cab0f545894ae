"""Sweeps: member specs -> ensembles -> run directories -> one results table.

A spec is one member's coordinates: the shared settings (a TrainConfig whose per-member fields are ignored),
the member (seed, wd, lr, split_seed, subset D', parent run and member) and free-form tags (stage, d_prime, ...)
that become columns of the results table. `pack` groups specs that can share an ensemble (same shared
settings and weight decay, D' within a factor `max_size_ratio`: a step costs E x max D', so packing by D' keeps
the cost near the sum of the members' D'; one weight decay per ensemble, because members stop at convergence
but a stopped member still rides along until its whole ensemble is done). Each ensemble is a run directory
named by a hash of its configuration, so re-running a sweep skips what is finished and resumes what is not; the
results table is rebuilt from the finished ensembles each time (nothing duplicated, written atomically).

Executors: "local" (in this process, one ensemble at a time with all cores), and through submitit "slurm" or
"submitit-local" (each ensemble a job; the same function runs it). On one machine concurrent jobs share the
cores through rundir.cores, so they do not overcommit them.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rundir
from neural import tasks, train
from rundir.progress import bar as progress_bar
from neural.config import TrainConfig

EXECUTORS = ("local", "submitit-local", "slurm")
SUMMARY_KEYS = ("train/loss", "test/loss", "train/acc", "test/acc", "test/acc_unseen", "test/acc_no_mirror",
                "train/label_logit", "norm/total", "train/o_t", "train/o_m")


@dataclass(frozen=True)
class Spec:
    base: TrainConfig  # shared settings: task, p, format, model sizes, base split, step cap, convergence
    member: dict  # seed, wd, lr and optionally split_seed, subset, parent, parent_member
    tags: dict = field(default_factory=dict)  # coordinates for the results table

    def size(self) -> int:
        n = tasks.n_pairs(self.base.task, self.base.p)
        base = self.base.train_size or max(1, round(self.base.frac * n))
        return self.member.get("subset") or base


def _shared(cfg: TrainConfig) -> str:
    return json.dumps(rundir.to_jsonable(cfg.with_(seeds=(0,), wds=(1.0,), lrs=(1e-3,), member_specs=()).to_dict()),
                      sort_keys=True)


def pack(specs: list[Spec], max_members: int = 32, max_size_ratio: float = 2.0) -> list[tuple[TrainConfig, list[int]]]:
    """Ensembles as (config, indices of their specs): same shared settings and wd, D' within max_size_ratio."""
    groups: dict[tuple, list[int]] = {}
    for i, s in enumerate(specs):
        groups.setdefault((_shared(s.base), s.member["wd"]), []).append(i)
    out = []
    for idx in groups.values():
        idx = sorted(idx, key=lambda i: (specs[i].size(), json.dumps(specs[i].member, sort_keys=True)))
        chunk: list[int] = []
        for i in idx:
            if chunk and (len(chunk) == max_members or specs[i].size() > max_size_ratio * specs[chunk[0]].size()):
                out.append(chunk)
                chunk = []
            chunk.append(i)
        if chunk:
            out.append(chunk)
    return [(specs[c[0]].base.with_(member_specs=tuple(specs[i].member for i in c)), c) for c in out]


def ensemble_dir(sweep_dir: Path, cfg: TrainConfig) -> Path:
    digest = hashlib.sha256(json.dumps(rundir.to_jsonable(cfg.to_dict()), sort_keys=True).encode()).hexdigest()[:12]
    return Path(sweep_dir) / "ensembles" / digest


def run_ensemble(config: dict, out: str, progress: bool = False, device: str = "auto",
                 allow_device_change: bool = False) -> dict:
    """One ensemble to a finished run directory (the unit a submitit job runs, resolving `device` where it
    runs); returns its summary."""
    return train.train(TrainConfig.from_dict(config), Path(out), progress=progress, device=device,
                       allow_device_change=allow_device_change)["summary"]


def run(specs: list[Spec], sweep_dir: Path, *, executor: str = "local", max_members: int = 32,
        max_size_ratio: float = 2.0, progress: bool = True, slurm: dict | None = None, device: str = "auto",
        allow_device_change: bool = False) -> list[dict]:
    """Train every spec (skipping finished ensembles) on `device` (neural.device's spec) and return the results
    rows, one per spec, in order."""
    if executor not in EXECUTORS:
        raise ValueError(f"executor={executor!r} is unknown: choose from {', '.join(EXECUTORS)}")
    try:
        Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"out={str(sweep_dir)!r} cannot be used as a sweep directory: {e.strerror or e}") from None
    ensembles = pack(specs, max_members, max_size_ratio)
    todo = [(cfg, ensemble_dir(sweep_dir, cfg), idx) for cfg, idx in ensembles]
    pending = [(cfg, d, idx) for cfg, d, idx in todo if not rundir.is_finished(d)]
    bar = None
    if progress:
        bar = progress_bar(len(specs), initial=len(specs) - sum(len(i) for _, _, i in pending), unit="member",
                           desc=f"sweep {Path(sweep_dir).name}")
    if executor == "local":
        for cfg, d, idx in pending:
            run_ensemble(cfg.to_dict(), str(d), progress, device, allow_device_change)
            if bar is not None:
                bar.update(len(idx))
    else:
        _submit(pending, Path(sweep_dir), executor, slurm or {}, bar, (device, allow_device_change))
    if bar is not None:
        bar.close()
    return collect(specs, sweep_dir, max_members, max_size_ratio)


def _submit(pending, sweep_dir: Path, executor: str, slurm: dict, bar, placement: tuple[str, bool]) -> None:
    try:
        import submitit
    except ImportError:
        raise ValueError(f"executor={executor!r} needs submitit: pip install '.[cluster]'") from None
    ex = submitit.AutoExecutor(folder=sweep_dir / "submitit", cluster="local" if executor == "submitit-local" else "slurm")
    ex.update_parameters(timeout_min=slurm.pop("timeout_min", 24 * 60), **slurm)
    jobs = [(ex.submit(run_ensemble, cfg.to_dict(), str(d), False, *placement), idx) for cfg, d, idx in pending]
    for job, idx in jobs:
        job.result()  # raises if the job failed, with its stderr
        if bar is not None:
            bar.update(len(idx))


def collect(specs: list[Spec], sweep_dir: Path, max_members: int = 32, max_size_ratio: float = 2.0) -> list[dict]:
    """One row per spec from its ensemble's summary: tags, member coordinates, final metrics, converged."""
    rows: list[dict[str, Any]] = [{} for _ in specs]
    for cfg, idx in pack(specs, max_members, max_size_ratio):
        d = ensemble_dir(sweep_dir, cfg)
        if not rundir.is_finished(d):
            continue
        summary = rundir.read_json(d / "summary.json")
        for k, i in enumerate(idx):
            m = summary["members"][k]
            spec = specs[i]
            rows[i] = {**spec.tags, "task": spec.base.task, "p": spec.base.p, "seed": spec.member["seed"],
                       "wd": spec.member["wd"], "lr": spec.member["lr"], "train_size": spec.size(),
                       "parent": spec.member.get("parent"), "ensemble": d.name, "member": k,
                       **{key: m["final"].get(key) for key in SUMMARY_KEYS},
                       "converged": m.get("converged"), "converged_step": m.get("converged_step"),
                       "diverged_step": m.get("diverged_step"), "steps_run": summary.get("steps_run")}
    return rows


def write_table(rows: list[dict], path: Path) -> None:
    """The results table (CSV, one row per member; readable by pandas.read_csv)."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    rundir.write_csv(path, cols, ([r.get(c) for c in cols] for r in rows))
