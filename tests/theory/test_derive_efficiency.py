"""Symbolic derivation and the D_crit / kappa estimators."""
import numpy as np
import pytest
import sympy as sp

from theory import derive, efficiency


def test_sympy_derives_the_printed_case2_exponent():
    _, exponent = derive.derive_case2()
    assert sp.simplify(exponent - derive.expected_exponent()) == 0


def test_dcrit_recovers_a_planted_power_law():
    rng = np.random.default_rng(0)
    D = np.geomspace(300, 5000, 8)
    P_M = 2.0 * D**0.4 * np.exp(rng.normal(0, 0.01, D.size))
    law = efficiency.fit_memorisation_norm(D.tolist(), P_M.tolist())
    true_dcrit = (30 / 2.0) ** (1 / 0.4)
    crit = efficiency.critical_dataset_size(law, 30.0)
    assert abs(law.beta - 0.4) < 0.02
    assert crit.interval[0] < true_dcrit < crit.interval[1]
    assert np.isclose(law(crit.D_crit), 30.0)


def test_ratio_crosses_one_at_dcrit_in_case2_and_is_winner_takes_all_in_case1():
    law = efficiency.fit_memorisation_norm([100, 1000], [10, 20])
    dc = efficiency.critical_dataset_size(law, 15.0).D_crit
    assert np.isclose(efficiency.predicted_ratio(dc, law, 15.0, 1.2, 2.0), 1.0)
    assert efficiency.predicted_ratio(dc * 2, law, 15.0, 1.2, 2.0) > 1 > efficiency.predicted_ratio(dc / 2, law, 15.0,
                                                                                                    1.2, 2.0)
    assert efficiency.predicted_ratio(dc * 2, law, 15.0, 3.0, 2.0) == float("inf")
    assert efficiency.predicted_ratio(dc / 2, law, 15.0, 3.0, 2.0) == 0.0


def test_kappa_estimate_recovers_slope():
    n = np.geomspace(5, 50, 10)
    est = efficiency.estimate_kappa((0.7 * n**1.8).tolist(), n.tolist())
    assert np.isclose(est.kappa, 1.8)


def test_fit_needs_two_sizes():
    with pytest.raises(ValueError, match="distinct"):
        efficiency.fit_memorisation_norm([100, 100], [1, 2])
