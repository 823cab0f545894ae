"""--device: the spec is checked before anything trains, a device this machine lacks is a one-line error, config.json
records where a run trained, and a run is resumed on another device only when asked (and then recorded)."""
import pytest
import torch
from typer.testing import CliRunner

import rundir
from neural import device as devices, train
from commands.neural import app
from neural.config import TrainConfig

TINY = TrainConfig(p=11, frac=0.6, d_model=8, n_heads=2, d_head=4, d_mlp=16, steps=20, eval_points=4,
                   checkpoint_every=10, threads=1)


@pytest.fixture
def one_gpu(monkeypatch):
    """A machine that says it has one CUDA device (nothing is allocated on it in these tests)."""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 0)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("spec", ["gpu", "cuda:x", "cuda:", "cpu:0", "", "mps"])
def test_malformed_specs_name_the_option_and_the_choices(spec):
    with pytest.raises(ValueError, match=r"device=.* is not allowed: choose auto .*cpu, cuda or cuda:N"):
        devices.check_spec(spec)


def test_resolution(no_gpu):
    assert devices.resolve("auto") == devices.resolve(" CPU ") == torch.device("cpu")
    with pytest.raises(ValueError, match="device='cuda' is not available: torch sees no CUDA device"):
        devices.resolve("cuda")


def test_a_gpu_index_beyond_the_machine_is_refused(one_gpu):
    assert devices.resolve("cuda") == devices.resolve("cuda:0") == torch.device("cuda", 0)
    assert devices.resolve("auto") == torch.device("cuda", 0)
    with pytest.raises(ValueError, match=r"device='cuda:7' is not available: this machine has 1 CUDA device\(s\), "
                                         r"cuda:0 to cuda:0"):
        devices.resolve("cuda:7")


@pytest.mark.parametrize("args", [["train", "--device", "cuda"], ["train", "--device", "nonsense"],
                                  ["ungrok", "--preset", "demo", "--device", "cuda:7"],
                                  ["efficiency", "--preset", "demo", "--device", "cuda"],
                                  ["semigrok", "--preset", "demo", "--device", "tpu"]])
def test_bad_devices_are_one_line_errors_before_anything_trains(args, no_gpu, tmp_path):
    result = CliRunner().invoke(app, args + ["--out", str(tmp_path / "x")])
    assert result.exit_code == 2, result.output
    assert "device=" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1 and not (tmp_path / "x").exists()


def test_resume_on_another_device_is_refused_unless_asked(tmp_path):
    out = tmp_path / "run"
    assert train.train(TINY, out, progress=False, stop_after=10).stopped_at == 10
    record = rundir.read_json(out / "config.json")
    assert record["device"] == "cpu"
    # as if it had started on a GPU
    rundir.write_json(out / "config.json", {**record, "device": "cuda:0 (NVIDIA H200)"})
    with pytest.raises(ValueError, match=r"was trained on cuda:0 \(NVIDIA H200\); resuming it on cpu would not "
                                         r"continue "
                                         r"with the same numbers .*--device cuda:0, or pass --allow-device-change"):
        train.train(TINY, out, progress=False)
    assert not rundir.is_finished(out)
    r = train.train(TINY, out, progress=False, allow_device_change=True)
    assert r.summary["device_this_session"] == "cpu"
    changes = rundir.read_json(out / "config.json")["device_changes"]
    assert [c["to"] for c in changes] == ["cpu"]
    assert TrainConfig.from_dict(rundir.read_json(out / "config.json")["config"]) == TINY


def test_same_kind_of_device_resumes(tmp_path):
    """Another index of the same GPU model, or a record from before models were recorded, is the same device."""
    dev = torch.device("cpu")
    assert not devices.check_resume("cpu", dev, tmp_path, allow=False)
    assert not devices.check_resume(None, dev, tmp_path, allow=False)
    with pytest.raises(ValueError, match="was trained on cuda"):
        devices.check_resume("cuda", dev, tmp_path, allow=False)
