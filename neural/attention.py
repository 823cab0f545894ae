"""The last position's attention over (position, token) tables, with a hand-written backward.

The last position's query is the same for every example and keys/values depend only on (position, token),
so attention reduces to gathering table rows per example and mixing them with softmax weights. Written with
autograd over an (E, N, P, H, d_head) layout, its broadcast products ran 4-5x slower than the same products
on contiguous operands (under 10^9 elements/s on the 2-core CPU). Here each member and each varying
position is a contiguous 2-D gather, product and scatter-add, and positions whose token is the same in every
sequence (the op and '=' tokens) are handled once instead of per example. Checked against autograd of the
plain model in tests/neural/test_model.py.
"""
from __future__ import annotations

import torch
from torch.autograd.function import once_differentiable


def constant_positions(tokens: torch.Tensor) -> list[int | None]:
    """For each position of `tokens` (E, N, P): its token if every sequence has the same one there, else None."""
    first = tokens[:1, :1]  # (1, 1, P)
    same = (tokens == first).flatten(0, 1).all(0).tolist()
    return [int(first[0, 0, j]) if s else None for j, s in enumerate(same)]


class AttentionMix(torch.autograd.Function):
    """z[e, n, h] = sum_j softmax_j(S[e, j, tok_j, h]) V[e, j, tok_j, h] over the positions j of each sequence.

    S: (E, P, V, H) attention scores of the last position's query against every (position, token) key;
    V: (E, P, V, H, dh) values of every (position, token); tokens: (E, N, P). Returns z: (E, N, H, dh).
    Each member and each varying position is handled with contiguous 2-D gathers, products and scatter-adds."""

    @staticmethod
    def forward(ctx, S, Vt, tokens):
        const = constant_positions(tokens)
        out, saved = [], []
        for e in range(S.shape[0]):
            z, keep = _mix_member(S[e], Vt[e], tokens[e], const)
            out.append(z)
            saved.append(keep)
        ctx.saved, ctx.shapes = saved, (S.shape, Vt.shape, S.dtype, S.device)
        return torch.stack(out) if len(out) > 1 else out[0][None]

    @staticmethod
    @once_differentiable
    def backward(ctx, dz):  # dz: (E, N, H, dh)
        S_shape, V_shape, dtype, dev = ctx.shapes
        dS, dV = torch.zeros(S_shape, dtype=dtype, device=dev), torch.zeros(V_shape, dtype=dtype, device=dev)
        for e, keep in enumerate(ctx.saved):
            _mix_member_backward(dz[e], keep, dS[e], dV[e])
        return dS, dV, None


def _mix_member(S, Vt, tokens, const):
    """One member: S (P, V, H), Vt (P, V, H, dh), tokens (N, P) -> z (N, H, dh) and what backward needs."""
    P, n_tok, H, dh = Vt.shape
    var = [(j, tokens[:, j].contiguous()) for j in range(P) if const[j] is None]  # varying: (position, tokens)
    fixed = [(j, t) for j, t in enumerate(const) if t is not None]  # the same token in every sequence
    v_var = [Vt[j].view(n_tok, H * dh).index_select(0, idx).view(-1, H, dh) for j, idx in var]  # each (N, H, dh)
    s = [S[j].index_select(0, idx) for j, idx in var]  # each (N, H)
    N = tokens.shape[0]
    s += [S[j, t].expand(N, H) for j, t in fixed]
    a = torch.softmax(torch.stack(s, 1), dim=1).to(Vt.dtype)  # (N, J+K, H); float32 out of bf16 autocast
    a_var = [a[:, i].contiguous() for i in range(len(var))]
    v_fix = torch.stack([Vt[j, t] for j, t in fixed]) if fixed else None  # (K, H, dh)
    if fixed:
        z = torch.einsum("nkh,khd->nhd", a[:, len(var):], v_fix)
    else:
        z = torch.zeros(N, H, dh, dtype=Vt.dtype, device=Vt.device)
    for a_i, v_i in zip(a_var, v_var):
        z.addcmul_(v_i, a_i[:, :, None])
    return z, (a, a_var, v_var, v_fix, var, fixed)


def _mix_member_backward(dz, keep, dS, dV):
    """Accumulate one member's gradients into dS (P, V, H) and dV (P, V, H, dh), given dz (N, H, dh)."""
    a, a_var, v_var, v_fix, var, fixed = keep
    _, n_tok, H, dh = dV.shape
    da = [torch.linalg.vecdot(dz, v_i)[:, None] for v_i in v_var]  # each (N, 1, H)
    if fixed:
        da.append(torch.einsum("nhd,khd->nkh", dz, v_fix))
    da = torch.cat(da, 1)  # (N, J+K, H), positions in the order of `a`
    ds = a * (da - (a * da).sum(1, keepdim=True))  # softmax backward, (N, J+K, H)
    for i, (j, idx) in enumerate(var):
        dS[j].index_add_(0, idx, ds[:, i])
        dV[j].view(n_tok, H * dh).index_add_(0, idx, (dz * a_var[i][:, :, None]).view(-1, H * dh))
    if fixed:
        ds_fix = ds[:, len(var):].sum(0)  # (K, H)
        dv_fix = torch.einsum("nkh,nhd->khd", a[:, len(var):], dz)
        for i, (j, t) in enumerate(fixed):
            dS[j, t] += ds_fix[i]
            dV[j, t] += dv_fix[i]


def attention_mix(S: torch.Tensor, Vt: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
    return AttentionMix.apply(S, Vt, tokens)
