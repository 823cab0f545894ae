"""What every result records about the toolkit that made it: its version, the files' schema version, and a git
commit only when the toolkit runs from its own checkout."""
from __future__ import annotations

import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

import neural
import rundir
provenance = importlib.import_module("rundir.provenance")  # the module (rundir.provenance is also a function)

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True,
                          env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                               "GIT_COMMITTER_EMAIL": "t@t", "PATH": "/usr/bin:/bin"}).stdout.strip()


def test_the_version_comes_from_the_distribution():
    from importlib import metadata

    assert neural.__version__ == rundir.__version__ == metadata.version("circuit-efficiency")


def test_no_commit_outside_the_toolkits_own_checkout(tmp_path, monkeypatch):
    """A folder without .git (a wheel's site-packages), even inside someone else's repository, records none."""
    _git("init", "-q", cwd=tmp_path)
    (tmp_path / "f").write_text("x")
    _git("add", "f", cwd=tmp_path)
    _git("commit", "-qm", "other", cwd=tmp_path)
    site = tmp_path / "lib" / "site-packages"
    (site / "rundir").mkdir(parents=True)
    monkeypatch.setattr(provenance, "CHECKOUT", site)
    env = provenance.environment()
    assert env["git_commit"] is None and env["git_dirty"] is None


def test_the_commit_and_dirt_of_its_own_checkout(tmp_path, monkeypatch):
    (tmp_path / "rundir").mkdir()
    (tmp_path / "rundir" / "provenance.py").write_text("# the toolkit\n")
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'circuit-efficiency'\n")
    _git("init", "-q", cwd=tmp_path)
    _git("add", ".", cwd=tmp_path)
    _git("commit", "-qm", "toolkit", cwd=tmp_path)
    monkeypatch.setattr(provenance, "CHECKOUT", tmp_path)
    head = _git("rev-parse", "HEAD", cwd=tmp_path)
    assert provenance.environment()["git_commit"] == head and provenance.environment()["git_dirty"] is False
    (tmp_path / "rundir" / "provenance.py").write_text("# edited\n")
    assert provenance.environment()["git_dirty"] is True


def test_config_and_summary_record_the_toolkit_and_schema(tmp_path):
    d = tmp_path / "run"
    with rundir.RunDir.open(d, {"a": 1}) as run:
        run.write_config({"config": {"a": 1}})
        run.finish({"result": 2})
    for name in ("config.json", "summary.json"):
        record = json.loads((d / name).read_text())
        assert record["schema_version"] == rundir.SCHEMA_VERSION
        assert record["toolkit_version"] == neural.__version__
    assert json.loads((d / "summary.json").read_text())["provenance"]["environment"]["toolkit"] == neural.__version__


@pytest.mark.parametrize("module", ["theory", "simulate", "neural", "figures"])
def test_every_command_line_says_its_version(module):
    r = subprocess.run([sys.executable, "-m", f"commands.{module}", "--version"], cwd=ROOT, capture_output=True,
                       text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == f"circuit-efficiency {neural.__version__}"
