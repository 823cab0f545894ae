"""Grokking in one ensemble (`grok-neural train`): every (seed, wd, lr) of a configuration trained together, with
Nanda et al.'s progress measures logged; the run directory is owned by neural.train (rundir.RunDir)."""
from __future__ import annotations

from pathlib import Path

from neural import config as cfgmod, protocol, tasks
from neural.config import FORMATS, PRECISIONS, TrainConfig
from rundir.lazy import lazy

train_mod = lazy("neural.train")


class Train(protocol.Experiment):
    name = "train"
    order = 10
    in_demo = True
    help = "Train every (seed, wd, lr) combination as one ensemble; resumes an interrupted run in --out."
    presets = cfgmod.PRESETS
    sweep = False
    owns_directory = False
    options = (
        protocol.Option("task", str, "The operation.", field="task", choices=tuple(tasks.TASKS)),
        protocol.Option("p", int, "Modulus (prime where the task needs a field).", field="p"),
        protocol.Option("frac", float, "Training fraction of all pairs, in (0, 1): some are left to test on.",
                        field="frac"),
        protocol.Option("train_size", int, "Exact training-set size D (instead of --frac).", field="train_size"),
        protocol.Option("seeds", str, "Seeds, e.g. 0,1,2.", field="seeds"),
        protocol.Option("wd", str, "Weight decays (>= 0), e.g. 1.0,0.3.", field="wds"),
        protocol.Option("lr", str, "Learning rates (> 0).", field="lrs"),
        protocol.Option("steps", int, "Full-batch training steps.", field="steps"),
        protocol.Option("checkpoint_every", int, "Steps between checkpoints.", field="checkpoint_every"),
        protocol.Option("precision", str, "float32 (exact), tf32 (CUDA's TF32 matmuls) or bf16 (autocast); the last "
                                          "two are faster and shift the dynamics.", field="precision",
                        choices=PRECISIONS),
        protocol.Option("fmt", str, "paper: [x, op, y, =]; nanda: [x, y, =].", field="fmt", choices=FORMATS),
        protocol.Option("random_labels", bool, "Random labels: a memorisation-only run.", field="random_labels"),
        protocol.Option("threads", int, "torch CPU threads (results depend on it; default: all cores, or what the run "
                                        "in --out recorded). Runs share cores: one that cannot get its threads' cores "
                                        "waits."),
    )

    def settings(self, name: str, opts: dict) -> TrainConfig:
        cfg = self.preset(name)
        plain = ("task", "p", "steps", "precision", "fmt", "threads", "checkpoint_every", "random_labels")
        cfg = cfg.with_(**{k: opts[k] for k in plain if opts.get(k) is not None})
        if opts.get("train_size") is not None:
            if opts.get("frac") is not None:
                raise ValueError("give either --frac or --train-size, not both")
            cfg = cfg.with_(frac=None, train_size=opts["train_size"])
        elif opts.get("frac") is not None:
            cfg = cfg.with_(frac=opts["frac"], train_size=None)
        for key, field, kind in (("seeds", "seeds", int), ("wd", "wds", float), ("lr", "lrs", float)):
            if opts.get(key) is not None:
                cfg = cfg.with_(**{field: protocol.numbers(key, opts[key], kind)})
        return cfg.validate()

    def default_out(self, preset: str, cfg: TrainConfig) -> Path:
        return Path("runs/neural") / f"{preset}-{cfg.task}-p{cfg.p}"

    def identity(self, cfg: TrainConfig) -> dict:
        return protocol.flat(cfg.to_dict())

    def describe(self, cfg: TrainConfig) -> str:
        return cfgmod.describe(cfg)

    def run(self, cfg: TrainConfig, out: Path, ctx: protocol.Context) -> dict:
        result = train_mod.train(cfg, out, overwrite=ctx.overwrite, progress=ctx.progress, device=ctx.device,
                                 allow_device_change=ctx.allow_device_change)
        return {**result.summary, "reused": result.reused}

    def lines(self, summary: dict) -> list[str]:
        out = []
        if summary.get("reused"):
            out.append("this directory already holds this finished run (pass --overwrite to redo it, or more --steps "
                       "to extend it)")
        for m in summary["members"]:
            f = m["final"]
            out.append(f"member {m['member']} (seed {m['seed']}, wd {m['wd']}, lr {m['lr']}): grok step "
                       f"{m['grok_step']}, train acc 1.0 at {m['train_fit_step']}, final train/test acc "
                       f"{f['train/acc']:.3f}/{f['test/acc']:.3f}, test loss {f['test/loss']:.3g}, norm "
                       f"{f['norm/total']:.2f}"
                       + (f", diverged at {m['diverged_step']}" if m["diverged_step"] is not None else ""))
        out.append(f"{summary['ms_per_step_this_session']:.1f} ms/step on {summary.get('device_this_session', 'n/a')}")
        return out


EXPERIMENT = protocol.register(Train())
