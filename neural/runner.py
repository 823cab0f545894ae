"""Sweeps: member specs -> ensembles -> run directories -> one results table.

A spec is one member's coordinates: the shared settings (a TrainConfig whose per-member fields are ignored),
the member (seed, wd, lr, split_seed, subset D', parent run and member) and free-form tags (stage, d_prime, ...)
that become columns of the results table. `pack` groups specs that can share an ensemble (same shared
settings; weight decays and learning rates mixed) and cuts each group, sorted by D', where the estimated cost
is least (a step costs about E x max D' plus a per-member and a per-ensemble overhead: neural.stepcost). Each
ensemble is a run directory named by a hash of its configuration, so re-running a sweep skips what is finished
and resumes what is not; the results table is rebuilt from the finished ensembles each time (nothing duplicated,
written atomically).

Executors: "local" (in this process, one ensemble at a time with all cores), and through submitit "slurm" or
"submitit-local" (the pending ensembles as one job array; the same function runs each; options, job tracking and
submission without waiting in `cluster`). On one machine concurrent jobs share the cores through rundir.cores, so
they do not overcommit them.
"""
from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rundir
from neural import cluster, metrics, stepcost
from rundir.lazy import lazy
from rundir.progress import bar as progress_bar
from neural.config import TrainConfig

train = lazy("neural.train")

EXECUTORS = cluster.EXECUTORS
TEXT_COLUMNS = ("ensemble", "parent", "task")  # names in a results table: a digest like 0123456789e1 stays text


@dataclass(frozen=True)
class Spec:
    base: TrainConfig  # shared settings: task, p, format, model sizes, base split, step cap, convergence
    member: dict  # seed, wd, lr and optionally split_seed, subset, parent, parent_member
    tags: dict = field(default_factory=dict)  # coordinates for the results table

    def size(self) -> int:
        return self.member.get("subset") or self.base.train_pairs()


def _shared(cfg: TrainConfig) -> str:
    return json.dumps(rundir.to_jsonable(cfg.with_(seeds=(0,), wds=(1.0,), lrs=(1e-3,), member_specs=()).to_dict()),
                      sort_keys=True)


def step_cost(sizes: list[int], costs: stepcost.Costs = stepcost.CPU_REFERENCE) -> float:
    """Estimated seconds of one step of an ensemble of members with training sets of `sizes` pairs (padded to the
    largest), by `costs`' step law."""
    return costs.step_seconds(len(sizes), max(sizes))


def pack(specs: list[Spec], max_members: int = 32,
         costs: stepcost.Costs = stepcost.CPU_REFERENCE) -> list[tuple[TrainConfig, list[int]]]:
    """Ensembles as (config, indices of their specs). Specs with the same shared settings may share an ensemble
    whatever their weight decay and learning rate (both per member; a member that converges leaves the batch).
    Within a group, sorted by D', the cut into ensembles of at most `max_members` (fewer where one would not fit
    `costs`' ensemble memory) minimises the summed step_cost (dynamic programming): padding a small D' to a large
    one costs, and so does each extra ensemble. `costs` defaults to the reference CPU's, so that a sweep packs the
    same on every machine unless its caller measured the device it runs on (neural.stepcost)."""
    groups: dict[str, list[int]] = {}
    for i, s in enumerate(specs):
        groups.setdefault(_shared(s.base), []).append(i)
    out = []
    for idx in groups.values():
        idx = sorted(idx, key=lambda i: (specs[i].size(), json.dumps(specs[i].member, sort_keys=True)))
        sizes = [specs[i].size() for i in idx]
        cap = costs.members_within(specs[idx[0]].base, max_members)
        best, cut = [0.0] + [float("inf")] * len(idx), [0] * (len(idx) + 1)  # best cost of the first j specs
        for j in range(1, len(idx) + 1):
            for i in range(max(0, j - cap), j):
                c = best[i] + step_cost(sizes[i:j], costs)
                if c < best[j]:
                    best[j], cut[j] = c, i
        j, chunks = len(idx), []
        while j > 0:
            chunks.append(idx[cut[j]:j])
            j = cut[j]
        out += chunks[::-1]
    return [(specs[c[0]].base.with_(member_specs=tuple(specs[i].member for i in c)), c) for c in out]


def ensemble_dir(sweep_dir: Path, cfg: TrainConfig) -> Path:
    digest = hashlib.sha256(json.dumps(rundir.to_jsonable(cfg.to_dict()), sort_keys=True).encode()).hexdigest()[:12]
    return Path(sweep_dir) / "ensembles" / digest


def _member_key(base: TrainConfig, member: dict) -> str:
    """What identifies a member's training, whatever ensemble it shares: the shared settings but the thread
    count, and the member with its defaults filled in."""
    cfg = base.with_(member_specs=(member,), threads=None)
    return json.dumps([_shared(cfg), rundir.to_jsonable(cfg.members()[0])], sort_keys=True)


def finished_members(sweep_dir: Path) -> dict[str, list[tuple[Path, int, int | None]]]:
    """Every member of the finished ensembles under sweep_dir, read from their config.json:
    _member_key -> [(ensemble directory, member index, thread count)]. So a sweep's results do not depend on
    how its specs would be packed today."""
    out: dict[str, list[tuple[Path, int, int | None]]] = {}
    root = Path(sweep_dir) / "ensembles"
    for d in sorted(root.iterdir()) if root.is_dir() else []:
        if not rundir.is_finished(d):
            continue
        record = rundir.read_object(d / "config.json", {"config": dict})
        try:
            cfg = TrainConfig.from_dict(record["config"])
        except ValueError as e:
            raise ValueError(f"{d / 'config.json'} is not an ensemble's configuration ({e})") from None
        for k, m in enumerate(cfg.members()):
            out.setdefault(_member_key(cfg, m), []).append((d, k, cfg.threads))
    return out


def _found(found: dict, spec: Spec) -> list[tuple[Path, int]]:
    """The finished ensembles (directory, member index) holding this spec's member (at its thread count, if the
    spec names one)."""
    return [(d, k) for d, k, threads in found.get(_member_key(spec.base, spec.member), [])
            if spec.base.threads is None or threads == spec.base.threads]


def run_ensemble(config: dict, out: str, progress: bool = False, device: str = "auto",
                 allow_device_change: bool = False) -> dict:
    """One ensemble to a finished run directory (the unit a submitit job runs, resolving `device` where it
    runs); returns its summary."""
    return train.train(TrainConfig.from_dict(config), Path(out), progress=progress, device=device,
                       allow_device_change=allow_device_change).summary


def run(specs: list[Spec], sweep_dir: Path, *, executor: str = "local", max_members: int = 32, progress: bool = True,
        slurm: dict | None = None, wait: bool = True, device: str = "auto", allow_device_change: bool = False,
        costs: stepcost.Costs = stepcost.CPU_REFERENCE) -> list[dict]:
    """Train every spec (skipping finished ensembles) on `device` (neural.device's spec) and return the results
    rows, one per spec, in order, packed by `costs`. With a submitit executor `slurm` holds validated options
    (cluster.parse_options); with wait=False, cluster.Pending is raised while ensembles are queued or running."""
    found = finished_members(sweep_dir)  # members already trained, whatever ensemble holds them
    todo = [(cfg, ensemble_dir(sweep_dir, cfg), len(idx)) for cfg, idx in pack(specs, max_members, costs)
            if not all(_found(found, specs[i]) for i in idx)]
    train_all(todo, sweep_dir, executor=executor, slurm=slurm, wait=wait, progress=progress, device=device,
              allow_device_change=allow_device_change)
    return collect(specs, sweep_dir, max_members, costs)


def _finished(cfg: TrainConfig, run_dir: Path) -> bool:
    return rundir.is_finished(run_dir)


def train_all(todo: list[tuple[TrainConfig, Path, int]], sweep_dir: Path, *, executor: str = "local",
              slurm: dict | None = None, wait: bool = True, progress: bool = True, device: str = "auto",
              allow_device_change: bool = False, done=_finished) -> None:
    """Train each (config, run directory, member count) not yet `done(config, run_dir)`: here one after another,
    or as submitit jobs (options, job tracking and --no-wait in `cluster`)."""
    submission = cluster.Submission(executor, dict(slurm or {}), wait)
    submission.check()
    try:
        Path(sweep_dir).mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"out={str(sweep_dir)!r} cannot be used as a sweep directory: {e.strerror or e}") from None
    pending = [(cfg, d, n) for cfg, d, n in todo if not done(cfg, d)]
    bar = None
    if progress:
        total = sum(n for _, _, n in todo)
        bar = progress_bar(total, initial=total - sum(n for _, _, n in pending), unit="member",
                           desc=f"sweep {Path(sweep_dir).name}")
    if executor == "local":
        for cfg, d, n in pending:
            run_ensemble(cfg.to_dict(), str(d), progress, device, allow_device_change)
            if bar is not None:
                bar.update(n)
    elif pending:
        _submit(pending, [d.name for cfg, d, _ in todo if done(cfg, d)], Path(sweep_dir), submission, bar,
                (device, allow_device_change), done)
    if bar is not None:
        bar.close()


def _submit(pending, finished: list[str], sweep_dir: Path, submission: cluster.Submission, bar,
            placement: tuple[str, bool], done) -> None:
    """Submit the pending ensembles whose job is not alive (one job array), record them, then wait for every
    pending ensemble, or raise cluster.Pending when not waiting."""
    import submitit

    table = cluster.JobTable(sweep_dir)
    alive = {d.name: table.alive(d.name) for _, d, _ in pending}
    running = [(cfg, d, n) for cfg, d, n in pending if alive[d.name]]
    fresh = [(cfg, d, n) for cfg, d, n in pending if not alive[d.name]]
    jobs = []
    if fresh:
        table.note_failures([d.name for _, d, _ in fresh])  # why a job that ended unfinished ended, before resubmitting
        ex = submitit.AutoExecutor(folder=table.folder,
                                   cluster="local" if submission.executor == "submitit-local" else "slurm")
        ex.update_parameters(**cluster.executor_parameters(submission.slurm))
        k = len(fresh)
        try:
            jobs = ex.map_array(run_ensemble, [cfg.to_dict() for cfg, _, _ in fresh], [str(d) for _, d, _ in fresh],
                                [False] * k, [placement[0]] * k, [placement[1]] * k)
        except Exception as e:  # sbatch refused (a bad partition, account or limit): nothing was submitted
            raise ValueError(f"executor={submission.executor!r}: submitting {k} job(s) failed: "
                             f"{cluster.last_line(str(e))}; check the --slurm options") from None
        table.record([d.name for _, d, _ in fresh], jobs, submission.executor)
    if not submission.wait:
        raise cluster.Pending(table.status(finished, [d.name for _, d, _ in running], [d.name for _, d, _ in fresh]))
    for job, (_, d, n) in zip(jobs, fresh):
        try:
            job.result()
        except Exception as e:  # the job failed where it ran: say why, and that the same command resubmits it
            raise ValueError(f"ensemble {d.name}'s job {job.job_id} failed: {cluster.last_line(str(e))} (its log is "
                             f"under {table.folder}; the same command resubmits it)") from None
        if bar is not None:
            bar.update(n)
    for cfg, d, n in running:  # submitted by an earlier command: its job handle is gone, so watch the directory
        while not done(cfg, d):
            if not table.alive(d.name):
                raise ValueError(f"ensemble {d.name}'s job {table.jobs[d.name]['job_id']} ended without finishing "
                                 f"(its log is under {table.folder}): run the same command again to resubmit it")
            time.sleep(cluster.POLL_SECONDS)
        if bar is not None:
            bar.update(n)


def collect(specs: list[Spec], sweep_dir: Path, max_members: int = 32,
            costs: stepcost.Costs = stepcost.CPU_REFERENCE) -> list[dict]:
    """One row per spec from the summary of a finished ensemble holding its member (read from the ensembles'
    config.json; the one today's packing names first, where there are several): tags, member coordinates,
    final metrics, converged. A spec not trained yet gets an empty row."""
    found = finished_members(sweep_dir)
    packed = {i: (ensemble_dir(sweep_dir, cfg), k) for cfg, idx in pack(specs, max_members, costs)
              for k, i in enumerate(idx)}
    summaries: dict[Path, dict] = {}
    rows: list[dict[str, Any]] = [{} for _ in specs]
    for i, spec in enumerate(specs):
        hits = _found(found, spec)
        if not hits:
            continue
        d, k = packed[i] if packed[i] in hits else hits[0]
        if d not in summaries:
            summaries[d] = _ensemble_summary(d, k)
        summary = summaries[d]
        m = summary["members"][k]
        rows[i] = {**spec.tags, "task": spec.base.task, "p": spec.base.p, "seed": spec.member["seed"],
                   "wd": spec.member["wd"], "lr": spec.member["lr"], "train_size": spec.size(),
                   "parent": spec.member.get("parent"), "ensemble": d.name, "member": k,
                   **{key: m["final"].get(key) for key in metrics.RESULTS},
                   "converged": m.get("converged"), "converged_step": m.get("converged_step"),
                   "diverged_step": m.get("diverged_step"), "steps_run": summary.get("steps_run")}
    return rows


def _ensemble_summary(d: Path, member: int) -> dict:
    """An ensemble's summary.json, checked where it is read: a members list whose entries carry a final dict
    (ValueError naming the file otherwise)."""
    summary = rundir.read_object(d / "summary.json", {"members": list})
    members = summary["members"]
    if not (member < len(members) and all(isinstance(m, dict) and isinstance(m.get("final"), dict) for m in members)):
        raise ValueError(f"{d / 'summary.json'} does not hold every member's final metrics (member {member} of "
                         f"{len(members)}): it was edited or cut short; delete {d} to retrain that ensemble")
    return summary


def write_table(rows: list[dict], path: Path) -> None:
    """The results table (CSV, one row per member; readable by pandas.read_csv)."""
    cols: list[str] = []
    for r in rows:
        cols += [c for c in r if c not in cols]
    rundir.write_csv(path, cols, ([r.get(c) for c in cols] for r in rows))
