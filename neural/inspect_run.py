"""`analyze`: progress measures of a saved run directory or an imported progress-measures checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import rundir
from neural import analysis, model, tasks, train
from neural.config import TrainConfig


def load_run(run_dir: Path) -> tuple[dict, TrainConfig, model.ModelConfig]:
    cfg_json = rundir.read_json(Path(run_dir) / "config.json")
    c = cfg_json["config"]
    cfg = TrainConfig(**{**c, "seeds": tuple(c["seeds"]), "wds": tuple(c["wds"]), "lrs": tuple(c["lrs"]),
                         "betas": tuple(c["betas"])})
    ckpt = torch.load(Path(run_dir) / "checkpoint.pt", map_location="cpu", weights_only=False)
    return ckpt["params"], cfg, train.model_config(cfg)


def analyze_run(run_dir: Path) -> dict:
    """Final-state measures per member, plus when restricted and test loss first fell below 1 nat."""
    run_dir = Path(run_dir)
    if not (run_dir / "checkpoint.pt").exists():
        raise ValueError(f"run_dir={str(run_dir)!r} has no checkpoint.pt: pass a grok-neural train directory or a .pth file")
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
    """A progress-measures checkpoint (Nanda et al.): inputs [a, b, =], classes 0..p-1; measures over all pairs
    (its training split is not stored, so restricted and excluded loss both use every pair)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # noqa: BLE001 - any unreadable file is bad input here
        raise ValueError(f"checkpoint={str(path)!r} cannot be read: {e}") from None
    params, mcfg = model.from_progress_measures(state)
    p = mcfg.d_vocab - 1
    x, y, answer = tasks.all_pairs(task, p)
    tokens = tasks.sequences(x, y, p, "nanda")
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
    return {"source": str(path), "task": task, "p": p, "model": mcfg.to_dict(),
            "members": [{"member": 0, "key_frequencies": keys[0], "all_loss": ce, "all_acc": acc,
                         "norm_total": float(model.param_norm(params)[0]), "o_t": float(o_t[0]),
                         "o_m": float(o_m[0].mean()), "restricted_loss": restricted, "excluded_loss": excluded,
                         "gini_W_E": float(g["gini/W_E"][0]), "gini_W_L": float(g["gini/W_L"][0])}]}
