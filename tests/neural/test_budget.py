"""The memory estimate bounds the measured peak from above, within a factor of 3, and absurd sizes are refused."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from neural import budget
from neural.config import TrainConfig

MEASURE = """
import json, resource, sys
from neural import budget, train
from neural.config import TrainConfig
warm = TrainConfig(p=5, frac=0.5, d_model=8, n_heads=1, d_head=8, d_mlp=8, steps=1, threads=1)
train.train(warm, None, progress=False)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
cfg = TrainConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in json.loads(sys.argv[1]).items()})
train.train(cfg, None, progress=False)
print(json.dumps({"measured": (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024,
                  "estimated": budget.estimate_bytes(cfg)}))
"""


@pytest.mark.parametrize("kw", [
    # eval-bound
    {"p": 97, "frac": 0.5, "d_model": 32, "n_heads": 2, "d_head": 16, "d_mlp": 64, "seeds": list(range(16))},
    # MLP-bound
    {"p": 59, "frac": 0.5, "d_model": 64, "n_heads": 4, "d_head": 16, "d_mlp": 4096, "seeds": list(range(8))},
])
def test_estimate_bounds_the_measured_peak(kw):
    cfg = {**kw, "steps": 2, "eval_points": 2, "threads": 1}
    # the estimate measured here is host memory: hide any GPU, whose memory the process's RSS does not count
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": ""}
    out = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(cfg)], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2], env=env)
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["measured"] > 100 * 2**20  # the configuration is big enough to measure
    assert r["measured"] <= r["estimated"] <= 3 * r["measured"], r


def test_absurd_sizes_are_refused_before_allocating():
    for cfg in (TrainConfig(p=4000), TrainConfig(p=59, d_model=64, d_head=16, d_mlp=256, seeds=tuple(range(5000)))):
        with pytest.raises(ValueError, match="estimated peak memory .* exceeds the limit"):
            budget.check(cfg, torch.device("cpu"))
    assert budget.check(TrainConfig(), torch.device("cpu")) < 2**30  # the paper preset fits easily
