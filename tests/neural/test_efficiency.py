"""Efficiency and the theory comparison: label logit, kappa, the law fit, the trigonometric filter, compare."""
import math

import numpy as np
import pytest
import torch
from scipy import stats

import rundir
from neural import analysis, dataset, model, protocol, runner, tasks, train
from neural.config import TrainConfig
from neural.experiments import compare, efficiency
from theory import efficiency as theory_eff

TINY = TrainConfig(p=17, frac=None, train_size=100, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=30,
                   eval_points=6, checkpoint_every=30, threads=1)


def test_centred_label_logit_of_a_planted_model():
    """Zero weights except b_out and W_U: every input gets the same logits v, so the centred label logit is the
    mean over the member's own training labels of v[label] - mean(v), computed here independently."""
    cfg = TINY.with_(random_labels=True, member_specs=({"seed": 0, "wd": 1.0, "lr": 1e-3, "subset": 40},
                                                        {"seed": 1, "wd": 1.0, "lr": 1e-3}))
    mcfg = train.model_config(cfg)
    params = {k: torch.zeros(2, *shape) for k, shape in mcfg.shapes().items()}
    g = torch.Generator().manual_seed(3)
    params["b_out"] = torch.randn(2, mcfg.d_model, generator=g)
    params["W_U"] = torch.randn(2, mcfg.d_model, mcfg.d_vocab_out, generator=g)
    data = dataset.Data(cfg, torch.device("cpu"))
    got = efficiency.label_logit(params, mcfg, data)
    for e, size in enumerate((40, 100)):
        v = (params["b_out"][e] @ params["W_U"][e]).double().numpy()
        labels = data.labels[e][data.train_mask[e]].numpy()
        assert len(labels) == size
        assert got[e].item() == pytest.approx(np.mean(v[labels] - v.mean()), rel=1e-5)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_kappa_of_a_product_of_k_linear_maps_is_k(k):
    g = torch.Generator().manual_seed(k)
    params = {f"A{i}": torch.randn(3, 5, 5, generator=g) for i in range(k)}
    x = torch.randn(5, generator=g)

    def fn(ps):
        h = x.expand(3, 5)
        for i in range(k):
            h = torch.einsum("ei,eij->ej", h, ps[f"A{i}"])
        return h.sum(1)

    torch.testing.assert_close(analysis.homogeneity_degree(params, fn)[0], torch.full((3,), float(k)), rtol=1e-4,
                               atol=1e-4)


def test_kappa_of_the_transformer_without_biases_matches_finite_differences():
    """The network is not homogeneous (softmax attention), so its local degree is checked against a central
    difference of log o in log s."""
    cfg = TINY.with_(seeds=(0, 1))
    mcfg = train.model_config(cfg)
    params = model.init_params(mcfg, [0, 1])
    g = torch.Generator().manual_seed(0)  # independent of the tests run before this one
    params = {k: (v + 0.3 * torch.randn(v.shape, generator=g)).double() for k, v in params.items()}  # float64: exact
    data = dataset.Data(cfg, torch.device("cpu"))
    fn = lambda ps: efficiency.label_logit(ps, mcfg, data).abs()  # noqa: E731
    kappa, o = analysis.homogeneity_degree(params, fn)
    torch.testing.assert_close(o, fn(params).detach())
    h = 1e-5
    with torch.no_grad():
        up = fn({k: v * math.exp(h) for k, v in params.items()})
        down = fn({k: v * math.exp(-h) for k, v in params.items()})
    torch.testing.assert_close(kappa, (up.log() - down.log()) / (2 * h), rtol=1e-4, atol=1e-4)


def test_law_fit_recovers_beta_and_gamma_from_noisy_triples():
    rng = np.random.default_rng(0)
    D = np.repeat(np.geomspace(100, 1000, 6), 8)
    o = rng.uniform(5, 40, len(D))
    beta, gamma = 0.27, 0.6
    N = np.exp(1.5 + beta * np.log(D) + gamma * np.log(o) + rng.normal(0, 0.03, len(D)))
    law = efficiency.fit_law(D, N, o)
    assert law["beta_interval"][0] < beta < law["beta_interval"][1]
    assert law["gamma_interval"][0] < gamma < law["gamma_interval"][1]
    assert abs(law["beta"] - beta) < 0.03 and law["n"] == len(D)
    flat = efficiency.fit_law(D, np.exp(2 + 0.5 * np.log(o) + rng.normal(0, 0.03, len(D))), o)
    assert flat["beta_interval"][0] < 0 < flat["beta_interval"][1]
    assert efficiency.fit_law(D[:3], N[:3], o[:3]) is None


def test_trig_share_of_a_planted_fourier_model_and_random_logits():
    p = 23
    x, y, answer = tasks.all_pairs("add", p)
    c = torch.arange(p, dtype=torch.float64)
    w = 2 * math.pi / p
    pure = sum(a * torch.cos(k * w * (answer[:, None].double() - c[None, :])) for k, a in ((3, 2.0), (7, 1.0)))
    rand = torch.randn(len(answer), p, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    share = analysis.trig_share(torch.stack([pure + 5.0, rand]), answer, p)  # +5: a constant, removed by centring
    assert share[0].item() == pytest.approx(1.0, abs=1e-9)
    assert share[1].item() < 0.05
    mixed = analysis.trig_share((pure + 0.3 * pure.norm() / rand.norm() * rand)[None], answer, p)
    assert 0.85 < mixed.item() < 0.95


def _fake_efficiency(beta_M=0.3, kappa=1.4) -> dict:
    cov = np.diag([0.01, 0.002, 0.004]).tolist()
    law = lambda c, beta: {"c": c, "beta": beta, "gamma": 0.7, "cov": cov, "n": 30,  # noqa: E731
                           "beta_interval": [beta - 0.1, beta + 0.1]}
    kind = lambda lw: {"law": lw, "kappa": {"mean": kappa}, "isologit": [{"D": [1000, 2000]}]}  # noqa: E731
    return {"kinds": {"mem": kind(law(1.0, beta_M)), "gen": kind(law(3.0, 0.0))}}


def test_compare_prediction_matches_theory_called_directly():
    eff = _fake_efficiency()
    o_ref = 20.0
    D_grid = np.geomspace(100, 3000, 7)
    pred = compare.prediction(eff, o_ref, D_grid, n_classes=59)
    L = math.log(o_ref)
    G = np.array([[1, 0, L], [0, 1, 0]])
    law = theory_eff.PowerLaw(1.0 + 0.7 * L, 0.3, G @ np.array(eff["kinds"]["mem"]["law"]["cov"]) @ G.T, 29)
    P_G = math.exp(3.0 + 0.7 * L)
    direct = theory_eff.critical_dataset_size(law, P_G)
    assert pred["d_crit"] == pytest.approx(direct.D_crit) and pred["d_crit"] == pytest.approx(math.exp(2.0 / 0.3))
    assert pred["d_crit_interval_mem_only"] == pytest.approx(direct.interval)
    # with P_G's own fit uncertainty: the delta method by numerical differentiation over all six fitted
    # coefficients (memorisation and generalisation fits independent), t quantile at the smaller fit's dof (27)
    D_G = math.sqrt(1000 * 2000)

    def log_dc(theta):  # (c_M, beta_M, gamma_M, c_G, beta_G, gamma_G)
        log_PG = theta[3] + theta[4] * math.log(D_G) + theta[5] * L
        return (log_PG - (theta[0] + theta[2] * L)) / theta[1]

    theta = np.array([1.0, 0.3, 0.7, 3.0, 0.0, 0.7])
    grad = np.array([(log_dc(theta + h) - log_dc(theta - h)) / 2e-6 for h in np.eye(6) * 1e-6])
    cov6 = np.zeros((6, 6))
    cov6[:3, :3] = cov6[3:, 3:] = eff["kinds"]["mem"]["law"]["cov"]
    half = stats.t.ppf(0.975, 27) * math.sqrt(grad @ cov6 @ grad)
    assert pred["d_crit_interval"] == pytest.approx([math.exp(log_dc(theta) - half), math.exp(log_dc(theta) + half)],
                                                    rel=1e-5)
    assert pred["d_crit_interval"][0] < direct.interval[0] and pred["d_crit_interval"][1] > direct.interval[1]
    extra = pred["extrapolation"]  # D_crit = e^6.67 = 786 lies 1000/786 = 1.27x below the smallest size
    assert extra["factor"] == pytest.approx(1000 / math.exp(2.0 / 0.3)) and extra["extrapolated"] is False
    assert pred["curve"]["ratio"] == pytest.approx([theory_eff.predicted_ratio(D, law, P_G, 1.4, 2.0) for D in D_grid])
    assert pred["d4_case"] == 2
    toy = pred["toy"]["test_perf"]
    assert toy[0] < 0.5 < toy[-1]  # the toy ungroks below the predicted D_crit and keeps generalising above


def test_efficiency_sweep_end_to_end_tiny(tmp_path):
    """A tiny sweep: one row per member with finite kappa, norm and logit; the summary's counts add up."""
    pre = efficiency.Preset(TINY, mem_sizes=(40, 80), gen_fracs=(0.5, 0.7), wds=(1.0,), seeds=(0,), mem_cap=30,
                            gen_cap=30)
    efficiency.check(pre)
    summary = protocol.run_preset(efficiency.EXPERIMENT, pre, tmp_path, progress=False)
    rows = rundir.read_rows(tmp_path / "members.csv", text=runner.TEXT_COLUMNS)
    assert len(rows) == len(efficiency.specs(pre)) == 4
    assert all(np.isfinite([r["kappa"], r["norm"], r["label_logit"], r["trig_share"]]).all() for r in rows)
    for kind in ("mem", "gen"):
        k = summary["kinds"][kind]
        assert k["members"] == 2 and k["kept"] + k["dropped"] == 2
    assert {r["kind"] for r in rows if r["D"] == 40} == {"mem"}
    # members share their seed's random labels; their training sets are nested
    cfg = runner.pack(efficiency.specs(pre))[0][0]
    data = dataset.Data(cfg, torch.device("cpu"))
    assert bool((data.train_mask[0] <= data.train_mask[1]).all()) and torch.equal(data.labels[0], data.labels[1])


def test_compare_recovers_a_network_that_follows_the_theory():
    """Ungrokking rows whose o_t/o_m are the theory's own prediction times small noise: rank correlation near
    1, every disagreement factor near 1; a member with o_m <= 0 is counted, not compared."""
    eff = _fake_efficiency()
    rng = np.random.default_rng(1)
    rows = []
    for D in (150.0, 250.0, 400.0, 700.0):
        for seed in (0.0, 1.0, 2.0):
            rows.append({"stage": 2.0, "task": "add", "p": 59.0, "seed": seed, "wd": 1.0, "d_prime": D,
                         "norm/total": 30.0, "test/acc": 0.5, "train/label_logit": 20.0, "converged": True,
                         "train/o_t": 10.0, "train/o_m": None})
    for r in rows:
        r["train/o_m"] = 10.0 / compare.prediction(eff, 20.0, np.array([r["d_prime"]]))["curve"]["ratio"][0] \
            * math.exp(rng.normal(0, 0.05))
    rows[0]["train/o_m"] = -1.0
    ungrok_summary = {"tasks": {"add": {"by_wd": {"1.0": {"d_crit": 800.0, "d_crit_interval": [700.0, 900.0]}}}}}
    summary, out = compare.compare(eff, ungrok_summary, rows)
    assert summary["members_without_ratio"] == 1 and out[0]["measured_ratio"] is None
    assert summary["ratio_rank_correlation"]["spearman"] > 0.85
    assert max(d["factor"] for d in summary["disagreement_by_d_prime"]) < 1.1
    row = summary["d_crit"][0]
    assert row["measured_over_predicted"] == pytest.approx(800.0 / summary["prediction"]["d_crit"])


def test_compare_without_a_memorisation_law_predicts_nothing_and_is_inconclusive():
    """Too few converged memorisers for a law (as a demo on a slower or different CPU can give): the comparison
    is still written, with no prediction and the reason, and the verdict is inconclusive rather than a crash."""
    from figures import verdicts

    eff = _fake_efficiency()
    eff["kinds"]["mem"]["law"] = None
    rows = [{"stage": 2.0, "task": "add", "p": 59.0, "seed": 0.0, "wd": 1.0, "d_prime": D, "norm/total": 30.0,
             "test/acc": 0.5, "train/label_logit": 20.0, "converged": True, "train/o_t": 10.0, "train/o_m": 5.0}
            for D in (150.0, 250.0, 400.0)]
    ungrok_summary = {"tasks": {"add": {"by_wd": {"1.0": {"d_crit": 260.0, "d_crit_interval": [240.0, 280.0]}}}}}
    summary, out = compare.compare(eff, ungrok_summary, rows)
    pred = summary["prediction"]
    assert pred["d_crit"] is None and "no fitted law for mem" in pred["d_crit_unavailable"]
    assert all(r["predicted_ratio"] is None for r in out) and summary["ratio_rank_correlation"] is None
    assert summary["d_crit"][0]["measured_over_predicted"] is None
    v = verdicts.compare(summary)
    assert v.verdict == verdicts.INCONCLUSIVE and "no fitted law for mem" in v.decided_by


def _planted_rows(rng, kind="mem", beta=0.3, sizes=(100, 200, 400), seeds=(0, 1), unconverged_at=None) -> list[dict]:
    rows = []
    for seed in seeds:
        for D in sizes:
            logit = float(np.exp(rng.normal(2.5, 0.3)))
            norm = float(np.exp(1.0 + beta * math.log(D) + 0.7 * math.log(logit) + rng.normal(0, 0.02)))
            rows.append({"kind": kind, "seed": seed, "wd": 1.0, "D": D, "norm": norm, "label_logit": logit,
                         "trig_share": 1.0, "kappa": 6.0, "converged": (seed, D) != unconverged_at})
    return rows


def test_summary_refits_leaving_each_member_out_and_with_the_unconverged():
    rng = np.random.default_rng(3)
    rows = _planted_rows(rng, unconverged_at=(1, 400)) + _planted_rows(rng, "gen", beta=0.0, sizes=(1000, 1500, 2000))
    summ = efficiency.summarise(rows)
    mem = summ["kinds"]["mem"]
    fitted = [r for r in rows if r["kind"] == "mem" and r["converged"]]
    assert mem["law"]["sizes"] == [100, 200, 400] and mem["fitted"] == len(fitted) == 5
    loo = mem["law"]["leave_one_out"]
    assert len(loo) == 5
    for k, entry in enumerate(loo):  # each refit is the plain fit without that member
        rest = fitted[:k] + fitted[k + 1:]
        direct = efficiency.fit_law([r["D"] for r in rest], [r["norm"] for r in rest], [r["label_logit"] for r in rest])
        assert entry["law"]["beta"] == pytest.approx(direct["beta"])
        assert f"D {fitted[k]['D']}" in entry["left_out"]
    everyone = [r for r in rows if r["kind"] == "mem"]
    direct = efficiency.fit_law([r["D"] for r in everyone], [r["norm"] for r in everyone],
                                [r["label_logit"] for r in everyone])
    assert mem["law_with_unconverged"]["beta"] == pytest.approx(direct["beta"])
    assert summ["kinds"]["gen"]["law_with_unconverged"] is None  # all converged: nothing to take back
    assert summ["kinds"]["gen"]["dropped_by_size"] == {}


def test_summary_reports_what_the_filter_drops_at_each_size():
    rng = np.random.default_rng(4)
    gen = _planted_rows(rng, "gen", beta=0.0, sizes=(1000, 1500, 2000), seeds=(0, 1, 2))
    gen[1]["trig_share"] = gen[4]["trig_share"] = 0.90  # seed 0 and seed 1 at D 1500
    summ = efficiency.summarise(_planted_rows(rng) + gen)
    assert summ["kinds"]["gen"]["dropped_by_size"] == {"1500": 2} and summ["kinds"]["gen"]["dropped"] == 2


def test_prediction_sensitivity_is_the_d_crit_of_each_refit():
    eff = _fake_efficiency()
    refit = {**eff["kinds"]["mem"]["law"], "beta": 0.25}
    eff["kinds"]["mem"]["law"]["leave_one_out"] = [{"left_out": "seed 0, wd 1, D 100", "law": refit}]
    eff["kinds"]["mem"]["law_with_unconverged"] = {**refit, "beta": 0.35}
    sens = compare.prediction(eff, 20.0, np.array([500.0]))["sensitivity"]
    # D_crit = exp((c_G - c_M) / beta) at o_ref: both gamma equal, so the logit terms cancel
    assert sens["d_crit_range"] == pytest.approx([math.exp(2.0 / 0.25)] * 2)
    assert sens["d_crit_with_unconverged"] == pytest.approx(math.exp(2.0 / 0.35))
    assert sens["leave_one_out"][0]["kind"] == "mem" and sens["fits_without_d_crit"] == 0
