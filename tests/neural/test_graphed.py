"""The captured training step (neural.graphed): warm-up, capture, the bit-for-bit check against an eager step,
the fall-backs, and a new capture when the batch changes shape. CUDA's graph API is replaced by a fake that, like
CUDA, records without running and replays what it recorded, so the orchestration is tested on the CPU; the
trainer's own numbers must not move."""
from __future__ import annotations

import pytest
import torch

from neural import graphed, train
from neural.config import TrainConfig

SMALL = TrainConfig(p=23, frac=0.5, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=40, seeds=(0, 1),
                    wds=(1.0,), eval_points=5, threads=1)


class FakeCapture:
    """A capture records `fn` without running it; a replay runs it (twice when `doubled`: a wrong graph)."""

    def __init__(self, doubled: bool = False, fails: bool = False):
        self.doubled, self.fails = doubled, fails
        self.warms = self.captured = self.replays = 0

    def warm(self, fn):
        self.warms += 1
        fn()

    def capture(self, fn):
        if self.fails:
            raise RuntimeError("operation not permitted when stream is capturing")
        self.captured += 1

        def replay():
            self.replays += 1
            for _ in range(2 if self.doubled else 1):
                fn()
        return replay


def test_warm_up_capture_check_then_replay_and_capture_again_after_a_reset():
    x = torch.tensor([1.0])
    api = FakeCapture()
    g = graphed.StepGraph(lambda: x.mul_(3).add_(1), lambda: [x], api)
    expected = torch.tensor([1.0])
    for n in range(12):
        if n == 7:
            g.reset()  # a new batch: warm up and capture again
        g.step()
        expected.mul_(3).add_(1)
        assert torch.equal(x, expected), n  # every step, graph or not, is exactly one step
    assert (api.warms, api.captured, g.captures) == (2 * graphed.WARMUP, 2, 2)
    assert api.replays == 12 - 2 * graphed.WARMUP  # the checks' replays and the steps replayed


@pytest.mark.parametrize("fake, why", [(FakeCapture(doubled=True), "a replay differed from the eager step"),
                                       (FakeCapture(fails=True), "capture failed (RuntimeError")])
def test_a_capture_that_fails_or_differs_leaves_the_run_eager_with_its_numbers(fake, why, monkeypatch, capsys):
    eager = train.train(SMALL, None, progress=False)
    monkeypatch.setattr(graphed, "capture_for", lambda dev: fake)
    got = train.train(SMALL, None, progress=False)
    assert why in capsys.readouterr().err
    assert all(torch.equal(got.params[k], eager.params[k]) for k in eager.params)
    assert got.rows == eager.rows
    assert fake.replays <= 1  # at most the one checked replay


def test_a_run_with_a_checked_graph_gives_the_eager_run_numbers_bit_for_bit(monkeypatch):
    eager = train.train(SMALL, None, progress=False)
    fake = FakeCapture()
    monkeypatch.setattr(graphed, "capture_for", lambda dev: fake)
    got = train.train(SMALL, None, progress=False)
    assert fake.captured >= 1 and fake.replays > SMALL.steps // 2  # most steps were replays
    assert all(torch.equal(got.params[k], eager.params[k]) for k in eager.params)
    assert got.rows == eager.rows


def test_members_leaving_the_batch_drop_the_graph(monkeypatch):
    monkeypatch.setattr(graphed, "capture_for", lambda dev: FakeCapture())
    st = train._start(SMALL, train.model_config(SMALL), torch.device("cpu"), None)
    run = train._Run(SMALL, torch.device("cpu"), None, st)
    for _ in range(graphed.WARMUP + 2):
        run.train_step()
    assert run.graph.replay is not None and st.step == graphed.WARMUP + 2
    st.keep([1])  # member 0 leaves, as sync does for a converged or diverged member
    run._batch()
    assert run.graph.replay is None and run.graph.warmed == 0


def test_only_cuda_captures_and_the_switch_turns_it_off(monkeypatch):
    assert graphed.capture_for(torch.device("cpu")) is None
    monkeypatch.setenv("GROK_CUDA_GRAPH", "off")
    assert graphed.capture_for(torch.device("cuda")) is None  # decided before CUDA is touched
