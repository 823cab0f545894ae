"""Nothing on the training or analysis path may create a tensor on torch's default device: on a GPU run such a
tensor lands on the CPU and the first op mixing it with the run's tensors fails (the paper presets' first CUDA run
failed so, in the Fourier basis of the Gini measure). With the default device set to "meta", any tensor created
without naming its device is a meta tensor, and mixing it with the run's CPU tensors or reading it fails loudly."""
import pytest
import torch

from neural import inspect_run, protocol, train
from neural.config import TrainConfig
from neural.experiments import efficiency, semigrok, ungrok

TINY = TrainConfig(p=11, frac=0.6, d_model=8, n_heads=2, d_head=4, d_mlp=16, steps=20, eval_points=4,
                   checkpoint_every=10, threads=1)


@pytest.fixture
def meta_default():
    torch.set_default_device("meta")
    try:
        yield
    finally:
        torch.set_default_device(None)


def test_training_and_resume_name_their_device(meta_default, tmp_path):
    out = tmp_path / "run"
    assert train.train(TINY, out, progress=False, stop_after=10).stopped_at == 10
    train.train(TINY, out, progress=False)  # resumed from its checkpoint
    assert inspect_run.analyze_run(out)["p"] == TINY.p


def test_sweeps_name_their_device(meta_default, tmp_path, monkeypatch):
    monkeypatch.setattr(ungrok, "GENERALISED", 0.0)  # tiny parents never generalise: run stage 2 anyway
    pre = ungrok.Preset(TINY, parent_steps=10, parent_wd=1.0, child_windows=0.01, wds=(1.0,), seeds=(0,),
                        d_prime_fracs=(0.3,))
    protocol.run_preset(ungrok.EXPERIMENT, pre, tmp_path / "ungrok", progress=False)
    eff = efficiency.Preset(TINY.with_(frac=None, train_size=60), mem_sizes=(30,), gen_fracs=(0.6,), wds=(1.0,),
                            seeds=(0,), mem_cap=10, gen_cap=10)
    protocol.run_preset(efficiency.EXPERIMENT, eff, tmp_path / "efficiency", progress=False)
    semi = semigrok.Preset(TINY.with_(frac=None, train_size=40, seeds=(0,)), sizes=(40,))
    protocol.run_preset(semigrok.EXPERIMENT, semi, tmp_path / "semigrok", progress=False)
