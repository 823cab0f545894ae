"""The measurement of what a run measures (the metrics are declared in neural.metrics): every metric of every
member computed on the device and moved to the host in one transfer, whatever the number of members.

The cheap metrics (losses, accuracies, the label logit, norms) are taken at every evaluation; the full ones
(Gini, Appendix C's o_t/o_m, Nanda's restricted/excluded loss, the number of key frequencies) at the log-spaced
evaluations and at each member's last row. `columns(cfg)` is the metrics table's header.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from neural import analysis, model, tasks
from neural.config import TrainConfig
from neural.dataset import Data

from neural.metrics import CHEAP, FIRST, FULL_ADAM, FULL_CYCLIC, FULL_FOURIER


def metric_names(cfg: TrainConfig, full: bool) -> list[str]:
    """The metrics an evaluation of `cfg` measures (the cheap ones, or all of them)."""
    names = list(CHEAP) + [f"norm/{name}" for name in model.PARAM_NAMES]
    task = tasks.get_task(cfg.task)
    if full and task.cyclic:
        names += list(FULL_CYCLIC)
    if full and task.fourier:
        names += list(FULL_FOURIER)
    return names


def columns(cfg: TrainConfig) -> list[str]:
    """The metrics table's columns: FIRST, then every other metric (the trainer's AdamW ones too) alphabetically."""
    return list(FIRST) + sorted(set(metric_names(cfg, True)) | set(FULL_ADAM) - set(FIRST))


@torch.no_grad()
def measure(params, mcfg: model.ModelConfig, data: Data, cfg: TrainConfig, full: bool = True) -> torch.Tensor:
    """(n_metrics, E) float64 on the device, rows in the order of metric_names(cfg, full)."""
    Z = model.forward(params, mcfg, data.eval_layout).float()  # (E, N, C)
    E, N, C = Z.shape
    ce = F.cross_entropy(Z.double().reshape(E * N, C), data.labels.reshape(-1), reduction="none").reshape(E, N)
    correct = (Z.argmax(-1) == data.labels).double()
    tr, te = data.train_mask.double(), (~data.train_mask).double()

    def mean_over(values, mask):
        return (values * mask).sum(1) / mask.sum(1).clamp_min(1)

    label_logit = Z.gather(2, data.labels[:, :, None])[:, :, 0] - Z.mean(2)  # (E, N) centred logit of the label
    out = {"train/loss": mean_over(ce, tr), "test/loss": mean_over(ce, te), "train/acc": mean_over(correct, tr),
           "test/acc": mean_over(correct, te), "test/acc_unseen": mean_over(correct, (~data.seen_mask).double()),
           "test/acc_no_mirror": mean_over(correct, ((~data.train_mask) & ~data.mirror_trained).double()),
           "train/label_logit": mean_over(label_logit.double(), tr), "norm/total": model.param_norm(params)}
    for name, p in params.items():
        out[f"norm/{name}"] = p.reshape(E, -1).norm(dim=1)
    task = tasks.get_task(cfg.task)
    if full and task.cyclic:
        out.update(analysis.gini_measures(params, data.n))
    if full and task.fourier:
        o_t, o_m = analysis.trig_split(Z, data.answer, data.n)
        out.update({"train/o_t": o_t, "test/o_t": o_t, "train/o_m": mean_over(o_m, tr), "test/o_m": mean_over(o_m, te)})
        keys = analysis.key_frequency_mask(params, data.n)
        out.update(analysis.restricted_excluded(Z, data.answer, data.n, keys, data.train_mask))
        out["n_key_freqs"] = keys.sum(1)
    return torch.stack([out[k].double() for k in metric_names(cfg, full)])


def evaluate(params, mcfg: model.ModelConfig, data: Data, cfg: TrainConfig,
             full: bool = True) -> dict[str, np.ndarray]:
    """Metrics of every member on all pairs: name -> (E,) float64 array on the host (one transfer)."""
    values = measure(params, mcfg, data, cfg, full).cpu().numpy()
    return dict(zip(metric_names(cfg, full), values))
