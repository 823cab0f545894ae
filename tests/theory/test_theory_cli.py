"""`grok-theory` as a user runs it: JSON contract and one-line errors with exit code 2."""
import json

import pytest
from typer.testing import CliRunner

from commands.theory import app

runner = CliRunner()


def test_check_json_contract_and_strict_exit():
    r = runner.invoke(app, ["check", "D.2", "D.3", "--instances", "50", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    by_name = {x["name"]: x for x in out["results"]}
    assert by_name["Lemma D.2"]["holds"] and not by_name["Lemma D.3"]["holds"]
    assert by_name["Lemma D.3"]["corrected"]["holds"]
    for key in ("instances", "worst_margin", "counterexample", "corrected"):
        assert key in by_name["Lemma D.3"]
    assert runner.invoke(app, ["check", "D.3", "--instances", "20", "--strict"]).exit_code == 1
    assert runner.invoke(app, ["check", "D.2", "--instances", "20", "--strict"]).exit_code == 0


def test_allocate_json_with_verify():
    r = runner.invoke(app, ["allocate", "--P", "1,2", "--kappa", "1.2", "--verify", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert out["case"] == 2 and len(out["weights"]) == 2 and out["verify"]["agrees"]


def test_allocate_certify_json():
    r = runner.invoke(app, ["allocate", "--P", "1,2", "--kappa", "3", "--certify", "--json"])
    assert r.exit_code == 0, r.output
    cert = json.loads(r.stdout)["certified"]
    assert cert["verdict"] == "proved" and cert["case"] == 1 and cert["tolerance"] == 1e-9


def test_dcrit_and_derive_json():
    r = runner.invoke(app, ["dcrit", "--gen-norm", "30", "--mem", "500:20,1000:27,2000:37", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert 1000 < out["D_crit"] < 2000 and out["interval"][0] < out["D_crit"] < out["interval"][1]
    d = json.loads(runner.invoke(app, ["derive", "--json"]).stdout)
    assert d["matches_paper"]


@pytest.mark.parametrize("args,needle", [
    (["allocate", "--P", "-1"], "P[0]"),
    (["allocate", "--P", "1", "--kappa", "0"], "kappa"),
    (["allocate", "--P", "1", "--q", "-2"], "q"),
    (["allocate", "--P", "1", "--alpha", "-1"], "alpha"),
    (["allocate", "--P", "1", "--n-classes", "1"], "n_classes"),
    (["dcrit", "--gen-norm", "1", "--mem", "100-3"], "malformed"),
    (["dcrit", "--gen-norm", "0", "--mem", "100:3,200:4"], "gen_norm"),
    (["check", "D.9"], "NAME"),
])
def test_bad_input_is_one_line_exit_2(args, needle):
    r = runner.invoke(app, args)
    assert r.exit_code == 2
    assert needle in r.output and "Traceback" not in r.output
    assert len(r.output.strip().splitlines()) == 1
