"""The toy's losses and converged state as theory states them (theory/toy.py), against direct computations."""
import math

import numpy as np
import pytest

from theory import toy


@pytest.mark.parametrize("P_M", [0.5, 1.0, 3.0])
def test_converged_test_performance_is_the_softmax_of_the_optimal_weights(P_M):
    c = toy.converged(1.0, P_M, kappa=1.2, alpha=0.005, n_classes=113)
    wG, wM = c["w_G"], c["w_M"]
    assert c["test_perf"] == pytest.approx(math.exp(wG) / (math.exp(wG) + math.exp(wM) + 111), rel=1e-12)
    # the more efficient circuit carries more weight (kappa < q: a mixture, Theorem D.4 case 2)
    assert (wG > wM) == (1.0 < P_M) and c["case"] == 2


def test_losses_are_cross_entropies_of_their_logits():
    wG, wM, n = 2.0, 0.7, 7
    train = -math.log((math.exp(wG + wM)) / (math.exp(wG + wM) + n - 1))
    test = -math.log(math.exp(wG) / (math.exp(wG) + math.exp(wM) + n - 2))
    assert toy.train_loss(wG, wM, n) == pytest.approx(train, rel=1e-12)
    assert toy.test_loss(wG, wM, n) == pytest.approx(test, rel=1e-12)
    assert toy.memorisation_norm(2.0, 4000, 1000, 0.5) == pytest.approx(4.0)
    assert np.isfinite(toy.test_loss(np.array([1e3]), np.array([1e3]), 113)).all()  # no overflow at large logits
