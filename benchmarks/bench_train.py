"""The trainer's step as it trains against the plain reference path, measured side by side in one run.

Two cases:
- paper size (p=113, train fraction 0.3, d_model 128), one member;
- cpu size (p=59, D=600, d_model 64), 8 members: the trainer's one ensemble step against the reference trained one
  member at a time, as a user with a loop would.
The trainer's step is neural.train's own (`_Run.train_step`: loss, gradients, the guarded AdamW on flat buffers,
divergence flags). The reference is the plain model over all positions (model.reference_forward), float64
cross-entropy and torch.optim.AdamW, one model per member. Each is shown with its share of the float32 matmul
rate (FLOPs of the fast path's step / time / rate of a 1024x1024 matmul burst timed in the same round). Then the
cost of evaluation: a full evaluation against a cheap one, and evaluation's share of a run of the demo's
ungrokking children before (every evaluation full) and now.
Targets (ratios from this one run): >= 5.5x at the paper size; >= 6x at the cpu size with 8 members.

This shared 2-core machine's speed drifts by tens of percent within a minute, so the functions are called in
turn, round after round, and medians of same-round ratios are reported with the 10th-90th percentile.
Run: .venv/bin/python benchmarks/bench_train.py [--quick]
"""
import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F

from neural import dataset, evaluation, model, train
from neural.config import preset
from neural.experiments import ungrok


def step_flops(cfg, N: int) -> float:
    """FLOPs of one fast training step of one member: 2 x multiply-adds of the forward pass, x 3 for forward and
    backward. Attention inputs are computed once per (position, token) table row, the MLP and unembed once per
    example (last position only)."""
    m = train.model_config(cfg)
    hd = m.n_heads * m.d_head
    per_row = 2 * (hd * m.d_model + 2 * m.d_model * m.d_mlp + m.d_model * m.d_vocab_out)  # W_O, W_in, W_out, W_U
    tables = 2 * m.n_ctx * m.d_vocab * m.d_model * (hd + m.n_heads)  # value and score tables
    mix = 2 * N * m.n_heads * m.n_ctx * m.d_head
    return 3.0 * (N * per_row + tables + mix)


def trainer(cfg):
    """One training step as train() takes it, on a fresh ensemble of cfg's members."""
    st = train._start(cfg, train.model_config(cfg), torch.device("cpu"), None)
    run = train._Run(cfg, torch.device("cpu"), None, st)
    return run.train_step


def reference(cfg):
    """One training step of every member in turn, each its own plain model and torch.optim.AdamW."""
    mcfg = train.model_config(cfg)
    data = dataset.Data(cfg, torch.device("cpu"))
    models = []
    for e, m in enumerate(cfg.members()):
        params = {k: torch.nn.Parameter(v) for k, v in model.init_params(mcfg, [m["seed"]]).items()}
        opt = torch.optim.AdamW(params.values(), lr=m["lr"], weight_decay=m["wd"], betas=cfg.betas)
        models.append((params, opt, data.train_tokens[e:e + 1], data.train_labels[e]))

    def step():
        for params, opt, tokens, labels in models:
            logits = model.reference_forward(params, mcfg, tokens)[0]
            loss = F.cross_entropy(logits.double(), labels)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    return step


def alternate(fns: dict, rounds: int) -> dict[str, np.ndarray]:
    """Seconds per call of each function, called in turn, round after round (after two warm-up calls each)."""
    for f in fns.values():
        f()
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


def compare(name: str, cfg, rounds: int, target: float) -> None:
    n = 1024
    a, b = torch.randn(n, n), torch.randn(n, n)
    burst = 4
    E, N = len(cfg.members()), dataset.Data(cfg, torch.device("cpu")).sizes[0]
    t = alternate({"matmul": lambda: [a @ b for _ in range(burst)], "trainer": trainer(cfg),
                   "reference": reference(cfg)}, rounds)
    rate = 2 * n**3 * burst / t["matmul"]
    flops = E * step_flops(cfg, N)
    print(f"{name}: {E} member(s), D={N}; one step of every member, ms (median, 10th-90th percentile)")
    print(f"  trainer as it trains {spread(1e3 * t['trainer'])}  ({flops / 1e9:.2f} GFLOP: "
          f"{spread(100 * flops / t['trainer'] / rate)} % of the matmul rate {spread(rate / 1e9)} GFLOP/s)")
    print(f"  plain reference{' one member at a time' if E > 1 else ''} {spread(1e3 * t['reference'])}  "
          f"({spread(100 * flops / t['reference'] / rate)} % of the matmul rate, counting the fast path's FLOPs)")
    print(f"  speed-up, same round: {spread(t['reference'] / t['trainer'])}x   (target >= {target}x)")


def evaluation_share(rounds: int) -> None:
    """A full and a cheap evaluation at the cpu size, and evaluation's share of the demo's ungrokking children."""
    pre = ungrok.PRESETS["demo"]
    D = ungrok.d_prime_sizes(pre, "add")
    members = tuple({"seed": 0, "wd": wd, "lr": pre.base.lrs[0], "subset": d} for wd in pre.wds for d in D)
    cfg = pre.base.with_(steps=ungrok.child_steps(pre, min(pre.wds)), converge=True, member_specs=members,
                         threads=None)
    cfg = train.resolve_threads(cfg, None)
    st = train._start(cfg, train.model_config(cfg), torch.device("cpu"), None)
    run = train._Run(cfg, torch.device("cpu"), None, st)
    params, mcfg, data = st.params(), run.mcfg, run.data
    t = alternate({"full": lambda: evaluation.evaluate(params, mcfg, data, cfg, full=True),
                   "cheap": lambda: evaluation.evaluate(params, mcfg, data, cfg, full=False),
                   "step": run.train_step}, rounds)
    full, cheap, step = (float(np.median(t[k])) for k in ("full", "cheap", "step"))
    n_full = len(dataset.full_eval_steps(cfg))
    n_all = len(dataset.eval_steps(cfg))
    before = n_all * full / (cfg.steps * step)
    now = (n_full * full + (n_all - n_full) * cheap) / (cfg.steps * step)
    print(f"evaluation, {len(members)} members on all {len(data.answer)} pairs: full {1e3 * full:.1f} ms, cheap "
          f"{1e3 * cheap:.1f} ms ({full / cheap:.1f}x), a training step {1e3 * step:.1f} ms")
    print(f"  share of the demo children's {cfg.steps}-step run ({n_all} evaluations, {n_full} of them full, if no "
          f"member stopped): {100 * before:.0f}% of the training time when every evaluation was full, "
          f"{100 * now:.0f}% now")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer rounds")
    args = ap.parse_args()
    rounds = 6 if args.quick else 20
    train.tune_process()  # flush denormals, keep freed memory: as the trainer does
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, {rounds} alternating rounds")
    compare("paper size", preset("paper").with_(threads=torch.get_num_threads()), rounds, 5.5)
    cpu = preset("cpu").with_(frac=None, train_size=600, seeds=tuple(range(8)), threads=torch.get_num_threads())
    compare("cpu size", cpu, rounds, 6.0)
    evaluation_share(rounds)


if __name__ == "__main__":
    main()
