"""Progress measures on logits and weights, batched over ensemble members (pure functions on tensors).

- Fourier basis over Z_p, Fourier norms of W_E and W_L = W_out W_U, their Gini coefficients (Nanda §5.1).
- Key frequencies: the frequencies carrying most of W_L's Fourier norm (Nanda: "DFT on W_L, then take the
  frequencies with nontrivial coefficients").
- Restricted loss: logits keep only the constant and cos/sin(w_k c*(a,b)) terms of the key frequencies,
  evaluated on the test split; excluded loss: those key terms removed, evaluated on the train split (Nanda).
  For addition c* = a + b; for subtraction c* = a - b (the same derivation applies).
- Appendix C split (Varma et al.): Z_T = sum_k (Z . Z_k^) Z_k^ with Z_k^{a,b,c} = cos(w_k (c*(a,b) - c)),
  k = 1..K = ceil((p-1)/2); Z_M = Z - Z_T. o_t and o_m are their values at the correct class, averaged over a
  split. o_t is the same for every input (cos 0 = 1 at the correct class); o_m carries the input dependence.
All functions take logits `Z_ENC`: (members, all p*p pairs in lexicographic order, p classes).
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def fourier_basis(p: int, dtype=torch.float64, device: torch.device | str = "cpu") -> torch.Tensor:
    """(p, p) orthonormal real basis over Z_p: rows constant, cos(w_1 x), sin(w_1 x), cos(w_2 x), ..."""
    x = torch.arange(p, dtype=dtype, device=device)
    rows = [torch.ones(p, dtype=dtype, device=device)]
    for k in range(1, p // 2 + 1):
        rows.append(torch.cos(2 * math.pi * k * x / p))
        if not (p % 2 == 0 and k == p // 2):
            rows.append(torch.sin(2 * math.pi * k * x / p))
    B = torch.stack(rows[:p])
    return B / B.norm(dim=1, keepdim=True)


def frequency_norms(M_EPX: torch.Tensor, p: int) -> torch.Tensor:
    """Norm per frequency k = 0..p//2 of a matrix whose axis 1 is indexed by elements 0..p-1 (cos and sin
    components combined), shape (E, p//2 + 1)."""
    B = fourier_basis(p, M_EPX.dtype, M_EPX.device)
    coef = torch.einsum("fp,epx->efx", B, M_EPX).pow(2).sum(-1)  # (E, p) squared norm per basis row
    out = [coef[:, 0]]
    for k in range(1, p // 2 + 1):
        out.append(coef[:, 2 * k - 1] + (coef[:, 2 * k] if 2 * k < p else 0))
    return torch.stack(out, dim=1).sqrt()


def component_norms(M_EPX: torch.Tensor, p: int) -> torch.Tensor:
    """Norm of each of the p Fourier components (constant, cos 1, sin 1, ...), shape (E, p)."""
    B = fourier_basis(p, M_EPX.dtype, M_EPX.device)
    return torch.einsum("fp,epx->efx", B, M_EPX).norm(dim=-1)


def gini(x_EN: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of nonnegative vectors (Hurley & Rickard 2009): 0 = uniform, -> 1 = sparse. (E,)."""
    x = x_EN.sort(dim=-1).values
    n = x.shape[-1]
    k = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    total = x.sum(-1, keepdim=True).clamp_min(1e-30)
    return 1 - 2 * ((x / total) * (n - k + 0.5) / n).sum(-1)


def neuron_logit_map(params: dict[str, torch.Tensor], p: int) -> torch.Tensor:
    """W_L = W_out W_U restricted to the p answer classes, transposed to (E, p classes, d_mlp)."""
    return torch.bmm(params["W_out"], params["W_U"][:, :, :p]).transpose(1, 2)


def gini_measures(params: dict[str, torch.Tensor], p: int) -> dict[str, torch.Tensor]:
    """Gini of the Fourier component norms of W_E (element tokens) and of W_L, each (E,)."""
    W_E = params["W_E"][:, :p, :].double()
    W_L = neuron_logit_map(params, p).double()
    return {"gini/W_E": gini(component_norms(W_E, p)), "gini/W_L": gini(component_norms(W_L, p))}


def key_frequency_mask(params: dict[str, torch.Tensor], p: int, *, mass: float = 0.9,
                       max_keys: int = 10) -> torch.Tensor:
    """(E, p//2) bool, column k-1 for frequency k: per member the fewest frequencies k >= 1 holding `mass` of
    W_L's squared Fourier norm (at most max_keys). Computed on the device for every member at once."""
    norms2 = frequency_norms(neuron_logit_map(params, p).double(), p)[:, 1:].pow(2)  # (E, p//2)
    order = torch.argsort(norms2, dim=1, descending=True)
    ranked = norms2.gather(1, order)  # (E, p//2), largest first
    total = norms2.sum(1, keepdim=True).clamp_min(1e-30)
    # The running sums of the largest, added one by one rather than by torch.cumsum, which CUDA's deterministic mode
    # refuses for floats; they only grow, so only the first max_keys - 1 can change n, and adding from the left is
    # what torch.cumsum does on the CPU, bit for bit.
    sums = [ranked[:, 0]]
    for k in range(1, min(ranked.shape[1], max_keys - 1)):
        sums.append(sums[-1] + ranked[:, k])
    below = (torch.stack(sums, 1) / total < mass).sum(1, keepdim=True)
    n = (below + 1).clamp_max(max_keys)  # how many the mass needs, (E, 1)
    return torch.argsort(order, dim=1) < n  # each frequency's rank by norm, against how many are needed


def key_frequencies(params: dict[str, torch.Tensor], p: int, *, mass: float = 0.9,
                    max_keys: int = 10) -> list[list[int]]:
    """Per member: the key frequencies of `key_frequency_mask`, ascending (read back to the host)."""
    return [[k + 1 for k, on in enumerate(row) if on]
            for row in key_frequency_mask(params, p, mass=mass, max_keys=max_keys).cpu().tolist()]


def _answer_angle(answer_N: torch.Tensor, p: int, k: torch.Tensor) -> torch.Tensor:
    return 2 * math.pi * k[:, None] * answer_N[None, :].double() / p  # (K, N)


def _trig_dots(Z: torch.Tensor, answer_N: torch.Tensor, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Z . Z_k (E, K) and ||Z_k||^2 (K,) for Appendix C's directions Z_k^{a,b,c} = cos(w_k (c*(a,b) - c)), k = 1..K."""
    E, N, C = Z.shape
    K = math.ceil((p - 1) / 2)
    ks = torch.arange(1, K + 1, dtype=torch.float64, device=Z.device)
    # Z . Z_k = sum_{n,c} Z[n,c] cos(w_k (c*_n - c)) = Re sum_n e^{i w_k c*_n} F[n,k], F = DFT over classes
    F_enk = torch.fft.rfft(Z, n=p, dim=-1)[..., 1: K + 1]  # (E, N, K): sum_c Z[n,c] e^{-i w_k c}
    ones = torch.ones(N, K, dtype=torch.float64, device=Z.device)
    rot = torch.polar(ones, _answer_angle(answer_N, p, ks).T)  # (N, K)
    dots = (rot[None] * F_enk).real.sum(1)  # (E, K)
    # ||Z_k||^2 = N sum_c cos^2(w_k (c* - c)) = N p/2, or N p at the Nyquist frequency k = p/2 (even p)
    return dots, torch.where(2 * ks == p, float(N * C), N * C / 2.0)


def trig_split(Z_ENC: torch.Tensor, answer_N: torch.Tensor, p: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Appendix C: correct-class trigonometric logit o_t (E,) and memorisation logits o_m (E, N).

    Each input's mean logit is subtracted first (softmax ignores it). The paper's literal definition leaves
    that constant in Z_M, where it can dominate o_m (the fixture checkpoint's mean logit is about -69)."""
    Z = Z_ENC.double()
    Z = Z - Z.mean(-1, keepdim=True)
    dots, norm2 = _trig_dots(Z, answer_N, p)
    o_t = (dots / norm2).sum(-1)  # value of Z_T at the correct class, the same for every input
    correct = Z.gather(2, answer_N.expand(Z.shape[0], Z.shape[1])[..., None]).squeeze(-1)
    return o_t, correct - o_t[:, None]


def trig_share(Z_ENC: torch.Tensor, answer_N: torch.Tensor, p: int) -> torch.Tensor:
    """Share of the centred logits' squared norm in Appendix C's trigonometric subspace, ||Z_T||^2 / ||Z||^2, (E,).
    The Z_k are orthogonal, so ||Z_T||^2 = sum_k (Z . Z_k)^2 / ||Z_k||^2 (the paper's generalisation-only filter
    keeps networks with at least 0.95)."""
    Z = Z_ENC.double()
    Z = Z - Z.mean(-1, keepdim=True)
    dots, norm2 = _trig_dots(Z, answer_N, p)
    return (dots.pow(2) / norm2).sum(-1) / Z.pow(2).sum((1, 2)).clamp_min(1e-300)


def homogeneity_degree(params: dict[str, torch.Tensor], logit_fn) -> tuple[torch.Tensor, torch.Tensor]:
    """kappa per member, d log o / d log s at s = 1, where every parameter is scaled by s and o = logit_fn(params)
    (E,) is a logit summary (e.g. the mean centred label logit); and o itself. Exact by autograd:
    kappa = (theta . grad_theta o) / o."""
    first = next(iter(params.values()))
    s = torch.ones(first.shape[0], dtype=first.dtype, device=first.device, requires_grad=True)
    scaled = {k: v.detach() * s.view(-1, *[1] * (v.dim() - 1)) for k, v in params.items()}
    o = logit_fn(scaled)
    (grad,) = torch.autograd.grad(o.sum(), s)
    return (grad / o).detach(), o.detach()


def homogeneity_by_matrix(params: dict[str, torch.Tensor], logit_fn) -> dict[str, torch.Tensor]:
    """Per weight matrix M, d log o / d log s_M at s = 1 where only M is scaled by s_M, (E,) each: which matrices
    carry a logit summary's homogeneity degree. By Euler's theorem they sum to homogeneity_degree's kappa."""
    first = next(iter(params.values()))
    s = {k: torch.ones(first.shape[0], dtype=first.dtype, device=first.device, requires_grad=True) for k in params}
    scaled = {k: v.detach() * s[k].view(-1, *[1] * (v.dim() - 1)) for k, v in params.items()}
    o = logit_fn(scaled)
    grads = torch.autograd.grad(o.sum(), list(s.values()))
    return {k: (g / o).detach() for k, g in zip(s, grads)}


def _key_terms(Z: torch.Tensor, answer_N: torch.Tensor, p: int, keys_EK: torch.Tensor) -> torch.Tensor:
    """The part of Z (E, N, C) spanned by cos/sin(w_k c*(a,b)) over inputs, for each class, k a key frequency of
    that member (keys_EK: (E, p//2) bool, column k-1 for frequency k): (E, N, C)."""
    ks = torch.arange(1, keys_EK.shape[1] + 1, dtype=torch.float64, device=Z.device)
    ang = _answer_angle(answer_N, p, ks)  # (K, N)
    dirs = torch.cat([torch.cos(ang), torch.sin(ang)])  # (2K, N), orthogonal, each of norm^2 N/2
    on = keys_EK.repeat(1, 2).to(Z.dtype)[:, :, None]  # (E, 2K, 1): the member's own key directions
    coef = torch.einsum("kn,enc->ekc", dirs, Z) * on / (Z.shape[1] / 2.0)  # (E, 2K, C)
    return torch.einsum("kn,ekc->enc", dirs, coef)


def restricted_excluded(Z_ENC: torch.Tensor, answer_N: torch.Tensor, p: int, keys_EK: torch.Tensor,
                        train_mask_EN: torch.Tensor) -> dict[str, torch.Tensor]:
    """Nanda's restricted loss (key terms + constant, on the test split; nan without test pairs) and excluded loss
    (key terms removed, on the train split), each (E,). keys_EK: `key_frequency_mask`."""
    Z = Z_ENC.double()
    E, N, C = Z.shape
    key = _key_terms(Z, answer_N, p, keys_EK)
    labels = answer_N.expand(E, N).reshape(-1)
    ce = lambda logits: F.cross_entropy(logits.reshape(E * N, C), labels, reduction="none").reshape(E, N)  # noqa
    train, test = train_mask_EN.double(), (~train_mask_EN).double()
    restricted = (ce(Z.mean(1, keepdim=True) + key) * test).sum(1) / test.sum(1)  # 0/0 = nan without test pairs
    excluded = (ce(Z - key) * train).sum(1) / train.sum(1)
    return {"restricted_loss": restricted, "excluded_loss": excluded}
