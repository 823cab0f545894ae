"""The 1-layer transformer of Appendix B as an ensemble: every weight has a leading member axis E.

No LayerNorm, learned positional embeddings, untied embed/unembed, ReLU MLP, causal attention scaled by
1/sqrt(d_head). Weight names and layouts follow TransformerLens (each with a leading E):
    W_E (d_vocab, d_model)   W_pos (n_ctx, d_model)   W_Q, W_K, W_V (n_heads, d_model, d_head)
    W_O (n_heads, d_head, d_model)   W_in (d_model, d_mlp)   b_in (d_mlp)   W_out (d_mlp, d_model)
    b_out (d_model)   W_U (d_model, d_vocab_out)

Only the last position's logits are needed. Its query sees only the constant '=' token at a fixed position,
so it is the same for every example; keys and values depend only on (token, position). `forward` builds
small per-(position, token) tables of attention scores and values, mixes them per example
(`attention.attention_mix`, with a hand-written backward), and runs the MLP and unembed on the last position
only. `reference_forward` is the plain model over all positions, kept to test the fast path and to benchmark
against.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from neural import attention

PARAM_NAMES = ("W_E", "W_pos", "W_Q", "W_K", "W_V", "W_O", "W_in", "b_in", "W_out", "b_out", "W_U")


@dataclass(frozen=True)
class ModelConfig:
    d_vocab: int  # input vocabulary (elements + op + '=' tokens)
    d_vocab_out: int  # output classes
    n_ctx: int  # sequence length (4 for [x, op, y, =], 3 for [x, y, =])
    d_model: int = 128  # residual stream width
    n_heads: int = 4  # attention heads
    d_head: int = 32  # query/key/value size per head
    d_mlp: int = 512  # MLP hidden neurons

    def to_dict(self) -> dict:
        return asdict(self)

    def shapes(self) -> dict[str, tuple[int, ...]]:
        c = self
        return {"W_E": (c.d_vocab, c.d_model), "W_pos": (c.n_ctx, c.d_model),
                "W_Q": (c.n_heads, c.d_model, c.d_head), "W_K": (c.n_heads, c.d_model, c.d_head),
                "W_V": (c.n_heads, c.d_model, c.d_head), "W_O": (c.n_heads, c.d_head, c.d_model),
                "W_in": (c.d_model, c.d_mlp), "b_in": (c.d_mlp,), "W_out": (c.d_mlp, c.d_model),
                "b_out": (c.d_model,), "W_U": (c.d_model, c.d_vocab_out)}


def n_params(cfg: ModelConfig) -> int:
    """Parameters of one member."""
    return sum(math.prod(shape) for shape in cfg.shapes().values())


def init_params(cfg: ModelConfig, seeds: list[int], dtype=torch.float32) -> dict[str, torch.Tensor]:
    """Progress-measures initialisation per member from its own seed: randn/sqrt(d_model) for every weight
    (W_U: randn/sqrt(d_vocab)), zero MLP biases. Member e's weights depend only on seeds[e]."""
    generators = [torch.Generator().manual_seed(int(seed)) for seed in seeds]
    out = {}
    for name, shape in cfg.shapes().items():  # each generator draws its member's weights in this order
        if name.startswith("b_"):
            out[name] = torch.zeros((len(seeds), *shape), dtype=dtype, device="cpu")
        else:
            scale = math.sqrt(cfg.d_vocab) if name == "W_U" else math.sqrt(cfg.d_model)
            out[name] = torch.stack([torch.randn(shape, generator=g, dtype=dtype, device="cpu")
                                     for g in generators]) / scale
    return {name: out[name] for name in PARAM_NAMES}


def n_members(params: dict[str, torch.Tensor]) -> int:
    return params["W_E"].shape[0]


def _tables(params: dict[str, torch.Tensor], cfg: ModelConfig, last_token: int):
    """What the last position sees of every (position, token): attention scores (E, n_ctx*d_vocab, n_heads)
    and values (E, n_ctx*d_vocab, n_heads*d_head); and its own residual input (E, d_model)."""
    W_E, W_pos = params["W_E"], params["W_pos"]
    E = W_E.shape[0]
    x_ptd = W_pos[:, :, None, :] + W_E[:, None, :, :]  # (E, n_ctx, d_vocab, d_model): every (pos, token)
    x_last = W_E[:, last_token] + W_pos[:, -1]  # (E, d_model): the '=' token at the last position
    q = torch.einsum("em,ehmd->ehd", x_last, params["W_Q"])  # (E, n_heads, d_head)
    qk = torch.einsum("ehd,ehmd->ehm", q, params["W_K"]) / math.sqrt(cfg.d_head)  # (E, n_heads, d_model)
    flat = x_ptd.reshape(E, cfg.n_ctx * cfg.d_vocab, cfg.d_model)
    scores = torch.bmm(flat, qk.transpose(1, 2))  # (E, n_ctx*d_vocab, n_heads)
    W_V = params["W_V"].permute(0, 2, 1, 3).reshape(E, cfg.d_model, cfg.n_heads * cfg.d_head)
    values = torch.bmm(flat, W_V)  # (E, n_ctx*d_vocab, n_heads*d_head)
    return scores, values, x_last


def layout_of(tokens: torch.Tensor, cfg: ModelConfig, E: int) -> attention.TokenLayout:
    """The attention's layout of `tokens`: (N, n_ctx) shared by E members, or (E, N, n_ctx) per member. Reads the
    tokens back to the host once: a training loop builds it once per data tensor and passes it to `forward`."""
    if tokens.dim() == 2:
        tokens = tokens.expand(E, *tokens.shape)
    return attention.token_layout(tokens, cfg.d_vocab)


def last_residual(params: dict[str, torch.Tensor], cfg: ModelConfig,
                  tokens: torch.Tensor | attention.TokenLayout) -> torch.Tensor:
    """Residual stream at the last position after attention, (E, N, d_model). `tokens`: a TokenLayout, or
    (N, n_ctx) shared or (E, N, n_ctx) per member; every sequence must end with the same token (the '=' token)."""
    E = n_members(params)
    lay = tokens if isinstance(tokens, attention.TokenLayout) else layout_of(tokens, cfg, E)
    if lay.E != E or lay.n_tok != cfg.d_vocab:
        raise ValueError(f"tokens: a layout of {lay.E} member(s) over {lay.n_tok} tokens cannot feed {E} member(s) "
                         f"over {cfg.d_vocab}")
    H, dh = cfg.n_heads, cfg.d_head
    scores, values, x_last = _tables(params, cfg, lay.last_token)
    z = attention.attention_mix(scores.view(E, cfg.n_ctx, cfg.d_vocab, H),
                                values.view(E, cfg.n_ctx, cfg.d_vocab, H, dh), lay)  # (E, N, n_heads, d_head)
    return torch.baddbmm(x_last[:, None, :], z.reshape(E, -1, H * dh), params["W_O"].reshape(E, H * dh, cfg.d_model))


def forward(params: dict[str, torch.Tensor], cfg: ModelConfig,
            tokens: torch.Tensor | attention.TokenLayout) -> torch.Tensor:
    """Logits at the last position, (E, N, d_vocab_out); `tokens` as for `last_residual`."""
    resid = last_residual(params, cfg, tokens)
    # biases added in place: baddbmm would first copy the broadcast bias into a fresh (E, N, d_mlp) tensor
    hidden = torch.bmm(resid, params["W_in"]).add_(params["b_in"][:, None, :]).relu_()  # (E, N, d_mlp)
    resid = torch.bmm(hidden, params["W_out"]).add_(resid).add_(params["b_out"][:, None, :])
    return torch.bmm(resid, params["W_U"])


def reference_forward(params: dict[str, torch.Tensor], cfg: ModelConfig, tokens: torch.Tensor) -> torch.Tensor:
    """The plain model over all positions (the obvious way), returning last-position logits (E, N, d_vocab_out)."""
    E = n_members(params)
    if tokens.dim() == 2:
        tokens = tokens.expand(E, *tokens.shape)
    x = torch.stack([params["W_E"][e][tokens[e]] for e in range(E)]) + params["W_pos"][:, None]  # (E, N, T, m)
    q = torch.einsum("entm,ehmd->enhtd", x, params["W_Q"])
    k = torch.einsum("entm,ehmd->enhtd", x, params["W_K"])
    v = torch.einsum("entm,ehmd->enhtd", x, params["W_V"])
    scores = torch.einsum("enhtd,enhsd->enhts", q, k) / math.sqrt(cfg.d_head)
    T = tokens.shape[-1]
    causal = torch.tril(torch.ones(T, T, dtype=torch.bool, device=tokens.device))
    attn = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1)
    z = torch.einsum("enhts,enhsd->enhtd", attn, v)
    x = x + torch.einsum("enhtd,ehdm->entm", z, params["W_O"])
    hidden = torch.relu(torch.einsum("entm,emk->entk", x, params["W_in"]) + params["b_in"][:, None, None])
    x = x + torch.einsum("entk,ekm->entm", hidden, params["W_out"]) + params["b_out"][:, None, None]
    return torch.einsum("enm,emv->env", x[:, :, -1], params["W_U"])


def param_norm(params: dict[str, torch.Tensor]) -> torch.Tensor:
    """Total L2 norm of each member's parameters, (E,)."""
    return torch.sqrt(sum(p.reshape(p.shape[0], -1).pow(2).sum(1) for p in params.values()))
