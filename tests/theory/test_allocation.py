"""Exact optimal allocation against the independent optimiser, and against hand-checkable facts."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as hs

from theory import allocation, numeric


def _instance(case):
    return hs.tuples(
        hs.lists(hs.floats(0.2, 5.0), min_size=2, max_size=4),
        hs.floats(0.5, 3.0),  # q
        hs.floats(0.1, 0.95) if case == 2 else hs.floats(1.0, 4.0),  # kappa / q
        hs.floats(1e-3, 0.5),  # alpha
        hs.sampled_from([2, 10, 113]),
    )


@pytest.mark.parametrize("case", [1, 2])
def test_allocate_agrees_with_independent_global_optimiser(case):
    @settings(max_examples=15, deadline=None)
    @given(_instance(case))
    def run(inst):
        P, q, ratio, alpha, n = inst
        a = allocation.allocate(P, kappa=q * ratio, q=q, alpha=alpha, n_classes=n, verify=True)
        assert a.case == case
        v = a.verify
        assert v["loss"] >= a.loss * (1 - 1e-9)  # the closed form is never beaten
        assert v["loss_rel_diff"] < 1e-9
        if not a.note:  # unique minimiser: weights agree
            assert np.max(np.abs(np.array(v["weights"]) - a.weights)) < 1e-6 * max(1.0, a.total)

    run()


def test_case2_shares_follow_the_printed_exponent():
    a = allocation.allocate([1.0, 2.0], kappa=1.2, q=2.0)
    e = 2 * 1.2 / (2 - 1.2)  # 3
    assert np.isclose(a.weights[0] / a.weights[1], 2.0**e, rtol=1e-12)


def test_total_is_stationary_and_global():
    P_eff, args = 1.3, (0.01, 1.2, 2.0, 113)
    W = allocation.optimal_total(P_eff, *args)
    assert abs(numeric.dloss_of_total(W, P_eff, *args)) < 1e-10
    grid = np.linspace(0, 3 * W, 20001)
    assert numeric.loss_of_total(W, P_eff, *args) <= numeric.loss_of_total(grid, P_eff, *args).min() + 1e-12


def test_total_is_zero_when_weight_decay_dominates():
    # kappa > q: the penalty's slope is infinite at W = 0, and with strong alpha no W > 0 beats L(0) = log n
    a = allocation.allocate([5.0, 6.0], kappa=4.0, q=2.0, alpha=10.0, n_classes=2)
    assert a.total == 0.0 and np.isclose(a.loss, np.log(2))


def test_ties_are_reported():
    a = allocation.allocate([1.0, 1.0, 2.0], kappa=3.0, q=2.0)
    assert a.weights[2] == 0 and "ties" in a.note
    b = allocation.allocate([1.0, 1.0, 2.0], kappa=2.0, q=2.0)
    assert b.weights[0] == b.weights[1] and "kappa = q" in b.note


def test_numeric_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    for _ in range(20):
        w, P = rng.uniform(0.5, 5, 3), rng.uniform(0.5, 3, 3)
        args = (P, 0.05, rng.uniform(0.5, 3), 2.0, 113)
        g = numeric.mixture_grad(w, *args)
        h = 1e-6
        fd = [(numeric.mixture_loss(w + h * e, *args) - numeric.mixture_loss(w - h * e, *args)) / (2 * h)
              for e in np.eye(3)]
        assert np.allclose(g, fd, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("kwargs,param", [({"P": [1, -1]}, "P"), ({"P": [1], "kappa": 0}, "kappa"),
                                          ({"P": [1], "q": -1}, "q"), ({"P": [1], "alpha": -0.1}, "alpha"),
                                          ({"P": [1], "n_classes": 1}, "n_classes")])
def test_bad_input_names_the_parameter(kwargs, param):
    with pytest.raises(ValueError, match=param):
        allocation.allocate(**kwargs)


def test_extreme_but_allowed_parameters_give_an_answer_or_a_named_refusal():
    """Inside the documented ranges: norms 1e100 with kappa 1e3 put all weight at 0 (the penalty wins); norms
    1e-100 with alpha 1e-100 would need a total beyond float range, which is said in one line."""
    from theory import allocation

    a = allocation.allocate([1e100, 1e100], kappa=1e3)
    assert a.total == 0.0 and a.weights == [0.0, 0.0]
    with pytest.raises(ValueError, match="beyond float range"):
        allocation.allocate([1e-100, 2e-100], kappa=1e3, alpha=1e-100)
