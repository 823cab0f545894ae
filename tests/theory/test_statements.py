"""The theorem checker: verdicts on the paper's statements, and that it can fail."""
import numpy as np
import pytest

from theory import statements as st
from theory.checking import Statement


@pytest.mark.parametrize("name", ["Theorem D.1", "Lemma D.2", "Theorem D.4", "D.4 proof case 1"])
def test_true_statements_hold(name):
    report = st.check(name, n_instances=60 if name == "Theorem D.4" else 500, seed=1)
    assert report.holds, report
    assert report.counterexample is None


def test_lemma_d3_fails_as_printed_with_simple_counterexample_and_correction_holds():
    report = st.check("Lemma D.3", n_instances=200, seed=3)
    assert not report.holds
    cx = report.counterexample
    # the printed lemma fails exactly when c < r x^(r-1): check the shrunk counterexample is such a point
    assert cx["c"] < cx["r"] * cx["x"] ** (cx["r"] - 1)
    assert report.corrected is not None and report.corrected.holds


def test_lemma_d3_printed_holds_where_c_is_large():
    # when c >= r x^(r-1) the printed statement is true (the RHS is <= 0): the checker must not flag it
    assert st.LEMMA_D3.holds_at({"x": 2.0, "c": 10.0, "r": 2.0})
    assert not st.LEMMA_D3.holds_at({"x": 2.0, "c": 1.0, "r": 2.0})


def test_corrected_lemma_d3_delta_works_exactly():
    rng = np.random.default_rng(0)
    for _ in range(200):
        x, r = rng.uniform(0.1, 10), 1 + rng.uniform(0, 5)
        c = rng.uniform(1e-3, 2) * r * x ** (r - 1)
        d = st.lemma_d3_delta(x, c, r)
        eps = d * np.linspace(1e-6, 1 - 1e-9, 200)
        assert np.all(x**r - (x - eps) ** r > eps * (r * x ** (r - 1) - c) - 1e-12 * x**r)


def test_case2_chain_fails_at_the_lemma_step_and_corrected_chain_holds():
    report = st.check("D.4 proof case 2", n_instances=400, seed=2)
    failing = [s.name for s in report.steps if not s.holds]
    assert failing == ["D.4 case 2, step 3 (>)"]
    assert report.corrected.holds
    assert all(s.holds for s in report.corrected.steps)


def test_checker_can_fail_on_a_false_statement():
    # (a+b)^r <= a^r + b^r is false for r > 1 (e.g. a = b = 1, r = 2: 4 > 2)
    false = Statement(
        name="false D.2",
        printed="(a+b)^r <= a^r + b^r for r in (1, 3]",
        sample=lambda rng, n: [{"a": rng.uniform(0.1, 5), "b": rng.uniform(0.1, 5), "r": rng.uniform(1.01, 3)}
                               for _ in range(n)],
        margin=lambda i: (i["a"] ** i["r"] + i["b"] ** i["r"]) / (i["a"] + i["b"]) ** i["r"] - 1,
        in_domain=lambda i: i["a"] >= 0 and i["b"] >= 0 and i["r"] > 1,
    )
    report = false.check(100)
    assert not report.holds and report.worst_margin < 0
    assert report.counterexample == {"a": 1.0, "b": 1.0, "r": 2.0}  # shrunk to the simplest failing point


def test_d1_margin_is_positive_even_with_huge_logits():
    inst = {"gaps": np.array([[1e3, 5e2]]), "c": 1e3}
    assert st.THEOREM_D1.margin(inst) > 0
    # and it is exactly the log-ratio of losses where floats can compute them directly
    g, c = np.array([[0.3, 1.2, 2.0]]), 1.7
    direct = np.log(np.log1p(np.exp(-g).sum())) - np.log(np.log1p(np.exp(-c * g).sum()))
    assert np.isclose(st.THEOREM_D1.margin({"gaps": g, "c": c}), direct, rtol=1e-12)


def test_unknown_name_and_bad_count_raise():
    with pytest.raises(ValueError, match="name"):
        st.check("Theorem Z")
    with pytest.raises(ValueError, match="instances"):
        st.check("Lemma D.2", n_instances=0)
