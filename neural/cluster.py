"""Sweeps on a cluster through submitit: the SLURM options a user sets, and submission without waiting.

Options (`--slurm KEY=VALUE`, repeatable, or `--slurm-config FILE.toml` with top-level keys or a [slurm] table),
named as submitit's AutoExecutor names them less its `slurm_` prefix; each is checked before anything is
submitted and recorded in the sweep's summary:
    partition, time (minutes), gpus_per_node, cpus_per_task, mem_gb, account, qos, array_parallelism, constraint.
Ensembles go to the cluster as one job array (`array_parallelism` caps how many run at once).

Without waiting (`--no-wait`) the command submits and returns; `jobs.json` in the sweep directory records each
ensemble's job id (written before anything else happens). The same command later reports which jobs run, finished
or failed, resubmits the failed ones, and collects the finished ones. An ensemble whose job is alive (queued,
running, or a local process still running) is never submitted again.
"""
from __future__ import annotations

import os
import re
import shutil
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rundir

EXECUTORS = ("local", "submitit-local", "slurm")
SUBMITIT_EXECUTORS = EXECUTORS[1:]
DEFAULT_TIME_MIN = 24 * 60  # submitit's own default is 5 minutes: too short for a sweep's ensemble
JOBS_FILE = rundir.owner.JOBS_FILE
JOB_ID = re.compile(r"[1-9][0-9]*(_[0-9]+)?")  # a SLURM job (or array task) id, or a process id
ALIVE_SLURM_STATES = ("PENDING", "RUNNING", "REQUEUED", "CONFIGURING", "COMPLETING", "RESIZING", "SUSPENDED",
                      "UNKNOWN")  # UNKNOWN: sacct has not seen a just-submitted job yet; never resubmit on it
POLL_SECONDS = 5.0


def _text(name, value):
    if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
        raise ValueError(f"slurm {name}={value!r} is not allowed: must be a name without spaces")
    return value.strip()


def _integer(lo):
    def check(name, value):
        try:
            number = int(str(value))
        except ValueError:
            raise ValueError(f"slurm {name}={value!r} is not allowed: must be an integer >= {lo}") from None
        if number < lo:
            raise ValueError(f"slurm {name}={value!r} is not allowed: must be an integer >= {lo}")
        return number
    return check


def _positive(name, value):
    try:
        number = float(str(value))
    except ValueError:
        number = float("nan")
    if not number > 0 or number == float("inf"):
        raise ValueError(f"slurm {name}={value!r} is not allowed: must be a number > 0 (GB)")
    return number


# user name -> (submitit AutoExecutor parameter, check)
OPTIONS = {
    "partition": ("slurm_partition", _text),
    "time": ("timeout_min", _integer(1)),
    "gpus_per_node": ("gpus_per_node", _integer(0)),
    "cpus_per_task": ("cpus_per_task", _integer(1)),
    "mem_gb": ("mem_gb", _positive),
    "account": ("slurm_account", _text),
    "qos": ("slurm_qos", _text),
    "array_parallelism": ("slurm_array_parallelism", _integer(1)),
    "constraint": ("slurm_constraint", _text),
}


def parse_options(items: list[str] | None = None, config: Path | None = None) -> dict[str, Any]:
    """Validated options from a TOML file and KEY=VALUE items (items win); a one-line error names a bad one."""
    raw: dict[str, Any] = {}
    if config is not None:
        try:
            data = tomllib.loads(Path(config).read_text(encoding="utf-8"))
        except OSError as e:
            raise ValueError(f"slurm_config={str(config)!r} cannot be read: {e.strerror or e}") from None
        except UnicodeDecodeError:
            raise ValueError(f"slurm_config={str(config)!r} is not text (UTF-8): give a TOML file") from None
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"slurm_config={str(config)!r} is not valid TOML: {e}") from None
        table = data.get("slurm", data)
        if not isinstance(table, dict):
            raise ValueError(f"slurm_config={str(config)!r}: its slurm entry is a {type(table).__name__}, not a table "
                             f"of options ([slurm] with KEY = VALUE lines)")
        raw.update(table)
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"slurm={item!r} is malformed: expected KEY=VALUE, e.g. partition=gpu or time=120")
        raw[key.strip()] = value.strip()
    unknown = sorted(k for k in raw if k not in OPTIONS)
    if unknown:
        raise ValueError(f"slurm option(s) {', '.join(unknown)} unknown: choose from {', '.join(OPTIONS)}")
    return {k: OPTIONS[k][1](k, v) for k, v in raw.items()}


def executor_parameters(options: dict[str, Any]) -> dict[str, Any]:
    """submitit AutoExecutor parameters for validated options (a 24-hour limit unless `time` is given)."""
    params = {OPTIONS[k][0]: v for k, v in options.items()}
    params.setdefault("timeout_min", DEFAULT_TIME_MIN)
    return params


@dataclass(frozen=True)
class Submission:
    """How a sweep's ensembles run: here, or as submitit jobs with these options, waiting for them or not."""

    executor: str = "local"
    slurm: dict = field(default_factory=dict)  # validated options (parse_options)
    wait: bool = True

    def check(self) -> None:
        """ValueError for a combination that cannot run here, before anything is submitted."""
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor={self.executor!r} is unknown: choose from {', '.join(EXECUTORS)}")
        if self.executor == "local" and (self.slurm or not self.wait):
            what = "--slurm options" if self.slurm else "--no-wait"
            raise ValueError(f"{what} apply only to --executor slurm or submitit-local (executor=local runs here "
                             "and waits)")
        if self.executor in SUBMITIT_EXECUTORS:
            try:
                import submitit  # noqa: F401
            except ImportError:
                raise ValueError(f"executor={self.executor!r} needs submitit: pip install '.[cluster]'") from None
        missing = [c for c in ("sbatch", "srun") if shutil.which(c) is None]
        if self.executor == "slurm" and missing:
            raise ValueError(f"executor='slurm' needs SLURM ({' and '.join(missing)} on PATH), and this machine has "
                             "none (use submitit-local to run the same jobs here)")

    def record(self) -> dict:
        return {"executor": self.executor, "slurm": dict(self.slurm), "wait": self.wait}


class Pending(Exception):
    """Raised by a sweep submitted without waiting while some of its ensembles are still queued or running."""

    def __init__(self, status: dict, sweeps: list[tuple[Path, "Pending"]] | None = None):
        self.status = status
        self.sweeps = sweeps  # set when one command waits on several sweeps (compare): (sweep directory, Pending)
        super().__init__(f"{len(status.get('running', []))} ensemble(s) still running or queued")


class JobTable:
    """jobs.json of a sweep directory: ensemble name -> {"job_id", "executor", "attempts", "submitted"}."""

    def __init__(self, sweep_dir: Path):
        self.path = Path(sweep_dir) / JOBS_FILE
        self.folder = Path(sweep_dir) / "submitit"
        self.jobs: dict[str, dict] = {}
        if self.path.is_file():
            data = rundir.read_json(self.path)
            ok = isinstance(data, dict) and all(
                isinstance(v, dict) and isinstance(v.get("job_id"), str) and JOB_ID.fullmatch(v["job_id"])
                and v.get("executor") in SUBMITIT_EXECUTORS and isinstance(v.get("attempts", 1), int)
                for v in data.values())
            if not ok:
                raise ValueError(f"{self.path} is malformed (edited by hand?): expected {{ensemble: {{job_id (a "
                                 f"positive job or process id), executor, attempts}}}}; remove it to submit afresh")
            self.jobs = data

    def alive(self, ensemble: str) -> bool:
        """Whether the job last submitted for `ensemble` may still run (never resubmit then)."""
        entry = self.jobs.get(ensemble)
        if entry is None:
            return False
        if entry["executor"] == "submitit-local":
            return _local_process_alive(entry["job_id"])
        import submitit

        return submitit.SlurmJob(self.folder, entry["job_id"]).state.split()[0] in ALIVE_SLURM_STATES

    def note_failures(self, ensembles: list[str]) -> None:
        """For each ensemble about to be resubmitted, the last line of its previous job's error log (why it ended
        unfinished: a device it cannot find, a time limit, an error), kept in jobs.json and shown."""
        for name in ensembles:
            entry = self.jobs.get(name)
            if entry is None:
                continue
            logs = sorted(self.folder.glob(f"{entry['job_id']}_*log.err"))
            text = logs[-1].read_text(errors="replace") if logs else ""
            entry["previous_failure"] = last_line(text) if text.strip() else "its job ended without an error log"

    def record(self, ensembles: list[str], jobs: list, executor: str) -> None:
        for name, job in zip(ensembles, jobs):
            old = self.jobs.get(name, {})
            self.jobs[name] = {"job_id": str(job.job_id), "executor": executor, "attempts": old.get("attempts", 0) + 1,
                               "submitted": time.strftime("%Y-%m-%dT%H:%M:%S"),
                               **({"previous_failure": old["previous_failure"]} if "previous_failure" in old else {})}
        rundir.write_json(self.path, self.jobs)

    def status(self, finished: list[str], running: list[str], submitted: list[str]) -> dict:
        def rows(names):
            return [{"ensemble": n, **{k: self.jobs[n][k] for k in ("job_id", "attempts", "previous_failure")
                                       if k in self.jobs[n]}} for n in names]

        return {"finished": len(finished), "running": rows(running), "submitted": rows(submitted),
                "resubmitted": [r for r in rows(submitted) if r["attempts"] > 1], "jobs_file": str(self.path)}


def last_line(text: str) -> str:
    """The last non-empty line of an error's text (a job's traceback ends with the error that killed it)."""
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


def _local_process_alive(job_id: str) -> bool:
    """A submitit-local job is its process: alive if it exists, is not a zombie, and still runs submitit (a pid
    reused by another program is not the job)."""
    try:
        pid = int(job_id)
        if pid <= 1:  # 0 and -1 would signal a process group or everything, and pid 1 is init: never a job
            return False
        os.kill(pid, 0)
    except (ValueError, ProcessLookupError, OverflowError):
        return False
    except PermissionError:
        return True
    proc = Path(f"/proc/{pid}")
    if proc.is_dir():
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z" or b"submitit" not in (proc / "cmdline").read_bytes():
                return False
        except (OSError, IndexError):
            return False
    return True
