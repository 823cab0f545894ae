"""AdamW over an ensemble: one learning rate and weight decay per member (leading axis E of every tensor).

The update is torch.optim.AdamW's (decoupled decay, bias correction, eps added to sqrt(v)/sqrt(bc2)),
written once for all members so a sweep over weight decays trains as one batched computation.
"""
from __future__ import annotations

import math

import torch


def init_state(params: dict[str, torch.Tensor]) -> dict:
    return {"step": 0, "m": {k: torch.zeros_like(v) for k, v in params.items()},
            "v": {k: torch.zeros_like(v) for k, v in params.items()}}


@torch.no_grad()
def step(params: dict[str, torch.Tensor], grads: dict[str, torch.Tensor], state: dict, lr_E: torch.Tensor,
         wd_E: torch.Tensor, betas: tuple[float, float] = (0.9, 0.98), eps: float = 1e-8) -> None:
    """One AdamW step in place. lr_E, wd_E: (E,) per-member learning rate and weight decay."""
    state["step"] += 1
    t = state["step"]
    b1, b2 = betas
    bc1, bc2_sqrt = 1 - b1**t, math.sqrt(1 - b2**t)
    for name, p in params.items():
        shape = (-1,) + (1,) * (p.dim() - 1)
        lr, wd = lr_E.view(shape), wd_E.view(shape)
        g = grads[name]
        p.mul_(1 - lr * wd)
        m, v = state["m"][name], state["v"][name]
        m.lerp_(g, 1 - b1)
        v.mul_(b2).addcmul_(g, g, value=1 - b2)
        denom = (v.sqrt() / bc2_sqrt).add_(eps)
        p.sub_(lr / bc1 * m / denom)
