"""Results on disk, attacked: corrupt, foreign, moved, concurrent and tampered.

One set of tiny finished experiments (train, ungrok, efficiency, semigrok, compare, an export) is made once; each
case copies it, changes something, runs a command as a user would, and asserts either one line on stderr
starting "error:" with exit code 2, or a correct result; and, byte for byte, that nothing already on disk
changed (lock files aside: a refused command may take a directory's lock and note its pid there).
"""
import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

import rundir
from commands.figures import app as figures_app
from commands.neural import build_app
from neural import config as cfgmod
from neural.config import TrainConfig
from neural.experiments import compare, efficiency, semigrok, ungrok


def neural_app():
    """grok-neural built now: its --preset choices include the tiny presets a fixture patched in."""
    return build_app()

runner = CliRunner()
TINY = TrainConfig(p=17, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, lrs=(3e-3,), eval_points=6, threads=1)


@pytest.fixture(scope="module")
def tiny_presets():
    """A "tiny" preset for every experiment, reachable from the command line; parents count as generalised."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(cfgmod.PRESETS, "tiny", TINY.with_(steps=20))
        mp.setitem(ungrok.PRESETS, "tiny", ungrok.Preset(TINY, parent_steps=20, parent_wd=1.0, child_windows=0.06,
                                                         wds=(1.0,), seeds=(0,), d_prime_fracs=(0.2, 0.4)))
        mp.setitem(efficiency.PRESETS, "tiny", efficiency.Preset(TINY, mem_sizes=(40, 80), gen_fracs=(0.5, 0.7),
                                                                 wds=(1.0,), seeds=(0,), mem_cap=20, gen_cap=20))
        mp.setitem(semigrok.PRESETS, "tiny", semigrok.Preset(TINY.with_(frac=None, train_size=60, wds=(3.0,),
                                                                        seeds=(0, 1), steps=20, eval_every=5),
                                                             sizes=(60,)))
        mp.setitem(compare.Compare.presets, "tiny", "tiny")
        mp.setattr(ungrok, "GENERALISED", 0.0)
        yield


def cli(app, args, cwd: Path):
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(app, [str(a) for a in args])
    finally:
        os.chdir(old)


@pytest.fixture(scope="module")
def template(tiny_presets, tmp_path_factory):
    root = tmp_path_factory.mktemp("template")
    for args in (["train", "--preset", "tiny", "--out", "train"],
                 ["ungrok", "--preset", "tiny", "--out", "ungrok"],
                 ["efficiency", "--preset", "tiny", "--out", "eff"],
                 ["semigrok", "--preset", "tiny", "--out", "semi"],
                 ["compare", "--preset", "tiny", "--ungrok", "ungrok", "--efficiency", "eff", "--out", "compare"],
                 ["export", "train", "--to", "transformer-lens", "--out", "export.pt"]):
        r = cli(neural_app(), args, root)
        assert r.exit_code == 0, (args, r.output)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".lock"}


# ----------------------------------------------------------------------------------------------- mutations
def summary_is(text):
    return lambda d, table: (d / "summary.json").write_text(text)


def summary_without_key(d, table):
    s = json.loads((d / "summary.json").read_text())
    key = {"ungrok": "tasks", "eff": "kinds", "semi": "by_size", "compare": "prediction"}[d.name]
    del s[key]
    (d / "summary.json").write_text(json.dumps(s))


def table_truncated(d, table):
    text = (d / table).read_text()
    (d / table).write_text(text[:text.rstrip("\n").rfind(",")])  # the last row loses its last cells


def table_without_column(d, table):
    lines = (d / table).read_text().splitlines()
    column = {"ungrok": "test/acc", "eff": "norm", "semi": "class", "compare": "d_prime"}[d.name]
    k = lines[0].split(",").index(column)
    (d / table).write_text("\n".join(",".join(c for j, c in enumerate(line.split(",")) if j != k)
                                     for line in lines) + "\n")


def deleted(name):
    return lambda d, table: (d / (table if name == "table" else name)).unlink()


CORRUPTIONS = {"summary-object-empty": summary_is("{}"), "summary-list": summary_is("[]"),
               "summary-not-json": summary_is("{"), "summary-missing-key": summary_without_key,
               "table-truncated": table_truncated, "table-missing-column": table_without_column,
               "table-deleted": deleted("table"), "summary-deleted": deleted("summary.json")}
FIGURES = {"ungrok": ("ungrok", "results.csv"), "eff": ("efficiency", "members.csv"),
           "semi": ("semigrok", "classes.csv"), "compare": ("compare", "compare.csv")}


@pytest.fixture
def work(template, tmp_path):
    w = tmp_path / "w"
    shutil.copytree(template, w)
    return w


def refused(r, *needles):
    lines = r.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("error")]
    assert r.exit_code == 2 and len(errors) == 1 and lines[-1] == errors[0], (r.exit_code, r.output)
    assert "Traceback" not in r.output
    for n in needles:
        assert n in errors[0], (n, errors[0])


# ----------------------------------------------------------------------------------------------- corrupt
@pytest.mark.parametrize("target", FIGURES)
@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_a_figure_of_corrupt_results_is_one_line(work, target, corruption):
    command, table = FIGURES[target]
    CORRUPTIONS[corruption](work / target, table)
    before = snapshot(work)
    r = cli(figures_app, [command, target], work)
    refused(r)
    assert target in r.stderr
    assert snapshot(work) == before


@pytest.mark.parametrize("target", FIGURES)
def test_the_report_skips_corrupt_results_and_names_them(work, target, tmp_path):
    CORRUPTIONS["summary-object-empty"](work / target, FIGURES[target][1])
    before = snapshot(work)
    r = cli(figures_app, ["report", work, "--out", tmp_path / "report" / "index.html"], work)
    assert r.exit_code == 0 and "Traceback" not in r.output, r.output
    assert f"skipped (unreadable): {work / target}" in r.stderr
    assert snapshot(work) == before


@pytest.mark.parametrize("target,corruption", [("ungrok", "summary-object-empty"), ("ungrok", "table-truncated"),
                                               ("eff", "summary-missing-key"), ("ungrok", "table-missing-column")])
def test_compare_refuses_corrupt_sweeps(work, target, corruption):
    CORRUPTIONS[corruption](work / target, FIGURES[target][1])
    before = snapshot(work)
    r = cli(neural_app(), ["compare", "--preset", "tiny", "--ungrok", "ungrok", "--efficiency", "eff", "--out", "c2"],
            work)
    refused(r, target)
    assert snapshot(work) == before and not (work / "c2").exists()


# ----------------------------------------------------------------------------------------------- foreign
FOREIGN = {
    "ungrok-other-wd": (["ungrok", "--preset", "tiny", "--out", "ungrok", "--wd", "3"], ("wds",)),
    "ungrok-other-seeds": (["ungrok", "--preset", "tiny", "--out", "ungrok", "--seeds", "1"], ("seeds",)),
    "ungrok-other-cap": (["ungrok", "--preset", "tiny", "--out", "ungrok", "--windows", "0.09"], ("child_windows",)),
    "efficiency-other-steps": (["efficiency", "--preset", "tiny", "--out", "eff", "--steps", "30"], ("mem_cap",)),
    "ungrok-into-train-run": (["ungrok", "--preset", "tiny", "--out", "train"], ("training run",)),
    "semigrok-into-ungrok": (["semigrok", "--preset", "tiny", "--out", "ungrok"], ("ungrok results",)),
    "efficiency-into-semigrok": (["efficiency", "--preset", "tiny", "--out", "semi"], ("semigrok results",)),
    "ungrok-into-compare": (["ungrok", "--preset", "tiny", "--out", "compare"], ("compare results",)),
    "train-into-ungrok": (["train", "--preset", "tiny", "--out", "ungrok"], ("out=",)),
    "compare-ungrok-is-efficiency": (["compare", "--preset", "tiny", "--ungrok", "eff", "--efficiency", "eff",
                                      "--out", "c2"], ("ungrok=",)),
    "compare-other-task": (["compare", "--preset", "tiny", "--task", "sub", "--ungrok", "ungrok", "--efficiency",
                            "eff", "--out", "c2"], ("task",)),
    "compare-missing-sweep": (["compare", "--preset", "tiny", "--ungrok", "nowhere", "--efficiency", "eff", "--out",
                               "c2"], ("nowhere",)),
    "compare-into-its-source": (["compare", "--preset", "tiny", "--ungrok", "ungrok", "--efficiency", "eff",
                                 "--out", "eff"], ("efficiency results",)),
    "semigrok-beside-nothing": (["semigrok", "--preset", "tiny", "--out", "s2", "--ungrok", "/nonexistent"],
                                ("/nonexistent",)),
    "semigrok-beside-efficiency": (["semigrok", "--preset", "tiny", "--out", "s2", "--ungrok", "eff"], ("eff",)),
    "export-onto-checkpoint": (["export", "train", "--to", "transformer-lens", "--out", "train/checkpoint.pt"],
                               ("checkpoint.pt",)),
    "export-onto-sweep-table": (["export", "train", "--to", "transformer-lens", "--out", "ungrok/results.csv"],
                                ("results.csv",)),
    "export-onto-sweep-config": (["export", "train", "--to", "transformer-lens", "--out", "ungrok/config.json"],
                                 ("config.json",)),
    "export-onto-existing-file": (["export", "train", "--to", "progress-measures", "--out", "export.pt"],
                                  ("--overwrite",)),
    "export-member-out-of-range": (["export", "train", "--member", "5", "--to", "transformer-lens", "--out", "x.pt"],
                                   ("member=5",)),
    "d-prime-same-size": (["ungrok", "--preset", "tiny", "--out", "u2", "--d-prime", "0.2,0.2001"], ("same D'",)),
    "d-prime-outside-split": (["ungrok", "--preset", "tiny", "--out", "u2", "--d-prime", "0.9"], ("d_prime",)),
    "seeds-malformed": (["ungrok", "--preset", "tiny", "--out", "u2", "--seeds", "a,b"], ("seeds",)),
    "wd-empty": (["ungrok", "--preset", "tiny", "--out", "u2", "--wd", ","], ("wd",)),
    "windows-zero": (["ungrok", "--preset", "tiny", "--out", "u2", "--windows", "0"], ("windows",)),
    "adam-eps-too-large": (["ungrok", "--preset", "tiny", "--out", "u2", "--adam-eps", "0.5"], ("adam_eps",)),
    "efficiency-non-fourier-task": (["efficiency", "--preset", "tiny", "--out", "e2", "--task", "mul"], ("task",)),
    "unknown-task": (["ungrok", "--preset", "tiny", "--out", "u2", "--task", "nope"], ("task",)),
    "unknown-preset": (["semigrok", "--preset", "huge", "--out", "s2"], ("preset",)),
    "unknown-executor": (["ungrok", "--preset", "tiny", "--out", "u2", "--executor", "cloud"], ("executor",)),
    "slurm-without-slurm": (["efficiency", "--preset", "tiny", "--out", "e2", "--executor", "slurm"], ("slurm",)),
    "slurm-unknown-option": (["ungrok", "--preset", "tiny", "--out", "u2", "--executor", "slurm", "--slurm",
                              "colour=red"], ("colour",)),
    "threads-beyond-cores": (["train", "--preset", "tiny", "--out", "t2", "--threads", "4096"], ("threads",)),
    "out-is-a-file": (["ungrok", "--preset", "tiny", "--out", "export.pt"], ("export.pt",)),
    "out-under-a-file": (["semigrok", "--preset", "tiny", "--out", "export.pt/sub"], ("export.pt",)),
    "device-absent": (["efficiency", "--preset", "tiny", "--out", "e2", "--device", "cuda:7"], ("device",)),
}


@pytest.mark.parametrize("case", FOREIGN)
def test_foreign_or_bad_commands_are_refused_and_change_nothing(work, case):
    args, needles = FOREIGN[case]
    before = snapshot(work)
    r = cli(neural_app(), args, work)
    refused(r, *needles)
    assert snapshot(work) == before
    assert not any((work / d).exists() for d in ("c2", "s2", "u2", "e2", "t2"))


# ----------------------------------------------------------------------------------------------- tampered
def _export_with(work: Path, change) -> Path:
    content = torch.load(work / "export.pt", weights_only=True)
    change(content["meta"])
    torch.save(content, work / "tampered.pt")
    return work / "tampered.pt"


TAMPERED_EXPORTS = {
    "train-pairs-cut-short": lambda m: m.update(train_pairs=m["train_pairs"][:-3]),
    "train-pairs-duplicated": lambda m: m.update(train_pairs=torch.cat([m["train_pairs"], m["train_pairs"][:2]])),
    "train-pairs-fractional": lambda m: m.update(train_pairs=m["train_pairs"].double() + 0.5),
    "train-pairs-a-list": lambda m: m.update(train_pairs=m["train_pairs"].tolist()),
    "train-pairs-2d": lambda m: m.update(train_pairs=m["train_pairs"][None]),
}


@pytest.mark.parametrize("case", TAMPERED_EXPORTS)
def test_analyze_refuses_a_tampered_split(work, case):
    path = _export_with(work, TAMPERED_EXPORTS[case])
    before = snapshot(work)
    refused(cli(neural_app(), ["analyze", path], work), "train_pairs")
    assert snapshot(work) == before


def test_analyze_reads_o_m_on_the_training_pairs(work):
    """o_m over all pairs is ~0 by construction for a generalising network; analyze reports it on the training
    pairs (train_o_m, as a sweep's train/o_m) and names the all-pairs average as such."""
    r = cli(neural_app(), ["analyze", "export.pt", "--json"], work)
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["members"][0]
    assert "o_m" not in m and {"train_o_m", "o_m_all_pairs"} <= set(m)


def test_a_sweep_without_its_config_is_refused(work):
    (work / "ungrok" / "config.json").unlink()
    before = snapshot(work)
    refused(cli(neural_app(), ["ungrok", "--preset", "tiny", "--out", "ungrok"], work), "config.json")
    assert snapshot(work) == before


def test_a_sweep_whose_recorded_identity_was_edited_is_refused(work):
    record = json.loads((work / "ungrok" / "config.json").read_text())
    record["config"]["seeds"] = [7]
    (work / "ungrok" / "config.json").write_text(json.dumps(record))
    before = snapshot(work)
    refused(cli(neural_app(), ["ungrok", "--preset", "tiny", "--out", "ungrok"], work), "seeds")
    assert snapshot(work) == before


def test_a_checkpoint_of_another_configuration_is_refused(work):
    record = json.loads((work / "train" / "config.json").read_text())
    record["config"]["seeds"] = [9]
    (work / "train" / "config.json").write_text(json.dumps(record))
    before = snapshot(work)
    refused(cli(neural_app(), ["export", "train", "--to", "transformer-lens", "--out", "x.pt"], work), "configuration")
    assert snapshot(work) == before


def test_compare_refuses_a_sweep_of_another_preset(work):
    record = json.loads((work / "ungrok" / "config.json").read_text())
    record["config"]["preset"] = "cpu"
    (work / "ungrok" / "config.json").write_text(json.dumps(record))
    before = snapshot(work)
    refused(cli(neural_app(), ["compare", "--preset", "tiny", "--ungrok", "ungrok", "--efficiency", "eff", "--out",
                             "c2"], work), "preset")
    assert snapshot(work) == before


# ----------------------------------------------------------------------------------------------- concurrent
@pytest.mark.parametrize("target,args", [
    ("ungrok", ["ungrok", "--preset", "tiny", "--out", "ungrok"]),
    ("train", ["train", "--preset", "tiny", "--out", "train"]),
    ("semi", ["semigrok", "--preset", "tiny", "--out", "semi"])])
def test_a_directory_another_process_writes_is_refused(work, target, args):
    before = snapshot(work)
    record = json.loads((work / target / "config.json").read_text())
    with rundir.RunDir.open(work / target, record["config"]):  # as another command would hold it
        refused(cli(neural_app(), args, work), "another process")
    assert snapshot(work) == before


# ----------------------------------------------------------------------------------------------- moved
def _training(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(root).items() if "ensembles" in k or k.startswith("D")}


@pytest.mark.parametrize("spelling", ["moved", "absolute", "dotted"])
def test_a_moved_or_respelled_sweep_is_reused_not_retrained(work, spelling):
    target = work / "ungrok"
    if spelling == "moved":
        target = work / "elsewhere" / "ungrok-moved"
        target.parent.mkdir()
        shutil.move(work / "ungrok", target)
    out = {"moved": target, "absolute": target.resolve(), "dotted": "./ungrok/../ungrok"}[spelling]
    trained = _training(target)
    table = (target / "results.csv").read_bytes()
    r = cli(neural_app(), ["ungrok", "--preset", "tiny", "--out", out], work)
    assert r.exit_code == 0, r.output
    assert _training(target) == trained  # no ensemble retrained or added
    assert (target / "results.csv").read_bytes() == table


def test_the_same_command_again_reuses_everything(work):
    trained = _training(work / "semi")
    r = cli(neural_app(), ["semigrok", "--preset", "tiny", "--out", "semi"], work)
    assert r.exit_code == 0, r.output
    assert _training(work / "semi") == trained
