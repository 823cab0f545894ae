"""Cross-entropy in float32 that stays exact at the tiny losses of a grokked model.

With p_c the correct class's probability, the usual gradient p_c - 1 rounds to 0 in float32 once p_c is
within 6e-8 of 1 (train loss ~1e-7, reached long before grokking); AdamW then amplifies what is left and the
loss spikes (our first paper-size run stalled at test accuracy 0.18). Here the correct class's gradient is
-(sum of the other probabilities), with no cancellation, and the loss is log1p(sum_{j != c} e^{z_j - z_c}),
so both carry full float32 relative precision. Same values as float64 log-softmax, ~5% faster per step.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


class CrossEntropy(torch.autograd.Function):
    """Per-row cross-entropy of logits (M, C) against labels (M,), returning (M,)."""

    @staticmethod
    def forward(ctx, logits, labels):
        lab = labels[:, None]
        e = logits - logits.amax(1, keepdim=True)  # the largest is 0
        z_c = e.gather(1, lab)  # correct class, <= 0
        e_c = z_c.exp()
        e = e.exp_().scatter_(1, lab, 0.0)
        e_other = e.sum(1, keepdim=True)  # sum over the wrong classes
        total = e_other + e_c
        # log(total / e_c) = log1p(e_other / e_c), exact when tiny; where e_c underflows, log(total) - z_c
        ce = torch.where(e_c > 1e-30, torch.log1p(e_other / e_c.clamp_min(1e-30)), torch.log(total) - z_c)
        grad = e.div_(total).scatter_(1, lab, -e_other / total)  # softmax - onehot, without cancellation
        ctx.save_for_backward(grad)
        return ce[:, 0]

    @staticmethod
    @once_differentiable
    def backward(ctx, g_out):  # (M,)
        (grad,) = ctx.saved_tensors
        return grad * g_out[:, None], None


def cross_entropy(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Per-row cross-entropy (M,) of float32 logits (M, C) against integer labels (M,)."""
    return CrossEntropy.apply(logits, labels)
