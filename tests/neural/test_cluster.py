"""Sweeps on a cluster: SLURM options checked and written into the sbatch script, submission without waiting,
failed jobs resubmitted, and no ensemble submitted twice while its job is alive.

The SLURM path runs for real against stand-in `sbatch`/`srun`/`sacct` programs on PATH (sbatch keeps the script it
is given and answers a job id; sacct answers the states a test sets); the local path runs real jobs through
submitit's local executor.
"""
import gc
import json
import os
import signal
import stat
import time

import pytest
from typer.testing import CliRunner

from commands.neural import app
from neural.config import TrainConfig
from neural import protocol, cluster, runner

pytest.importorskip("submitit")
BASE = TrainConfig(p=17, frac=0.6, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=12, eval_points=6,
                   checkpoint_every=4, threads=1)
SPECS = [runner.Spec(BASE.with_(steps=steps), {"seed": s, "wd": 1.0, "lr": 1e-3, "subset": 20}, {"d_prime": 20})
         for s in (0, 1) for steps in (12, 10)]  # two ensembles (one per step cap), two members each
OPTIONS = ["partition=gpu", "time=120", "gpus_per_node=1", "cpus_per_task=4", "mem_gb=16", "account=lab",
           "qos=high", "array_parallelism=2", "constraint=a100"]
cli = CliRunner()


@pytest.fixture
def fake_slurm(tmp_path, monkeypatch):
    """sbatch, srun and sacct stand-ins on PATH; returns (folder of kept scripts, function setting sacct's answer)."""
    bin_dir, kept = tmp_path / "bin", tmp_path / "scripts"
    bin_dir.mkdir()
    kept.mkdir()
    states = tmp_path / "sacct.txt"
    states.write_text("")
    scripts = {
        "sbatch": f'#!/bin/sh\nn=$(ls {kept} | wc -l)\ncp "$1" {kept}/$n.sh\n'
                  'echo "Submitted batch job $((4242 + n))"\n',
        "srun": "#!/bin/sh\nexit 0\n",
        "sacct": f"#!/bin/sh\ncat {states}\n",
    }
    for name, text in scripts.items():
        (bin_dir / name).write_text(text)
        (bin_dir / name).chmod((bin_dir / name).stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")

    def set_states(rows: dict[str, str]) -> None:
        states.write_text("JobID|State|NodeList\n" + "".join(f"{j}|{s}|node1\n" for j, s in rows.items()))

    return kept, set_states


def test_options_are_checked_and_named():
    opts = cluster.parse_options(OPTIONS)
    assert opts["time"] == 120 and opts["mem_gb"] == 16.0 and opts["partition"] == "gpu"
    params = cluster.executor_parameters(opts)
    assert params["timeout_min"] == 120 and params["slurm_partition"] == "gpu"
    assert params["slurm_array_parallelism"] == 2
    assert cluster.executor_parameters({})["timeout_min"] == cluster.DEFAULT_TIME_MIN


@pytest.mark.parametrize("item,words", [
    ("nonsense=1", "nonsense unknown"), ("time=0", "time='0'"), ("time=two", "integer >= 1"),
    ("gpus_per_node=-1", "integer >= 0"), ("mem_gb=0", "number > 0"), ("partition=a b", "without spaces"),
    ("partition", "malformed"),
])
def test_bad_options_are_refused(item, words):
    with pytest.raises(ValueError, match=words):
        cluster.parse_options([item])


def test_toml_config_with_items_winning(tmp_path):
    (tmp_path / "c.toml").write_text('[slurm]\npartition = "cpu"\ntime = 30\n')
    assert cluster.parse_options(["time=60"], tmp_path / "c.toml") == {"partition": "cpu", "time": 60}
    (tmp_path / "bad.toml").write_text("partition = \n")
    with pytest.raises(ValueError, match="not valid TOML"):
        cluster.parse_options([], tmp_path / "bad.toml")


def test_slurm_script_lines_and_no_double_submission(tmp_path, fake_slurm):
    kept, set_states = fake_slurm
    opts = cluster.parse_options(OPTIONS)
    with pytest.raises(cluster.Pending) as first:
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm=opts, wait=False, progress=False)
    submitted = first.value.status["submitted"]
    assert [r["job_id"] for r in submitted] == ["4242_0", "4242_1"] and first.value.status["running"] == []
    lines = set((kept / "0.sh").read_text().splitlines())
    for line in ("#SBATCH --partition=gpu", "#SBATCH --time=120", "#SBATCH --gpus-per-node=1",
                 "#SBATCH --cpus-per-task=4", "#SBATCH --mem=16GB", "#SBATCH --account=lab", "#SBATCH --qos=high",
                 "#SBATCH --constraint=a100", "#SBATCH --array=0-1%2"):
        assert line in lines, line
    recorded = json.loads((tmp_path / "sweep" / "jobs.json").read_text())
    assert sorted(e["job_id"] for e in recorded.values()) == ["4242_0", "4242_1"]

    set_states({"4242_0": "RUNNING", "4242_1": "PENDING"})  # alive: nothing is submitted again
    with pytest.raises(cluster.Pending) as second:
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm=opts, wait=False, progress=False)
    assert second.value.status["submitted"] == [] and len(second.value.status["running"]) == 2
    assert len(list(kept.iterdir())) == 1

    set_states({"4242_0": "FAILED", "4242_1": "RUNNING"})  # the failed one alone is resubmitted
    with pytest.raises(cluster.Pending) as third:
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm=opts, wait=False, progress=False)
    st = third.value.status
    assert [r["attempts"] for r in st["resubmitted"]] == [2] and [r["job_id"] for r in st["running"]] == ["4242_1"]
    assert len(list(kept.iterdir())) == 2 and "#SBATCH --partition=gpu" in (kept / "1.sh").read_text()


def _wait_until(condition, seconds=120.0):
    end = time.time() + seconds
    while not condition():
        assert time.time() < end, "timed out"
        time.sleep(0.2)


# --no-wait drops submitit's handles on running local jobs by design: Python then notes the running subprocesses
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
def test_no_wait_local_jobs_interrupted_and_rerun_give_the_in_process_table(tmp_path):
    here = runner.run(SPECS, tmp_path / "here", progress=False)
    sweep = tmp_path / "there"
    with pytest.raises(cluster.Pending) as first:
        runner.run(SPECS, sweep, executor="submitit-local", wait=False, progress=False)
    assert len(first.value.status["submitted"]) == 2
    jobs = json.loads((sweep / "jobs.json").read_text())
    victim = sorted(jobs)[0]
    os.kill(int(jobs[victim]["job_id"]), signal.SIGKILL)  # interrupted: one job dies before it finishes
    _wait_until(lambda: not cluster._local_process_alive(jobs[victim]["job_id"]))
    with pytest.raises(cluster.Pending) as second:
        runner.run(SPECS, sweep, executor="submitit-local", wait=False, progress=False)
    st = second.value.status
    assert [r["ensemble"] for r in st["submitted"]] == [victim]  # only the dead one goes again
    assert all(r["ensemble"] != victim for r in st["running"])
    there = runner.run(SPECS, sweep, executor="submitit-local", progress=False)  # waits, then collects
    assert there == here
    final = json.loads((sweep / "jobs.json").read_text())
    attempts = {k: v["attempts"] for k, v in final.items()}
    assert attempts[victim] == 2 and all(a == 1 for k, a in attempts.items() if k != victim)  # none ran twice
    ids = [e["job_id"] for e in [*jobs.values(), *final.values()]]
    _wait_until(lambda: not any(cluster._local_process_alive(i) for i in ids))  # let the jobs' processes end here
    del first, second  # their tracebacks hold submitit's process handles: release them inside this test
    gc.collect()


@pytest.mark.parametrize("args,words", [
    (["--slurm", "nonsense=1", "--executor", "submitit-local"], "nonsense unknown"),
    (["--slurm", "time=abc", "--executor", "submitit-local"], "time='abc'"),
    (["--executor", "slurm"], "needs SLURM"),
    (["--no-wait"], "apply only to --executor slurm or submitit-local"),
    (["--slurm", "time=5"], "apply only to --executor slurm or submitit-local"),
    (["--slurm-config", "/nonexistent.toml", "--executor", "submitit-local"], "cannot be read"),
])
@pytest.mark.parametrize("command", ["ungrok", "efficiency", "compare", "semigrok"])
def test_sweep_commands_refuse_bad_cluster_options_before_anything_runs(command, args, words, tmp_path):
    r = cli.invoke(app, [command, "--preset", "demo", "--out", str(tmp_path / "s"), *args])
    assert r.exit_code == 2, r.output
    assert words in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()


def test_a_sweeps_summary_records_its_cluster_options(tmp_path):
    """The options (and executor) reach the experiment's summary.json: efficiency's tiny sweep through submitit."""
    from neural.experiments import efficiency

    tiny = TrainConfig(p=17, frac=None, train_size=100, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=30,
                       eval_points=6, checkpoint_every=30, threads=1)
    pre = efficiency.Preset(tiny, mem_sizes=(40, 80), gen_fracs=(0.5, 0.7), wds=(1.0,), seeds=(0,), mem_cap=30,
                            gen_cap=30)
    opts = cluster.parse_options(["time=5", "cpus_per_task=1"])
    summary = protocol.run_preset(efficiency.EXPERIMENT, pre, tmp_path, progress=False, executor="submitit-local",
                                  slurm=opts)
    assert summary["cluster"] == {"executor": "submitit-local", "slurm": {"time": 5, "cpus_per_task": 1}, "wait": True}
    assert json.loads((tmp_path / "summary.json").read_text())["cluster"]["slurm"] == {"time": 5, "cpus_per_task": 1}


def test_semigrok_through_submitit_gives_the_in_process_classes_and_extends(tmp_path):
    """semigrok's per-size ensembles (its own D<size> layout) run as jobs like any sweep's; a larger step cap
    sends the finished ensembles again, to be extended."""
    from neural.experiments import semigrok

    tiny = TrainConfig(p=17, frac=None, train_size=60, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=20,
                       wds=(3.0,), seeds=(0, 1), eval_every=5, eval_points=6, checkpoint_every=20, threads=1)
    pre = semigrok.Preset(tiny, sizes=(40, 60))
    here = protocol.run_preset(semigrok.EXPERIMENT, pre, tmp_path / "here", progress=False)
    there = protocol.run_preset(semigrok.EXPERIMENT, pre, tmp_path / "there", progress=False, executor="submitit-local",
                         slurm=cluster.parse_options(["time=5"]))
    assert (tmp_path / "here" / "classes.csv").read_text() == (tmp_path / "there" / "classes.csv").read_text()
    assert here["by_size"] == there["by_size"] and there["cluster"]["slurm"] == {"time": 5}
    longer = semigrok.Preset(tiny.with_(steps=30), sizes=(40, 60))
    protocol.run_preset(semigrok.EXPERIMENT, longer, tmp_path / "there", progress=False, executor="submitit-local")
    jobs = json.loads((tmp_path / "there" / "jobs.json").read_text())
    assert sorted(jobs) == ["D40", "D60"] and all(j["attempts"] == 2 for j in jobs.values())
    assert all(json.loads((tmp_path / "there" / d / "summary.json").read_text())["steps_run"] == 30
               for d in ("D40", "D60"))


@pytest.mark.parametrize("job_id", ["0", "-1", "12x", "", "007"])
def test_a_tampered_job_table_is_refused_not_polled_forever(tmp_path, job_id):
    (tmp_path / "jobs.json").write_text(json.dumps({"e": {"job_id": job_id, "executor": "submitit-local",
                                                          "attempts": 1}}))
    with pytest.raises(ValueError, match="jobs.json is malformed"):
        cluster.JobTable(tmp_path)


@pytest.mark.parametrize("job_id", ["0", "-1", "1"])
def test_no_process_group_or_init_counts_as_a_local_job(job_id):
    assert not cluster._local_process_alive(job_id)  # 0 and -1 would signal a group or everything; 1 is init


def test_a_slurm_config_that_is_not_a_table_or_not_text_is_named(tmp_path):
    bad = tmp_path / "a.toml"
    bad.write_text("slurm = 5\n")
    with pytest.raises(ValueError, match="slurm entry is a int, not a table"):
        cluster.parse_options([], bad)
    bad.write_bytes(b"\xff\xfe\x00partition")
    with pytest.raises(ValueError, match="is not text"):
        cluster.parse_options([], bad)


def test_a_refused_submission_and_a_resubmission_say_why(tmp_path, fake_slurm, monkeypatch):
    """sbatch failing is one line naming the executor; a job that ended unfinished is resubmitted with the last
    line of its error log shown."""
    kept, set_states = fake_slurm
    (tmp_path / "bin" / "sbatch").write_text("#!/bin/sh\necho 'sbatch: error: invalid partition specified' >&2\n"
                                              "exit 1\n")
    with pytest.raises(ValueError, match="executor='slurm': submitting 2 job.*invalid partition"):
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm={}, wait=False, progress=False)
    (tmp_path / "bin" / "sbatch").write_text(f'#!/bin/sh\nn=$(ls {kept} | wc -l)\ncp "$1" {kept}/$n.sh\n'
                                              'echo "Submitted batch job $((4242 + n))"\n')
    with pytest.raises(cluster.Pending):
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm={}, wait=False, progress=False)
    folder = tmp_path / "sweep" / "submitit"
    (folder / "4242_0_0_log.err").write_text("Traceback ...\nValueError: device='cuda' is not available\n")
    set_states({"4242_0": "FAILED", "4242_1": "RUNNING"})
    with pytest.raises(cluster.Pending) as again:
        runner.run(SPECS, tmp_path / "sweep", executor="slurm", slurm={}, wait=False, progress=False)
    (resubmitted,) = again.value.status["resubmitted"]
    assert resubmitted["previous_failure"] == "ValueError: device='cuda' is not available"


def test_export_never_replaces_a_sweeps_job_table(tmp_path):
    from neural import train

    (tmp_path / "sweep").mkdir()  # a sweep whose jobs were submitted: its jobs.json is all it holds yet
    (tmp_path / "sweep" / "jobs.json").write_text(json.dumps({"e": {"job_id": "4242_0", "executor": "slurm",
                                                                    "attempts": 1}}))
    jobs = (tmp_path / "sweep" / "jobs.json").read_bytes()
    train.train(BASE, tmp_path / "run", progress=False)
    r = cli.invoke(app, ["export", str(tmp_path / "run"), "--to", "transformer-lens", "--overwrite", "--out",
                         str(tmp_path / "sweep" / "jobs.json")])
    assert r.exit_code == 2 and "own jobs.json" in r.output
    assert (tmp_path / "sweep" / "jobs.json").read_bytes() == jobs
