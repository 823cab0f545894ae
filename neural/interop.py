"""Other tools' checkpoint layouts: TransformerLens (3.x's HookedTransformer and 4.x's TransformerBridge) and Nanda
et al.'s progress-measures code.

This toolkit's weights already carry TransformerLens's names and layouts (with a leading member axis E), so:
- TransformerLens 3.x (`HookedTransformer`): `embed.W_E` (d_vocab, d_model), `blocks.0.attn.W_Q` (n_heads,
  d_model, d_head), `blocks.0.attn.W_O` (n_heads, d_head, d_model), ..., plus the attention and unembed biases
  (zero here: this model has none) and the attention buffers `mask` and `IGNORE`.
- TransformerLens 4.x (`TransformerBridge.boot_native`, its model for toy and train-from-scratch networks; 4.0
  removed HookedTransformer): nn.Linear layouts, `embed.weight` (d_vocab, d_model), `pos_embed.weight`,
  `blocks.0.attn.{q,k,v}.weight` (n_heads*d_head, d_model) with heads major, `blocks.0.attn.o.weight` (d_model,
  n_heads*d_head), `blocks.0.mlp.in.weight` (d_mlp, d_model), `blocks.0.mlp.out.weight`, `unembed.weight`
  (d_vocab_out, d_model), and a bias for each (zero except the MLP's). Its attention is this model's: scores
  divided by sqrt(d_head), causal mask, softmax; no LayerNorm with normalization_type None (checked in 4.3.0).
  boot_native is the most direct supported path: the network is built from a config, with no HuggingFace model
  and no architecture adapter, and its state dict loads strictly.
An export is one torch file {"state_dict", "config" (HookedTransformerConfig keyword arguments), "bridge_state_dict",
"bridge_config" (TransformerBridgeConfig keyword arguments), "meta": task, modulus, format and training split}, so
either version loads it without any code from this toolkit:
    HookedTransformer(HookedTransformerConfig(**f["config"])).load_state_dict(f["state_dict"])  # 3.x
    bridge = TransformerBridge.boot_native(TransformerBridgeConfig(**f["bridge_config"]))  # 4.x
    bridge.load_state_dict(f["bridge_state_dict"])
- Progress measures (Nanda et al.): `embed.W_E` (d_model, d_vocab), `blocks.0.attn.W_Q` (n_heads, d_head,
  d_model), `blocks.0.attn.W_O` (d_model, n_heads*d_head), `blocks.0.mlp.W_in` (d_mlp, d_model), ... in
  {"model": state_dict}; exports carry the same tensors under "state_dict" too, with "meta".
Imports tell the layouts apart by their keys (`blocks.0.attn.q.weight`: TransformerLens 4's bridge) and W_O's rank
(3 in TransformerLens 3, 2 in progress measures), whatever the sizes.
Every file is read with torch.load(weights_only=True) by the caller; nothing here runs code from a file.
"""
from __future__ import annotations

import random

from neural import tasks
from rundir.lazy import lazy

torch, model = lazy("torch"), lazy("neural.model")  # LAYOUTS is read by --help, which needs neither

LAYOUTS = ("transformer-lens", "progress-measures")  # export targets ("transformer-lens" holds 3.x and 4.x)
BRIDGE = "transformer-lens-4"  # the layout of a TransformerLens 4 bridge's state dict, on import
TL_BIASES = ("blocks.0.attn.b_Q", "blocks.0.attn.b_K", "blocks.0.attn.b_V", "blocks.0.attn.b_O", "unembed.b_U")
_TL_NAMES = {"W_E": "embed.W_E", "W_pos": "pos_embed.W_pos", "W_Q": "blocks.0.attn.W_Q", "W_K": "blocks.0.attn.W_K",
             "W_V": "blocks.0.attn.W_V", "W_O": "blocks.0.attn.W_O", "W_in": "blocks.0.mlp.W_in",
             "b_in": "blocks.0.mlp.b_in", "W_out": "blocks.0.mlp.W_out", "b_out": "blocks.0.mlp.b_out",
             "W_U": "unembed.W_U"}
_PM_NEEDED = tuple(_TL_NAMES.values())  # progress measures use the same names, some transposed


# ------------------------------------------------------------------------------------------ TransformerLens

def hooked_config(cfg: model.ModelConfig) -> dict:
    """Keyword arguments of the matching `HookedTransformerConfig` (and nothing else)."""
    return {"n_layers": 1, "d_model": cfg.d_model, "d_head": cfg.d_head, "n_heads": cfg.n_heads, "d_mlp": cfg.d_mlp,
            "d_vocab": cfg.d_vocab, "d_vocab_out": cfg.d_vocab_out, "n_ctx": cfg.n_ctx, "act_fn": "relu",
            "normalization_type": None}


def to_transformer_lens(params: dict[str, torch.Tensor], cfg: model.ModelConfig,
                        member: int = 0) -> dict[str, torch.Tensor]:
    """One member as a HookedTransformer state dict: our weights under its names, zero biases, its buffers."""
    sd = {_TL_NAMES[k]: v[member].detach().clone().contiguous() for k, v in params.items()}
    zeros = {"blocks.0.attn.b_Q": (cfg.n_heads, cfg.d_head), "blocks.0.attn.b_K": (cfg.n_heads, cfg.d_head),
             "blocks.0.attn.b_V": (cfg.n_heads, cfg.d_head), "blocks.0.attn.b_O": (cfg.d_model,),
             "unembed.b_U": (cfg.d_vocab_out,)}
    sd.update({k: torch.zeros(shape) for k, shape in zeros.items()})
    sd["blocks.0.attn.mask"] = torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx, dtype=torch.bool))
    sd["blocks.0.attn.IGNORE"] = torch.tensor(-torch.inf)
    return sd


def _refuse_what_this_model_lacks(sd: dict, zero_biases: tuple[str, ...]) -> None:
    """ValueError for non-zero attention/unembed biases, a second layer or a LayerNorm: importing them would
    change what the network computes."""
    nonzero = [k for k in zero_biases if isinstance(sd.get(k), torch.Tensor) and bool(sd[k].ne(0).any())]
    if nonzero:
        raise ValueError(f"has non-zero {', '.join(nonzero)}: this model has no attention or unembed biases, so "
                         f"the network cannot be imported without changing what it computes")
    extra = sorted(k for k in sd if k.startswith(("blocks.1.", "ln_final", "blocks.0.ln")))
    if extra:
        raise ValueError(f"holds {', '.join(extra[:4])}: only 1-layer models without LayerNorm can be imported")


def from_transformer_lens(sd: dict) -> tuple[dict[str, torch.Tensor], model.ModelConfig]:
    """A HookedTransformer state dict (1 layer, no LayerNorm; biases absent or zero) as a 1-member ensemble."""
    _refuse_what_this_model_lacks(sd, TL_BIASES)
    params = {k: sd[name].detach().to(torch.float32).contiguous().clone()[None] for k, name in _TL_NAMES.items()}
    n_heads, d_model, d_head = params["W_Q"].shape[1:]
    return params, _config(params, n_heads=n_heads, d_model=d_model, d_head=d_head)


# ------------------------------------------------------------------------------- TransformerLens 4 (bridge)

BRIDGE_ZERO_BIASES = ("blocks.0.attn.q.bias", "blocks.0.attn.k.bias", "blocks.0.attn.v.bias", "blocks.0.attn.o.bias",
                      "unembed.bias")


def bridge_config(cfg: model.ModelConfig) -> dict:
    """Keyword arguments of the matching `TransformerBridgeConfig` (TransformerLens 4's native model)."""
    return hooked_config(cfg)  # the same fields and values in 4.x


def to_bridge(params: dict[str, torch.Tensor], cfg: model.ModelConfig, member: int = 0) -> dict[str, torch.Tensor]:
    """One member as a TransformerLens 4 native bridge's state dict (nn.Linear layouts, heads major)."""
    p = {k: v[member].detach() for k, v in params.items()}
    hd = cfg.n_heads * cfg.d_head

    def heads_in(W):  # (n_heads, d_model, d_head) -> (n_heads*d_head, d_model)
        return W.permute(0, 2, 1).reshape(hd, cfg.d_model).contiguous().clone()

    sd = {"embed.weight": p["W_E"].contiguous().clone(), "pos_embed.weight": p["W_pos"].contiguous().clone(),
          "blocks.0.attn.q.weight": heads_in(p["W_Q"]), "blocks.0.attn.k.weight": heads_in(p["W_K"]),
          "blocks.0.attn.v.weight": heads_in(p["W_V"]),
          "blocks.0.attn.o.weight": p["W_O"].reshape(hd, cfg.d_model).T.contiguous().clone(),
          "blocks.0.mlp.in.weight": p["W_in"].T.contiguous().clone(), "blocks.0.mlp.in.bias": p["b_in"].clone(),
          "blocks.0.mlp.out.weight": p["W_out"].T.contiguous().clone(), "blocks.0.mlp.out.bias": p["b_out"].clone(),
          "unembed.weight": p["W_U"].T.contiguous().clone()}
    zeros = {"blocks.0.attn.q.bias": hd, "blocks.0.attn.k.bias": hd, "blocks.0.attn.v.bias": hd,
             "blocks.0.attn.o.bias": cfg.d_model, "unembed.bias": cfg.d_vocab_out}
    sd.update({k: torch.zeros(n) for k, n in zeros.items()})
    return sd


def from_bridge(sd: dict) -> tuple[dict[str, torch.Tensor], model.ModelConfig]:
    """A TransformerLens 4 native bridge's state dict (1 layer, no LayerNorm, zero attention and unembed biases)
    as a 1-member ensemble. The head count is not in a state dict: it comes from the file's bridge_config
    (`state_dict_of` passes it along as "n_heads")."""
    _refuse_what_this_model_lacks(sd, BRIDGE_ZERO_BIASES)
    if isinstance(sd.get("n_heads"), bool) or not isinstance(sd.get("n_heads"), int) or sd["n_heads"] < 1:
        raise ValueError("is a TransformerLens 4 bridge state dict without its head count: save it as "
                         "{'bridge_state_dict': bridge.state_dict(), 'bridge_config': {..., 'n_heads': N}}")
    n_heads = sd["n_heads"]
    hd, d_model = sd["blocks.0.attn.q.weight"].shape
    if hd % n_heads:
        raise ValueError(f"blocks.0.attn.q.weight has {hd} rows, not a multiple of n_heads={n_heads}")
    d_head = hd // n_heads

    def heads_out(W):  # (n_heads*d_head, d_model) -> (n_heads, d_model, d_head)
        return W.reshape(n_heads, d_head, d_model).permute(0, 2, 1)

    raw = {"W_E": sd["embed.weight"], "W_pos": sd["pos_embed.weight"],
           "W_Q": heads_out(sd["blocks.0.attn.q.weight"]), "W_K": heads_out(sd["blocks.0.attn.k.weight"]),
           "W_V": heads_out(sd["blocks.0.attn.v.weight"]),
           "W_O": sd["blocks.0.attn.o.weight"].T.reshape(n_heads, d_head, d_model),
           "W_in": sd["blocks.0.mlp.in.weight"].T, "b_in": sd["blocks.0.mlp.in.bias"],
           "W_out": sd["blocks.0.mlp.out.weight"].T, "b_out": sd["blocks.0.mlp.out.bias"],
           "W_U": sd["unembed.weight"].T}
    params = {k: v.detach().to(torch.float32).contiguous().clone()[None] for k, v in raw.items()}
    return params, _config(params, n_heads=n_heads, d_model=d_model, d_head=d_head)


# ------------------------------------------------------------------------- progress measures (Nanda et al.)

def to_progress_measures(params: dict[str, torch.Tensor], cfg: model.ModelConfig,
                         member: int = 0) -> dict[str, torch.Tensor]:
    """One member as a progress-measures state dict (their transposed layouts, and their attention mask)."""
    p = {k: v[member].detach().clone() for k, v in params.items()}
    return {
        "embed.W_E": p["W_E"].T.contiguous(), "pos_embed.W_pos": p["W_pos"],
        "blocks.0.attn.W_Q": p["W_Q"].transpose(1, 2).contiguous(),
        "blocks.0.attn.W_K": p["W_K"].transpose(1, 2).contiguous(),
        "blocks.0.attn.W_V": p["W_V"].transpose(1, 2).contiguous(),
        "blocks.0.attn.W_O": p["W_O"].permute(2, 0, 1).reshape(cfg.d_model, cfg.n_heads * cfg.d_head).contiguous(),
        "blocks.0.attn.mask": torch.tril(torch.ones(cfg.n_ctx, cfg.n_ctx)),
        "blocks.0.mlp.W_in": p["W_in"].T.contiguous(), "blocks.0.mlp.b_in": p["b_in"],
        "blocks.0.mlp.W_out": p["W_out"].T.contiguous(), "blocks.0.mlp.b_out": p["b_out"],
        "unembed.W_U": p["W_U"],
    }


def from_progress_measures(sd: dict) -> tuple[dict[str, torch.Tensor], model.ModelConfig]:
    """A progress-measures state dict as a 1-member ensemble."""
    W_Q = sd["blocks.0.attn.W_Q"]
    if W_Q.dim() != 3:
        raise ValueError(f"blocks.0.attn.W_Q has shape {tuple(W_Q.shape)}: expected (n_heads, d_head, d_model)")
    n_heads, d_head, d_model = W_Q.shape
    params = {
        "W_E": sd["embed.W_E"].T, "W_pos": sd["pos_embed.W_pos"],
        "W_Q": W_Q.transpose(1, 2), "W_K": sd["blocks.0.attn.W_K"].transpose(1, 2),
        "W_V": sd["blocks.0.attn.W_V"].transpose(1, 2),
        "W_O": sd["blocks.0.attn.W_O"].reshape(d_model, n_heads, d_head).permute(1, 2, 0),
        "W_in": sd["blocks.0.mlp.W_in"].T, "b_in": sd["blocks.0.mlp.b_in"],
        "W_out": sd["blocks.0.mlp.W_out"].T, "b_out": sd["blocks.0.mlp.b_out"],
        "W_U": sd["unembed.W_U"],
    }
    params = {k: v.detach().to(torch.float32).contiguous().clone()[None] for k, v in params.items()}
    return params, _config(params, n_heads=n_heads, d_model=d_model, d_head=d_head)


# ------------------------------------------------------------------------------------------------ both ways

def _config(params: dict[str, torch.Tensor], **sizes) -> model.ModelConfig:
    cfg = model.ModelConfig(d_vocab=params["W_E"].shape[1], d_vocab_out=params["W_U"].shape[-1],
                            n_ctx=params["W_pos"].shape[1], d_mlp=params["W_in"].shape[-1], **sizes)
    wrong = {k: tuple(v.shape[1:]) for k, v in params.items() if tuple(v.shape[1:]) != cfg.shapes()[k]}
    if wrong:
        raise ValueError(f"weights of inconsistent shapes: {wrong} (expected {cfg.shapes()})")
    return cfg


def state_dict_of(state) -> dict:
    """The state dict inside a loaded file: an export's "state_dict", a progress-measures {"model": ...}, a
    TransformerLens 4 {"bridge_state_dict": ..., "bridge_config": ...} (its head count passed along), or the file
    itself."""
    if not isinstance(state, dict):
        raise ValueError(f"holds a {type(state).__name__}, not a state dict")
    if "state_dict" not in state and isinstance(state.get("bridge_state_dict"), dict):
        config = state.get("bridge_config") if isinstance(state.get("bridge_config"), dict) else {}
        other = state.get("config") if isinstance(state.get("config"), dict) else {}
        if "n_heads" in other and "n_heads" in config and other["n_heads"] != config["n_heads"]:
            raise ValueError(f"holds two head counts that disagree (bridge_config.n_heads={config['n_heads']!r}, "
                             f"config.n_heads={other['n_heads']!r}): the file was altered")
        return {**state["bridge_state_dict"], **({"n_heads": config["n_heads"]} if "n_heads" in config else {})}
    sd = state.get("state_dict", state.get("model", state))
    if not isinstance(sd, dict):
        raise ValueError(f"its state dict is a {type(sd).__name__}, not a dict of tensors")
    return sd


def layout_of(sd: dict) -> str:
    """'transformer-lens-4' (a bridge's keys), else 'transformer-lens' or 'progress-measures' from the rank of
    W_O; ValueError naming missing weights."""
    if isinstance(sd.get("blocks.0.attn.q.weight"), torch.Tensor):
        missing = [k for k in ("embed.weight", "pos_embed.weight", "blocks.0.attn.k.weight", "blocks.0.attn.v.weight",
                               "blocks.0.attn.o.weight", "blocks.0.mlp.in.weight", "blocks.0.mlp.in.bias",
                               "blocks.0.mlp.out.weight", "blocks.0.mlp.out.bias", "unembed.weight")
                   if not isinstance(sd.get(k), torch.Tensor)]
        if missing:
            raise ValueError(f"looks like a TransformerLens 4 bridge state dict but misses {', '.join(missing)}")
        return BRIDGE
    missing = [k for k in _PM_NEEDED if not isinstance(sd.get(k), torch.Tensor)]
    if missing:
        raise ValueError("is neither a TransformerLens nor a progress-measures state dict: missing "
                         f"{', '.join(missing)}")
    rank = sd["blocks.0.attn.W_O"].dim()
    if rank not in (2, 3):
        raise ValueError(f"blocks.0.attn.W_O has {rank} dimensions: expected 3 (TransformerLens) or 2 (progress "
                         "measures)")
    return "transformer-lens" if rank == 3 else "progress-measures"


def import_state_dict(sd: dict) -> tuple[dict[str, torch.Tensor], model.ModelConfig, str]:
    """Weights (as a 1-member ensemble), model shape and the detected layout of either tool's state dict."""
    layout = layout_of(sd)
    reader = {"transformer-lens": from_transformer_lens, "progress-measures": from_progress_measures,
              BRIDGE: from_bridge}[layout]
    try:
        params, cfg = reader(sd)
    except (KeyError, IndexError, RuntimeError, TypeError, AttributeError) as e:
        raise ValueError(f"is not a usable {layout} state dict: {e}") from None
    return params, cfg, layout


def export(params: dict[str, torch.Tensor], cfg: model.ModelConfig, member: int, to: str, meta: dict) -> dict:
    """The file content for `grok-neural export`: state dict in the target's layout, "meta", and for
    TransformerLens both versions' layouts ("state_dict" and "config" for 3.x's HookedTransformer,
    "bridge_state_dict" and "bridge_config" for 4.x's TransformerBridge). Progress-measures files also hold the
    state dict under "model", where that code looks for it (torch.save stores shared tensors once)."""
    if to not in LAYOUTS:
        raise ValueError(f"to={to!r} is unknown: choose from {', '.join(LAYOUTS)}")
    if to == "transformer-lens":
        return {"state_dict": to_transformer_lens(params, cfg, member), "config": hooked_config(cfg),
                "bridge_state_dict": to_bridge(params, cfg, member), "bridge_config": bridge_config(cfg), "meta": meta}
    sd = to_progress_measures(params, cfg, member)
    return {"state_dict": sd, "model": sd, "meta": meta}


# ------------------------------------------------------------------------------------------- training split

def nanda_train_mask(p: int, frac_train: float, seed: int) -> torch.Tensor:
    """The training split of Nanda et al.'s code (`gen_train_test`: Python's random.shuffle of the p*p pairs
    in lexicographic order, seeded, first int(frac * p^2) train), as a (p*p,) mask in all_pairs order."""
    pairs = [(i, j) for i in range(p) for j in range(p)]
    random.seed(seed)
    random.shuffle(pairs)
    mask = torch.zeros(p * p, dtype=torch.bool)
    for i, j in pairs[:int(frac_train * len(pairs))]:
        mask[i * p + j] = True
    return mask


def _train_pairs_mask(meta: dict, n_total: int, task: str, p: int) -> torch.Tensor:
    """meta["train_pairs"] as a mask over all pairs; ValueError naming what is wrong with it: not a 1-d integer
    tensor, indices out of range, repeated, or fewer or more than the split it records (meta["split"])."""
    idx = meta["train_pairs"]
    if not (isinstance(idx, torch.Tensor) and idx.dim() == 1 and not idx.is_floating_point()
            and not idx.is_complex() and idx.dtype != torch.bool):
        raise ValueError("meta.train_pairs is not a 1-d integer tensor of pair indices")
    idx = idx.long()
    if idx.numel() == 0 or int(idx.min()) < 0 or int(idx.max()) >= n_total:
        raise ValueError(f"meta.train_pairs holds indices outside [0, {n_total}) for task {task!r} with p={p}")
    if len(torch.unique(idx)) != idx.numel():
        raise ValueError(f"meta.train_pairs repeats {idx.numel() - len(torch.unique(idx))} pair index(es)")
    split = meta.get("split") if isinstance(meta.get("split"), dict) else {}
    expected = split.get("subset") or split.get("train_size") or (
        tasks.pairs_from_fraction(split["frac"], task, p) if isinstance(split.get("frac"), (int, float)) else None)
    if isinstance(expected, int) and expected != idx.numel():
        raise ValueError(f"meta.train_pairs holds {idx.numel()} pairs, but its meta.split records {expected}: the "
                         f"file is cut short or altered")
    mask = torch.zeros(n_total, dtype=torch.bool)
    mask[idx] = True
    return mask


def stored_split(state: dict, task: str, p: int) -> tuple[torch.Tensor | None, str]:
    """The training split a file records, as a mask over all_pairs order, and where it came from: an export's
    meta["train_pairs"]; a progress-measures file's config seed and frac_train (`nanda_train_mask`); else None."""
    n_total = tasks.n_pairs(task, p)
    meta = state.get("meta") if isinstance(state.get("meta"), dict) else {}
    if "train_pairs" in meta:
        return _train_pairs_mask(meta, n_total, task, p), "meta.train_pairs"
    config = state.get("config") if isinstance(state.get("config"), dict) else {}
    if "frac_train" in config and "seed" in config and n_total == p * p:  # their split covers all p*p pairs
        frac, seed = config["frac_train"], config["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or isinstance(frac, bool) or not isinstance(
                frac, (int, float)):
            raise ValueError(f"config.seed={seed!r} and config.frac_train={frac!r} must be an integer and a number")
        frac = float(frac)
        if not 0 < frac <= 1:
            raise ValueError(f"config.frac_train={frac} is not allowed: must lie in (0, 1]")
        return nanda_train_mask(p, frac, seed), f"config seed {seed}, frac_train {frac} (Nanda et al.'s gen_train_test)"
    return None, "none stored"
