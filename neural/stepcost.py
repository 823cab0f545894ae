"""What training costs on the device it runs on, measured there: the step-time law runner.pack cuts ensembles by,
the time of a full evaluation, and the memory one member takes.

A training step of E members padded to D pairs costs about c0 + c1 E + c2 E D seconds (one launch overhead, a
per-member part, the arithmetic), an evaluation of E members about e0 + e1 E. `measure` times real steps and
evaluations of the trainer (neural.train's loop, no run directory) at a few shapes of one model and fits both
by least squares; on CUDA it also reads the peak memory a member adds. `CPU_REFERENCE` is the law fitted on the
2-core CPU this toolkit was built on (benchmarks/bench_sweep.py), which packs sweeps when nothing was measured,
so that a sweep is packed the same way on every machine unless a caller measures its own.
"""
from __future__ import annotations

import functools
import time
from dataclasses import asdict, dataclass

import numpy as np

from neural.config import TrainConfig
from rundir.lazy import lazy

torch, budget, dataset = lazy("torch"), lazy("neural.budget"), lazy("neural.dataset")


@dataclass(frozen=True)
class Costs:
    device: str
    step: tuple[float, float, float]  # seconds: c0 + c1 E + c2 E D
    evaluation: tuple[float, float] = (0.0, 0.0)  # seconds of one full evaluation: e0 + e1 E
    member_bytes: int = 0  # peak device memory one member adds (0: not measured)
    ensemble_bytes: int = 4 << 30  # memory an ensemble may take
    max_members: int = 32

    def step_seconds(self, E: int, D: int) -> float:
        c0, c1, c2 = self.step
        return c0 + c1 * E + c2 * E * D

    def eval_seconds(self, E: int) -> float:
        return self.evaluation[0] + self.evaluation[1] * E

    def run_seconds(self, cfg: TrainConfig) -> float:
        """An ensemble trained to its step cap (members stopping at convergence make it shorter): an upper bound."""
        E = len(cfg.members())
        D = max(m["subset"] or cfg.train_pairs() for m in cfg.members())
        return cfg.steps * self.step_seconds(E, D) + len(dataset.eval_steps(cfg)) * self.eval_seconds(E)

    def members_within(self, base: TrainConfig, max_members: int) -> int:
        """The most members an ensemble of `base`'s settings may hold within ensemble_bytes: by the measured
        memory a member takes, else by neural.budget's estimate."""
        cap = min(max_members, self.max_members)
        if self.member_bytes:
            return max(1, min(cap, self.ensemble_bytes // self.member_bytes))
        E = cap
        while E > 1 and budget.estimate_bytes(base.with_(seeds=tuple(range(E)), wds=(1.0,), lrs=(1e-3,),
                                                         member_specs=())) > self.ensemble_bytes:
            E -= 1
        return E

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Costs":
        """Inverse of to_dict (also of its JSON form, where tuples became lists)."""
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


# benchmarks/bench_sweep.py on the 2-core CPU (cpu-size model): c2 = 1.71 us a member-pair; a step of its own costs
# about 970 member-pairs and a member 43 (the ratios packing has always used, kept exactly so packing is unchanged)
_C2 = 1.71e-6
CPU_REFERENCE = Costs("cpu (2-core reference)", (970 * _C2, 43 * _C2, _C2))


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize(dev)


def _time(fn, dev: torch.device, repeats: int) -> float:
    """Best of three timings of `repeats` calls of fn, per call (after one warm-up call)."""
    fn()
    _sync(dev)
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(repeats):
            fn()
        _sync(dev)
        best = min(best, (time.perf_counter() - t) / repeats)
    return best


def measure(base: TrainConfig, dev: torch.device, shapes: tuple[tuple[int, int], ...] | None = None,
            repeats: int = 5) -> tuple[Costs, list[tuple[int, int, float]]]:
    """Costs of `base`'s model on `dev`, fitted to steps and full evaluations at `shapes` ((E members, D pairs);
    default E = 1, 4 at a quarter of base's training split and E = 4, 8 at all of it), and the step times measured
    ((E, D, seconds) per shape). On a CPU it runs on the threads a run of `base` would use there."""
    from neural import train  # the trainer's own loop

    train.tune_process()
    base = train.resolve_threads(base, None) if dev.type == "cpu" else base
    threads = torch.get_num_threads()
    if dev.type == "cpu":
        torch.set_num_threads(base.threads)
    try:
        return _measure(base, dev, shapes, repeats)
    finally:
        torch.set_num_threads(threads)


def _measure(base: TrainConfig, dev: torch.device, shapes: tuple[tuple[int, int], ...] | None,
             repeats: int) -> tuple[Costs, list[tuple[int, int, float]]]:
    from neural import device as devices, train

    top = base.train_pairs()
    shapes = shapes or ((1, max(1, top // 4)), (4, max(1, top // 4)), (4, top), (8, top))
    rows, evals, peaks = [], [], []
    for E, D in shapes:
        cfg = base.with_(seeds=tuple(range(E)), frac=None, train_size=D, member_specs=(), eval_points=2,
                         converge=False)
        if dev.type == "cuda":
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats(dev)
            before = torch.cuda.memory_allocated(dev)
        with devices.numerics_mode(cfg.precision, dev):  # as training runs: TF32 as asked, deterministic on CUDA
            st = train._start(cfg, train.model_config(cfg), dev, None)
            run = train._Run(cfg, dev, None, st)
            rows.append((E, D, _time(run.train_step, dev, repeats)))
            evals.append((E, _time(functools.partial(run._measure, list(range(E)), True), dev, 1)))
        if dev.type == "cuda":
            peaks.append((E, torch.cuda.max_memory_allocated(dev) - before))
        del run, st
    A = np.array([[1.0, E, E * D] for E, D, _ in rows])
    step = np.linalg.lstsq(A, np.array([s for *_, s in rows]), rcond=None)[0]
    B = np.array([[1.0, E] for E, _ in evals])
    ev = np.linalg.lstsq(B, np.array([s for _, s in evals]), rcond=None)[0]
    member_bytes, ensemble_bytes, max_members = 0, CPU_REFERENCE.ensemble_bytes, CPU_REFERENCE.max_members
    if peaks:  # the largest shape per member: an upper bound on what one more member adds at the full split
        member_bytes = int(max(b / E for E, b in peaks))
        ensemble_bytes = int(0.5 * torch.cuda.get_device_properties(dev).total_memory)
        max_members = 256
    costs = Costs(devices.describe(dev), tuple(float(max(c, 0.0)) for c in step),
                  tuple(float(max(c, 0.0)) for c in ev), member_bytes, ensemble_bytes, max_members)
    return costs, rows
