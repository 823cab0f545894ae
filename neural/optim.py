"""AdamW over an ensemble: one learning rate and weight decay per member (leading axis E of every tensor).

The update is torch.optim.AdamW's (decoupled decay, bias correction, eps added to sqrt(v)/sqrt(bc2)),
written once for all members so a sweep over weight decays trains as one batched computation. It is computed
out of place and committed only for the members allowed to move whose new weights and moments are all finite:
a member whose update overflowed keeps its last finite state, found with one reduction per buffer and no host
synchronisation.
"""
from __future__ import annotations

import math

import torch


@torch.no_grad()
def step(w: torch.Tensor, g: torch.Tensor, m: torch.Tensor, v: torch.Tensor, t: int, lr_E: torch.Tensor,
         wd_E: torch.Tensor, allowed_E: torch.Tensor, betas: tuple[float, float] = (0.9, 0.98),
         eps: float = 1e-8) -> torch.Tensor:
    """AdamW step number t (from 1) in place on weights w, moments m, v (E, P) from gradients g (E, P).
    lr_E, wd_E: (E,) per member. Returns (E,) bool: the members updated (allowed and finite); the others
    are left exactly as they were."""
    b1, b2 = betas
    bc1, bc2_sqrt = 1 - b1**t, math.sqrt(1 - b2**t)
    lr, wd = lr_E[:, None], wd_E[:, None]
    m_new = torch.lerp(m, g, 1 - b1)
    v_new = (v * b2).addcmul_(g, g, value=1 - b2)
    denom = (v_new.sqrt() / bc2_sqrt).add_(eps)
    w_new = (w * (1 - lr * wd)).sub_(lr / bc1 * m_new / denom)
    inf = float("inf")  # amax propagates NaN, and one pass is 5x cheaper than isfinite(...).all(1)
    ok = allowed_E & (w_new.abs().amax(1) < inf) & (m_new.abs().amax(1) < inf) & (v_new.amax(1) < inf)
    keep = ok[:, None]
    for old, new in ((w, w_new), (m, m_new), (v, v_new)):
        torch.where(keep, new, old, out=old)
    return ok
