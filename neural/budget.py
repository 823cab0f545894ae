"""Refuse a training configuration whose memory would not fit, before anything is allocated.

The estimate counts the tensors that dominate a run (bytes per element calibrated against the peak resident
memory of real runs: it over-estimates them by 1.3-1.8x; tests/neural/test_budget.py keeps it within [1x, 3x]):
parameters with AdamW's moments, gradients and
copies; per training step the MLP activations and logits of every member's training pairs;
per evaluation the logits over all pairs, their float64 cross-entropy and the Fourier split. The ceiling is 3/4
of the machine's physical memory on CPU and 9/10 of the GPU's memory on CUDA.
"""
from __future__ import annotations

import os

import torch

from neural import model, tasks
from neural.config import model_config

PARAM_COPIES = 10  # weights, their contiguous copies, named and flat grads, m, v, temporaries (an over-count)
TRAIN_BYTES_PER_MLP_UNIT = 4 * 5  # float32 pre-activation, ReLU output, its mask and gradients
TRAIN_BYTES_PER_LOGIT = 4 * 5  # float32 logits, softmax, gradient, temporaries
EVAL_BYTES_PER_LOGIT = 4 * 14  # float32 logits, float64 cross-entropy input, argmax and Fourier-split temporaries
EVAL_BYTES_PER_MLP_UNIT = 4 * 3


def estimate_bytes(cfg) -> int:
    """Estimated peak bytes of training `cfg` (a neural.config.TrainConfig), beyond the Python process itself."""
    E = len(cfg.members())
    n = tasks.n_elements(cfg.task, cfg.p)
    N = tasks.n_pairs(cfg.task, cfg.p)
    D = cfg.train_pairs()
    n_params = model.n_params(model_config(cfg))
    params = 4 * PARAM_COPIES * E * n_params
    train = E * D * (TRAIN_BYTES_PER_MLP_UNIT * cfg.d_mlp + TRAIN_BYTES_PER_LOGIT * n)
    evaluate = E * N * (EVAL_BYTES_PER_LOGIT * n + EVAL_BYTES_PER_MLP_UNIT * cfg.d_mlp)
    # tokens, answers, labels and masks (int64 / bool)
    data = N * 8 * (tasks.context_length(cfg.fmt) + 2) + E * N * 8 * 3
    return int(params + max(train, evaluate) + data)


def ceiling_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(0.9 * torch.cuda.get_device_properties(device).total_memory)
    return int(0.75 * os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def check(cfg, device: torch.device) -> int:
    """The estimate, or ValueError naming what is too large when it exceeds the ceiling."""
    need, limit = estimate_bytes(cfg), ceiling_bytes(device)
    if need > limit:
        E = len(cfg.members())
        raise ValueError(f"p={cfg.p}, {E} member(s), train size {cfg.train_size or cfg.frac}, d_mlp={cfg.d_mlp}: "
                         f"estimated peak memory {need / 2**30:.1f} GiB exceeds the limit of {limit / 2**30:.1f} GiB "
                         f"({'9/10 of the GPU' if device.type == 'cuda' else '3/4 of this machine'}'s memory): "
                         f"use a smaller p, fewer members or a smaller model")
    return need
