"""The adaptive D_crit search (neural.search) on planted transitions: sharp and gradual, found within its stated
precision, with fewer members than a fixed grid of the same resolution; bracketing beyond the first range; the
first upward crossing kept through a dip above it; the ends of the range reported."""
import math

import numpy as np
import pytest

from neural import search


def logistic(d_crit: float, width: float):
    """Accuracy against D': a logistic in log D' crossing 1/2 at d_crit, rising from 0.1 to 0.9 over `width`x."""
    scale = math.log(width) / (2 * math.log(9))

    def accuracy(sizes: list[int]) -> list[float]:
        return [1 / (1 + math.exp(-(math.log(d) - math.log(d_crit)) / scale)) for d in sizes]
    return accuracy


@pytest.mark.parametrize("d_crit, width", [(300.0, 1.2), (300.0, 1.9), (287.0, 5.0), (1000.0, 2.0)])
def test_planted_transitions_are_found_within_the_stated_precision(d_crit, width):
    precision = 0.05
    got = search.search(logistic(d_crit, width), 139, 870, ceiling=2000, precision=precision)
    assert got.finished and got.bracket[0] < d_crit <= got.bracket[1]
    assert abs(got.d_crit / d_crit - 1) <= precision
    assert got.members < search.grid_members(139, 870, precision)  # a fixed grid of the same resolution


def test_the_search_brackets_beyond_its_first_range_and_reports_the_ends():
    below = search.search(logistic(60.0, 1.5), 139, 870, floor=20, precision=0.05)
    assert below.finished and abs(below.d_crit / 60 - 1) <= 0.05 and min(d for d, _ in below.points) < 139
    above = search.search(logistic(1500.0, 1.5), 139, 870, ceiling=3000, precision=0.05)
    assert above.finished and abs(above.d_crit / 1500 - 1) <= 0.05
    never = search.search(logistic(5000.0, 1.5), 139, 870, ceiling=1200)
    assert never.d_crit is None and "above" in never.why and not never.finished
    always = search.search(logistic(10.0, 1.5), 139, 870, floor=100)
    assert always.d_crit is None and "below" in always.why


def test_a_dip_above_d_crit_does_not_move_it_and_the_round_budget_is_reported():
    smooth = logistic(300.0, 1.5)

    def dipping(sizes):
        return [0.3 if 600 <= d <= 700 else a for d, a in zip(sizes, smooth(sizes))]
    got = search.search(dipping, 139, 870, precision=0.05)
    assert got.finished and abs(got.d_crit / 300 - 1) <= 0.05
    short = search.search(smooth, 139, 870, precision=0.001, max_rounds=2)
    assert not short.finished and "round budget" in short.why and short.bracket is not None


def test_whole_pairs_end_the_search_and_bad_settings_are_refused():
    got = search.search(lambda sizes: [float(d >= 101) for d in sizes], 50, 200, precision=1e-6)
    assert got.finished and got.bracket == (100, 101)
    for kwargs, needle in (({"lo": 300, "hi": 200}, "lo=300"), ({"lo": 10, "hi": 20, "per_round": 0}, "per_round"),
                           ({"lo": 10, "hi": 20, "precision": 0}, "precision"),
                           ({"lo": 10, "hi": 20, "max_rounds": 0}, "max_rounds")):
        with pytest.raises(ValueError, match=needle):
            search.search(lambda s: [0.0] * len(s), **kwargs)


def test_the_crossing_is_read_as_ungrokking_reads_a_grid():
    from neural.experiments import ungrok

    D, acc = [139, 201, 290, 418], [0.04, 0.09, 0.45, 0.98]
    pts = list(zip(D, acc))
    a, b = search.first_crossing(pts)
    assert search.interpolate(a, dict(pts)[a], b, dict(pts)[b]) == pytest.approx(ungrok.crossing(np.array(D), acc))
