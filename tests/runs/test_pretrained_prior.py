"""Where the code prior starts (prior.init), as latent diffusion does (ldm.init): the code prior shipped for the shipped
stage-1 model a run's stage 1 started from, with the user's classes starting from its 'no class' row; and `mdaug
pretrain-prior`, which makes one on the corpus codes of a shipped stage-1 model with codes."""

import json
import shutil

import pytest
import torch
from safetensors.torch import load_file

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.runs import pretrained
from mdaug.runs.layout import final_dir
from mdaug.runs.loading import load_stage2
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.stage2 import Stage2Recipe, train_stage2
from mdaug.workflows.pretrain import WEIGHTS, write_shipped
from tests.conftest import assert_one_line_error
from tests.runs.test_pretrained import assert_card_command_gives_its_config

TABLE = "class_embedding.weight"
"""The code prior's class embedding table: one row per class, and the last the 'no class' row."""


def tiny(*overrides):
    return load_config("tiny", ["ae.family=vq", *overrides])


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A tiny vq run and a code prior on its codes, both shipped (fp16) into a folder that stands for mdaug/pretrained/,
    and a user's stage 1 that started from the shipped vq, on data of 3 people (the shipped prior knows 4)."""
    root = tmp_path_factory.mktemp("pre-prior")
    ship = root / "shipped"
    train_autoencoder(tiny("ae.init=scratch"), root / "vq")
    write_shipped(final_dir(root / "vq"), ship / "vq-32x32")
    prior = train_stage2(tiny("prior.init=scratch"), root / "ship-prior", "prior", autoencoder=ship / "vq-32x32")
    write_shipped(prior, ship / "vq-32x32-prior")
    mp = pytest.MonkeyPatch()
    mp.setattr(pretrained, "SHIPPED", ship)
    try:
        train_autoencoder(tiny("ae.init=pretrained", "simulate.people=3"), root / "user-ae")
        train_autoencoder(tiny("ae.init=scratch", "simulate.people=3"), root / "own-ae")
    finally:
        mp.undo()
    return root


@pytest.fixture
def with_shipped(shipped, monkeypatch):
    monkeypatch.setattr(pretrained, "SHIPPED", shipped / "shipped")
    return shipped


def recipe(root, folder, *overrides, ae="user-ae"):
    return Stage2Recipe(tiny(*overrides), folder, "prior", autoencoder=root / ae / "final")


def test_the_code_prior_starts_from_the_shipped_prior_of_its_stage_1_and_its_classes_from_no_class(
        with_shipped, tmp_path):
    shipped = load_file(str(with_shipped / "shipped" / "vq-32x32-prior" / WEIGHTS))
    assert shipped[TABLE].shape[0] == 5  # the shipped prior's 4 walkers and 'no class'
    for init in ("auto", "pretrained", "vq-32x32-prior"):  # or by its name
        r = recipe(with_shipped, tmp_path / init, f"prior.init={init}")
        state = r.unwrapped.state_dict()
        emb = state[TABLE]
        assert r.init.source == "pretrained" and r.init.path == "vq-32x32-prior" and emb.shape[0] == 4
        assert torch.equal(emb, shipped[TABLE][-1:].float().expand_as(emb))  # every class starts from 'no class'
        assert all(torch.equal(state[k], v.float()) for k, v in shipped.items() if k != TABLE)
        # the class table learns at class_lr, everything else at finetune_lr
        rest, table = r.optimizer.param_groups
        assert (rest["initial_lr"], table["initial_lr"]) == (r.train_cfg.finetune_lr, r.train_cfg.class_lr)
        assert table["params"] == [r.unwrapped.class_embedding.weight]
        assert len(rest["params"]) == len(list(r.unwrapped.parameters())) - 1
    with pytest.raises(MdaugError, match="prior.init=vq-32x32 is not a shipped prior"):  # the stage 1, by its name
        recipe(with_shipped, tmp_path / "named-ae", "prior.init=vq-32x32")
    # ldm.init does not take a code prior for latent diffusion
    with pytest.raises(MdaugError, match="no shipped pretrained ldm"):
        Stage2Recipe(tiny("ldm.init=pretrained"), tmp_path / "ldm", "ldm", autoencoder=with_shipped / "user-ae")


def test_the_shipped_prior_fits_whatever_dropout_the_user_trains_with_but_not_another_architecture(with_shipped,
                                                                                                    tmp_path):
    """Dropout and label dropout shape training, not the weights: the shipped prior (pretrained without dropout, to
    be fast on the corpus) is the start of a prior trained with any; another width is another model."""
    for i, overrides in enumerate([("prior.dropout=0.0",), ("prior.dropout=0.3", "prior.cond_drop_prob=0.25")]):
        r = recipe(with_shipped, tmp_path / f"dropout-{i}", *overrides)
        assert r.init.source == "pretrained" and r.init.path == "vq-32x32-prior", overrides
    wider = tiny().prior.dim * 2
    assert recipe(with_shipped, tmp_path / "wider", f"prior.dim={wider}").init.source == "scratch"


def test_scratch_and_a_stage_1_of_its_own_do_not_start_from_the_shipped_prior(with_shipped, tmp_path):
    shipped = load_file(str(with_shipped / "shipped" / "vq-32x32-prior" / WEIGHTS))
    r = recipe(with_shipped, tmp_path / "scratch", "prior.init=scratch")  # the shipped one fits, but is not wanted
    state = r.unwrapped.state_dict()
    assert r.init.source == "scratch" and [g["initial_lr"] for g in r.optimizer.param_groups] == [r.train_cfg.lr]
    assert not torch.equal(state["pos_embedding"], shipped["pos_embedding"].float())
    # a stage 1 from scratch has no shipped prior: auto starts from scratch, pretrained refuses in one line
    assert recipe(with_shipped, tmp_path / "own", ae="own-ae").init.source == "scratch"
    with pytest.raises(MdaugError) as refused:
        recipe(with_shipped, tmp_path / "refused", "prior.init=pretrained", ae="own-ae")
    message = str(refused.value)
    assert "\n" not in message and message.startswith("no shipped pretrained prior fits this stage-1 model")
    assert "prior.init=scratch" in message and "mdaug pretrain-prior" in message
    with pytest.raises(MdaugError, match="prior.init=vq-32x32-prior is not a shipped prior for this stage-1 model"):
        recipe(with_shipped, tmp_path / "named-refused", "prior.init=vq-32x32-prior", ae="own-ae")


def test_a_resumed_code_prior_keeps_its_start(with_shipped, tmp_path, monkeypatch):
    from mdaug.runs.loading import autoencoder_identity

    cfg = tiny("prior.init=auto")
    ae = with_shipped / "user-ae" / "final"
    assert train_stage2(cfg, tmp_path / "r", "prior", autoencoder=ae, stop_after=2) is None
    # resumed where the shipped prior is gone (prior.init=auto would now start from scratch): the run keeps its start
    monkeypatch.setattr(pretrained, "SHIPPED", tmp_path / "nothing-shipped")
    final = train_stage2(cfg, tmp_path / "r", "prior", resume="latest")
    init = load_stage2(final).card.init
    assert init.source == "pretrained" and init.path == "vq-32x32-prior"
    assert init.weights_sha256 == autoencoder_identity(with_shipped / "shipped" / "vq-32x32-prior")


def test_a_prior_init_that_names_nothing_is_refused_before_any_training(with_shipped):
    from mdaug.runs.pretrained import check_stage2_init
    from mdaug.workflows.utility import check_plan

    check_stage2_init("vq-32x32-prior", "prior")
    with pytest.raises(MdaugError, match=r"prior.init=vq-32x32-nothing is neither .* \(vq-32x32-prior\)"):
        check_stage2_init("vq-32x32-nothing", "prior")
    with pytest.raises(MdaugError, match=r"ldm.init=vq-32x32-nothing is neither .* \(none shipped\)"):
        check_stage2_init("vq-32x32-nothing", "ldm")  # the shipped prior is no latent diffusion
    with pytest.raises(MdaugError, match="prior.init=runs/no-such-prior is neither"):
        check_plan(tiny("prior.init=runs/no-such-prior"))


def test_pretrain_prior_ships_a_prior_with_its_record_and_a_card_that_says_what_it_is(cli, tmp_path, monkeypatch):
    from mdaug.runs.loading import autoencoder_identity
    from mdaug.workflows.pretrain import Stage2PretrainingRecord, corpus_config

    monkeypatch.setenv("MDAUG_CACHE", str(tmp_path / "cache"))
    overrides = ["ae.family=vq", "pretrain.parts=2", "pretrain.people_per_part=2", "pretrain.per_person=4",
                 "pretrain.sessions=2"]
    train_autoencoder(corpus_config(load_config("tiny", overrides)), tmp_path / "vq")  # as pretrain-ae makes it
    stage1 = tmp_path / "vq-32x32"
    write_shipped(final_dir(tmp_path / "vq"), stage1)
    out = tmp_path / "out"
    code, stdout, err = cli("pretrain-prior", "--ae", stage1, "--out", out, "--config", "tiny", "--steps", "3",
                            "--ship", tmp_path / "ship", *overrides)
    assert code == 0, err
    assert "vq-32x32-prior: mean loss of the last 100 steps" in stdout
    assert (out / "prior" / "final").is_dir() and (out / "timing-prior.json").is_file()
    assert not (out / "ldm").exists() and not (out / "shipped-ldm").exists()
    for folder in (out / "shipped-prior", tmp_path / "ship"):
        record = Stage2PretrainingRecord.model_validate_json((folder / "pretraining.json").read_text())
        assert record.kind == "prior" and record.name == "vq-32x32-prior" and record.codebook_size == 512
        assert record.steps == 3 and load_stage2(out / "prior").card.steps == 3  # --steps is prior_train.steps
        assert record.autoencoder.weights_sha256 == autoencoder_identity(stage1) and record.conditions == []
        weights = load_file(str(folder / WEIGHTS))
        assert all(v.dtype == torch.float16 for v in weights.values() if v.is_floating_point())
        card = json.loads((folder / "mdaug.json").read_text())
        assert card["kind"] == "prior" and card["init"]["source"] == "scratch" and len(card["class_names"]) == 4
        text = " ".join((folder / "MODEL_CARD.md").read_text().split())
        assert text.startswith("# vq-32x32-prior: a pretrained masked code prior for the stage-1 model vq-32x32")
        assert "`mdaug train-prior`" in text and "(`prior.init`)" in text and "code indices" in text
        assert "latent diffusion" not in text and "ldm" not in text and "ln 512 = 6.24: a uniform guess" in text
        assert f"{record.final_loss:.3f} nats" in text
        # its card's command gives the prior and the schedule stored beside its weights (started from scratch)
        assert_card_command_gives_its_config(folder)
    # and a card whose prior or schedule is not what its command gives is caught
    for section, key in (("prior", "depth"), ("prior_train", "lr")):
        other = tmp_path / f"other-{section}"
        shutil.copytree(out / "shipped-prior", other)
        card = json.loads((other / "mdaug.json").read_text())
        card["config"][section][key] *= 2
        (other / "mdaug.json").write_text(json.dumps(card))
        with pytest.raises(AssertionError, match=f"other-{section} {section}: stored vs its card command"):
            assert_card_command_gives_its_config(other)


def test_pretrain_prior_refuses_a_stage_1_without_codes_in_one_line(cli, tmp_path):
    out = tmp_path / "out"
    code, _, err = cli("pretrain-prior", "--ae", pretrained.SHIPPED / "kl-64x64", "--out", out)
    assert_one_line_error(code, err, "the code prior models discrete codes", "kl stage-1 model")
    assert not out.exists()
