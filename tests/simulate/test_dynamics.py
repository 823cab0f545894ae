"""The toy's gradient, presets and the phenomena each preset must show."""
import numpy as np
import pytest

from simulate import dynamics, presets
from simulate.config import ToyConfig
from theory.allocation import allocate

# Table 1 of the paper, typed in independently of simulate.presets
TABLE_1 = {
    "fig2a": dict(P_G=1, P_M=2, kappa=1.2, alpha=0.005, wG1_0=0, wG2_0=0.005, wM1_0=0, wM2_0=1, n_classes=113, lr=0.01),
    "fig2b": dict(P_G=4, P_M=2, kappa=1.2, alpha=0.005, wG1_0=0, wG2_0=0.005, wM1_0=0, wM2_0=1, n_classes=113, lr=0.01),
    "fig2c": dict(P_G=1, P_M=2, kappa=1.2, alpha=0.005, wG1_0=0, wG2_0=1, wM1_0=0, wM2_0=1, n_classes=113, lr=0.01),
}


@pytest.mark.parametrize("name", TABLE_1)
def test_presets_are_table_1(name):
    cfg = presets.get(name).to_dict()
    assert {k: cfg[k] for k in TABLE_1[name]} == TABLE_1[name]
    assert presets.get(name).D is None


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    cfgs = [ToyConfig(P_G=rng.uniform(0.5, 3), P_M=rng.uniform(0.5, 3), kappa=rng.uniform(0.6, 1.9),
                      alpha=rng.uniform(1e-3, 0.1), n_classes=int(rng.integers(3, 200))) for _ in range(20)]
    p = dynamics.params_of(cfgs)
    s = rng.uniform(-2, 2, size=(20, 4))
    g = dynamics.gradient(s, p)
    h = 1e-6
    for k in range(4):
        e = np.zeros(4)
        e[k] = h
        fd = (dynamics.total_loss(s + e, p) - dynamics.total_loss(s - e, p)) / (2 * h)
        assert np.allclose(g[:, k], fd, rtol=1e-6, atol=1e-9)


def _run(names, steps):
    cfgs = [presets.get(n) for n in names]
    p = dynamics.params_of(cfgs)
    s0 = dynamics.initial_state(cfgs)
    traj = dynamics.simulate(s0, p, steps, log_steps=np.array([0, 3000, steps // 2, steps]))
    return cfgs, p, s0, traj


def test_table1_phenomena_and_end_states_match_theory():
    cfgs, p, _, traj = _run(["fig2a", "fig2b", "fig2c"], 50_000)
    (fit_a, fit_b, fit_c), (grok_a, grok_b, grok_c) = traj.train_fit_step, traj.grok_step
    assert 0 < fit_a < 1000 and grok_a > 10 * fit_a  # (a) train fits early, test much later: grokking
    assert grok_b == -1 and fit_b > 0  # (b) never generalises
    assert 0 < grok_c < 10 * fit_c and (grok_c - fit_c) < (grok_a - fit_a) / 10  # (c) no real delay
    # (a) total norm falls while test loss falls (norm at grok step << peak)
    wG, wM = dynamics.weights(traj.logged_s_TB4[2])  # middle of training, after grokking for (a)
    wG0, wM0 = dynamics.weights(traj.logged_s_TB4[1])  # step 3000: memorised, norm near its peak
    nG, nM = dynamics.circuit_norms(wG, wM, p)
    nG0, nM0 = dynamics.circuit_norms(wG0, wM0, p)
    assert np.hypot(nG[0], nM[0]) < 0.7 * np.hypot(nG0[0], nM0[0])
    wG, wM = dynamics.weights(traj.s_B4)
    for b, c in enumerate(cfgs):
        a = allocate([c.P_G, c.P_M], kappa=c.kappa, q=2.0, alpha=c.alpha, n_classes=c.n_classes)
        assert np.allclose([wG[b], wM[b]], a.weights, rtol=1e-3), c


def test_dataset_size_presets():
    names = ["below-dcrit", "above-dcrit", "ungrok", "semigrok"]
    cfgs, p, s0, traj = _run(names, 100_000)
    below, above, ungrok, semi = range(4)
    assert traj.grok_step[below] == -1
    assert traj.grok_step[above] > 10 * traj.train_fit_step[above]
    # ungrokking: starts generalising (grok at step 0), ends memorising
    _, perf0 = dynamics.correct_probabilities(*dynamics.weights(s0), p)
    _, perf = dynamics.correct_probabilities(*dynamics.weights(traj.s_B4), p)
    assert perf0[ungrok] > 0.9 and traj.grok_step[ungrok] == 0 and traj.ungrok_step[ungrok] > 0 and perf[ungrok] < 0.05
    # semi-grokking: delayed transition to a middling test performance, the theory's mixed optimum
    assert traj.grok_step[semi] > 10 * traj.train_fit_step[semi]
    assert 0.3 < perf[semi] < 0.8
    c = cfgs[semi]
    a = allocate([c.P_G, c.memorisation_norm()], kappa=c.kappa, q=2.0, alpha=c.alpha, n_classes=c.n_classes)
    assert np.allclose(dynamics.weights(traj.s_B4[semi:semi + 1]), np.array(a.weights)[:, None], rtol=1e-2)


def test_batched_equals_one_at_a_time():
    cfgs = [presets.get("fig2a").with_(P_M=pm, wG2_0=w) for pm in (0.8, 1.5, 3.0) for w in (0.01, 0.3)]
    p = dynamics.params_of(cfgs)
    batch = dynamics.simulate(dynamics.initial_state(cfgs), p, 3000)
    for b, c in enumerate(cfgs):
        one = dynamics.simulate(dynamics.initial_state([c]), dynamics.params_of([c]), 3000)
        assert np.allclose(one.s_B4[0], batch.s_B4[b], rtol=1e-12, atol=1e-15)
        assert one.grok_step[0] == batch.grok_step[b] and one.train_fit_step[0] == batch.train_fit_step[b]


@pytest.mark.parametrize("change,param", [({"P_G": -1}, "P_G"), ({"kappa": 0}, "kappa"), ({"lr": -0.1}, "lr"),
                                          ({"n_classes": 2}, "n_classes"), ({"alpha": -1}, "alpha")])
def test_bad_config_names_parameter(change, param):
    with pytest.raises(ValueError, match=param):
        ToyConfig().with_(**change).validate()
