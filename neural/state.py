"""A run's training state: weights and AdamW's moments as flat (E, P) buffers, the named weights as views.

With one contiguous buffer per quantity, AdamW, the finiteness guard and compaction are a handful of
whole-ensemble operations instead of a few per weight tensor. The batch holds only the live members (still
training); a member that converges or diverges leaves it at the next synchronisation point and its final rows
are kept aside, so an ensemble's cost follows its live members. AdamW's step counter `t` is a 0-d float64 tensor on
the run's device (the step reads and advances it there). A checkpoint holds the whole ensemble in the named layout
(tensors and plain values only) and where the metrics file ended; the metric rows themselves live in metrics.csv
(neural.checkpoint).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch

from neural import model


@dataclass(frozen=True)
class Layout:
    """Where each named weight lives in a member's flat row of P numbers."""
    shapes: dict[str, tuple[int, ...]]

    @classmethod
    def of(cls, mcfg: model.ModelConfig) -> "Layout":
        return cls({name: mcfg.shapes()[name] for name in model.PARAM_NAMES})

    @property
    def sizes(self) -> list[int]:
        return [math.prod(s) for s in self.shapes.values()]

    @property
    def P(self) -> int:
        return sum(self.sizes)

    def views(self, flat: torch.Tensor) -> dict[str, torch.Tensor]:
        """Named (E, *shape) views of a flat (E, P) buffer (writes to a view write the buffer)."""
        out, start = {}, 0
        for (name, shape), size in zip(self.shapes.items(), self.sizes):
            out[name] = flat[:, start:start + size].view(flat.shape[0], *shape)
            start += size
        return out

    def flatten(self, named: dict[str, torch.Tensor]) -> torch.Tensor:
        """The (E, P) buffer of named (E, *shape) tensors (a new tensor)."""
        E = next(iter(named.values())).shape[0]
        return torch.cat([named[name].reshape(E, -1) for name in self.shapes], 1)


@dataclass
class TrainState:
    """Everything a run resumes from. w, m, v: (E_live, P) rows of the live members `live` (indices into the
    configuration's members, ascending); `parked`: member -> its final (w, m, v) rows, (3, P), once it left the
    batch. t: AdamW's step counter (shared: bias correction), a 0-d float64 tensor on the device; step: training
    steps taken. rows: every metric row so far, of which the first `rows_written` are in metrics.csv, which then
    had `metrics_bytes` bytes."""
    layout: Layout
    w: torch.Tensor
    m: torch.Tensor
    v: torch.Tensor
    live: list[int]
    t: torch.Tensor | None = None
    step: int = 0
    rows: list[dict] = field(default_factory=list)
    rows_written: int = 0
    metrics_bytes: int = 0
    diverged: list[int | None] = field(default_factory=list)
    converged: list[int | None] = field(default_factory=list)
    parked: dict[int, torch.Tensor] = field(default_factory=dict)

    def __post_init__(self):
        if self.t is None:
            self.t = torch.zeros((), dtype=torch.float64, device=self.w.device)

    @property
    def n_members(self) -> int:
        return len(self.diverged)

    def params(self, rows: list[int] | None = None) -> dict[str, torch.Tensor]:
        """The named weights of the live members (or of batch rows `rows` only), contiguous copies (batched
        products over strided views of w would take other kernel paths, with other rounding)."""
        w = self.w if rows is None else self.w.index_select(0, torch.tensor(rows, dtype=torch.long,
                                                                              device=self.w.device))
        return {k: v.contiguous() for k, v in self.layout.views(w).items()}

    def keep(self, rows: list[int]) -> None:
        """Keep batch rows `rows` (positions in `live`) and park the others with their final state."""
        kept = set(rows)
        for i in range(len(self.live)):
            if i not in kept:
                self.parked[self.live[i]] = torch.stack([self.w[i], self.m[i], self.v[i]])
        idx = torch.tensor(rows, dtype=torch.long, device=self.w.device)
        self.w, self.m, self.v = (x.index_select(0, idx) for x in (self.w, self.m, self.v))
        self.live = [self.live[i] for i in rows]

    def whole(self, k: int) -> torch.Tensor:
        """Buffer k (0: w, 1: m, 2: v) for every member, (E, P), live rows and parked rows together."""
        live = (self.w, self.m, self.v)[k]
        out = torch.empty(self.n_members, self.layout.P, dtype=live.dtype, device=live.device)
        if self.live:
            out[torch.tensor(self.live, dtype=torch.long, device=live.device)] = live
        for e, rows in self.parked.items():
            out[e] = rows[k]
        return out

    def to_checkpoint(self, config: dict) -> dict:
        """The checkpoint dict: named weights and moments of every member (tensors and plain values only), after
        the metric rows up to now are in metrics.csv (`metrics_bytes`)."""
        views = [self.layout.views(self.whole(k)) for k in range(3)]
        active = torch.zeros(self.n_members, dtype=torch.bool, device="cpu")
        active[self.live] = True
        return {"config": config, "step": self.step, "params": views[0],
                "opt": {"step": int(self.t), "m": views[1], "v": views[2]}, "metrics_bytes": self.metrics_bytes,
                "active": active, "diverged": self.diverged, "converged": self.converged}

    @classmethod
    def from_checkpoint(cls, layout: Layout, saved: dict, rows: list[dict], dev: torch.device) -> "TrainState":
        """The state a checkpoint holds, with the metric rows it stands for (neural.checkpoint.read_rows). A
        checkpoint that held its rows itself has no metrics file to append to yet (rows_written 0)."""
        E = saved["active"].shape[0]
        w, m, v = (layout.flatten({k: t.to(dev) for k, t in part.items()})
                   for part in (saved["params"], saved["opt"]["m"], saved["opt"]["v"]))
        legacy = "metrics_bytes" not in saved
        state = cls(layout, w, m, v, live=list(range(E)),
                    t=torch.tensor(float(saved["opt"]["step"]), dtype=torch.float64, device=dev),
                    step=int(saved["step"]), rows=rows, rows_written=0 if legacy else len(rows),
                    metrics_bytes=0 if legacy else int(saved["metrics_bytes"]), diverged=list(saved["diverged"]),
                    converged=list(saved.get("converged", [None] * E)))
        state.keep([e for e in range(E) if bool(saved["active"][e])])
        return state

    @classmethod
    def fresh(cls, layout: Layout, params: dict[str, torch.Tensor]) -> "TrainState":
        w = layout.flatten(params)
        E = w.shape[0]
        return cls(layout, w, torch.zeros_like(w), torch.zeros_like(w), live=list(range(E)),
                   diverged=[None] * E, converged=[None] * E)
