"""The phase classifier and plateau detector on synthetic curves of every kind (no training)."""
import numpy as np
import pytest

from neural import phases

STEPS = np.unique(np.round(np.geomspace(1, 20_000, 200)).astype(int))
WINDOW = 1000.0  # two weight-decay time scales, as semigrok passes


def _train(fit_at=200):
    return np.where(STEPS >= fit_at, 1.0, np.minimum(STEPS / fit_at, 0.98))


def _steps_to(levels):
    """Piecewise-constant test accuracy: [(from_step, level), ...], smoothed over a few evaluations."""
    acc = np.zeros(len(STEPS))
    for start, level in levels:
        acc[STEPS >= start] = level
    return np.convolve(np.pad(acc, 2, mode="edge"), np.ones(5) / 5, mode="valid")


CASES = {
    "memorised": (_train(), _steps_to([(0, 0.02)])),
    "grokked": (_train(), _steps_to([(0, 0.02), (3000, 1.0)])),
    "semi-grokked": (_train(), _steps_to([(0, 0.02), (4000, 0.55)])),
    "transient semi-grokking": (_train(), _steps_to([(0, 0.02), (2000, 0.5), (9000, 1.0)])),
    "ungrokked": (_train(), _steps_to([(0, 1.0), (4000, 0.03)])),
    "middling without delay": (_train(), _steps_to([(0, 0.4)])),
    "not fitted": (np.full(len(STEPS), 0.6), _steps_to([(0, 0.02)])),
    "unsettled": (_train(), 0.02 + 0.9 * (STEPS / STEPS[-1]) ** 3),  # still rising at the end
}


@pytest.mark.parametrize("kind", list(CASES))
def test_classifier_on_synthetic_curves(kind):
    train_acc, test_acc = CASES[kind]
    verdict = phases.classify(STEPS, train_acc, test_acc, min_steps=WINDOW)
    assert verdict["class"] == kind, verdict


def test_a_run_that_ends_before_settling_is_unsettled_not_a_verdict():
    train_acc, test_acc = CASES["semi-grokked"]
    cut = STEPS <= 4500  # the middling plateau has begun but lasted less than the window
    verdict = phases.classify(STEPS[cut], train_acc[cut], test_acc[cut], min_steps=WINDOW)
    assert verdict["class"] == "unsettled" and not verdict["settled"]


def test_plateaus_report_start_end_and_level():
    _, acc = CASES["transient semi-grokking"]
    found = phases.plateaus(STEPS, acc, WINDOW)
    levels = [round(p.level, 2) for p in found]
    assert levels == [0.02, 0.5, 1.0]
    middle = found[1]
    assert 2000 <= middle.start <= 2300 and 7000 <= middle.end < 9000  # smoothing blurs the edges
    assert found[-1].end == STEPS[-1]
    assert phases.plateaus(STEPS, acc, 1e9) == []  # nothing spans more than the whole run
