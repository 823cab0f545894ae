"""`analyze`: progress measures of a saved run directory or an imported progress-measures checkpoint."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

import rundir
from neural import analysis, checkpoint, dataset, evaluation, interop, model, tasks
from neural.config import TrainConfig, model_config


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
    mcfg = model_config(cfg)
    saved = checkpoint.load(run_dir / "checkpoint.pt")
    params = saved["params"]
    if not isinstance(saved.get("config"), dict) or {**saved["config"], "steps": cfg.steps} != cfg.to_dict():
        raise ValueError(f"checkpoint={str(run_dir / 'checkpoint.pt')!r} was written by another configuration than "
                         f"its config.json records (seed, split or model): the directory was altered")
    if not isinstance(params, dict) or {k: tuple(v.shape[1:]) for k, v in params.items()
                                        if hasattr(v, "shape")} != mcfg.shapes():
        raise ValueError(f"checkpoint={str(run_dir / 'checkpoint.pt')!r} does not hold weights of the shapes its "
                         f"config.json describes")
    return params, cfg, mcfg


def analyze_run(run_dir: Path) -> dict:
    """Final-state measures per member, plus when restricted and test loss first fell below 1 nat."""
    run_dir = Path(run_dir)
    params, cfg, mcfg = load_run(run_dir)
    data = dataset.Data(cfg, torch.device("cpu"))
    metrics = evaluation.evaluate(params, mcfg, data, cfg)
    keys = analysis.key_frequencies(params, data.n) if tasks.get_task(cfg.task).cyclic else [[] for _ in cfg.members()]
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


def load_file(path: Path, task: str | None = None) -> dict:
    """An imported checkpoint (TransformerLens or progress-measures layout, or a `grok-neural export` file), loaded
    without running code: weights as a 1-member ensemble, model shape, layout, task, modulus, sequence format
    (from the shapes: 3 positions are [a, b, =] with p + 1 tokens, 4 are [a, op, b, =] with p + 2), and the
    training split where the file records one (`interop.stored_split`)."""
    state = checkpoint.safe_load(path, "checkpoint")
    try:
        params, mcfg, layout = interop.import_state_dict(interop.state_dict_of(state))
    except ValueError as e:
        raise ValueError(f"checkpoint={str(path)!r} {e}") from None
    meta = state.get("meta") if isinstance(state.get("meta"), dict) else {}
    for key, kind in (("task", str), ("p", int)):
        if key in meta and (not isinstance(meta[key], kind) or isinstance(meta[key], bool)):
            raise ValueError(f"checkpoint={str(path)!r}: its meta.{key} is {meta[key]!r}, not a {kind.__name__}: the "
                             f"file was altered (pass --task, or re-export it)")
    task = task or meta.get("task") or "add"
    tasks.get_task(task)
    fmt = {3: "nanda", 4: "paper"}.get(mcfg.n_ctx)
    n = mcfg.d_vocab - (1 if fmt == "nanda" else 2)
    p = meta.get("p", n)
    if not 2 <= p <= tasks.MAX_P:
        raise ValueError(f"checkpoint={str(path)!r}: its meta.p={p} is not a modulus in [2, {tasks.MAX_P}]")
    if fmt is None or mcfg.d_vocab_out not in (n, n + 1) or tasks.n_elements(task, p) != n:
        raise ValueError(f"checkpoint={str(path)!r} has {mcfg.n_ctx} positions, vocabulary {mcfg.d_vocab} and "
                         f"{mcfg.d_vocab_out} outputs: expected [a, b, =] with p + 1 tokens or [a, op, b, =] with "
                         f"p + 2, and p or p + 1 outputs, for task {task!r}")
    try:
        split, split_source = interop.stored_split(state, task, p)
    except ValueError as e:
        raise ValueError(f"checkpoint={str(path)!r}: {e}") from None
    labels = meta.get("labels")
    if labels is not None and not (isinstance(labels, torch.Tensor) and labels.dim() == 1 and labels.dtype in (
            torch.int64, torch.int32, torch.int16, torch.uint8) and len(labels) == tasks.n_pairs(task, p)
            and (labels.numel() == 0 or (int(labels.min()) >= 0 and int(labels.max()) < mcfg.d_vocab_out))):
        raise ValueError(f"checkpoint={str(path)!r}: its meta.labels is not one class in [0, {mcfg.d_vocab_out}) "
                         f"per pair ({tasks.n_pairs(task, p)} integers): the file was altered")
    labels = labels.long() if labels is not None else None
    return {"params": params, "model": mcfg, "layout": layout, "task": task, "p": p, "n": n, "format": fmt,
            "train_mask": split, "split_source": split_source, "labels": labels, "meta": meta}


def analyze_checkpoint(path: Path, task: str | None = None) -> dict:
    """Measures of an imported checkpoint (`load_file`). With a recorded training split: train and test loss
    and accuracy, restricted loss on the test split and excluded loss on the train split (Nanda's); without
    one, over all pairs (restricted and excluded loss then both use every pair)."""
    f = load_file(path, task)
    params, mcfg, n = f["params"], f["model"], f["n"]
    x, y, answer = tasks.all_pairs(f["task"], f["p"])
    labels = f["labels"] if f["labels"] is not None else answer
    with torch.no_grad():
        Z = model.forward(params, mcfg, tasks.sequences(x, y, n, f["format"]))[:, :, :n].float()
    ce = torch.nn.functional.cross_entropy(Z[0].double(), labels, reduction="none")
    correct = (Z[0].argmax(-1) == labels).double()
    entry = {"member": 0, "all_loss": ce.mean().item(), "all_acc": correct.mean().item(),
             "norm_total": float(model.param_norm(params)[0])}
    train_mask = f["train_mask"]
    if train_mask is not None:
        entry.update({"train_loss": ce[train_mask].mean().item(), "train_acc": correct[train_mask].mean().item(),
                      "test_loss": ce[~train_mask].mean().item() if (~train_mask).any() else None,
                      "test_acc": correct[~train_mask].mean().item() if (~train_mask).any() else None})
    keys = [[]]
    if tasks.get_task(f["task"]).fourier and f["labels"] is None:
        key_mask = analysis.key_frequency_mask(params, n)
        keys = analysis.key_frequencies(params, n)
        o_t, o_m = analysis.trig_split(Z, answer, n)
        # o_m averaged over all pairs is ~0 by construction for a network that generalises (its memorisation of
        # the training pairs cancels on the others): read it on the training pairs, as a sweep's train/o_m is
        entry.update({"o_t": float(o_t[0]), "o_m_all_pairs": float(o_m[0].mean())})
        if train_mask is not None:
            entry["train_o_m"] = float(o_m[0][train_mask].mean())
        if train_mask is not None:
            split = analysis.restricted_excluded(Z, answer, n, key_mask, train_mask[None])
            entry.update({k: v.item() for k, v in split.items()})
        else:
            everything = torch.ones(1, len(answer), dtype=torch.bool)
            restricted = analysis.restricted_excluded(Z, answer, n, key_mask, ~everything)["restricted_loss"]
            excluded = analysis.restricted_excluded(Z, answer, n, key_mask, everything)["excluded_loss"]
            entry.update({"restricted_loss": restricted.item(), "excluded_loss": excluded.item()})
    if tasks.get_task(f["task"]).cyclic:
        g = analysis.gini_measures(params, n)
        entry.update({"gini_W_E": float(g["gini/W_E"][0]), "gini_W_L": float(g["gini/W_L"][0])})
    return {"source": str(path), "task": f["task"], "p": f["p"], "format": f["format"], "layout": f["layout"],
            "split": f["split_source"], "model": mcfg.to_dict(),
            "members": [{"member": 0, "key_frequencies": keys[0], **entry}]}


def export_run(run_dir: Path, member: int, to: str) -> dict:
    """Member `member` of a run directory as a file for another tool (`interop.export`), with meta: task,
    modulus, format, the member's training pairs (indices into all pairs in lexicographic order) and the
    recipe that drew them, its random labels if any, its seed/wd/lr and the checkpoint's step."""
    params, cfg, mcfg = load_run(run_dir)
    members = cfg.members()
    if not 0 <= member < len(members):
        raise ValueError(f"member={member} is not allowed: {str(run_dir)!r} has members 0..{len(members) - 1}")
    data = dataset.Data(cfg, torch.device("cpu"))
    m = members[member]
    meta = {"task": cfg.task, "p": cfg.p, "n_elements": data.n, "format": cfg.fmt,
            "sequence": ["x", "op", "y", "="] if cfg.fmt == "paper" else ["x", "y", "="],
            "token_ids": tasks.special_tokens(data.n, cfg.fmt),
            "train_pairs": torch.nonzero(data.train_mask[member]).flatten(),
            "split": {"split_seed": m["split_seed"], "frac": cfg.frac, "train_size": cfg.train_size,
                      "subset": m["subset"], "how": "neural.tasks.train_indices, then nested_subset"},
            "random_labels": cfg.random_labels,
            "member": {"index": member, "seed": m["seed"], "wd": m["wd"], "lr": m["lr"]},
            "step": int(checkpoint.load(Path(run_dir) / "checkpoint.pt")["step"]), "source": str(run_dir)}
    if cfg.random_labels:
        meta["labels"] = data.labels[member].clone()
    return interop.export(params, mcfg, member, to, meta)
