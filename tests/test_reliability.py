"""Run directories under faults: crafted checkpoints, two writers, kills during every kind of write, threads."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import rundir
from neural import checkpoint, runner, train
from neural.config import TrainConfig
from rundir import cores

ROOT = Path(__file__).resolve().parents[1]
TINY = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=30, eval_points=10,
                   checkpoint_every=10, seeds=(0, 1), threads=1)
TINY_ARGS = ["train", "--p", "11", "--frac", "0.5", "--steps", "30", "--seeds", "0,1", "--threads", "1",
             "--checkpoint-every", "10"]


def cli(module: str, args: list[str], env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    """A toolkit command line in a fresh process (as a user runs it), from the repository root."""
    return subprocess.run([sys.executable, "-m", f"commands.{module}", *map(str, args)], cwd=ROOT,
                          capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, **kw)


class Payload:
    """What an attacker pickles: unpickling it runs `touch MARKER`."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _crafted(path: Path, marker: Path, like: dict) -> None:
    torch.save({**like, "extra": Payload(marker)}, path)


def test_crafted_pickle_runs_no_code_in_any_command_that_reads_a_checkpoint(tmp_path):
    marker = tmp_path / "pwned"
    run = tmp_path / "run"
    make = ["train", "--p", "11", "--frac", "0.5", "--steps", "5", "--threads", "1", "--out", run]
    assert cli("neural", make).returncode == 0
    _crafted(tmp_path / "crafted.pth", marker, {"model": {"embed.W_E": torch.zeros(8, 13)}})
    _crafted(run / "checkpoint.pt", marker, torch.load(run / "checkpoint.pt", weights_only=True))
    (run / "summary.json").unlink()  # so that `train` resumes from the crafted checkpoint
    commands = {"analyze a file": ["analyze", tmp_path / "crafted.pth"], "analyze a run": ["analyze", run],
                "train resumes": make}
    for name, args in commands.items():
        r = cli("neural", args)
        assert r.returncode == 2, (name, r.stderr)
        assert "refused" in r.stderr and "could run code" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not marker.exists(), "a crafted checkpoint ran code"
    torch.load(tmp_path / "crafted.pth", weights_only=False)  # plain unpickling does run it: the test can fail
    assert marker.exists()


def test_second_writer_is_refused_and_the_first_finishes(tmp_path):
    out = tmp_path / "run"
    args = ["train", "--p", "23", "--frac", "0.5", "--steps", "1500", "--threads", "1", "--out", out]
    with open(tmp_path / "first.log", "w") as log, subprocess.Popen(
            [sys.executable, "-m", "commands.neural", *map(str, args)], cwd=ROOT, stdout=log, stderr=log) as first:
        try:
            while not (out / "config.json").exists():  # wait until the first process holds the directory
                assert first.poll() is None, (tmp_path / "first.log").read_text()
                time.sleep(0.05)
            second = cli("neural", ["train", "--p", "23", "--frac", "0.5", "--steps", "100", "--seeds", "5",
                                    "--threads", "1", "--out", out])
            assert first.poll() is None, "the first run ended too early for the test to mean anything"
            assert second.returncode == 2
            assert "being written by another process" in second.stderr and f"pid {first.pid}" in second.stderr
            assert first.wait(timeout=300) == 0, (tmp_path / "first.log").read_text()
        finally:
            if first.poll() is None:
                first.kill()
    config = rundir.read_json(out / "config.json")["config"]
    assert config["seeds"] == [0] and rundir.read_json(out / "summary.json")["members"][0]["seed"] == 0


def test_run_dir_lock_is_exclusive_and_released_by_the_kernel(tmp_path):
    d = rundir.RunDir.open(tmp_path / "r", {"a": 1})
    with pytest.raises(ValueError, match="another process"):
        rundir.RunDir.open(tmp_path / "r", {"a": 1})
    d.release()
    rundir.RunDir.open(tmp_path / "r", {"a": 1}).release()


def _members(summary: dict) -> list:
    return summary["members"]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """The uninterrupted run of TINY_ARGS."""
    out = tmp_path_factory.mktemp("straight") / "run"
    assert cli("neural", [*TINY_ARGS, "--out", out]).returncode == 0
    return out


@pytest.mark.parametrize("kill_at", ["checkpoint.pt:1", "metrics.csv:1", "checkpoint.pt:3", "metrics.csv:3",
                                     "summary.json", "config.json"])
def test_kill_during_a_write_then_the_same_command_finishes_the_same_run(tmp_path, kill_at, straight):
    """SIGKILL while a file is on disk under its temporary name (checkpoint, metrics, summary, config; the 3rd
    checkpoint is the final one); the same command then ends in the run an uninterrupted command makes: the same
    metrics bytes, weights and summary."""
    cut = tmp_path / "cut"
    killed = cli("neural", [*TINY_ARGS, "--out", cut], env={rundir.KILL_AT_ENV: kill_at})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    again = cli("neural", [*TINY_ARGS, "--out", cut, "--json"])
    assert again.returncode == 0, again.stderr
    assert not list(cut.glob(f".*{rundir.TMP_SUFFIX}")), "temporaries left behind"
    assert (cut / "metrics.csv").read_bytes() == (straight / "metrics.csv").read_bytes()
    a, b = (checkpoint.load(d / "checkpoint.pt") for d in (straight, cut))
    assert all(torch.equal(a["params"][k], b["params"][k]) for k in a["params"])
    assert _members(rundir.read_json(cut / "summary.json")) == _members(rundir.read_json(straight / "summary.json"))
    assert json.loads(again.stdout)["members"] == _members(rundir.read_json(straight / "summary.json"))


def test_kill_during_a_figure_write_keeps_the_old_figure_and_leaves_nothing(tmp_path):
    run = tmp_path / "run"
    train.train(TINY.with_(steps=5), run, progress=False)
    fig = tmp_path / "figs" / "p.png"
    assert cli("figures", ["progress", run, "--out", fig]).returncode == 0
    before = fig.read_bytes()
    killed = cli("figures", ["progress", run, "--member", "1", "--out", fig], env={rundir.KILL_AT_ENV: "p.png"})
    assert killed.returncode == -signal.SIGKILL
    assert fig.read_bytes() == before  # the old figure, whole
    assert cli("figures", ["progress", run, "--member", "1", "--out", fig]).returncode == 0
    assert fig.read_bytes() != before and [p.name for p in fig.parent.iterdir()] == ["p.png"]


def test_kill_during_a_toy_run_write_then_the_same_command_finishes(tmp_path):
    args = ["run", "--preset", "fig2a", "--steps", "500", "--json"]
    assert cli("simulate", [*args, "--out", tmp_path / "a"]).returncode == 0
    for kill_at in ("metrics.csv", "summary.json"):
        out = tmp_path / kill_at
        assert cli("simulate", [*args, "--out", out], env={rundir.KILL_AT_ENV: kill_at}).returncode == -signal.SIGKILL
        assert cli("simulate", [*args, "--out", out]).returncode == 0
        assert (out / "metrics.csv").read_bytes() == (tmp_path / "a" / "metrics.csv").read_bytes()
        assert not list(out.glob(f".*{rundir.TMP_SUFFIX}"))


def test_refused_command_leaves_no_directory(tmp_path):
    with pytest.raises(ValueError, match="lr"):
        from simulate import run as sim_run
        from simulate.config import ToyConfig

        sim_run.run(ToyConfig(lr=100, steps=2000), tmp_path / "diverges", progress=False)
    assert not (tmp_path / "diverges").exists()


@pytest.mark.skipif(cores.available() < 2, reason="needs 2 cores")
def test_thread_count_is_part_of_the_run(tmp_path):
    cfg = TINY.with_(threads=None)
    assert train.train(cfg, tmp_path / "r", progress=False, stop_after=10).stopped_at == 10
    recorded = rundir.read_json(tmp_path / "r" / "config.json")["config"]["threads"]
    assert recorded == cores.available()
    with pytest.raises(ValueError, match="threads: recorded"):
        train.train(cfg.with_(threads=1), tmp_path / "r", progress=False)
    resumed = train.train(cfg, tmp_path / "r", progress=False)  # no thread count given: the recorded one
    straight = train.train(cfg.with_(threads=recorded), None, progress=False)
    assert all(torch.equal(resumed.params[k], straight.params[k]) for k in straight.params)


def test_files_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        rundir.write_json(tmp_path / "x.json", {"a": 1})
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644


def test_core_lease_waits_instead_of_overcommitting(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    n = cores.available()
    waited = []
    with cores.lease(n):
        child = subprocess.run([sys.executable, "-c", "from rundir import cores\n"
                                "import sys\n"
                                "try:\n"
                                "    import signal; signal.alarm(2)\n"
                                "    with cores.lease(1, on_wait=lambda b: print('waiting', flush=1)): print('got')\n"
                                "except BaseException as e: sys.exit(3)"],
                               cwd=ROOT, capture_output=True, text=True, env={**os.environ,
                                                                              "XDG_RUNTIME_DIR": str(tmp_path)})
        waited.append(child)
    assert "waiting" in waited[0].stdout and "got" not in waited[0].stdout  # all cores held: it waited
    with cores.lease(1):
        pass
    with pytest.raises(ValueError, match="threads"):
        with cores.lease(n + 1):
            pass


def test_a_run_behind_held_cores_waits_at_most_the_bound_and_says_so(tmp_path, monkeypatch):
    """All cores held by this process: a training command in another waits GROK_CORES_WAIT seconds, then trains
    without a lease, and prints the wait apart from the training time; with GROK_CORES=off it does not wait."""
    env = {"XDG_RUNTIME_DIR": str(tmp_path), "GROK_CORES_WAIT": "1.5"}
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    args = TINY_ARGS[:-2] + ["--threads", "1"]
    with cores.lease(cores.available()) as got:
        assert got.held and got.waited == 0
        bounded = cli("neural", args + ["--out", tmp_path / "a"], env=env)
        off = cli("neural", args + ["--out", tmp_path / "b"], env={**env, "GROK_CORES": "off",
                                                                        "GROK_CORES_WAIT": "600"})
    assert bounded.returncode == 0, bounded.stderr
    assert "waiting up to 1.5 s" in bounded.stderr and "without a lease" in bounded.stderr
    waited = rundir.read_json(tmp_path / "a" / "summary.json")["core_wait_seconds_this_session"]
    assert 1.5 <= waited < 30
    assert "waiting for CPU cores" in bounded.stdout
    assert off.returncode == 0 and "waiting" not in off.stderr
    assert rundir.read_json(tmp_path / "b" / "summary.json")["core_wait_seconds_this_session"] == 0


def test_a_malformed_wait_bound_is_refused_naming_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GROK_CORES_WAIT", "soon")
    with pytest.raises(ValueError, match="GROK_CORES_WAIT='soon'"):
        with cores.lease(1):
            pass


def test_tables_keep_names_that_look_like_numbers(tmp_path):
    """An ensemble's digest can be all digits ('012345678901') or read as a float ('1234e5678901'): it stays a
    name, so its directory is found (a float would drop the leading zero, or be inf)."""
    path = tmp_path / "results.csv"
    rundir.write_csv(path, ["ensemble", "member", "test/acc"], [["012345678901", 0, 0.5], ["1234e5678901", 1, None]])
    rows = rundir.read_rows(path, text=runner.TEXT_COLUMNS)
    assert [r["ensemble"] for r in rows] == ["012345678901", "1234e5678901"]
    assert rows[0]["member"] == 0.0 and rows[1]["test/acc"] is None


WITHOUT_FCNTL = """
import fcntl as real, subprocess, sys, types  # subprocess first: it takes a module named msvcrt to mean Windows
fake = types.ModuleType("msvcrt")  # Windows' interface, served here by flock
fake.LK_NBLCK = 2
def locking(fd, mode, n):
    try:
        real.flock(fd, real.LOCK_EX | real.LOCK_NB)
    except BlockingIOError:
        raise OSError(36, "Resource deadlock avoided")
fake.locking = locking
sys.modules["msvcrt"] = fake
sys.modules["fcntl"] = None  # `import fcntl` now fails, as on Windows
import rundir, theory, neural
from rundir import cores, locks
assert locks.fcntl is None
with rundir.RunDir.open(sys.argv[1], {"a": 1}):
    try:
        rundir.RunDir.open(sys.argv[1], {"a": 1})
    except ValueError as e:
        print("refused:", e)
with cores.lease(1) as got:
    print("lease held:", got.held)
"""


def test_the_toolkit_imports_and_locks_without_fcntl(tmp_path):
    """Where fcntl does not exist (Windows), rundir, theory and neural import and lock through msvcrt's
    interface: a second owner of a run directory is refused naming the first's pid, a core lease is held."""
    done = subprocess.run([sys.executable, "-c", WITHOUT_FCNTL, str(tmp_path / "d")], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "XDG_RUNTIME_DIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is being written by another process (pid" in done.stdout and "lease held: True" in done.stdout


@pytest.mark.parametrize("errno_, words", [(28, "No space left on device"), (30, "Read-only file system")])
def test_a_file_system_that_refuses_is_one_line_and_leaves_nothing(tmp_path, monkeypatch, errno_, words):
    """A full disk or a read-only file system at a run's first write: one line naming the file and why, exit 2,
    and no directory left behind holding only its lock."""
    from typer.testing import CliRunner

    from commands.neural import app

    def refuse(*a, **k):
        raise OSError(errno_, os.strerror(errno_))

    monkeypatch.setattr(rundir.files.tempfile, "mkstemp", refuse)
    out = tmp_path / "run"
    r = CliRunner().invoke(app, [*TINY_ARGS, "--out", str(out)])
    assert r.exit_code == 2 and r.output.startswith("error: ") and "config.json' cannot be written" in r.output
    assert words in r.output and "Traceback" not in r.output
    assert not out.exists()


def test_a_table_that_cannot_be_appended_names_itself(tmp_path, monkeypatch):
    path = tmp_path / "metrics.csv"
    rundir.append_csv(path, ["a"], [[1]], at=0)
    monkeypatch.setattr(rundir.files.os, "fsync", lambda fd: (_ for _ in ()).throw(OSError(28, "No space left")))
    with pytest.raises(ValueError, match="metrics.csv' cannot be written: No space left"):
        rundir.append_csv(path, ["a"], [[2]], at=path.stat().st_size)


def test_outputs_are_checked_before_any_work(tmp_path, monkeypatch):
    """demo refuses a --record it could not write before running anything; a sweep refused by the memory
    estimate, and an empty --out, leave nothing behind."""
    from typer.testing import CliRunner

    from commands.neural import app

    monkeypatch.chdir(tmp_path)
    r = CliRunner().invoke(app, ["demo", "--record", str(tmp_path)])
    assert r.exit_code == 2 and "record=" in r.output and "is a directory" in r.output
    assert list(tmp_path.iterdir()) == []  # no runs/ made: nothing ran
    r = CliRunner().invoke(app, ["scaling", "--preset", "demo", "--p", "10007", "--out", "deep/sx"])
    assert r.exit_code == 2 and "estimated peak memory" in r.output
    r = CliRunner().invoke(app, [*TINY_ARGS, "--out", ""])
    assert r.exit_code == 2 and "working directory" in r.output
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("edit, words", [
    (lambda d: (d / "config.json").write_text("[1, 2]"), "holds a JSON list, not an object"),
    (lambda d: (d / "config.json").write_text('{"config": null}'), "has a malformed (NoneType) 'config'"),
])
def test_a_hand_edited_run_record_is_one_line(tmp_path, edit, words):
    from typer.testing import CliRunner

    from commands.neural import app

    out = tmp_path / "run"
    assert CliRunner().invoke(app, [*TINY_ARGS, "--out", str(out)]).exit_code == 0
    edit(out)
    r = CliRunner().invoke(app, [*TINY_ARGS, "--out", str(out)])
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, r.output


@pytest.mark.parametrize("where, edit, words", [
    ("config.json", lambda rec: rec["config"].update(seeds=None), "is not an ensemble's configuration"),
    ("config.json", lambda rec: rec["config"].update(frac="half"), "value of the wrong type"),
    ("config.json", lambda rec: rec["config"].update(member_specs=[[1, 2]]), "ensemble's configuration"),
    ("summary.json", lambda rec: rec.update(members=[]), "does not hold every member's final metrics"),
    ("summary.json", lambda rec: rec.update(members={"0": 1}), r"has a malformed \(dict\) 'members'"),
])
def test_a_hand_edited_ensemble_is_named_by_the_sweep(tmp_path, where, edit, words):
    """An ensemble's config.json or summary.json with a wrong-typed value: the sweep that reads it says which
    file, in one line, instead of failing deep in the collector."""
    import json

    specs = [runner.Spec(TINY.with_(steps=10), {"seed": 0, "wd": 1.0, "lr": 1e-3})]
    runner.run(specs, tmp_path / "s", progress=False)
    (ens,) = (tmp_path / "s" / "ensembles").iterdir()
    record = json.loads((ens / where).read_text())
    edit(record)
    (ens / where).write_text(json.dumps(record))
    with pytest.raises(ValueError, match=words):
        runner.run(specs, tmp_path / "s", progress=False)
