"""Where stage 1 starts (ae.init): a shipped model that fits, another run, or random weights; recorded in the card."""

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.runs import pretrained
from mdaug.runs.layout import final_dir
from mdaug.runs.loading import autoencoder_identity, load_pretrained_autoencoder
from mdaug.runs.run_data import load_run_data
from mdaug.training.autoencoder import AutoencoderRecipe, train_autoencoder
from mdaug.workflows.pretrain import WEIGHTS, write_shipped


def tiny(*overrides):
    return load_config("tiny", ["ae.family=kl", *overrides])


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A tiny kl run, shipped (fp16) into a folder that stands for mdaug/pretrained/."""
    root = tmp_path_factory.mktemp("pre")
    run = root / "run"
    train_autoencoder(tiny("ae.init=scratch"), run)
    write_shipped(final_dir(run), root / "shipped" / "kl-32x32")
    return root


@pytest.fixture
def with_shipped(shipped, monkeypatch):
    monkeypatch.setattr(pretrained, "SHIPPED", shipped / "shipped")
    return shipped


def start(cfg, folder):
    recipe = AutoencoderRecipe(cfg, folder, data=load_run_data(cfg))
    return recipe, {k: v.clone() for k, v in recipe.unwrapped.state_dict().items()}


def test_a_fitting_shipped_model_is_the_start_and_the_card_says_so(with_shipped, tmp_path):
    weights = load_file(str(with_shipped / "shipped" / "kl-32x32" / WEIGHTS))
    assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
    for init in ("pretrained", "auto"):
        recipe, state = start(tiny(f"ae.init={init}"), tmp_path / init)
        assert recipe.init.source == "pretrained" and recipe.init.path == "kl-32x32"
        assert all(torch.equal(state[k], weights[k].float()) for k in weights)  # the shipped weights, exactly
    final = train_autoencoder(tiny("ae.init=pretrained"), tmp_path / "run")
    card = load_pretrained_autoencoder(final).card
    assert card.init.source == "pretrained" and card.init.path == "kl-32x32"
    assert card.init.weights_sha256 == autoencoder_identity(with_shipped / "shipped" / "kl-32x32")


def test_without_a_fitting_model_auto_starts_from_scratch_and_pretrained_refuses(with_shipped, tmp_path):
    other = ("ae.block_out_channels=[8,8]",)  # another architecture than the shipped one
    recipe, state = start(tiny("ae.init=auto", *other), tmp_path / "auto")
    assert recipe.init.source == "scratch"
    torch.manual_seed(tiny().ae_train.seed)
    with pytest.raises(MdaugError, match="no shipped pretrained kl model fits 32x32"):
        start(tiny("ae.init=pretrained", *other), tmp_path / "pre")
    recipe, state = start(tiny("ae.init=auto", "ae.family=vq"), tmp_path / "vq")  # another family
    assert recipe.init.source == "scratch"


def test_a_finished_run_can_be_the_start(with_shipped, tmp_path):
    run = with_shipped / "run"
    recipe, state = start(tiny(f"ae.init={run}"), tmp_path / "from-run")
    saved = load_pretrained_autoencoder(run).model.state_dict()
    assert recipe.init.source == "run" and all(torch.equal(state[k], saved[k]) for k in saved)
    with pytest.raises(MdaugError, match="another architecture"):
        start(tiny(f"ae.init={run}", "ae.latent_channels=2"), tmp_path / "bad")


def test_a_resumed_run_keeps_its_start(with_shipped, tmp_path):
    cfg = tiny("ae.init=pretrained")
    assert train_autoencoder(cfg, tmp_path / "r", stop_after=2) is None
    final = train_autoencoder(cfg, tmp_path / "r", resume="latest")
    assert load_pretrained_autoencoder(final).card.init.source == "pretrained"
    assert np.isfinite(load_pretrained_autoencoder(final).model.decoder.conv_out.weight.detach().numpy()).all()


def test_stage_2_starts_from_the_shipped_diffusion_of_the_shipped_stage_1_and_keeps_the_users_classes(
        with_shipped, tmp_path):
    from mdaug.training.stage2 import Stage2Recipe, train_stage2

    shipped_ae = with_shipped / "shipped" / "kl-32x32"
    # a "shipped" latent diffusion, trained on the shipped stage 1's latents with 3 classes of its own
    corpus = tiny("ae.init=scratch", "simulate.people=3", "simulate.seed=1000")
    ldm = train_stage2(corpus, tmp_path / "ship-ldm", "ldm", autoencoder=shipped_ae)
    write_shipped(ldm, with_shipped / "shipped" / "kl-32x32-ldm")
    shipped = load_file(str(with_shipped / "shipped" / "kl-32x32-ldm" / WEIGHTS))
    # the user's stage 1 starts from the shipped one; their stage 2 (4 classes) from the shipped diffusion
    user_ae = train_autoencoder(tiny("ae.init=pretrained"), tmp_path / "ae")
    for init in ("auto", "pretrained", "kl-32x32-ldm"):  # or by its name
        r = Stage2Recipe(tiny(f"ldm.init={init}"), tmp_path / f"ldm-{init}", "ldm", autoencoder=user_ae)
        state = r.unwrapped.state_dict()
        emb = state["unet.class_embedding.weight"]
        assert r.init.source == "pretrained" and r.init.path == "kl-32x32-ldm" and emb.shape[0] == 5
        assert torch.equal(emb, shipped["unet.class_embedding.weight"][-1:].float().expand_as(emb))
        assert all(torch.equal(state[k], v.float()) for k, v in shipped.items() if "class_embedding" not in k)
        # the class table learns at class_lr (its rows start from 'no class'), everything else at finetune_lr
        rest, table = r.optimizer.param_groups
        assert (rest["initial_lr"], table["initial_lr"]) == (r.train_cfg.finetune_lr, r.train_cfg.class_lr)
        assert table["params"] == [r.unwrapped.unet.class_embedding.weight]
        assert len(rest["params"]) == len(list(r.unwrapped.parameters())) - 1
    with pytest.raises(MdaugError, match="ldm.init=kl-32x32 is not a shipped ldm"):  # the stage 1, by its name
        Stage2Recipe(tiny("ldm.init=kl-32x32"), tmp_path / "ldm-named-ae", "ldm", autoencoder=user_ae)
    # a stage 1 from scratch has no shipped diffusion: auto starts from scratch, pretrained refuses
    own_ae = train_autoencoder(tiny("ae.init=scratch"), tmp_path / "own")
    scratch = Stage2Recipe(tiny(), tmp_path / "ldm-own", "ldm", autoencoder=own_ae)
    assert scratch.init.source == "scratch"
    assert [g["initial_lr"] for g in scratch.optimizer.param_groups] == [scratch.train_cfg.lr]
    with pytest.raises(MdaugError, match="no shipped pretrained ldm"):
        Stage2Recipe(tiny("ldm.init=pretrained"), tmp_path / "ldm-refused", "ldm", autoencoder=own_ae)
    with pytest.raises(MdaugError, match="ldm.init=kl-32x32-ldm is not a shipped ldm for this stage-1 model"):
        Stage2Recipe(tiny("ldm.init=kl-32x32-ldm"), tmp_path / "ldm-named-refused", "ldm", autoencoder=own_ae)


def test_the_shipped_latent_diffusion_fits_the_quick_presets_stage_2_with_or_without_conditions_and_identity():
    """The shipped kl-64x64-ldm was saved before stage 2 took conditions; a model with the quick preset's
    architecture must still find it (the new settings are the user's, not the architecture's), and a model taking
    conditions the shipped kl-64x64-ldm-conditions knows starts from that one."""
    import numpy as np

    from mdaug.models.conditioning import spec_of
    from mdaug.models.stage2 import stage2_kind
    from mdaug.runs.loading import autoencoder_identity, load_pretrained_autoencoder
    from mdaug.runs.pretrained import SHIPPED, fitting_shipped_stage2

    pre = load_pretrained_autoencoder(SHIPPED / "kl-64x64")
    identity = autoencoder_identity(pre.folder)
    cfg = load_config("quick")
    snr = spec_of("snr_db", np.array([3.0, 20.0]))
    cycle = spec_of("cycle_s", np.array([1.0, 1.2]))  # not a condition of the shipped conditional model
    for conditions, person, shipped in (([], 0, "kl-64x64-ldm"), ([snr], 0, "kl-64x64-ldm-conditions"),
                                        ([snr, cycle], 96, "kl-64x64-ldm-conditions"), ([cycle], 0, "kl-64x64-ldm")):
        model = stage2_kind("ldm").build(cfg, pre.latent_shape, pre.model, 31, conditions, person)
        assert fitting_shipped_stage2("ldm", model, None, identity) == SHIPPED / shipped


def test_each_shipped_stage_2_is_the_start_of_the_quick_presets_stage_2_of_its_family():
    """`mdaug run --config quick ae.family=F` starts stage 2 from F-64x64-ldm (and its code prior from
    F-64x64-prior) wherever one is shipped: the quick preset's architecture for that family fits it, though the
    shipped code prior was trained without dropout."""
    import json

    from mdaug.models.stage2 import CODE_FAMILIES, stage2_kind
    from mdaug.runs.loading import autoencoder_identity, load_pretrained_autoencoder
    from mdaug.runs.pretrained import SHIPPED, fitting_shipped_stage2

    found = []
    for folder in _shipped_of_kind("ldm", "prior"):
        record = json.loads((folder / "pretraining.json").read_text())
        if record.get("conditions"):
            continue  # the conditional sibling: test_the_shipped_latent_diffusion_fits_...
        kind, pre = record["kind"], load_pretrained_autoencoder(SHIPPED / record["autoencoder"]["name"])
        cfg = load_config("quick", [f"ae.family={pre.family}"])
        assert kind == "ldm" or pre.family in CODE_FAMILIES, folder.name
        model = stage2_kind(kind).build(cfg, pre.latent_shape, pre.model, 31)
        assert fitting_shipped_stage2(kind, model, None, autoencoder_identity(pre.folder)) == folder, folder.name
        found.append(folder.name)
    assert {"kl-64x64-ldm", "vq-64x64-ldm"} <= set(found), found


STEPS = {"pretrain-ae": "ae_train", "pretrain-ldm": "ldm_train", "pretrain-prior": "prior_train"}
"""The training section whose steps each pretraining command's --steps sets."""


def _card_command_config(folder):
    """The config a shipped model's card command (pretraining.json) gives, read as the CLI reads it (its preset,
    default `pretrain`, its dotted overrides and --steps), and the command's name."""
    import json
    import shlex

    args = shlex.split(json.loads((folder / "pretraining.json").read_text())["command"])
    assert args[0] == "mdaug" and args[1] in STEPS, args
    preset = "pretrain"
    for flag in ("-c", "--config"):
        if flag in args:
            preset = args[args.index(flag) + 1]
    overrides = [a for a in args[2:] if "=" in a and not a.startswith("-")]
    steps = [args[i + 1] for i, a in enumerate(args) if a == "--steps"]
    return load_config(preset, overrides + [f"{STEPS[args[1]]}.steps={s}" for s in steps]), args[1]


def assert_card_command_gives_its_config(folder):
    """The config stored beside a shipped model's weights (mdaug.json) is what its card command (pretraining.json)
    gives: for a stage 1 (`mdaug pretrain-ae`) its ae and ae_train sections, and gan for vqgan; for a stage 2
    (`mdaug pretrain-ldm`, `mdaug pretrain-prior`) its kind's section and training section, and the conditions it
    takes. Only the stored keys are compared (a key added since is the default, which the card holds as it was);
    the init of the model trained is scratch, as pretraining sets it, or for a stage 1 the path its command names."""
    import json

    card = json.loads((folder / "mdaug.json").read_text())
    stored = card["config"]
    config, command = _card_command_config(folder)
    kind = "ae" if card["kind"] == "autoencoder" else card["kind"]
    assert command == f"pretrain-{kind}", (folder.name, command)
    sections = [kind, f"{kind}_train"] + (["gan"] if card.get("family") == "vqgan" else [])
    if kind == "ae":  # as pretraining sets it: from random weights, or continuing the model an ae.init path names
        from mdaug.workflows.pretrain import corpus_config

        cfg = corpus_config(config).model_dump(mode="json")
    else:
        cfg = config.model_dump(mode="json")
        cfg[kind]["init"] = "scratch"  # as pretraining sets it: it starts from random weights
    assert set(sections) <= set(stored), (folder.name, sorted(stored))
    for section in sections:
        differ = {k: (v, cfg[section].get(k)) for k, v in stored[section].items() if cfg[section].get(k) != v}
        assert not differ, f"{folder.name} {section}: stored vs its card command {differ}"
    if kind != "ae":
        names = [c["name"] for c in card.get("conditions") or []]
        taken = config.ldm.conditions if kind == "ldm" else []  # the code prior takes none
        assert isinstance(taken, list) and sorted(taken) == sorted(names), (folder.name, taken, names)


def _shipped_of_kind(*kinds):
    import json

    from mdaug.runs.pretrained import shipped_models

    return [f for f in shipped_models() if json.loads((f / "mdaug.json").read_text()).get("kind") in kinds]


def test_each_shipped_stage2_card_command_gives_the_settings_its_weights_were_trained_with():
    """A model card's reproduce command must re-create the model it describes: the preset it names, read today,
    with its overrides, gives the stage-2 architecture, conditions and schedule stored beside the weights. (The
    quick preset took recording conditions; the pretrain preset built on it must not, or kl-64x64-ldm's command
    would make a conditional model.) The same for the shipped code priors (`mdaug pretrain-prior`), where any are
    shipped: their prior and prior_train sections (tests/runs/test_pretrained_prior.py checks one it makes)."""
    stage2 = _shipped_of_kind("ldm", "prior")
    assert {f.name for f in stage2} >= {"kl-64x64-ldm", "kl-64x64-ldm-conditions"}
    for folder in stage2:
        assert_card_command_gives_its_config(folder)


def test_each_shipped_stage1_card_command_gives_the_settings_its_weights_were_trained_with():
    """The same for the shipped stage-1 models (`mdaug pretrain-ae`): their command's preset (`pretrain` unless
    --config names another), overrides and --steps give the ae and ae_train sections stored beside the weights, and
    for vqgan the gan section."""
    stage1 = _shipped_of_kind("autoencoder")
    assert "kl-64x64" in {f.name for f in stage1}
    for folder in stage1:
        assert_card_command_gives_its_config(folder)
