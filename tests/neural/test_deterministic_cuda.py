"""On CUDA a run trains under torch.use_deterministic_algorithms(True) (neural.device.numerics_mode), and there torch
refuses with a RuntimeError every op it has no deterministic CUDA kernel for. A CPU never refuses them, so this test
names them, as torch.use_deterministic_algorithms' documentation lists them (torch 2.13), and checks that a run
never calls one: its training steps, its cheap and full evaluations and its convergence test, on members of
different D'."""
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from neural import train
from neural.config import TrainConfig


def _floating(args, kwargs) -> bool:
    return args[0].is_floating_point() or args[0].is_complex()


ALWAYS = lambda args, kwargs: True  # noqa: E731
REFUSED_ON_CUDA = {  # aten op -> when CUDA's deterministic mode refuses it
    "cumsum": _floating, "cumsum_": _floating,
    "bincount": lambda a, k: (a[1] if len(a) > 1 else k.get("weights")) is not None,
    "median": lambda a, k: len(a) > 1 or "dim" in k, "nanmedian": lambda a, k: len(a) > 1 or "dim" in k,
    "scatter_reduce": lambda a, k: "prod" in a[3:4], "scatter_reduce_": lambda a, k: "prod" in a[3:4],
    "nll_loss2d_forward": lambda a, k: a[3] != 0,
    **dict.fromkeys(("histc", "put", "put_", "ctc_loss", "grid_sampler_2d_backward", "upsample_bilinear2d_backward",
                     "embedding_bag", "max_unpool2d", "reflection_pad1d_backward"), ALWAYS),
}


class RefusedOps(TorchDispatchMode):
    def __init__(self):
        super().__init__()
        self.seen: set[str] = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        when = REFUSED_ON_CUDA.get(func.overloadpacket.__name__)
        if when is not None and when(args, kwargs):
            self.seen.add(str(func))
        return func(*args, **kwargs)


def test_the_catalogue_sees_what_cuda_refuses():
    with RefusedOps() as mode:
        torch.arange(4.0).cumsum(0)
        torch.arange(4).cumsum(0)  # integers: CUDA has a deterministic kernel
    assert mode.seen == {"aten.cumsum.default"}


def test_a_run_calls_nothing_cuda_refuses_in_deterministic_mode():
    cfg = TrainConfig(p=23, frac=None, train_size=120, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=60,
                      eval_points=6, converge=True, threads=1,
                      member_specs=({"seed": 0, "lr": 1e-3, "wd": 1.0, "subset": 60},
                                    {"seed": 1, "lr": 1e-3, "wd": 3.0}))
    with RefusedOps() as mode:
        result = train.train(cfg, None, progress=False)
    assert result.summary is not None and any("restricted_loss" in r for r in result.rows)  # full evaluations ran
    assert mode.seen == set()
