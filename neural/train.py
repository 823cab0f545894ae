"""Full-batch AdamW training of an ensemble, with metrics, checkpoints, exact resume and a progress bar: the loop
and the ownership of its run directory (the data live in neural.dataset, the measurements in neural.evaluation,
the files in neural.checkpoint).

A run directory holds config.json, metrics.csv (one row per evaluated step and member, columns
"split/metric"; the Fourier and Gini columns are filled at the log-spaced steps and each member's last row,
blank at the frequent evaluations that only feed the convergence test; appended, never rewritten),
checkpoint.pt (weights, optimiser state, step, where metrics.csv ended: tensors and plain values only, enough to
resume exactly; its size does not grow with the run) and, when finished, summary.json. A checkpoint is written
every `checkpoint_every` steps and, at the next evaluation, once `checkpoint_seconds` have passed since the last.

The host's work per step does not grow with the number of members: one whole-ensemble AdamW (neural.optim),
token layouts built once (neural.dataset), counters and flags on the device and written in place; an evaluation
moves its metrics to the host in one transfer (neural.evaluation).

An interrupted run, killed at any moment, resumes from its checkpoint and ends bit-identical to
an uninterrupted one on CPU (its thread count is part of its configuration). A member whose loss or update
becomes NaN/inf is frozen at its last finite state (its later rows are absent) and reported; a member that
converges or freezes leaves the batch (neural.state), and the run stops when none is left.
"""
from __future__ import annotations

import contextlib
import ctypes
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

import rundir
from neural import budget, checkpoint, convergence, evaluation, graphed, loss, metrics, model, optim
from neural import device as devices
from rundir import cores
from rundir.progress import bar as progress_bar
from neural.config import TrainConfig, model_config
from neural.dataset import Data, eval_every, eval_steps, full_eval_steps
from neural.state import Layout, TrainState

CHECKPOINT_SECONDS = 300.0  # also checkpoint at the first evaluation this long after the last checkpoint


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


def losses(params, mcfg, data: Data, precision: str) -> torch.Tensor:
    """Per-member mean training cross-entropy, (E,)."""
    with torch.autocast(device_type=data.tokens.device.type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        logits = model.forward(params, mcfg, data.train_layout)  # (E, D, C)
    E, D, C = logits.shape
    logits = logits if logits.dtype == torch.float64 else logits.float()  # float64 trains in float64
    ce = loss.cross_entropy(logits.reshape(E * D, C), data.train_labels.reshape(-1))
    return (ce.reshape(E, D) * data.train_weight).sum(1)


def resolve_threads(cfg: TrainConfig, out: Path | None) -> TrainConfig:
    """A run's thread count: as asked; else the one its run directory recorded; else every available core."""
    if cfg.threads is not None:
        return cfg
    recorded = Path(out) / "config.json" if out is not None else None
    if recorded is not None and recorded.is_file():
        threads = rundir.read_json(recorded).get("config", {}).get("threads")
        if isinstance(threads, int):
            return cfg.with_(threads=threads)
    return cfg.with_(threads=cores.available())


def _at_cap(summary: dict, cfg: TrainConfig) -> bool:
    """A finished run is done for `cfg` when it ran to cfg's step cap (more steps extend it)."""
    return summary.get("steps") == cfg.steps


def is_done(cfg: TrainConfig, out: Path) -> bool:
    """Whether train(cfg, out) would return a finished run as it is (it would not extend or resume it)."""
    path = Path(out) / "summary.json"
    return path.is_file() and _at_cap(rundir.read_json(path), cfg)


def train(cfg: TrainConfig, out: Path | None = None, *, overwrite: bool = False, progress: bool = True,
          stop_after: int | None = None, device: str = "auto", allow_device_change: bool = False,
          checkpoint_seconds: float = CHECKPOINT_SECONDS) -> "TrainResult":
    """Train every member of `cfg` together. With `out`, own the run directory (rundir.RunDir: locked, its
    configuration checked) and resume from its checkpoint if one is there; a run killed at any moment is
    finished by the same call. A finished run of the same configuration is returned as it is (reused=True);
    more `steps` extend it. `stop_after` ends the process early at that step (for tests of resume). `device` is
    neural.device's spec; a run is resumed or extended only on the device it started on, unless
    `allow_device_change` (then config.json records the change). `checkpoint_seconds`: also checkpoint at the
    first evaluation this long after the last checkpoint (changes no number)."""
    cfg = resolve_threads(cfg, out).validate()
    dev = devices.resolve(device)
    devices.check_precision(cfg.precision, dev)
    if dev.type == "cpu":
        cores.check(cfg.threads)  # here, not in validate(): a configuration is valid whatever machine reads it
    budget.check(cfg, dev)
    if out is None:
        return _run_on_cores(cfg, dev, None, progress, stop_after, checkpoint_seconds)
    with rundir.RunDir.open(out, cfg.to_dict(), overwrite=overwrite, extendable=("steps",)) as d:
        if d.state == "finished":
            summary = rundir.read_json(d.path / "summary.json")
            if _at_cap(summary, cfg):
                saved = checkpoint.load(d.path / "checkpoint.pt", dev)
                return TrainResult(summary=summary, params=saved["params"],
                                   rows=checkpoint.read_rows(d.path, saved), model=model_config(cfg), reused=True)
        if d.state == "new":
            d.write_config({"package": "neural", "config": cfg.to_dict(), "model": model_config(cfg).to_dict(),
                            "members": cfg.members(), "device": devices.describe(dev),
                            "numerics": devices.numerics(cfg.precision, dev), "environment": rundir.environment()})
        else:
            record = rundir.read_json(d.path / "config.json")
            if devices.check_resume(record.get("device"), dev, d.path, allow_device_change):
                record["device_changes"] = record.get("device_changes", []) + [
                    {"to": devices.describe(dev), "environment": rundir.environment()}]
                d.write_config(record)
        return _run_on_cores(cfg, dev, d, progress, stop_after, checkpoint_seconds)


def _run_on_cores(cfg: TrainConfig, dev: torch.device, d, progress: bool, stop_after: int | None,
                  checkpoint_seconds: float) -> "TrainResult":
    """Hold cfg.threads cores of this machine (on CPU) and run torch on exactly that many threads, with the
    numerics the precision and the device ask for (neural.device.numerics_mode)."""
    before = torch.get_num_threads()
    lease = cores.lease(cfg.threads, on_wait=_say_waiting(cfg.threads)) if dev.type == "cpu" else \
        contextlib.nullcontext(cores.Lease(why="not on a CPU"))
    with lease as got, devices.numerics_mode(cfg.precision, dev):
        if got.waited and not got.held:
            print(f"{got.why}: running on {cfg.threads} thread(s) without a lease (runs then share cores and slow "
                  f"each other; the numbers are the same)", file=sys.stderr)
        torch.set_num_threads(cfg.threads)
        try:
            return _fit(cfg, dev, d, progress, stop_after, checkpoint_seconds, got.waited)
        finally:
            torch.set_num_threads(before)


def _say_waiting(threads: int):
    return lambda bound: print(
        f"waiting up to {bound:g} s for {threads} free core(s): other toolkit runs hold them ({cores.lease_dir()}; "
        f"{cores.WAIT_ENV}=seconds sets the bound, {cores.OFF_ENV}=off skips leasing)", file=sys.stderr)


def _converged(cfg: TrainConfig, member: dict, history: list[tuple]) -> bool:
    steps, train_loss, test_acc = (np.array(c, dtype=float) for c in zip(*history)) if history else ([], [], [])
    return convergence.has_converged(steps, train_loss, test_acc, lr=member["lr"], wd=member["wd"],
                                     acc_tol=cfg.converge_acc_drift, loss_rtol=cfg.converge_loss_drift,
                                     span=cfg.converge_windows)


def init_from_parents(cfg: TrainConfig, mcfg: model.ModelConfig, st: TrainState, beside: Path | None = None) -> None:
    """Members with a `parent` start from member `parent_member` of that finished run's final weights (nanoGPT's
    init_from). A relative `parent` is taken relative to `beside` (the folder holding this run's directory; a
    sweep's children name their parents by their directory's name, so a sweep keeps its identity wherever it is
    and however its path is spelled), else to the working directory. `cfg.reset_on_init` says what is reset:
    "optimizer" (AdamW's moments start at zero, as for a
    fresh run) and "step" (the step counter, so bias correction starts again); what is not reset is copied."""
    params, moments = st.layout.views(st.w), {"m": st.layout.views(st.m), "v": st.layout.views(st.v)}
    steps = set()
    for e, m in enumerate(cfg.members()):
        if m["parent"] is None:
            continue
        parent = Path(beside or ".") / m["parent"]
        record = rundir.read_json(parent / "config.json")
        if record.get("model") != mcfg.to_dict():
            raise ValueError(f"parent={str(parent)!r} has model {record.get('model')}, not {mcfg.to_dict()}: a member "
                             f"can start only from weights of the same shape")
        saved = checkpoint.load(parent / "checkpoint.pt")
        k = m["parent_member"]
        if not k < saved["params"]["W_E"].shape[0]:
            raise ValueError(f"parent_member={k} is not allowed: {parent} has {saved['params']['W_E'].shape[0]} "
                             f"members")
        with torch.no_grad():
            for name, value in saved["params"].items():
                params[name][e] = value[k].to(st.w.device)
            if "optimizer" not in cfg.reset_on_init:
                for part in ("m", "v"):
                    for name, value in saved["opt"][part].items():
                        moments[part][name][e] = value[k].to(st.w.device)
        steps.add(int(saved["opt"]["step"]))
    if steps and "step" not in cfg.reset_on_init:
        if len(steps) > 1:
            raise ValueError(f"reset_on_init={cfg.reset_on_init} keeps the step counter, but the parents are at "
                             f"different optimiser steps {sorted(steps)}: one ensemble shares one counter")
        st.t.fill_(steps.pop())


def gradients(params: dict[str, torch.Tensor], loss_E: torch.Tensor) -> torch.Tensor:
    """(E, P) gradients of the summed per-member losses, flat in the order of `params` (a member's row depends
    on its own loss only)."""
    grads = torch.autograd.grad(loss_E.sum(), list(params.values()))
    E = loss_E.shape[0]
    return torch.cat([g.reshape(E, -1) for g in grads], 1)


def _start(cfg: TrainConfig, mcfg: model.ModelConfig, dev: torch.device, ckpt_path: Path | None) -> TrainState:
    """The state to train from: the run directory's checkpoint, or fresh weights (and parents' where named)."""
    layout = Layout.of(mcfg)
    if ckpt_path is not None and ckpt_path.exists():
        saved = checkpoint.load(ckpt_path, dev)
        if {**saved["config"], "steps": cfg.steps} != {**cfg.to_dict(), "steps": cfg.steps}:
            raise ValueError(f"checkpoint={str(ckpt_path)!r} was written by a different configuration than its "
                             f"config.json; pass --overwrite to start again")
        if saved["step"] > cfg.steps:
            raise ValueError(f"steps={cfg.steps} is not allowed for {ckpt_path.parent}: it already holds step "
                             f"{saved['step']}; pass at least that many --steps, or --overwrite to replace it")
        return TrainState.from_checkpoint(layout, saved, checkpoint.read_rows(ckpt_path.parent, saved), dev)
    params = model.init_params(mcfg, [m["seed"] for m in cfg.members()])  # float32 draws: the same start in float64
    dtype = torch.float64 if cfg.precision == "float64" else torch.float32
    st = TrainState.fresh(layout, {k: v.to(dev, dtype) for k, v in params.items()})
    init_from_parents(cfg, mcfg, st, ckpt_path.parent.parent if ckpt_path is not None else None)
    return st


@dataclass
class TrainResult:
    """What train() returns. A finished run: its summary, final weights of every member (named, (E, ...)),
    metric rows and model; `reused` when it was already finished. A run stopped early (stop_after): only
    `stopped_at`."""
    summary: dict | None = None
    params: dict[str, torch.Tensor] | None = None
    rows: list[dict] = field(default_factory=list)
    model: model.ModelConfig | None = None
    reused: bool = False
    stopped_at: int | None = None


class _Run:
    """One ensemble's training loop. Between synchronisation points (evaluations and checkpoints) nothing is
    read back to the host: which members are live, diverged and why stays on the device until then, in tensors
    written in place (a step holds no host number that changes from one step to the next)."""

    def __init__(self, cfg: TrainConfig, dev: torch.device, d, st: TrainState):
        self.cfg, self.dev, self.d, self.st = cfg, dev, d, st
        self.mcfg, self.members = model_config(cfg), cfg.members()
        self.data_all = Data(cfg, dev)
        self.evals, self.full_evals = eval_steps(cfg), full_eval_steps(cfg)
        self.every = [eval_every(cfg, m) for m in self.members]
        self.history = {e: [(r["step"], r["train/loss"], r["test/acc"]) for r in st.rows if r["member"] == e]
                        for e in range(len(self.members))}
        self.columns = evaluation.columns(cfg)
        self.step_dev = torch.tensor(st.step, dtype=torch.long, device=dev)  # the step, on the device
        self.eval_seconds = 0.0
        self.checkpointed_at = time.perf_counter()  # when the last checkpoint was written (or the run started)
        self.graph = graphed.StepGraph(self._device_step, self._step_state, graphed.capture_for(dev))
        self._batch()

    def _batch(self) -> None:
        """Tensors of the live members: their data (padded to their largest D'), lr, wd and device flags."""
        live = self.st.live
        self.data = self.data_all.select(live)
        dtype = self.st.w.dtype
        self.lr_E1 = torch.tensor([[self.members[e]["lr"]] for e in live], dtype=dtype, device="cpu").to(self.dev)
        self.wd_E1 = torch.tensor([[self.members[e]["wd"]] for e in live], dtype=dtype, device="cpu").to(self.dev)
        self.ok_E = torch.ones(len(live), dtype=torch.bool, device=self.dev)  # not diverged since the last sync
        self.failed_at = torch.full((len(live),), -1, dtype=torch.long, device=self.dev)
        self.why = torch.zeros(len(live), dtype=torch.long, device=self.dev)  # 1: loss, 2: gradient not finite
        self.graph.reset()  # new shapes and tensors: a captured step no longer applies

    def train_step(self) -> None:
        """One training step: on CUDA a replay of the captured step once there is one (neural.graphed)."""
        self.graph.step()
        self.st.step += 1

    def _step_state(self) -> list[torch.Tensor]:
        """Every tensor a step writes (in place), for capturing and checking it."""
        st = self.st
        return [st.w, st.m, st.v, st.t, self.ok_E, self.failed_at, self.why, self.step_dev]

    def _device_step(self) -> None:
        """The step on the device alone (nothing of the host changes, so it can be captured and replayed)."""
        st = self.st
        params = {k: v.requires_grad_(True) for k, v in st.params().items()}
        loss_E = losses(params, self.mcfg, self.data, self.cfg.precision)
        finite = torch.isfinite(loss_E.detach())
        allowed = self.ok_E & finite
        g = gradients(params, torch.where(allowed, loss_E, 0.0))
        updated = optim.step(w=st.w, g=g, m=st.m, v=st.v, count=st.t, lr_E1=self.lr_E1, wd_E1=self.wd_E1,
                             allowed_E=allowed, betas=self.cfg.betas, eps=self.cfg.adam_eps)
        newly = self.ok_E & ~updated
        self.failed_at.copy_(torch.where(newly, self.step_dev, self.failed_at))
        self.why.copy_(torch.where(newly, torch.where(finite, 2, 1), self.why))
        self.ok_E.copy_(updated)
        self.step_dev.add_(1)

    def sync(self) -> None:
        """Read the divergence flags (one transfer), report the members that diverged, and drop every finished
        member from the batch (the run's cost follows its live members)."""
        st = self.st
        failed, why = torch.stack([self.failed_at, self.why]).cpu().tolist()
        for i, e in enumerate(st.live):
            if failed[i] >= 0:
                st.diverged[e] = failed[i]
                reason = ("its loss became non-finite" if why[i] == 1 else f"its gradient became non-finite or above "
                          f"{optim.GRAD_LIMIT:.0e} (the update would overflow float32)")
                print(f"member {e} ({self.members[e]}): {reason} at step {failed[i]}; frozen at its last finite "
                      f"state", file=sys.stderr)
        keep = [i for i, e in enumerate(st.live) if st.diverged[e] is None and st.converged[e] is None]
        if len(keep) < len(st.live):
            st.keep(keep)
            self._batch()

    def evaluate(self, bar) -> None:
        """Metrics of the live members at this step: the cheap ones at every evaluation, every metric at the
        log-spaced ones and for a member whose training ends here; then the convergence test."""
        st, t0 = self.st, time.perf_counter()
        full = st.step in self.full_evals
        due = [i for i, e in enumerate(st.live) if full or st.step % self.every[e] == 0]
        if not due:
            return
        metrics = self._measure(due, full)
        new_rows = {}
        for j, i in enumerate(due):
            e = st.live[i]
            new_rows[e] = {"step": st.step, "member": e, **{k: float(v[j]) for k, v in metrics.items()}}
            self.history[e].append((st.step, new_rows[e]["train/loss"], new_rows[e]["test/acc"]))
            if self.cfg.converge and _converged(self.cfg, self.members[e], self.history[e]):
                st.converged[e] = st.step
        ending = [i for i in due if st.converged[st.live[i]] is not None]
        if not full and ending:  # a member's last row carries every metric
            more = self._measure(ending, True)
            for j, i in enumerate(ending):
                new_rows[st.live[i]].update({k: float(v[j]) for k, v in more.items()})
        st.rows += list(new_rows.values())
        self.eval_seconds += time.perf_counter() - t0
        if bar is not None:
            bar.set_postfix({"train": f"{float(metrics['train/loss'][0]):.3g}",
                             "test": f"{float(metrics['test/loss'][0]):.3g}",
                             "test_acc": f"{float(metrics['test/acc'][0]):.3f}"}, refresh=False)

    def _measure(self, rows: list[int], full: bool) -> dict[str, np.ndarray]:
        """evaluation.evaluate() on batch rows `rows` (all of the batch without copying it); a full evaluation adds
        where AdamW stands (optim.regime: its moments and the training gradient)."""
        whole = len(rows) == len(self.st.live)
        params, data = (self.st.params(), self.data) if whole else (self.st.params(rows), self.data.select(rows))
        out = evaluation.evaluate(params, self.mcfg, data, self.cfg, full=full)
        if full:
            st, idx = self.st, torch.as_tensor(rows, device=self.dev)
            leaves = {k: v.detach().clone().requires_grad_(True) for k, v in params.items()}
            with torch.enable_grad():
                g = gradients(leaves, losses(leaves, self.mcfg, data, self.cfg.precision))
            regime = optim.regime(st.w[idx], g, st.v[idx], st.t, self.cfg.betas[1], self.cfg.adam_eps)
            out.update(zip(metrics.FULL_ADAM, torch.stack(regime).double().cpu().numpy()))  # regime's order; 1 transfer
        return out

    def checkpoint(self) -> None:
        """Append the new metric rows to metrics.csv, then write the state with where the file now ends."""
        if self.d is None:
            return
        st = self.st
        new = st.rows[st.rows_written:]
        st.metrics_bytes = rundir.append_csv(self.d.path / "metrics.csv", self.columns,
                                             ([r.get(c) for c in self.columns] for r in new), at=st.metrics_bytes)
        st.rows_written = len(st.rows)
        checkpoint.save(self.d.path / "checkpoint.pt", st.to_checkpoint(self.cfg.to_dict()))
        self.checkpointed_at = time.perf_counter()


def _fit(cfg: TrainConfig, dev: torch.device, d, progress: bool, stop_after: int | None,
         checkpoint_seconds: float, core_wait: float = 0.0) -> TrainResult:
    tune_process()
    st = _start(cfg, model_config(cfg), dev, d.path / "checkpoint.pt" if d is not None else None)
    run = _Run(cfg, dev, d, st)
    start = st.step
    bar = None
    if progress:
        bar = progress_bar(cfg.steps, initial=start, unit="step", desc=f"train {st.n_members} member(s)")
    t0 = time.perf_counter()
    while True:
        if st.step in run.evals and not (st.rows and st.rows[-1]["step"] == st.step):  # resumed: may be done
            run.evaluate(bar)
            run.sync()
            if time.perf_counter() - run.checkpointed_at > checkpoint_seconds and st.step < cfg.steps:
                run.checkpoint()
        if st.step >= cfg.steps or not st.live:
            break
        if stop_after is not None and st.step >= stop_after:
            run.sync()
            run.checkpoint()
            return TrainResult(stopped_at=st.step)
        run.train_step()
        if bar is not None:
            bar.update(1)
        if st.step % cfg.checkpoint_every == 0 and st.step < cfg.steps:
            run.sync()
            run.checkpoint()
    if bar is not None:
        bar.close()
    run.sync()
    run.checkpoint()
    summary = _summary(cfg, dev, run.members, st.rows, st.diverged, time.perf_counter() - t0, st.step - start)
    summary["steps_run"] = st.step
    summary["eval_seconds_this_session"] = run.eval_seconds
    summary["core_wait_seconds_this_session"] = core_wait  # waiting for CPU cores, apart from training time
    for e, m in enumerate(summary["members"]):
        m["converged_step"] = st.converged[e]
        m["converged"] = st.converged[e] is not None or _converged(cfg, run.members[e], run.history[e])
    if d is not None:
        d.finish(summary)
    params = st.layout.views(st.whole(0))
    return TrainResult(summary=summary, params=params, rows=st.rows, model=run.mcfg)


def _summary(cfg: TrainConfig, dev: torch.device, members, rows, diverged, seconds: float, steps_run: int) -> dict:
    per = []
    for e, m in enumerate(members):
        mine = [r for r in rows if r["member"] == e]
        last = mine[-1] if mine else {}
        grok = next((r["step"] for r in mine if r["test/acc"] >= cfg.grok_threshold), None)
        fit = next((r["step"] for r in mine if r["train/acc"] >= 1.0), None)
        per.append({"member": e, **m, "grok_step": grok, "train_fit_step": fit, "diverged_step": diverged[e],
                    "final": {k: last.get(k) for k in metrics.FINAL}})
    return {"experiment": "train", "members": per, "steps": cfg.steps, "device_this_session": devices.describe(dev),
            "wall_seconds_this_session": seconds,
            "ms_per_step_this_session": 1e3 * seconds / max(steps_run, 1)}
