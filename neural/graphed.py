"""The training step as a CUDA graph (issue 29): captured once a batch's shapes are fixed and replayed every step,
so that a step costs the host one launch whatever the number of its kernels.

The step is written for it (`neural.train._Run._device_step`): every number that changes from step to step lives
on the device and is written in place (weights, moments, AdamW's count, the step, the divergence flags); the host's
own step count is kept apart. `StepGraph` runs `WARMUP` eager steps on a side stream (autograd and cuBLAS set up
their workspaces there, outside the capture), captures the next step on that stream, and checks the capture before
trusting it: from the same state, one replay and one eager step must agree bit for bit, else the run stays eager
and says why. The graph is dropped whenever the batch changes shape (finished members leave it) and captured again
after the next warm-up. A capture that fails leaves the run eager with one line saying why: the graph is a speed-up,
never a change of numbers. Only on CUDA; `GROK_CUDA_GRAPH=off` keeps CUDA eager as well.
"""
from __future__ import annotations

import os
import sys
from typing import Callable, Protocol

from rundir.lazy import lazy

torch = lazy("torch")

WARMUP = 3  # eager steps on the side stream before a capture
OFF = ("off", "0", "false", "no")


class Capture(Protocol):
    """What StepGraph needs of a device's graph API (tests pass a fake)."""

    def warm(self, fn: Callable[[], None]) -> None: ...  # run fn eagerly where the capture will happen

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]: ...  # record fn; return its replay


class CudaCapture:
    """torch.cuda's graphs: warm-up and capture on one side stream, replay on the current one."""

    def __init__(self, dev):
        self.dev = dev
        self.stream = torch.cuda.Stream(dev)

    def warm(self, fn: Callable[[], None]) -> None:
        self.stream.wait_stream(torch.cuda.current_stream(self.dev))
        with torch.cuda.stream(self.stream):
            fn()
        torch.cuda.current_stream(self.dev).wait_stream(self.stream)

    def capture(self, fn: Callable[[], None]) -> Callable[[], None]:
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=self.stream):
            fn()
        return graph.replay


def capture_for(dev) -> Capture | None:
    """The graph API for `dev`: CUDA's, unless GROK_CUDA_GRAPH is off; None elsewhere (eager)."""
    if dev.type != "cuda" or os.environ.get("GROK_CUDA_GRAPH", "on").strip().lower() in OFF:
        return None
    return CudaCapture(dev)


class StepGraph:
    """`body()` advances the device state `state()` (every tensor it writes) by one step; `step()` does the same,
    by replaying a checked capture of it when there is one."""

    def __init__(self, body: Callable[[], None], state: Callable[[], list], api: Capture | None):
        self.body, self.state, self.api = body, state, api
        self.replay: Callable[[], None] | None = None
        self.warmed = 0
        self.captures = 0  # captures checked and adopted (a run's count, for tests and benchmarks)

    def reset(self) -> None:
        """The batch changed shape: drop the graph; capture again after the next warm-up."""
        self.replay, self.warmed = None, 0

    def step(self) -> None:
        if self.replay is not None:
            self.replay()
        elif self.api is None:
            self.body()
        elif self.warmed < WARMUP:
            self.api.warm(self.body)
            self.warmed += 1
        else:
            self._capture_checked()

    def _capture_checked(self) -> None:
        """Capture, replay once, then redo the step eagerly from the same state: adopt the graph only when the two
        agree bit for bit. Either way the state ends one eager step on."""
        state = self.state()
        before = [t.clone() for t in state]
        try:
            replay = self.api.capture(self.body)
            replay()
        except Exception as err:  # an op that needs the host, an allocator refusal: the graph is only a speed-up
            self._restore(state, before)
            self._give_up(f"capture failed ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})")
            self.body()
            return
        graphed = [t.clone() for t in state]
        self._restore(state, before)
        self.body()
        differ = [k for k, (a, b) in enumerate(zip(graphed, state)) if not torch.equal(a, b)]
        if differ:
            self._give_up(f"a replay differed from the eager step (state tensors {differ})")
            return
        self.replay = replay
        self.captures += 1

    @staticmethod
    def _restore(state: list, before: list) -> None:
        for t, b in zip(state, before):
            t.copy_(b)

    def _give_up(self, why: str) -> None:
        print(f"CUDA graph: {why}; this run trains eagerly", file=sys.stderr)
        self.api, self.replay = None, None
