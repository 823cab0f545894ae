"""Training-step speed at the paper size (p=113, train fraction 0.3, d_model 128), measured side by side.

Prints: the float32 matmul rate; FLOPs of one step; ms per training step (loss, gradients, AdamW) of the fast
path and of the plain reference (same weights, losses shown equal); the cost of an evaluation; ms per
model-step for ensembles of 1, 4 and 16, in float32 and bf16.
Targets (ratios from this one run): fast >= 4x the reference; fast achieves >= 60% of the matmul rate.

This shared 2-core machine's speed drifts by tens of percent within a minute, so every ratio is taken from
paired measurements made alternately (a matmul burst, then a step, round after round) and the median over
rounds is reported, with the spread (10th-90th percentile) beside it. As a ceiling it also times the step's
large matrix products alone: no step can beat that rate.
Run: .venv/bin/python benchmarks/bench_train.py [--quick]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from neural import model, optim, train
from neural.config import preset


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


def step_products(m, N: int):
    """A function running the 12 large matrix products of a fast training step (forward and backward of W_O,
    W_in, W_out, W_U over N rows) on random data, with their FLOPs: the speed a step could reach if nothing
    but its matrix products took time."""
    d, hd, dm, C = m.d_model, m.n_heads * m.d_head, m.d_mlp, m.d_vocab_out
    z, r, h, g_logit = torch.randn(N, hd), torch.randn(N, d), torch.randn(N, dm), torch.randn(N, C)
    g_r, g_h = torch.randn(N, d), torch.randn(N, dm)
    W_O, W_in, W_out, W_U = torch.randn(hd, d), torch.randn(d, dm), torch.randn(dm, d), torch.randn(d, C)

    def run():
        z @ W_O, r @ W_in, h @ W_out, r @ W_U  # forward
        r.T @ g_logit, g_logit @ W_U.T, h.T @ g_r, g_r @ W_out.T, r.T @ g_h, g_h @ W_in.T, z.T @ g_r, g_r @ W_O.T
    return run, 3 * 2 * N * (hd * d + 2 * d * dm + d * C)


def trainer_step(loss_fn, params):
    """A function doing one training step as the trainer takes it (loss, gradients, AdamW) on a copy of
    `params`; it returns the loss summed over members."""
    params = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
    E = params["W_E"].shape[0]
    opt, lr, wd = optim.init_state(params), torch.full((E,), 1e-3), torch.ones(E)

    def once() -> float:
        loss = loss_fn(params)
        train.descend(params, loss, opt, lr, wd, (0.9, 0.98))
        return float(loss.detach().sum())
    return once


def alternate(fns: dict, rounds: int) -> dict[str, np.ndarray]:
    """Seconds per call of each function, called in turn, round after round (after one warm-up call each)."""
    for f in fns.values():
        f()
    times = {k: [] for k in fns}
    for _ in range(rounds):
        for k, f in fns.items():
            t = time.perf_counter()
            f()
            times[k].append(time.perf_counter() - t)
    return {k: np.array(v) for k, v in times.items()}


def spread(x: np.ndarray) -> str:
    return f"{np.median(x):.2f} ({np.percentile(x, 10):.2f}-{np.percentile(x, 90):.2f})"


def reference_loss(mcfg, data):
    """The plain model over all positions, with float64 cross-entropy."""
    def loss(params):
        logits = model.reference_forward(params, mcfg, data.train_tokens)
        E, D, C = logits.shape
        ce = F.cross_entropy(logits.double().reshape(E * D, C), data.train_labels.reshape(-1), reduction="none")
        return ce.reshape(E, D).mean(1)
    return loss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds, ensembles of 1 and 4 only")
    args = ap.parse_args()
    rounds = 8 if args.quick else 30
    cfg = preset("paper")
    train.tune_process()  # flush denormals, keep freed memory: as the trainer does
    data = train.Data(cfg, torch.device("cpu"))
    mcfg = train.model_config(cfg)
    N = data.train_tokens.shape[1]
    f_fast, f_ref = step_flops(cfg, N, False), step_flops(cfg, N, True)
    params = model.init_params(mcfg, [0])
    fast = trainer_step(lambda p: train.losses(p, mcfg, data, "float32"), params)
    ref = trainer_step(reference_loss(mcfg, data), params)
    loss_fast, loss_ref = fast(), ref()  # first steps, from the same weights
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    burst = 8  # matmuls per burst: about as long as a fast step
    products, f_products = step_products(mcfg, N)
    t = alternate({"matmul": lambda: [a @ b for _ in range(burst)], "products": products, "fast": fast,
                   "reference": ref}, rounds)
    rate = 2 * n**3 * burst / t["matmul"]  # FLOP/s per round
    achieved = f_fast / t["fast"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {rounds} alternating rounds; "
          f"median (10th-90th percentile)")
    print(f"float32 matmul ({n}x{n}): {spread(rate / 1e9)} GFLOP/s")
    print(f"one training step (loss, gradients, AdamW), N={N}: fast {spread(1e3 * t['fast'])} ms "
          f"({f_fast / 1e9:.2f} GFLOP, {spread(achieved / 1e9)} GFLOP/s); reference {spread(1e3 * t['reference'])} ms "
          f"({f_ref / 1e9:.2f} GFLOP); losses {loss_fast:.6f} vs {loss_ref:.6f}")
    print(f"fast achieved / matmul rate, same round: {spread(100 * achieved / rate)} %   (target >= 60%)")
    print(f"  ceiling: the step's 12 big matrix products alone, back to back ({f_products / 1e9:.2f} GFLOP): "
          f"{spread(1e3 * t['products'])} ms = {spread(100 * f_products / t['products'] / rate)} % of matmul rate")
    print(f"fast / reference speed-up, same round: {spread(t['reference'] / t['fast'])}x   (target >= 4x)")
    t0 = time.perf_counter()
    for _ in range(3):
        train.evaluate(params, mcfg, data, cfg)
    ev = (time.perf_counter() - t0) / 3
    step = float(np.median(t["fast"]))
    n_evals = len(train.eval_steps(cfg))
    print(f"one evaluation (all {len(data.answer)} pairs, every metric): {1e3 * ev:.0f} ms = {ev / step:.1f} steps; "
          f"{n_evals} evaluations in a {cfg.steps}-step run add {100 * n_evals * ev / (cfg.steps * step):.0f}%")
    print(f"{'members':>8} {'float32 ms/model-step':>22} {'bf16 ms/model-step':>20} {'bf16 speed-up':>14}")
    for E in ([1, 4] if args.quick else [1, 4, 16]):
        ens = train.Data(cfg.with_(seeds=tuple(range(E))), torch.device("cpu"))
        p = model.init_params(mcfg, list(range(E)))
        t = alternate({"f32": trainer_step(lambda q: train.losses(q, mcfg, ens, "float32"), p),
                       "bf16": trainer_step(lambda q: train.losses(q, mcfg, ens, "bf16"), p)},
                      max(3, rounds // E))
        t32, t16 = np.median(t["f32"]), np.median(t["bf16"])
        print(f"{E:>8} {1e3 * t32 / E:>22.1f} {1e3 * t16 / E:>20.1f} {np.median(t['f32'] / t['bf16']):>13.2f}x")


if __name__ == "__main__":
    main()
