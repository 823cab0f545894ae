"""The ensemble transformer: fast path = reference, member independence, import/export, optimiser."""
from pathlib import Path

import pytest
import torch

from neural import attention, dataset, interop, model, optim, tasks, train
from neural.config import TrainConfig, model_config

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "low_precision_mod_addition.pth"
SMALL = TrainConfig(p=23, frac=0.5, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=40, seeds=(0, 1), wds=(1.0, 0.3))


@pytest.mark.parametrize("fmt", ["paper", "nanda"])
def test_fast_forward_matches_reference(fmt):
    cfg = SMALL.with_(fmt=fmt)
    mcfg = train.model_config(cfg)
    params = model.init_params(mcfg, [0, 1, 2])
    params = {k: v + 0.1 * torch.randn_like(v) for k, v in params.items()}  # nonzero biases too
    x, y, _ = tasks.all_pairs("add", 23)
    tok = tasks.sequences(x, y, 23, fmt)
    fast, ref = model.forward(params, mcfg, tok), model.reference_forward(params, mcfg, tok)
    assert fast.shape == (3, 23 * 23, 23)
    assert torch.allclose(fast, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())


@pytest.mark.parametrize("fmt,E", [("paper", 1), ("nanda", 3)])
def test_training_gradients_match_reference_autograd(fmt, E):
    """The hand-written attention backward: gradients of the training loss through the fast path equal plain
    autograd through the all-positions reference, every weight, each member on its own train split. Seeded, so
    that the draw does not depend on the tests run before; entries near zero are compared at 1e-5 of the largest
    (float32 cancellation; a wrong backward is off by O(1))."""
    torch.manual_seed(0)
    cfg = SMALL.with_(fmt=fmt, seeds=tuple(range(E)), wds=(1.0,))
    mcfg = train.model_config(cfg)
    data = dataset.Data(cfg, torch.device("cpu"))
    params = {k: (v + 0.1 * torch.randn_like(v)).requires_grad_(True)
              for k, v in model.init_params(mcfg, list(range(E))).items()}
    fast = torch.autograd.grad(train.losses(params, mcfg, data, "float32").sum(), list(params.values()))
    logits = model.reference_forward(params, mcfg, data.train_tokens)
    ref_loss = torch.nn.functional.cross_entropy(logits.transpose(1, 2), data.train_labels, reduction="none").mean(1)
    ref = torch.autograd.grad(ref_loss.sum(), list(params.values()))
    for name, g, r in zip(params, fast, ref):
        assert torch.allclose(g, r, rtol=1e-4, atol=1e-5 * r.abs().max().item()), name


@pytest.mark.parametrize("case", ["some positions constant", "all constant", "none constant"])
def test_attention_mix_gradcheck(case):
    """Finite differences in float64 against the hand-written backward, whichever positions are constant."""
    g = torch.Generator().manual_seed(1)
    E, P, V, H, dh, N = 2, 4, 5, 2, 3, 7
    S = torch.randn(E, P, V, H, dtype=torch.float64, generator=g, requires_grad=True)
    Vt = torch.randn(E, P, V, H, dh, dtype=torch.float64, generator=g, requires_grad=True)
    tokens = torch.randint(0, V, (E, N, P), generator=g)
    if case == "some positions constant":
        tokens[:, :, 1], tokens[:, :, 3] = 2, 4
    elif case == "all constant":
        tokens[:] = torch.tensor([0, 3, 1, 4])
    assert [t is None for t in attention.constant_positions(tokens)] == {
        "some positions constant": [True, False, True, False], "all constant": [False] * 4,
        "none constant": [True] * 4}[case]
    lay = attention.token_layout(tokens, V)
    assert torch.autograd.gradcheck(lambda s, v: attention.attention_mix(s, v, lay), (S, Vt))


def test_member_gradients_equal_model_trained_alone():
    mcfg = train.model_config(SMALL)
    ens = model.init_params(mcfg, [3, 4])
    alone = {k: v[1:2].clone() for k, v in ens.items()}
    x, y, a = tasks.all_pairs("add", 23)
    tok = tasks.sequences(x, y, 23)[:100]
    def grads(params):
        for v in params.values():
            v.requires_grad_(True)
        logits = model.forward(params, mcfg, tok)
        loss = sum(torch.nn.functional.cross_entropy(logits[e], a[:100]) for e in range(logits.shape[0]))
        return torch.autograd.grad(loss, list(params.values()))
    for g_ens, g_one in zip(grads(ens), grads(alone)):
        assert torch.allclose(g_ens[1:2], g_one, rtol=1e-5, atol=1e-7)


def test_adamw_matches_torch_per_member():
    torch.manual_seed(0)
    params = {"w": torch.randn(2, 5, 3)}
    ref = [torch.nn.Parameter(params["w"][e].clone()) for e in range(2)]
    opts = [torch.optim.AdamW([ref[e]], lr=lr, betas=(0.9, 0.98), weight_decay=wd)
            for e, (lr, wd) in enumerate([(1e-2, 1.0), (3e-3, 0.1)])]
    w, m, v = params["w"].reshape(2, 15), torch.zeros(2, 15), torch.zeros(2, 15)
    count = torch.zeros((), dtype=torch.float64)
    lr, wd = torch.tensor([[1e-2], [3e-3]]), torch.tensor([[1.0], [0.1]])
    for t in range(1, 6):
        g = torch.randn(2, 5, 3)
        ok = optim.step(w=w, g=g.reshape(2, 15), m=m, v=v, count=count, lr_E1=lr, wd_E1=wd,
                        allowed_E=torch.tensor([True, True]))
        assert ok.all()
        for e in range(2):
            ref[e].grad = g[e].clone()
            opts[e].step()
    for e in range(2):
        assert torch.allclose(params["w"][e], ref[e].detach(), rtol=1e-6, atol=1e-7)


def test_adamw_with_another_eps_matches_torch():
    torch.manual_seed(1)
    w0 = torch.randn(1, 6)
    ref = torch.nn.Parameter(w0[0].clone())
    opt = torch.optim.AdamW([ref], lr=1e-2, betas=(0.9, 0.98), weight_decay=1.0, eps=1e-4)
    w, m, v, count = w0.clone(), torch.zeros(1, 6), torch.zeros(1, 6), torch.zeros((), dtype=torch.float64)
    for _ in range(4):
        g = torch.randn(1, 6) * 1e-4  # gradients of eps's size: the denominator's eps matters
        optim.step(w=w, g=g, m=m, v=v, count=count, lr_E1=torch.tensor([[1e-2]]), wd_E1=torch.tensor([[1.0]]),
                   allowed_E=torch.tensor([True]), eps=1e-4)
        ref.grad = g[0].clone()
        opt.step()
    assert torch.allclose(w[0], ref.detach(), rtol=1e-6, atol=1e-8)


def test_the_eps_regime_on_planted_moments_and_gradients():
    """Member 0: every sqrt(v_hat) below eps and g = -3e-8 w (a stationary point of GD on CE + (alpha/2)|w|^2 with
    alpha = 3e-8); member 1: half the parameters above eps, g orthogonal to w (alpha_eff 0)."""
    w = torch.tensor([[1.0, -2.0, 0.5, 4.0], [1.0, 0.0, 0.0, 0.0]], dtype=torch.float64)
    count = torch.tensor(1000.0, dtype=torch.float64)
    bc2 = 1 - 0.98 ** 1000
    v = torch.tensor([[1e-18] * 4, [1e-18, 1e-18, 1e-14, 1e-14]], dtype=torch.float64) * bc2
    g = torch.stack([-3e-8 * w[0], torch.tensor([0.0, 1.0, 0.0, 0.0], dtype=torch.float64)])
    small, alpha = optim.regime(w, g, v, count, 0.98, 1e-8)
    assert small.tolist() == [1.0, 0.5]
    assert alpha[0].item() == pytest.approx(3e-8, rel=1e-12) and alpha[1].item() == 0.0


def test_a_run_records_where_its_adamw_stands(tmp_path):
    """The last row of every member carries adam/small_v and adam/alpha_eff; alpha_eff is -<g, w>/|w|^2 for the
    training gradient at the final weights, recomputed here from the checkpoint; the measurement leaves training
    as it was (the same final weights as a run whose last row is measured at another step)."""
    cfg = TrainConfig(p=11, frac=0.6, d_model=8, n_heads=2, d_head=4, d_mlp=16, steps=30, eval_points=4,
                      wds=(1.0, 0.3), threads=1, adam_eps=1e-6)
    done = train.train(cfg, tmp_path / "run", progress=False)
    final = {m["member"]: m["final"] for m in done.summary["members"]}
    data = dataset.Data(cfg, torch.device("cpu"))
    params = {k: v.clone().requires_grad_(True) for k, v in done.params.items()}
    g = train.gradients(params, train.losses(params, model_config(cfg), data, "float32"))
    w = torch.cat([v.detach().reshape(v.shape[0], -1) for v in done.params.values()], 1)
    expected = (-(g * w).sum(1) / (w * w).sum(1)).tolist()
    for e in range(2):
        assert 0.0 <= final[e]["adam/small_v"] <= 1.0
        assert final[e]["adam/alpha_eff"] == pytest.approx(expected[e], rel=1e-4, abs=1e-9)
    again = train.train(cfg.with_(eval_points=7), tmp_path / "other", progress=False)  # other full-eval steps
    for k in done.params:
        assert torch.equal(done.params[k], again.params[k])


def test_a_float64_run_trains_in_float64_from_the_same_start(tmp_path):
    """precision float64: weights, moments and the loss in double precision, from the float32 run's initial draws
    (so the two differ only by the numerics), deterministic; a float64 child starts from a float32 parent."""
    cfg = TrainConfig(p=11, frac=0.6, d_model=8, n_heads=2, d_head=4, d_mlp=16, steps=3, eval_points=3, threads=1)
    one = train.train(cfg, None, progress=False)
    double = train.train(cfg.with_(precision="float64"), tmp_path / "d", progress=False)
    assert all(v.dtype == torch.float64 for v in double.params.values())
    for k in one.params:  # 3 steps of lr 1e-3 from the same start: float64 and float32 stay close
        torch.testing.assert_close(double.params[k].float(), one.params[k], rtol=1e-4, atol=1e-5)
    again = train.train(cfg.with_(precision="float64"), None, progress=False)
    assert all(torch.equal(double.params[k], again.params[k]) for k in double.params)
    parent32 = train.train(cfg, tmp_path / "p32", progress=False)
    child = cfg.with_(precision="float64", member_specs=({"seed": 0, "wd": 1.0, "lr": 1e-3, "parent": "p32",
                                                          "parent_member": 0},))
    kid = train.train(child, tmp_path / "kid", progress=False)
    assert kid.params["W_E"].dtype == torch.float64 and parent32.params["W_E"].dtype == torch.float32


@pytest.mark.skipif(not FIXTURE.exists(), reason="shared fixture checkpoint not present")
def test_import_real_checkpoint_reproduces_measured_facts():
    state = torch.load(FIXTURE, map_location="cpu", weights_only=True)
    params, mcfg = interop.from_progress_measures(state.get("model", state))
    x, y, a = tasks.all_pairs("add", 113)
    with torch.no_grad():
        Z = model.forward(params, mcfg, tasks.sequences(x, y, 113, "nanda"))[0, :, :113]
    assert abs((Z.argmax(-1) == a).double().mean().item() - 0.99945) < 5e-5
    assert abs(torch.nn.functional.cross_entropy(Z.double(), a).item() - 0.00289) < 5e-5
    assert abs(model.param_norm(params).item() - 33.706) < 1e-3


def test_init_member_depends_only_on_its_seed():
    mcfg = train.model_config(SMALL)
    a, b = model.init_params(mcfg, [7, 8]), model.init_params(mcfg, [9, 7])
    for k in a:
        assert torch.equal(a[k][0], b[k][1])


@pytest.mark.skipif(not FIXTURE.exists(), reason="shared fixture checkpoint not present")
def test_analyze_cli_on_real_checkpoint():
    import json

    from typer.testing import CliRunner

    from commands.neural import app

    r = CliRunner().invoke(app, ["analyze", str(FIXTURE), "--json"])
    assert r.exit_code == 0, r.output
    m = json.loads(r.stdout)["members"][0]
    assert 3 <= len(m["key_frequencies"]) <= 8  # a handful of key frequencies
    assert m["restricted_loss"] < 0.01 < 1.0 < m["excluded_loss"]  # generalising circuit lives in them
    assert abs(m["all_acc"] - 0.99945) < 5e-5 and m["gini_W_L"] > 0.5


@pytest.mark.parametrize("bad", [1e30, float("inf"), float("nan")])
def test_adamw_commits_only_allowed_finite_members(bad):
    """The guard: a member not allowed to move, and one whose gradient would overflow Adam's second moment (or
    is not finite), keep their weights and moments bit for bit; the others take the AdamW step; at the limit's
    edge the update is finite."""
    g0 = torch.Generator().manual_seed(2)
    w, m, v = (torch.randn(4, 40, generator=g0) for _ in range(3))
    v = v.abs()
    g = torch.randn(4, 40, generator=g0)
    g[2, 7] = bad
    g[3, 5] = 0.99 * optim.GRAD_LIMIT
    before = [x.clone() for x in (w, m, v)]
    ok = optim.step(w=w, g=g, m=m, v=v, count=torch.tensor(3.0, dtype=torch.float64), lr_E1=torch.full((4, 1), 1e-3),
                    wd_E1=torch.ones(4, 1), allowed_E=torch.tensor([True, False, True, True]))
    assert ok.tolist() == [True, False, False, True]
    for x, old in zip((w, m, v), before):
        assert torch.equal(x[1:3], old[1:3]) and not torch.equal(x[0], old[0]) and torch.isfinite(x).all()
