"""Tasks and splits; the Fourier progress measures on planted and trained logits."""
import math

import pytest
import torch

from neural import analysis, tasks


def test_tasks_answers():
    x, y, a = tasks.all_pairs("div", 7)
    assert torch.all((a * y) % 7 == x) and len(x) == 42
    x, y, a = tasks.all_pairs("s5", 0)
    e = 0  # identity permutation (0,1,2,3,4) has index 0
    assert torch.all(a[x == e] == y[x == e]) and len(a) == 14400
    _, _, a = tasks.all_pairs("x3xy", 11)
    assert int(a[3 * 11 + 5]) == (27 + 15) % 11


def test_splits_are_deterministic_and_nested():
    a = tasks.train_indices(500, seed=3, frac=0.3)
    assert torch.equal(a, tasks.train_indices(500, seed=3, frac=0.3)) and len(a) == 150
    small, big = tasks.nested_subset(a, 40, seed=1), tasks.nested_subset(a, 90, seed=1)
    assert set(small.tolist()) <= set(big.tolist()) <= set(a.tolist())
    with pytest.raises(ValueError, match="train_size"):
        tasks.train_indices(500, seed=0, size=501)
    with pytest.raises(ValueError, match="p must be prime"):
        tasks.validate_modulus("div", 8)


def test_an_ensembles_splits_are_each_seeds_own():
    """Row e of the batched splits is what seed e draws alone: the first D of its permutation, sorted, then the
    first D'_e of its permutation of that split, sorted, padded with 0."""
    seeds, sizes = [3, 11, 4], [40, 150, 1]
    base = tasks.train_splits(500, seeds, frac=0.3)
    sub = tasks.nested_subsets(base, sizes, seeds)
    assert sub.shape == (3, 150)
    for e, seed in enumerate(seeds):
        perm = torch.randperm(500, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(base[e], perm[:150].sort().values)
        perm = torch.randperm(150, generator=torch.Generator().manual_seed(seed))
        assert torch.equal(sub[e, :sizes[e]], base[e][perm[:sizes[e]]].sort().values)
        assert not sub[e, sizes[e]:].any()
    with pytest.raises(ValueError, match="subset size=151"):
        tasks.nested_subsets(base, [151, 2, 2], seeds)


def test_planted_trig_model_has_no_memorisation_part():
    p = 17
    x, y, a = tasks.all_pairs("add", p)
    c = torch.arange(p, dtype=torch.float64)
    s = (x + y).double()[:, None]
    Z = 3 * torch.cos(2 * math.pi * 4 * (s - c) / p) + 1.5 * torch.cos(2 * math.pi * 7 * (s - c) / p)
    o_t, o_m = analysis.trig_split(Z[None], a, p)
    assert torch.allclose(o_t, torch.tensor([4.5], dtype=torch.float64))
    assert o_m.abs().max() < 1e-10
    # the restricted loss with the planted frequencies equals the full loss; excluding them leaves chance
    train = torch.zeros(1, len(a), dtype=torch.bool)
    train[0, ::2] = True
    keys = torch.zeros(1, p // 2, dtype=torch.bool)
    keys[0, [3, 6]] = True  # frequencies 4 and 7
    r = analysis.restricted_excluded(Z[None], a, p, keys, train)
    full = torch.nn.functional.cross_entropy(Z[~train[0]], a[~train[0]])
    assert torch.isclose(r["restricted_loss"][0], full) and abs(r["excluded_loss"][0] - math.log(p)) < 1e-9


def test_random_label_lookup_table_has_little_trig_part():
    # a perfect table of the *true* answers is the addition function itself (delta = sum of cosines), so
    # the memorisation signature is a table of random labels: confident, but with no trig structure
    p = 17
    x, y, a = tasks.all_pairs("add", p)
    g = torch.Generator().manual_seed(0)
    labels = torch.randint(0, p, (p * p,), generator=g)
    Z = torch.randn(1, p * p, p, generator=g, dtype=torch.float64)
    Z[0, torch.arange(p * p), labels] += 5.0
    o_t, _ = analysis.trig_split(Z, labels * 0 + a, p)
    assert abs(o_t.item()) < 0.1 * 5.0
    exact = torch.zeros(1, p * p, p, dtype=torch.float64)
    exact[0, torch.arange(p * p), a] = 5.0
    o_t_exact, o_m_exact = analysis.trig_split(exact, a, p)
    # centred per input, the table is 5 (delta - 1/p): all of it trigonometric
    assert torch.isclose(o_t_exact, torch.tensor([5.0 * (1 - 1 / p)],
                                                 dtype=torch.float64)) and o_m_exact.abs().max() < 1e-9


def test_gini_extremes():
    assert torch.isclose(analysis.gini(torch.ones(1, 10)), torch.tensor([0.0]), atol=1e-6)
    one_hot = torch.zeros(1, 100)
    one_hot[0, 3] = 1
    assert analysis.gini(one_hot).item() > 0.98


@pytest.mark.parametrize("mass,max_keys", [(0.9, 10), (0.5, 3), (0.99, 60), (0.3, 1)])
def test_key_frequencies_are_the_fewest_holding_the_mass(mass, max_keys):
    """The mask equals its definition computed with torch.cumsum (which CUDA's deterministic mode refuses): the
    largest frequencies, in order, until their share of W_L's squared norm reaches `mass`, at most max_keys."""
    g = torch.Generator().manual_seed(5)
    for p, E in ((5, 3), (23, 4), (59, 4)):
        params = {"W_out": torch.randn(E, 32, 16, generator=g), "W_U": torch.randn(E, 16, p + 2, generator=g)}
        params["W_U"][0, :, :p] *= 0.01
        params["W_U"][0, :, 3] += 2.0  # one member with a dominant frequency
        norms2 = analysis.frequency_norms(analysis.neuron_logit_map(params, p).double(), p)[:, 1:].pow(2)
        order = norms2.argsort(dim=1, descending=True)
        share = norms2.gather(1, order).cumsum(1) / norms2.sum(1, keepdim=True)
        n = ((share < mass).sum(1) + 1).clamp_max(max_keys)
        want = torch.zeros_like(norms2, dtype=torch.bool).scatter_(1, order, torch.arange(p // 2) < n[:, None])
        assert torch.equal(analysis.key_frequency_mask(params, p, mass=mass, max_keys=max_keys), want)
