"""The trend-based stopping rule (neural.convergence) on synthetic curves it was not tuned to: drifting members
keep training, noisy plateaus stop, a slow sigmoid runs until it flattens."""
import numpy as np
import pytest

from neural import convergence

STEPS = np.arange(0, 6001, 100)  # evaluations every 100 steps
LR, WD = 1e-3, 1.0  # window 1/(lr wd) = 1,000 steps: 3 windows fit in 6,000
FLAT_LOSS = np.full(STEPS.shape, 1e-3)


def test_drift_of_one_point_per_window_is_not_converged():
    for start in (0.2, 0.6, 0.9):
        acc = start - 0.01 * STEPS / 1000  # falls 1 point per window, as the demo's D' 201 and 290 members did
        out = convergence.assess(STEPS, FLAT_LOSS, acc, lr=LR, wd=WD)
        assert not out["converged"] and "test_acc drifts" in out["reason"]
    # the old rule (max - min over one window <= 0.01) stopped exactly this member
    recent = STEPS > STEPS[-1] - 1000
    assert np.ptp(acc[recent]) <= 0.01


@pytest.mark.parametrize("seed", range(20))
def test_noisy_flat_plateau_is_converged(seed):
    rng = np.random.default_rng(seed)
    acc = 0.4 + rng.normal(0, 0.004, STEPS.shape)  # fluctuates by +-1 point, no trend
    loss = 1e-3 * np.exp(rng.normal(0, 0.02, STEPS.shape))
    assert convergence.has_converged(STEPS, loss, acc, lr=LR, wd=WD)


def test_noisy_slow_drift_is_not_converged():
    rng = np.random.default_rng(0)
    acc = 0.5 - 0.008 * STEPS / 1000 + rng.normal(0, 0.004, STEPS.shape)  # 0.8 points a window under noise
    assert not convergence.has_converged(STEPS, FLAT_LOSS, acc, lr=LR, wd=WD)


def test_slow_sigmoid_is_not_converged_until_it_flattens():
    steps = np.arange(0, 30001, 100)
    acc = 1 / (1 + np.exp(-(steps - 9000) / 1500))  # 10% -> 90% over 6.6 windows
    verdicts = {int(t): convergence.has_converged(steps[:k + 1], np.full(k + 1, 1e-3), acc[:k + 1], lr=LR, wd=WD)
                for k, t in enumerate(steps) if t >= 3000}
    rising = [t for t in verdicts if 0.05 <= acc[t // 100] <= 0.95]
    assert rising and not any(verdicts[t] for t in rising)
    flat = [t for t in verdicts if t >= 25000]  # 1 - acc < 2e-5: flattened
    assert flat and all(verdicts[t] for t in flat)


def test_decelerating_curve_converges_only_when_little_change_is_left():
    acc = 0.1 + 0.5 * np.exp(-STEPS / 1000)  # relaxes on the weight-decay time scale
    assert not convergence.has_converged(STEPS[:31], FLAT_LOSS[:31], acc[:31], lr=LR, wd=WD)  # 0.5 e^-3 to go
    long = np.arange(0, 12001, 100)
    acc = 0.1 + 0.5 * np.exp(-long / 1000)
    assert convergence.has_converged(long, np.full(long.shape, 1e-3), acc, lr=LR, wd=WD)  # 0.5 e^-12 to go


def test_train_loss_drift_and_short_runs():
    drifting = 1e-3 * np.exp(-0.1 * STEPS / 1000)  # 10% a window
    out = convergence.assess(STEPS, drifting, np.full(STEPS.shape, 0.4), lr=LR, wd=WD)
    assert not out["converged"] and "log_train_loss" in out["reason"]
    flat_acc = np.full(STEPS.shape, 0.4)
    assert not convergence.has_converged(STEPS[:25], FLAT_LOSS[:25], flat_acc[:25], lr=LR, wd=WD)  # < 3 windows
    assert not convergence.has_converged(STEPS, FLAT_LOSS, flat_acc, lr=LR, wd=0.3)  # 3 x 3,333 > 6,000
    assert convergence.has_converged(STEPS, FLAT_LOSS, flat_acc, lr=LR, wd=WD)
    sparse = STEPS[::20]  # 4 evaluations in the span: too few to fit a trend
    assert not convergence.has_converged(sparse, FLAT_LOSS[::20], flat_acc[::20], lr=LR, wd=WD)
    assert not convergence.has_converged([], [], [], lr=LR, wd=WD)
