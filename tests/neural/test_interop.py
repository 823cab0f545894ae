"""Handing networks to TransformerLens and progress-measures code, and taking theirs in.

The TransformerLens tests run against whichever major version is installed (3.x: HookedTransformer; 4.x:
TransformerBridge.boot_native) and are skipped otherwise; `make test-tl` runs this file in one fresh venv per
major version (TL_VERSIONS), so both are tested for real.
"""
import importlib
import importlib.util
from pathlib import Path

import pytest
import torch
from typer.testing import CliRunner

from neural import dataset, inspect_run, interop, model, tasks, train
from commands.neural import app
from neural.config import TrainConfig

FIXTURE = Path(__file__).resolve().parents[3] / "shared" / "fixtures" / "low_precision_mod_addition.pth"
TINY = TrainConfig(p=23, frac=0.5, d_model=32, n_heads=4, d_head=8, d_mlp=64, steps=300, lrs=(3e-3,),
                   seeds=(0, 1), eval_points=10, checkpoint_every=300)
runner = CliRunner()


def _tl_has(module: str, name: str) -> bool:
    """Whether the installed transformer-lens offers `module.name` (3.x: HookedTransformer; 4.x, also 3.9:
    TransformerBridge with boot_native)."""
    if importlib.util.find_spec("transformer_lens") is None:
        return False
    try:
        found = getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        return False
    return name != "TransformerBridge" or hasattr(found, "boot_native")


def _quiet(test):
    """TransformerLens's own deprecation and user notices are not this toolkit's to fix."""
    return pytest.mark.filterwarnings("ignore::DeprecationWarning", "ignore::FutureWarning", "ignore::UserWarning",
                                      "ignore::PendingDeprecationWarning")(test)


def needs_tl(test):
    """Runs with transformer-lens 3.x (HookedTransformer) installed."""
    return pytest.mark.skipif(not _tl_has("transformer_lens", "HookedTransformer"),
                              reason="transformer-lens with HookedTransformer (3.x) is not installed")(_quiet(test))


def needs_tl4(test):
    """Runs with transformer-lens 4.x (TransformerBridge.boot_native) installed."""
    return pytest.mark.skipif(not _tl_has("transformer_lens.model_bridge", "TransformerBridge"),
                              reason="transformer-lens with TransformerBridge.boot_native (4.x) is not installed")(
        _quiet(test))


LOGIT_TOLERANCE = 1e-4  # the contract: same argmax on every pair, logits within 1e-4 of the toolkit's


@pytest.fixture(scope="module", params=["paper", "nanda"])
def trained(request, tmp_path_factory):
    """A toolkit network trained 300 steps (past memorisation: logits far from their initial spread)."""
    out = tmp_path_factory.mktemp(f"run-{request.param}")
    train.train(TINY.with_(fmt=request.param), out, progress=False)
    return out


def _export(run_dir: Path, to: str, path: Path, member: int = 1) -> dict:
    result = runner.invoke(app, ["export", str(run_dir), "--member", str(member), "--to", to, "--out", str(path)])
    assert result.exit_code == 0, result.output
    return torch.load(path, weights_only=True)


def _all_tokens(cfg: TrainConfig) -> torch.Tensor:
    x, y, _ = tasks.all_pairs(cfg.task, cfg.p)
    return tasks.sequences(x, y, cfg.p, cfg.fmt)


def _same_logits_and_analyzed(net, params, mcfg, path: Path, layout_words: str) -> None:
    """A TransformerLens network and its import into this toolkit (nanda format) give the same answers, logits
    within LOGIT_TOLERANCE, and `analyze` reads the saved file as that layout."""
    tokens = _all_tokens(TINY.with_(fmt="nanda"))
    with torch.no_grad():
        theirs, ours = net(tokens)[:, -1], model.forward(params, mcfg, tokens)[0]
    assert torch.equal(theirs.argmax(-1), ours.argmax(-1))
    assert (theirs - ours).abs().max().item() <= LOGIT_TOLERANCE
    result = runner.invoke(app, ["analyze", str(path)])
    assert result.exit_code == 0 and layout_words in result.output, result.output


@pytest.mark.parametrize("to", interop.LAYOUTS)
def test_export_import_round_trip_is_exact(trained, to, tmp_path):
    params, cfg, mcfg = inspect_run.load_run(trained)
    f = _export(trained, to, tmp_path / "net.pt")
    back, mcfg2, layout = interop.import_state_dict(interop.state_dict_of(f))
    assert layout == to and mcfg2 == mcfg
    for k in params:
        assert torch.equal(back[k][0], params[k][1]), k
    meta = f["meta"]
    assert (meta["task"], meta["p"], meta["format"]) == (cfg.task, cfg.p, cfg.fmt)
    data = dataset.Data(cfg, torch.device("cpu"))
    assert torch.equal(meta["train_pairs"], torch.nonzero(data.train_mask[1]).flatten())
    if to == "progress-measures":
        assert f["model"] is f["state_dict"] or all(torch.equal(f["model"][k], v) for k, v in f["state_dict"].items())


def test_imported_export_reports_the_runs_train_and_test_measures(trained, tmp_path):
    """analyze on an exported file uses the recorded split: the same train/test accuracy as the run itself."""
    _export(trained, "transformer-lens", tmp_path / "net.pt")
    imported = inspect_run.analyze_checkpoint(tmp_path / "net.pt")
    own = inspect_run.analyze_run(trained)["members"][1]
    m = imported["members"][0]
    assert imported["split"] == "meta.train_pairs"
    assert m["train_acc"] == pytest.approx(own["train_acc"], abs=1e-6)
    assert m["test_acc"] == pytest.approx(own["test_acc"], abs=1e-6)
    assert m["train_loss"] == pytest.approx(own["train_loss"], rel=1e-4)


def test_import_refuses_non_zero_biases_and_accepts_missing_ones(trained, tmp_path):
    f = _export(trained, "transformer-lens", tmp_path / "net.pt")
    sd = dict(f["state_dict"])
    for key in interop.TL_BIASES:
        sd.pop(key)
    params, _, layout = interop.import_state_dict(sd)
    assert layout == "transformer-lens"
    sd = dict(f["state_dict"])
    sd["unembed.b_U"] = sd["unembed.b_U"] + 0.5
    torch.save({"state_dict": sd}, tmp_path / "biased.pt")
    result = runner.invoke(app, ["analyze", str(tmp_path / "biased.pt")])
    assert result.exit_code == 2 and "unembed.b_U" in result.output and "non-zero" in result.output
    assert "Traceback" not in result.output


def test_export_refuses_bad_member_and_target(trained, tmp_path):
    for args, words in ((["--member", "5", "--to", "transformer-lens"], "member=5"),
                        (["--member", "0", "--to", "onnx"], "'--to': 'onnx' is not one of")):
        result = runner.invoke(app, ["export", str(trained), *args, "--out", str(tmp_path / "x.pt")])
        assert result.exit_code == 2 and words in result.output, result.output
    assert not (tmp_path / "x.pt").exists()


def test_export_never_replaces_a_runs_own_files_and_asks_before_replacing_others(trained, tmp_path):
    own = (trained / "checkpoint.pt").read_bytes()
    result = runner.invoke(app, ["export", str(trained), "--to", "transformer-lens", "--overwrite",
                                 "--out", str(trained / "checkpoint.pt")])
    assert result.exit_code == 2 and "own checkpoint.pt" in result.output
    assert (trained / "checkpoint.pt").read_bytes() == own
    (tmp_path / "x.pt").write_bytes(b"keep me")
    result = runner.invoke(app, ["export", str(trained), "--to", "transformer-lens", "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 2 and "--overwrite" in result.output and (tmp_path / "x.pt").read_bytes() == b"keep me"
    result = runner.invoke(app, ["export", str(trained), "--to", "transformer-lens", "--overwrite",
                                 "--out", str(tmp_path / "x.pt")])
    assert result.exit_code == 0 and (tmp_path / "x.pt").read_bytes() != b"keep me"


@pytest.mark.skipif(not FIXTURE.exists(), reason="shared fixture checkpoint not present")
def test_progress_measures_split_from_seed_and_fraction(tmp_path):
    """A progress-measures file that records (seed, frac_train) gets Nanda's own split back: with seed 1 the
    fixture's train loss equals the last train loss its training logged (0.000297, one step earlier), while
    seeds 0 and 2 put pairs it never trained on into the train split (7-11x the loss)."""
    state = torch.load(FIXTURE, map_location="cpu", weights_only=True)
    logged = state["train_losses"][-1]
    losses = {}
    for seed in (0, 1, 2):
        torch.save({"model": state["model"], "config": {"seed": seed, "frac_train": 0.3, "p": 113}}, tmp_path / "f.pth")
        r = inspect_run.analyze_checkpoint(tmp_path / "f.pth")
        assert "frac_train 0.3" in r["split"]
        losses[seed] = r["members"][0]["train_loss"]
    assert losses[1] == pytest.approx(logged, rel=0.05)
    assert min(losses[0], losses[2]) > 5 * logged
    assert interop.nanda_train_mask(113, 0.3, 1).sum() == int(0.3 * 113**2)


@needs_tl
@pytest.mark.parametrize("to", interop.LAYOUTS)
def test_hooked_transformer_computes_the_same_logits(trained, to, tmp_path):
    """Exported in either layout and loaded with TransformerLens's own code: the same answer on every input and
    the same logits to float32 rounding. (A progress-measures file goes through our importer and the
    TransformerLens exporter, which is how a user of Nanda's checkpoints reaches TransformerLens.)"""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    params, cfg, mcfg = inspect_run.load_run(trained)
    f = _export(trained, to, tmp_path / "net.pt")
    if to == "progress-measures":
        p1, m1, _ = interop.import_state_dict(f["state_dict"])
        f = interop.export(p1, m1, 0, "transformer-lens", f["meta"])
    net = HookedTransformer(HookedTransformerConfig(**f["config"]))
    net.load_state_dict(f["state_dict"])
    tokens = _all_tokens(cfg)
    with torch.no_grad():
        theirs = net(tokens)[:, -1]
        ours = model.forward(params, mcfg, tokens)[1]
    diff = (theirs - ours).abs().max().item()
    print(f"{cfg.fmt} via {to}: max |logit difference| {diff:.3g} at logits up to {ours.abs().max().item():.3g}")
    assert torch.equal(theirs.argmax(-1), ours.argmax(-1))
    assert diff <= LOGIT_TOLERANCE


@needs_tl
def test_hooked_transformer_state_dict_imports(tmp_path):
    """The reverse: a HookedTransformer's own state dict (random weights, its zero biases) loads into this
    toolkit, which then computes its logits; analyze accepts the file."""
    from transformer_lens import HookedTransformer, HookedTransformerConfig

    torch.manual_seed(0)
    mcfg = train.model_config(TINY.with_(fmt="nanda"))
    net = HookedTransformer(HookedTransformerConfig(**interop.hooked_config(mcfg)))
    torch.save(net.state_dict(), tmp_path / "hooked.pt")
    params, mcfg2, layout = interop.import_state_dict(torch.load(tmp_path / "hooked.pt", weights_only=True))
    assert layout == "transformer-lens" and mcfg2 == mcfg
    _same_logits_and_analyzed(net, params, mcfg2, tmp_path / "hooked.pt", "transformer-lens layout, format nanda")


def test_bridge_layout_round_trip_is_exact(trained, tmp_path):
    """The 4.x layout in an export imports back to the same weights (no TransformerLens needed)."""
    params, cfg, mcfg = inspect_run.load_run(trained)
    f = _export(trained, "transformer-lens", tmp_path / "net.pt")
    assert f["bridge_config"]["n_heads"] == mcfg.n_heads and f["bridge_config"]["normalization_type"] is None
    torch.save({"bridge_state_dict": f["bridge_state_dict"], "bridge_config": f["bridge_config"]}, tmp_path / "b.pt")
    sd = interop.state_dict_of(torch.load(tmp_path / "b.pt", weights_only=True))
    back, mcfg2, layout = interop.import_state_dict(sd)
    assert layout == interop.BRIDGE and mcfg2 == mcfg
    for k in params:
        assert torch.equal(back[k][0], params[k][1]), k
    no_heads = {k: v for k, v in sd.items() if k != "n_heads"}
    with pytest.raises(ValueError, match="head count"):
        interop.import_state_dict(no_heads)
    biased = {**sd, "blocks.0.attn.q.bias": sd["blocks.0.attn.q.bias"] + 1}
    with pytest.raises(ValueError, match="non-zero blocks.0.attn.q.bias"):
        interop.import_state_dict(biased)


@needs_tl4
@pytest.mark.parametrize("to", interop.LAYOUTS)
def test_transformer_bridge_computes_the_same_logits(trained, to, tmp_path):
    """TransformerLens 4: the export loads into TransformerBridge.boot_native with the three lines the README
    shows, and gives the same answer on every pair and logits within 1e-4 of the toolkit's."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    params, cfg, mcfg = inspect_run.load_run(trained)
    f = _export(trained, to, tmp_path / "net.pt")
    if to == "progress-measures":
        p1, m1, _ = interop.import_state_dict(f["state_dict"])
        f = interop.export(p1, m1, 0, "transformer-lens", f["meta"])
    net = TransformerBridge.boot_native(TransformerBridgeConfig(**f["bridge_config"]))
    net.load_state_dict(f["bridge_state_dict"])
    tokens = _all_tokens(cfg)
    with torch.no_grad():
        theirs = net(tokens)[:, -1]
        ours = model.forward(params, mcfg, tokens)[1]
    diff = (theirs - ours).abs().max().item()
    from importlib.metadata import version

    print(f"{cfg.fmt} via {to} (TransformerBridge, transformer-lens {version('transformer-lens')}): max |logit "
          f"difference| {diff:.3g} at logits up to {ours.abs().max().item():.3g}")
    assert torch.equal(theirs.argmax(-1), ours.argmax(-1))
    assert diff <= LOGIT_TOLERANCE


@needs_tl4
def test_transformer_bridge_state_dict_imports(tmp_path):
    """The reverse: a bridge's own weights (random, its zero-initialised biases zeroed) saved with its config load
    into this toolkit, which computes its logits; analyze accepts the file."""
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge import TransformerBridge

    mcfg = train.model_config(TINY.with_(fmt="nanda"))
    config = interop.bridge_config(mcfg) | {"seed": 0}
    net = TransformerBridge.boot_native(TransformerBridgeConfig(**config))
    sd = {k: (torch.zeros_like(v) if k in interop.BRIDGE_ZERO_BIASES else v) for k, v in net.state_dict().items()}
    net.load_state_dict(sd)
    torch.save({"bridge_state_dict": sd, "bridge_config": interop.bridge_config(mcfg)}, tmp_path / "bridge.pt")
    params, mcfg2, layout = interop.import_state_dict(
        interop.state_dict_of(torch.load(tmp_path / "bridge.pt", weights_only=True)))
    assert layout == interop.BRIDGE and mcfg2 == mcfg
    _same_logits_and_analyzed(net, params, mcfg2, tmp_path / "bridge.pt", "transformer-lens-4 layout")


@pytest.mark.parametrize("fmt", ["paper", "nanda"])
def test_an_exports_meta_says_how_to_build_its_tokens(tmp_path, fmt):
    """From meta alone (sequence and token ids), a reader builds the tokens the network was trained on."""
    cfg = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=5, eval_points=2, threads=1,
                      fmt=fmt)
    train.train(cfg, tmp_path / "r", progress=False)
    meta = inspect_run.export_run(tmp_path / "r", 0, "transformer-lens")["meta"]
    x, y, _ = tasks.all_pairs("add", 11)
    ids = meta["token_ids"]
    built = torch.stack([{"x": x, "y": y}[t] if t in ("x", "y") else torch.full_like(x, ids[t])
                         for t in meta["sequence"]], dim=1)
    assert torch.equal(built, tasks.sequences(x, y, meta["n_elements"], fmt))


@pytest.mark.parametrize("change, words", [
    (lambda f: f["meta"].update(p="abc"), "meta.p is 'abc', not a int"),
    (lambda f: f["meta"].update(task=["add"]), "meta.task"),
    (lambda f: f["meta"].update(labels=torch.full((121,), 99)), "meta.labels is not one class"),
    (lambda f: f["meta"].update(labels=torch.zeros(121)), "meta.labels is not one class"),
    (lambda f: (f.pop("state_dict"), f["config"].update(n_heads=1)), "two head counts that disagree"),
])
def test_an_altered_export_is_refused_naming_the_field(tmp_path, change, words):
    """Hand-edited or wrong-typed values in an export reach nothing: one line naming the field."""
    cfg = TrainConfig(p=11, frac=0.5, d_model=16, n_heads=2, d_head=8, d_mlp=32, steps=5, eval_points=2, threads=1)
    train.train(cfg, tmp_path / "r", progress=False)
    content = inspect_run.export_run(tmp_path / "r", 0, "transformer-lens")
    change(content)
    torch.save(content, tmp_path / "x.pt")
    r = runner.invoke(app, ["analyze", str(tmp_path / "x.pt")])
    assert r.exit_code == 2 and words in r.output and "Traceback" not in r.output, r.output


def test_a_progress_measures_config_of_the_wrong_type_is_named():
    with pytest.raises(ValueError, match="config.seed='x'"):
        interop.stored_split({"config": {"seed": "x", "frac_train": 0.3}}, "add", 11)
