"""`analyze`: progress measures of a saved run directory or an imported progress-measures checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import rundir
from neural import analysis, model, tasks, train
from neural.config import TrainConfig


def load_run(run_dir: Path) -> tuple[dict, TrainConfig, model.ModelConfig]:
    """Weights, configuration and model shape of a grok-neural run directory (loaded without running code)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file() or not (run_dir / "checkpoint.pt").is_file():
        raise ValueError(f"source={str(run_dir)!r} has no config.json and checkpoint.pt: pass a directory written "
                         f"by `grok-neural train` or a .pth file")
    record = rundir.read_json(run_dir / "config.json")
    if record.get("package") != "neural" or not isinstance(record.get("config"), dict):
        raise ValueError(f"source={str(run_dir)!r} is not a grok-neural run (its config.json says package "
                         f"{record.get('package')!r}): pass a directory written by `grok-neural train`")
    try:
        cfg = TrainConfig.from_dict(record["config"])
    except TypeError as e:
        raise ValueError(f"source={str(run_dir)!r}: its config.json cannot be read ({e})") from None
    mcfg = train.model_config(cfg)
    params = train.load_checkpoint(run_dir / "checkpoint.pt")["params"]
    if not isinstance(params, dict) or {k: tuple(v.shape[1:]) for k, v in params.items() if hasattr(v, "shape")} != mcfg.shapes():
        raise ValueError(f"checkpoint={str(run_dir / 'checkpoint.pt')!r} does not hold weights of the shapes its "
                         f"config.json describes")
    return params, cfg, mcfg


def analyze_run(run_dir: Path) -> dict:
    """Final-state measures per member, plus when restricted and test loss first fell below 1 nat."""
    run_dir = Path(run_dir)
    params, cfg, mcfg = load_run(run_dir)
    data = train.Data(cfg, torch.device("cpu"))
    metrics = train.evaluate(params, mcfg, data, cfg)
    keys = analysis.key_frequencies(params, data.n) if cfg.task != "s5" else [[] for _ in cfg.members()]
    table = rundir.read_csv(run_dir / "metrics.csv") if (run_dir / "metrics.csv").exists() else None
    members = []
    for e, m in enumerate(cfg.members()):
        entry = {"member": e, **m, "key_frequencies": keys[e],
                 **{k.replace("/", "_"): float(v[e]) for k, v in metrics.items()}}
        if table is not None:
            mine = table["member"] == e
            steps = table["step"][mine]
            for col, key in (("restricted_loss", "restricted_below_1_step"), ("test/loss", "test_below_1_step")):
                if col in table:
                    below = np.flatnonzero(table[col][mine] < 1.0)
                    entry[key] = int(steps[below[0]]) if below.size else None
        members.append(entry)
    return {"source": str(run_dir), "task": cfg.task, "p": data.n, "members": members}


def analyze_checkpoint(path: Path, task: str = "add") -> dict:
    """A progress-measures checkpoint (Nanda et al.'s layout, loaded without running code): measures over all
    pairs (its training split is not stored, so restricted and excluded loss both use every pair). The sequence
    format follows from the shapes: 3 positions are [a, b, =] (vocabulary p + 1), 4 are [a, op, b, =] (p + 2)."""
    tasks.get_task(task)
    state = train.safe_load(path, "checkpoint")
    if not isinstance(state, dict):
        raise ValueError(f"checkpoint={str(path)!r} holds a {type(state).__name__}, not a state dict: pass a "
                         f"progress-measures checkpoint ({{'model': state_dict}} or the state dict itself)")
    try:
        params, mcfg = model.from_progress_measures(state)
    except (KeyError, IndexError, RuntimeError, TypeError, AttributeError, ValueError) as e:
        raise ValueError(f"checkpoint={str(path)!r} is not a usable progress-measures checkpoint: {e}") from None
    fmt = {3: "nanda", 4: "paper"}.get(mcfg.n_ctx)
    p = mcfg.d_vocab - (1 if fmt == "nanda" else 2)
    if fmt is None or mcfg.d_vocab_out not in (p, p + 1) or tasks.n_elements(task, p) != p:
        raise ValueError(f"checkpoint={str(path)!r} has {mcfg.n_ctx} positions, vocabulary {mcfg.d_vocab} and "
                         f"{mcfg.d_vocab_out} outputs: expected [a, b, =] with p + 1 tokens or [a, op, b, =] with "
                         f"p + 2, and p or p + 1 outputs, for task {task!r}")
    x, y, answer = tasks.all_pairs(task, p)
    tokens = tasks.sequences(x, y, p, fmt)
    with torch.no_grad():
        Z = model.forward(params, mcfg, tokens)[:, :, :p].float()
    ce = torch.nn.functional.cross_entropy(Z[0].double(), answer).item()
    acc = (Z[0].argmax(-1) == answer).double().mean().item()
    keys = analysis.key_frequencies(params, p)
    o_t, o_m = analysis.trig_split(Z, answer, p)
    everything = torch.ones(1, len(answer), dtype=torch.bool)
    restricted = analysis.restricted_excluded(Z, answer, p, keys, ~everything)["restricted_loss"].item()
    excluded = analysis.restricted_excluded(Z, answer, p, keys, everything)["excluded_loss"].item()
    g = analysis.gini_measures(params, p)
    return {"source": str(path), "task": task, "p": p, "format": fmt, "model": mcfg.to_dict(),
            "members": [{"member": 0, "key_frequencies": keys[0], "all_loss": ce, "all_acc": acc,
                         "norm_total": float(model.param_norm(params)[0]), "o_t": float(o_t[0]),
                         "o_m": float(o_m[0].mean()), "restricted_loss": restricted, "excluded_loss": excluded,
                         "gini_W_E": float(g["gini/W_E"][0]), "gini_W_L": float(g["gini/W_L"][0])}]}
