"""Float32 cross-entropy: equal to float64 log-softmax, including where plain float32 loses the gradient."""
import torch
import torch.nn.functional as F

from neural.loss import cross_entropy


def _both(logits, labels):
    """Ours, and a float64 reference from the definitions: loss = log(1 + sum_{j != c} e^{z_j - z_c}) and
    gradient softmax - onehot with the correct class as -(sum of the others), so that the reference itself
    keeps its precision at losses far below float64's 1e-16 resolution of p_c - 1."""
    lg = logits.clone().requires_grad_(True)
    ours = cross_entropy(lg, labels)
    (g_ours,) = torch.autograd.grad(ours.sum(), lg)
    z = logits.double()
    rows = torch.arange(len(labels))
    rel = z - z[rows, labels][:, None]  # z_j - z_c
    rel[rows, labels] = -torch.inf
    ref = torch.log1p(torch.exp(rel).sum(1))
    g_ref = torch.softmax(z, 1)
    g_ref[rows, labels] = 0.0
    g_ref[rows, labels] = -g_ref.sum(1)
    return ours, g_ours, ref, g_ref


def test_matches_float64_on_ordinary_logits():
    g = torch.Generator().manual_seed(0)
    logits, labels = 4 * torch.randn(200, 113, generator=g), torch.randint(0, 113, (200,), generator=g)
    ours, g_ours, ref, g_ref = _both(logits, labels)
    assert torch.allclose(ours.double(), ref, rtol=1e-5)
    assert torch.allclose(g_ours.double(), g_ref, rtol=1e-5, atol=1e-8)


def test_exact_at_tiny_losses_where_float32_log_softmax_fails():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 113, (64,), generator=g)
    logits = torch.randn(64, 113, generator=g)
    logits[torch.arange(64), labels] += torch.linspace(18, 30, 64)  # losses from ~1e-5 down to ~1e-12
    ours, g_ours, ref, g_ref = _both(logits, labels)
    assert ref.max() < 1e-4 and ref.min() < 1e-10
    assert torch.allclose(ours.double(), ref, rtol=1e-5)
    rows = torch.arange(64)
    assert torch.allclose(g_ours[rows, labels].double(), g_ref[rows, labels], rtol=1e-5)  # -(1 - p_c)
    assert torch.allclose(g_ours.double(), g_ref, rtol=1e-5, atol=0)
    # plain float32 rounds p_c - 1 to zero or to a multiple of 6e-8 here: the failure this module exists for
    lg = logits.clone().requires_grad_(True)
    (g_plain,) = torch.autograd.grad(F.cross_entropy(lg, labels, reduction="sum"), lg)
    plain_err = (g_plain[rows, labels].double() - g_ref[rows, labels]).abs() / g_ref[rows, labels].abs()
    assert plain_err.max() > 0.5


def test_correct_class_far_below_the_maximum():
    logits = torch.zeros(3, 5)
    logits[:, 0] = torch.tensor([50.0, 120.0, 300.0])  # e^(z_c - max) underflows for the last two rows
    labels = torch.tensor([1, 1, 1])
    ours, g_ours, ref, g_ref = _both(logits, labels)
    assert torch.isfinite(ours).all()
    assert torch.allclose(ours.double(), ref, rtol=1e-6)
    assert torch.allclose(g_ours.double(), g_ref, atol=1e-7)
