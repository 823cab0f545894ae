"""A run's data on its device: every pair's tokens and answer, each member's training set D', and the token
layouts the attention reads (built once here, never in a training step); and when a run evaluates."""
from __future__ import annotations

import numpy as np
import torch

from neural import attention, convergence, tasks
from neural.config import TrainConfig, model_config


class Data:
    """Every pair's tokens and answer, and each member's own training set D' (sizes may differ).

    Member e trains on `subset` pairs nested in its base split (`frac`/`train_size` of all pairs, drawn with
    its `split_seed`), or on the whole base split. Training sets are padded to the largest (padding has weight
    0), so a step costs E x max D': the sweep runner packs members of similar D' together (runner.pack).
    `train_layout` and `eval_layout` are the attention's layouts of the training sequences and of all pairs."""

    def __init__(self, cfg: TrainConfig, dev: torch.device):
        x, y, answer = tasks.all_pairs(cfg.task, cfg.p)
        self.n = tasks.n_elements(cfg.task, cfg.p)
        self.n_tok = model_config(cfg).d_vocab
        tokens = tasks.sequences(x, y, self.n, cfg.fmt)  # (N, n_ctx), on the host
        self.const = attention.constant_positions(tokens[None])  # read here, on the host, once
        self.tokens = tokens.to(dev)
        self.answer = answer.to(dev)  # (N,) true answers (for o_t/o_m and restricted loss)
        members = cfg.members()
        E, N = len(members), len(answer)
        split_seeds = [m["split_seed"] for m in members]
        base = tasks.train_splits(N, split_seeds, frac=cfg.frac, size=cfg.train_size)  # (E, K): each base split
        K = base.shape[1]
        self.sizes = [K if m["subset"] is None else m["subset"] for m in members]  # D'_e
        idx = (base if all(m["subset"] is None for m in members)
               else tasks.nested_subsets(base, self.sizes, split_seeds))  # (E, max D'): padded with index 0
        D = max(self.sizes)
        sizes_E1 = torch.tensor(self.sizes, device="cpu")[:, None]
        real = torch.arange(D, device="cpu") < sizes_E1  # (E, D): real pairs, then padding (index 0)
        self.train_idx = idx.to(dev)  # (E, D)
        self.train_weight = (real.double() / sizes_E1).float().to(dev)  # (E, D): 1/D'_e on real pairs, 0 on padding
        self.train_mask = _mask(torch.where(real, idx, N), N).to(dev)  # (E, N): D'
        self.seen_mask = _mask(base, N).to(dev)  # (E, N): pairs trained on in any stage
        mirror = tasks.mirror_indices(cfg.task, cfg.p).to(dev)  # (N,), -1 where (y, x) is not a pair
        self.mirror_trained = self.train_mask[:, mirror] & (mirror >= 0)  # (E, N)
        if cfg.random_labels:
            self.labels = torch.stack([tasks.random_labels(N, self.n,
                                                           seed=10_000 + m["seed"]) for m in members]).to(dev)
        else:
            self.labels = self.answer.expand(E, N).clone()  # (E, N)
        self.train_tokens = self.tokens[self.train_idx]  # (E, D, n_ctx)
        self.train_labels = self.labels.gather(1, self.train_idx)  # (E, D)
        self._layouts()

    PADDED = ("train_idx", "train_weight", "train_tokens", "train_labels")  # (E, D, ...): padded to the largest D'
    OVER_ALL_PAIRS = ("train_mask", "seen_mask", "mirror_trained", "labels")  # (E, N)

    def _layouts(self) -> None:
        E = self.train_tokens.shape[0]
        self.train_layout = attention.token_layout(self.train_tokens, self.n_tok, self.const)
        self.eval_layout = attention.token_layout(self.tokens.expand(E, *self.tokens.shape), self.n_tok, self.const)

    def select(self, rows: list[int]) -> "Data":
        """The same data for members `rows` only (in that order), padded to their own largest D' (one copy of
        `rows` to the device; nothing is read back to the host)."""
        idx = torch.tensor(rows, dtype=torch.long, device="cpu").to(self.tokens.device)
        out = object.__new__(Data)
        out.__dict__.update(self.__dict__)
        out.sizes = [self.sizes[e] for e in rows]
        D = max(out.sizes, default=0)
        for name in self.PADDED:
            setattr(out, name, getattr(self, name).index_select(0, idx)[:, :D])
        for name in self.OVER_ALL_PAIRS:
            setattr(out, name, getattr(self, name).index_select(0, idx))
        out._layouts()
        return out


def _mask(idx_ED: torch.Tensor, N: int) -> torch.Tensor:
    """(E, N) bool: True at each row's indices; an index N marks nothing."""
    marked = torch.zeros(idx_ED.shape[0], N + 1, dtype=torch.bool, device=idx_ED.device).scatter_(1, idx_ED, True)
    return marked[:, :N].clone(memory_format=torch.contiguous_format)  # its own (E, N) storage, not a view


def full_eval_steps(cfg: TrainConfig) -> set[int]:
    """Where every metric is measured: about `eval_points` log-spaced steps, the first and the last."""
    logs = np.unique(np.round(np.geomspace(1, cfg.steps, cfg.eval_points)).astype(int))
    return set(int(s) for s in logs) | {0, cfg.steps}


def eval_every(cfg: TrainConfig, member: dict) -> int:
    """A member's frequent evaluations: every `eval_every` steps (default steps/50) and, for converging runs, at
    least five per convergence window 1/(lr wd) of its own. Only the cheap metrics (losses, accuracies, norms)
    are taken there: enough for the convergence test and the curves."""
    every = cfg.eval_every or max(cfg.steps // 50, 1)
    if cfg.converge:
        every = min(every, max(int(convergence.window_steps(member["lr"], member["wd"], cfg.steps) // 5), 1))
    return every


def eval_steps(cfg: TrainConfig) -> set[int]:
    """Every step where some member is evaluated: the full evaluations and each member's frequent ones."""
    everies = {eval_every(cfg, m) for m in cfg.members()}
    return full_eval_steps(cfg).union(*(range(0, cfg.steps + 1, k) for k in everies))
