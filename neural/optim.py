"""AdamW over an ensemble: one learning rate and weight decay per member (row e of every (E, P) buffer).

The update is a fixed sequence of about fifteen whole-ensemble operations whatever the number of members E
(per-member learning rate, weight decay and guard enter as (E, 1) tensors), so on a GPU its kernel count does not
grow with E, and the step counter lives on the device, so nothing of the host is frozen into a captured step.
It is torch.optim.AdamW's update (decoupled decay, bias correction, eps added to sqrt(v)/sqrt(bc2)), checked per
member against it in tests/neural/test_model.py. `regime` measures where a converged member sits: with sqrt(v)
below eps, AdamW is gradient descent on CE plus an L2 penalty whose strength eps sets (issue 32's confound).

The guard: a member is updated only when allowed and when its gradient is finite and below GRAD_LIMIT; for the
others every coefficient of the update is zero (their gradient replaced by 0), so weights and moments keep their
last finite state bit for bit, decided on the device with nothing read back to the host. The limit makes the
check complete: with |g| < 1e19, g^2 < 1e38 and Adam's moments stay finite, and an AdamW step moves a weight by
at most lr / sqrt(1 - beta2), so from a finite state the update is finite.
"""
from __future__ import annotations

import torch

GRAD_LIMIT = 1e19  # float32 overflows at 3.4e38: below this, g^2 and every moment stay finite


@torch.no_grad()
def step(*, w: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, count: torch.Tensor,
         lr_E1: torch.Tensor, wd_E1: torch.Tensor, allowed_E: torch.Tensor, betas: tuple[float, float] = (0.9, 0.98),
         eps: float = 1e-8) -> torch.Tensor:
    """One AdamW step in place on weights w and moments m, v (E, P) from gradients g (E, P).

    count: 0-d float64 tensor, the steps taken so far (incremented here, on the device). lr_E1, wd_E1: (E, 1)
    per-member learning rates and weight decays, in w's dtype. allowed_E: (E,) bool. Returns (E,) bool: the
    members updated (allowed, gradient finite and below GRAD_LIMIT); the others are left exactly as they were."""
    b1, b2 = betas
    ok = allowed_E & (g.abs().amax(1) < GRAD_LIMIT)  # amax propagates NaN: a NaN gradient fails the test
    on = ok[:, None].to(w.dtype)  # (E, 1): 1 updates, 0 leaves the row as it is
    g = torch.where(ok[:, None], g, 0.0)
    count.add_(1)
    bc1 = (1 - torch.pow(b1, count)).to(w.dtype)  # bias corrections of step `count`
    bc2_sqrt = (1 - torch.pow(b2, count)).sqrt().to(w.dtype)
    w.mul_(1 - lr_E1 * wd_E1 * on)
    m.lerp_(g, (1 - b1) * on)
    v.mul_(1 - (1 - b2) * on).addcmul_(g * ((1 - b2) * on), g)
    denom = (v.sqrt() / bc2_sqrt).add_(eps)
    w.addcmul_(m / denom, -(lr_E1 * on) / bc1)
    return ok


@torch.no_grad()
def regime(w: torch.Tensor, g: torch.Tensor, v: torch.Tensor, count: torch.Tensor, beta2: float,
           eps: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Where AdamW has become gradient descent with an L2 penalty, per member (rows of the (E, P) tensors): the
    share of parameters whose sqrt(v_hat) lies below eps, where the update is -lr (g / eps + wd w), gradient
    descent on CE + (wd eps / 2) |w|^2; and the L2 strength the training gradient g balances,
    alpha_eff = -<g, w> / |w|^2 (at a stationary point of that descent g = -wd eps w, so alpha_eff = wd eps).
    Returns two (E,) tensors."""
    v_hat = v / (1 - torch.pow(beta2, count)).to(v.dtype)
    small = (v_hat.sqrt() < eps).to(w.dtype).mean(1)
    alpha = -(g * w).sum(1) / (w * w).sum(1).clamp_min(torch.finfo(w.dtype).tiny)
    return small, alpha
