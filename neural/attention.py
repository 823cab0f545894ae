"""The last position's attention over (position, token) tables, with a hand-written backward.

The last position's query is the same for every example and keys/values depend only on (position, token),
so attention reduces to gathering table rows per example and mixing them with softmax weights. Written with
autograd over an (E, N, P, H, d_head) layout, its broadcast products ran 4-5x slower than the same products
on contiguous operands (under 10^9 elements/s on the 2-core CPU). Here every member's tables are one flat
table, each varying position is one contiguous 2-D gather (rows e * P * V + j * V + token) and one scatter-add
for the whole ensemble, and positions whose token is the same in every sequence (the op and '=' tokens) are
handled once per member instead of per example. Checked against autograd of the plain model in
tests/neural/test_model.py.

What a token tensor implies (its constant positions and gather rows) is a `TokenLayout`, built once per data
tensor by whoever owns the data (neural.dataset.Data) and passed in: nothing of it is recomputed or read back to the
host in a training step, and the step holds no cache a compiler would have to trace.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch.autograd.function import once_differentiable


def constant_positions(tokens: torch.Tensor) -> list[int | None]:
    """For each position of `tokens` (E, N, P): its token if every sequence has the same one there, else None."""
    first = tokens[:1, :1]  # (1, 1, P)
    same = (tokens == first).flatten(0, 1).all(0).tolist()
    return [int(first[0, 0, j]) if s else None for j, s in enumerate(same)]


@dataclass(frozen=True)
class TokenLayout:
    """Token sequences (E, N, P) as gather rows of the flat (E * P * n_tok)-row tables: for each varying position
    j, (j, rows (E * N,)); for each constant one, (j, token)."""
    E: int
    N: int
    P: int
    n_tok: int
    var: tuple[tuple[int, torch.Tensor], ...]
    fixed: tuple[tuple[int, int], ...]

    @property
    def last_token(self) -> int:
        """The token every sequence ends with (the '=' token); ValueError if they differ."""
        last = dict(self.fixed).get(self.P - 1)
        if last is None:
            raise ValueError("tokens: every sequence must end with the same token (the '=' token)")
        return last


def token_layout(tokens: torch.Tensor, n_tok: int, const: list[int | None] | None = None) -> TokenLayout:
    """The layout of `tokens` (E, N, P) (an expanded (N, P) tensor for tokens shared by the members). `const`:
    the constant positions (`constant_positions`) when the caller knows them; otherwise they are read from the
    tokens (one read back to the host)."""
    E, N, P = tokens.shape
    const = constant_positions(tokens) if const is None else const
    offset = torch.arange(E, device=tokens.device)[:, None] * (P * n_tok)  # (E, 1)
    var = tuple((j, (tokens[:, :, j] + offset + j * n_tok).reshape(E * N)) for j in range(P) if const[j] is None)
    fixed = tuple((j, t) for j, t in enumerate(const) if t is not None)
    return TokenLayout(E, N, P, n_tok, var, fixed)


class AttentionMix(torch.autograd.Function):
    """z[e, n, h] = sum_j softmax_j(S[e, j, tok_j, h]) V[e, j, tok_j, h] over the positions j of each sequence.

    S: (E, P, V, H) attention scores of the last position's query against every (position, token) key;
    V: (E, P, V, H, dh) values of every (position, token); lay: the tokens' TokenLayout. Returns z: (E, N, H, dh)."""

    @staticmethod
    def forward(ctx, S, Vt, lay: TokenLayout):
        E, P, n_tok, H, dh = Vt.shape
        N = lay.N
        var, fixed = lay.var, lay.fixed
        S_rows, V_rows = S.reshape(E * P * n_tok, H), Vt.reshape(E * P * n_tok, H * dh)
        v_var = [V_rows.index_select(0, rows).view(E, N, H, dh) for _, rows in var]
        s = [S_rows.index_select(0, rows).view(E, N, H) for _, rows in var]
        s += [S[:, j, t, None, :].expand(E, N, H) for j, t in fixed]
        a = torch.softmax(torch.stack(s, 2), dim=2).to(Vt.dtype)  # (E, N, J+K, H); float32 out of bf16 autocast
        J = len(var)
        v_fix = torch.stack([Vt[:, j, t] for j, t in fixed], 1) if fixed else None  # (E, K, H, dh)
        if fixed:
            z = torch.einsum("enkh,ekhd->enhd", a[:, :, J:], v_fix).contiguous()
        else:
            z = torch.zeros(E, N, H, dh, dtype=Vt.dtype, device=Vt.device)
        for i, v_i in enumerate(v_var):
            z.addcmul_(v_i, a[:, :, i, :, None])
        ctx.save_for_backward(a, v_fix, *v_var)
        ctx.layout, ctx.J, ctx.shapes = (var, fixed), J, (S.shape, Vt.shape)
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, dz):  # dz: (E, N, H, dh)
        a, v_fix, *v_var = ctx.saved_tensors
        (var, fixed), J = ctx.layout, ctx.J
        S_shape, V_shape = ctx.shapes
        E, P, n_tok, H, dh = V_shape
        N = dz.shape[1]
        da = [torch.linalg.vecdot(dz, v_i) for v_i in v_var]  # each (E, N, H)
        if fixed:
            da += list(torch.einsum("enhd,ekhd->kenh", dz, v_fix))
        da = torch.stack(da, 2)  # (E, N, J+K, H), positions in the order of `a`
        ds = a * (da - (a * da).sum(2, keepdim=True))  # softmax backward
        dS = torch.zeros(S_shape, dtype=dz.dtype, device=dz.device)
        dV = torch.zeros(V_shape, dtype=dz.dtype, device=dz.device)
        dS_rows, dV_rows = dS.view(E * P * n_tok, H), dV.view(E * P * n_tok, H * dh)
        for i, (_, rows) in enumerate(var):
            dS_rows.index_add_(0, rows, ds[:, :, i].reshape(E * N, H))
            dV_rows.index_add_(0, rows, (dz * a[:, :, i, :, None]).reshape(E * N, H * dh))
        if fixed:
            ds_fix = ds[:, :, J:].sum(1)  # (E, K, H)
            dv_fix = torch.einsum("enkh,enhd->ekhd", a[:, :, J:], dz)
            for i, (j, t) in enumerate(fixed):
                dS[:, j, t] += ds_fix[:, i]
                dV[:, j, t] += dv_fix[:, i]
        return dS, dV, None


def attention_mix(S: torch.Tensor, Vt: torch.Tensor, lay: TokenLayout) -> torch.Tensor:
    return AttentionMix.apply(S, Vt, lay)
