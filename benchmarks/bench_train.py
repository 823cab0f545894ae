"""Training-step speed at the paper size (p=113, train fraction 0.3, d_model 128), measured side by side.

Prints: the measured float32 matmul rate; FLOPs of one step; ms per step of the fast path and of the plain
reference (same weights, losses shown equal); ms per model-step for ensembles of 1, 4 and 16; the same in bf16.
Targets (ratios from this one run): fast >= 4x the reference; fast achieves >= 60% of the matmul rate.
Run: .venv/bin/python benchmarks/bench_train.py [--quick]
"""
import argparse
import time

import torch
import torch.nn.functional as F

from neural import model, train
from neural.config import preset


def matmul_rate(n: int = 1024, reps: int = 20) -> float:
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t)


def step_flops(cfg, N: int, all_positions: bool) -> float:
    """2 x multiply-adds of one forward pass, x 3 for forward + backward. The fast path computes attention
    inputs once per (position, token) table row, the reference once per example and position."""
    m = train.model_config(cfg)
    rows = N * (m.n_ctx if all_positions else 1)  # positions that go through attention output, MLP
    hd = m.n_heads * m.d_head
    per_row = 2 * (hd * m.d_model + 2 * m.d_model * m.d_mlp)  # W_O, W_in, W_out
    unembed = 2 * N * m.d_model * m.d_vocab_out
    if all_positions:
        qkv = 3 * 2 * N * m.n_ctx * m.d_model * hd
        mix = 2 * 2 * N * m.n_heads * m.n_ctx * m.n_ctx * m.d_head
    else:
        qkv = 2 * m.n_ctx * m.d_vocab * m.d_model * (hd + m.n_heads)  # value and score tables
        mix = 2 * N * m.n_heads * m.n_ctx * m.d_head
    return 3.0 * (rows * per_row + unembed + qkv + mix)


def time_steps(params, mcfg, data, fwd, precision="float32", reps=5) -> tuple[float, float]:
    for p in params.values():
        p.requires_grad_(True)

    def once():
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            logits = fwd(params, mcfg, data.train_tokens)
        E, D, C = logits.shape
        loss = F.cross_entropy(logits.float().reshape(E * D, C), data.train_labels.reshape(-1))
        torch.autograd.grad(loss, list(params.values()))
        return loss.item()

    loss = once()
    t = time.perf_counter()
    for _ in range(reps):
        once()
    return (time.perf_counter() - t) / reps, loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer repetitions, ensembles of 1 and 4 only")
    args = ap.parse_args()
    reps = 2 if args.quick else 5
    cfg = preset("paper")
    torch.set_flush_denormal(True)  # as the trainer does
    rate = matmul_rate()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; float32 matmul: {rate / 1e9:.0f} GFLOP/s")
    data = train.Data(cfg, torch.device("cpu"))
    mcfg = train.model_config(cfg)
    N = data.train_tokens.shape[1]
    f_fast, f_ref = step_flops(cfg, N, False), step_flops(cfg, N, True)
    params = model.init_params(mcfg, [0])
    fast, loss_fast = time_steps(params, mcfg, data, model.forward, reps=reps)
    ref, loss_ref = time_steps(params, mcfg, data, model.reference_forward, reps=max(1, reps // 2))
    print(f"one step, N={N}: fast {1e3 * fast:.1f} ms ({f_fast / 1e9:.2f} GFLOP, {f_fast / fast / 1e9:.0f} GFLOP/s, "
          f"{100 * f_fast / fast / rate:.0f}% of matmul rate); reference {1e3 * ref:.1f} ms ({f_ref / 1e9:.2f} GFLOP); "
          f"losses {loss_fast:.6f} vs {loss_ref:.6f}")
    print(f"fast / reference speed-up: {ref / fast:.1f}x   (target >= 4x)")
    t = time.perf_counter()
    for _ in range(reps):
        train.evaluate(params, mcfg, data, cfg)
    ev = (time.perf_counter() - t) / reps
    n_evals = len(train.eval_steps(cfg))
    print(f"one evaluation (all {len(data.answer)} pairs, every metric): {1e3 * ev:.0f} ms = {ev / fast:.1f} steps; "
          f"{n_evals} evaluations in a {cfg.steps}-step run add {100 * n_evals * ev / (cfg.steps * fast):.0f}%")
    print(f"{'members':>8} {'float32 ms/model-step':>22} {'bf16 ms/model-step':>20} {'bf16 speed-up':>14}")
    for E in ([1, 4] if args.quick else [1, 4, 16]):
        ens = train.Data(cfg.with_(seeds=tuple(range(E))), torch.device("cpu"))
        p = model.init_params(mcfg, list(range(E)))
        t32, _ = time_steps(p, mcfg, ens, model.forward, reps=reps)
        t16, _ = time_steps(model.init_params(mcfg, list(range(E))), mcfg, ens, model.forward, "bf16", reps=reps)
        print(f"{E:>8} {1e3 * t32 / E:>22.1f} {1e3 * t16 / E:>20.1f} {t32 / t16:>13.2f}x")


if __name__ == "__main__":
    main()
