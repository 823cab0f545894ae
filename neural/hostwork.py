"""Counting what the host does for the device: every backend op (on a GPU, a kernel launch) and every host
synchronisation (on a GPU, a stall of the stream), through a TorchDispatchMode over whatever runs inside.

A synchronisation is a read of tensor data by the host: `.item()`, `float()`, `int()`, `bool()` of a tensor
(aten._local_scalar_dense), ops whose output size depends on the data (nonzero, masked_select, boolean-mask
indexing, unique), and `.cpu()`, `.tolist()`, `.numpy()` of a tensor not already brought to the host. The last
three do not pass the dispatcher on a CPU tensor, so they are counted by wrapping them while the mode is active.
The benchmark (benchmarks/bench_host_work.py) and the engine's tests (tests/neural/test_host_work.py) use it.
"""
from __future__ import annotations

import collections
import weakref
from dataclasses import dataclass, field

import torch
from torch.utils._python_dispatch import TorchDispatchMode

aten = torch.ops.aten
_DATA_DEPENDENT = {aten._local_scalar_dense.default, aten.nonzero.default, aten.masked_select.default,
                   aten._unique2.default, aten.unique_consecutive.default, aten.unique_dim.default}


@dataclass
class Counts:
    syncs: int = 0
    by_op: collections.Counter = field(default_factory=collections.Counter)  # op name -> how many

    @property
    def ops(self) -> int:
        return sum(self.by_op.values())


class HostWork(TorchDispatchMode):
    """`with HostWork() as hw: ...`, then hw.counts.ops and hw.counts.syncs."""

    def __init__(self):
        super().__init__()
        self.counts = Counts()
        self._on_host: dict[int, weakref.ref] = {}  # tensors brought to the host (by id; tensors do not hash by value)
        self._saved: dict = {}

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.counts.by_op[str(func)] += 1
        if func in _DATA_DEPENDENT or (func is aten.index.Tensor and any(
                isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in args[1])):
            self.counts.syncs += 1
        return func(*args, **(kwargs or {}))

    def _read(self, name: str):
        original = self._saved[name]
        mode = self

        def wrapped(t, *a, **k):
            ref = mode._on_host.get(id(t))
            if ref is None or ref() is not t:
                mode.counts.syncs += 1
            out = original(t, *a, **k)
            if name == "cpu" and isinstance(out, torch.Tensor):
                mode._on_host[id(out)] = weakref.ref(out)
            return out
        return wrapped

    def __enter__(self):
        for name in ("cpu", "tolist", "numpy"):
            self._saved[name] = getattr(torch.Tensor, name)
            setattr(torch.Tensor, name, self._read(name))
        return super().__enter__()

    def __exit__(self, *exc):
        for name, fn in self._saved.items():
            setattr(torch.Tensor, name, fn)
        return super().__exit__(*exc)


def count(fn, *args, **kwargs) -> tuple[Counts, object]:
    """fn(*args, **kwargs) under HostWork: (its counts, its result)."""
    with HostWork() as hw:
        result = fn(*args, **kwargs)
    return hw.counts, result
