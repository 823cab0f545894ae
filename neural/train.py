"""Full-batch AdamW training of an ensemble, with metrics, checkpoints, exact resume and a progress bar.

A run directory holds config.json, metrics.csv (one row per evaluated step and member, columns
"split/metric"), checkpoint.pt (weights, optimiser state, step, metric rows: enough to resume exactly) and,
when finished, summary.json. An interrupted run resumes from its checkpoint and ends bit-identical to an
uninterrupted one on CPU. A member whose loss becomes NaN/inf is frozen there (its later rows are absent)
and reported; the run stops if every member has.
"""
from __future__ import annotations

import ctypes
import io
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

import rundir
from neural import analysis, loss, model, optim, tasks
from neural.config import TrainConfig


def tune_process() -> None:
    """Process-wide settings a training step's speed depends on (the benchmark applies them too).

    - Once train loss is ~1e-7, gradients and Adam's second moments reach subnormal floats, which the CPU
      handles ~10x slower (a paper-size step went from 50 to 130 ms): flush them to zero.
    - glibc hands every freed block above 128 kB back to the OS, so each step's fresh multi-MB tensors cost a
      page fault per 4 kB (2,300-7,700 faults per paper-size step, ~20% of its time): keep freed memory
      (trim threshold 1 GB) and serve blocks up to 32 MB from the heap (about 10-400 faults per step).
    """
    torch.set_flush_denormal(True)
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc (macOS, Windows, musl): keep the allocator's defaults
        return
    M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3  # from glibc's malloc.h
    mallopt(M_TRIM_THRESHOLD, 1 << 30)
    mallopt(M_TOP_PAD, 64 << 20)
    mallopt(M_MMAP_THRESHOLD, 32 << 20)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Data:
    """Every pair's tokens and answer, and each member's training split (equal sizes across members)."""

    def __init__(self, cfg: TrainConfig, dev: torch.device):
        x, y, answer = tasks.all_pairs(cfg.task, cfg.p)
        self.n = tasks.n_elements(cfg.task, cfg.p)
        self.tokens = tasks.sequences(x, y, self.n, cfg.fmt).to(dev)  # (N, n_ctx)
        self.answer = answer.to(dev)  # (N,) true answers (for o_t/o_m and restricted loss)
        members = cfg.members()
        N = len(answer)
        idx = [tasks.train_indices(N, seed=m["seed"], frac=cfg.frac, size=cfg.train_size) for m in members]
        self.train_idx = torch.stack(idx).to(dev)  # (E, D)
        self.train_mask = torch.zeros(len(members), N, dtype=torch.bool, device=dev)
        self.train_mask.scatter_(1, self.train_idx, True)
        if cfg.random_labels:
            self.labels = torch.stack([tasks.random_labels(N, self.n, seed=10_000 + m["seed"]) for m in members]).to(dev)
        else:
            self.labels = self.answer.expand(len(members), N).clone()  # (E, N)
        self.train_tokens = self.tokens[self.train_idx]  # (E, D, n_ctx)
        self.train_labels = self.labels.gather(1, self.train_idx)  # (E, D)


def model_config(cfg: TrainConfig) -> model.ModelConfig:
    n = tasks.n_elements(cfg.task, cfg.p)
    return model.ModelConfig(d_vocab=tasks.vocab_size(n, cfg.fmt), d_vocab_out=n, n_ctx=4 if cfg.fmt == "paper" else 3,
                             d_model=cfg.d_model, n_heads=cfg.n_heads, d_head=cfg.d_head, d_mlp=cfg.d_mlp)


def eval_steps(cfg: TrainConfig) -> set[int]:
    every = cfg.eval_every or max(cfg.steps // 50, 1)
    logs = np.unique(np.round(np.geomspace(1, cfg.steps, cfg.eval_points)).astype(int))
    return set(int(s) for s in logs) | set(range(0, cfg.steps + 1, every)) | {0, cfg.steps}


def losses(params, mcfg, data: Data, precision: str) -> torch.Tensor:
    """Per-member mean training cross-entropy, (E,)."""
    with torch.autocast(device_type=data.tokens.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model.forward(params, mcfg, data.train_tokens)  # (E, D, C)
    E, D, C = logits.shape
    ce = loss.cross_entropy(logits.float().reshape(E * D, C), data.train_labels.reshape(-1))
    return ce.reshape(E, D).mean(1)


@torch.no_grad()
def evaluate(params, mcfg, data: Data, cfg: TrainConfig) -> dict[str, torch.Tensor]:
    """Every metric for every member on all pairs: dict of (E,) tensors."""
    Z = model.forward(params, mcfg, data.tokens).float()  # (E, N, C)
    E, N, C = Z.shape
    ce = F.cross_entropy(Z.double().reshape(E * N, C), data.labels.reshape(-1), reduction="none").reshape(E, N)
    correct = (Z.argmax(-1) == data.labels).float()
    tr, te = data.train_mask.float(), (~data.train_mask).float()
    n_te = te.sum(1).clamp_min(1)
    out = {"train/loss": (ce * tr).sum(1) / tr.sum(1), "train/acc": (correct * tr).sum(1) / tr.sum(1),
           "test/loss": (ce * te).sum(1) / n_te, "test/acc": (correct * te).sum(1) / n_te,
           "norm/total": model.param_norm(params)}
    for name, p in params.items():
        out[f"norm/{name}"] = p.reshape(E, -1).norm(dim=1)
    task = tasks.get_task(cfg.task)
    if cfg.task != "s5":
        out.update(analysis.gini_measures(params, data.n))
    if task.fourier:
        o_t, o_m = analysis.trig_split(Z, data.answer, data.n)
        for split, m in (("train", tr), ("test", te)):
            out[f"{split}/o_t"] = o_t
            out[f"{split}/o_m"] = (o_m * m).sum(1) / m.sum(1).clamp_min(1)
        keys = analysis.key_frequencies(params, data.n)
        out.update(analysis.restricted_excluded(Z, data.answer, data.n, keys, data.train_mask))
        out["n_key_freqs"] = torch.tensor([len(k) for k in keys], dtype=torch.float64)
    return {k: v.detach().double().cpu() for k, v in out.items()}


def descend(params: dict[str, torch.Tensor], loss_E: torch.Tensor, opt: dict, lr_E: torch.Tensor,
            wd_E: torch.Tensor, betas: tuple[float, float]) -> None:
    """Gradients of the summed per-member losses (E,), then one AdamW step. Non-finite gradients count as 0
    (a frozen member's, whose learning rate is 0)."""
    grads = torch.autograd.grad(loss_E.sum(), list(params.values()))
    optim.step(params, {k: torch.nan_to_num(g) for k, g in zip(params, grads)}, opt, lr_E, wd_E, betas)


def _save_checkpoint(path: Path, state: dict) -> None:
    buf = io.BytesIO()
    torch.save(state, buf)
    rundir.atomic_write_bytes(path, buf.getvalue())


def train(cfg: TrainConfig, out: Path | None = None, *, overwrite: bool = False, progress: bool = True,
          stop_after: int | None = None) -> dict:
    """Train every member of `cfg` together. With `out`, write the run directory and resume from its
    checkpoint if one is there (also to extend a finished run to more `steps`: the configuration may differ
    in `steps` alone). `stop_after` ends the process early at that step (for tests of resume)."""
    cfg.validate()
    tune_process()
    dev = device()
    mcfg = model_config(cfg)
    members = cfg.members()
    E = len(members)
    data = Data(cfg, dev)
    lr_E = torch.tensor([m["lr"] for m in members], dtype=torch.float32, device=dev)
    wd_E = torch.tensor([m["wd"] for m in members], dtype=torch.float32, device=dev)
    ckpt_path = Path(out) / "checkpoint.pt" if out is not None else None
    resume = None
    if out is not None:
        if ckpt_path.exists() and not overwrite:
            resume = torch.load(ckpt_path, map_location=dev, weights_only=False)
            if {**resume["config"], "steps": cfg.steps} != cfg.to_dict():
                raise ValueError(f"{out} holds a run with a different configuration; use another --out or --overwrite")
            if resume["step"] >= cfg.steps:
                raise FileExistsError(f"{out} holds a run already at step {resume['step']} >= steps={cfg.steps}; "
                                      f"pass more --steps to extend it, or --overwrite to replace it")
        elif rundir.is_finished(out) and not overwrite:
            raise FileExistsError(f"{out} holds a finished run; pass --overwrite to replace it")
        Path(out).mkdir(parents=True, exist_ok=True)
        if overwrite:  # start afresh: nothing of the old run may make this one look finished or resumable
            (Path(out) / "summary.json").unlink(missing_ok=True)
            ckpt_path.unlink(missing_ok=True)
        rundir.write_json(Path(out) / "config.json", {
            "package": "neural", "config": cfg.to_dict(), "model": mcfg.to_dict(), "members": members,
            "device": str(dev), "torch_threads": torch.get_num_threads(), "environment": rundir.environment()})
    if resume:
        params = {k: v.to(dev) for k, v in resume["params"].items()}
        opt = {"step": resume["opt"]["step"], "m": resume["opt"]["m"], "v": resume["opt"]["v"]}
        rows, start, active, diverged = resume["rows"], resume["step"], resume["active"].to(dev), resume["diverged"]
    else:
        params = {k: v.to(dev) for k, v in model.init_params(mcfg, [m["seed"] for m in members]).items()}
        opt = optim.init_state(params)
        rows, start, active, diverged = [], 0, torch.ones(E, dtype=torch.bool, device=dev), [None] * E
    for p in params.values():
        p.requires_grad_(True)
    todo = eval_steps(cfg)
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=cfg.steps, initial=start, unit="step", desc=f"train {E} member(s)", file=sys.stderr)
    t0 = time.perf_counter()

    def checkpoint(step: int) -> None:
        if ckpt_path is None:
            return
        _save_checkpoint(ckpt_path, {"config": cfg.to_dict(), "step": step, "params": {k: v.detach() for k, v in params.items()},
                                     "opt": opt, "rows": rows, "active": active.cpu(), "diverged": diverged})
        _write_metrics(Path(out), rows)

    step = start
    while True:
        if step in todo and not (rows and rows[-1]["step"] == step):  # a resumed step may be evaluated already
            metrics = evaluate(params, mcfg, data, cfg)
            for e in range(E):
                if bool(active[e]):
                    rows.append({"step": step, "member": e, **{k: float(v[e]) for k, v in metrics.items()}})
            if bar is not None:
                bar.set_postfix({"train": f"{float(metrics['train/loss'][0]):.3g}",
                                 "test": f"{float(metrics['test/loss'][0]):.3g}",
                                 "test_acc": f"{float(metrics['test/acc'][0]):.3f}"})
        if step >= cfg.steps or not bool(active.any()):
            break
        if stop_after is not None and step >= stop_after:
            checkpoint(step)
            return {"stopped_at": step}
        loss_E = losses(params, mcfg, data, cfg.precision)
        bad = ~torch.isfinite(loss_E.detach()) & active
        if bool(bad.any()):
            for e in torch.nonzero(bad).flatten().tolist():
                diverged[e] = step
                print(f"member {e} ({members[e]}): loss became {float(loss_E[e].detach())} at step {step}; "
                      f"frozen there", file=sys.stderr)
            active &= ~bad
        descend(params, torch.where(active, loss_E, 0.0), opt, lr_E * active, wd_E * active, cfg.betas)
        step += 1
        if bar is not None:
            bar.update(1)
        if step % cfg.checkpoint_every == 0 and step < cfg.steps:
            checkpoint(step)
    if bar is not None:
        bar.close()
    checkpoint(step)
    summary = _summary(cfg, members, rows, diverged, time.perf_counter() - t0, step - start)
    if out is not None:
        rundir.write_json(Path(out) / "summary.json", summary)
    return {"params": {k: v.detach() for k, v in params.items()}, "rows": rows, "summary": summary, "model": mcfg}


METRIC_ORDER = ("step", "member", "train/loss", "test/loss", "train/acc", "test/acc", "norm/total")


def _write_metrics(out: Path, rows: list[dict]) -> None:
    if not rows:
        return
    cols = list(METRIC_ORDER) + sorted(k for k in rows[0] if k not in METRIC_ORDER)
    rundir.write_csv(out / "metrics.csv", cols, ([r.get(c) for c in cols] for r in rows))


def _summary(cfg: TrainConfig, members, rows, diverged, seconds: float, steps_run: int) -> dict:
    per = []
    for e, m in enumerate(members):
        mine = [r for r in rows if r["member"] == e]
        last = mine[-1] if mine else {}
        grok = next((r["step"] for r in mine if r["test/acc"] >= cfg.grok_threshold), None)
        fit = next((r["step"] for r in mine if r["train/acc"] >= 1.0), None)
        per.append({"member": e, **m, "grok_step": grok, "train_fit_step": fit, "diverged_step": diverged[e],
                    "final": {k: last.get(k) for k in ("train/loss", "test/loss", "train/acc", "test/acc",
                                                       "norm/total", "train/o_t", "train/o_m", "test/o_m",
                                                       "restricted_loss", "excluded_loss")}})
    return {"members": per, "steps": cfg.steps, "wall_seconds_this_session": seconds,
            "ms_per_step_this_session": 1e3 * seconds / max(steps_run, 1)}
