"""The shipped recogniser (recognizer.init=pretrained): the one in the package fits the default architecture at
64x64; a shipped one is the start of a fine-tuned recogniser, and the utility study gives it its own arm."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import load_file

from mdaug.config import load_config, saved_config
from mdaug.models import Recognizer
from mdaug.runs import pretrained
from mdaug.runs.cards import CorpusSummary
from mdaug.runs.layout import final_dir
from mdaug.runs.loading import load_recognizer
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.pretrain import WEIGHTS
from mdaug.workflows.pretrain_recognizer import (
    FineTuning,
    RecognizerPretrainingRecord,
    recognizer_model_card,
    write_shipped_recognizer,
)


def test_the_package_ships_a_recogniser_for_the_default_architecture_at_64x64():
    model = Recognizer(in_channels=1, num_classes=31, channels=tuple(load_config("quick").recognizer.channels))
    folder = pretrained.fitting_shipped_recognizer(model, [1, 64, 64])
    assert folder is not None and folder.name == "recognizer-64x64"
    assert pretrained.fitting_shipped_recognizer(model, [1, 32, 32]) is None
    text = (folder / pretrained.PRETRAINING_RECORD).read_text()
    record = RecognizerPretrainingRecord.model_validate_json(text)  # the record beside it is complete
    assert record.model_dump_json(indent=1) == text  # and written back byte for byte
    card = (folder / "MODEL_CARD.md").read_text()
    assert record.command in card and record.weights_sha256 in card
    assert set(record.measured) == {"gait", "gait-sessions", "held_out"}
    assert recognizer_model_card(record) == card  # the card is the record's


@pytest.fixture(scope="module")
def shipped(tmp_path_factory):
    """A tiny recogniser trained on the tiny set, shipped into a folder that stands for mdaug/pretrained/."""
    root = tmp_path_factory.mktemp("pre")
    cfg = load_config("tiny", ["recognizer_train.steps=6"])
    train_recognizer(cfg, root / "run")
    write_shipped_recognizer(final_dir(root / "run"), root / "shipped" / "recognizer-32x32")
    return root


def test_a_shipped_recogniser_is_the_start_of_another_with_a_new_head(shipped, monkeypatch, tmp_path):
    monkeypatch.setattr(pretrained, "SHIPPED", shipped / "shipped")
    weights = load_file(str(shipped / "shipped" / "recognizer-32x32" / WEIGHTS))
    cfg = load_config("tiny", ["recognizer.init=pretrained", "recognizer_train.steps=1", "recognizer_train.lr=1e-12",
                               "recognizer_train.checkpoint_every=1"])
    model, card = load_recognizer(train_recognizer(cfg, tmp_path / "tuned"))
    state = model.state_dict()
    conv = [k for k in weights if k.startswith("stages.") and k.endswith("weight")]
    assert conv and all(torch.allclose(state[k], weights[k], atol=1e-6) for k in conv)
    assert card.init.source == "pretrained" and card.init.path == "recognizer-32x32"


def test_the_utility_study_fine_tunes_the_shipped_recogniser_as_its_own_arm(shipped, monkeypatch, tmp_path):
    from mdaug.workflows.utility import run_utility

    monkeypatch.setattr(pretrained, "SHIPPED", shipped / "shipped")
    cfg = load_config("tiny", ["utility.budgets=[2]", "utility.seeds=1", "utility.generative=false",
                               "utility.snr_drop_db=[0, 10]"])
    r = run_utility(cfg, tmp_path / "u")
    rec = r.records[0]
    assert set(rec.accuracy) == {"real", "real+classical", "pretrained+classical"} and not rec.notes
    folder = tmp_path / "u" / "budget-2" / "repeat-0"
    dose = rec.snr_drop_db
    name = "recognizer-pretrained-classical" + (f"-snr{dose:g}" if dose else "")
    tuned = load_recognizer(folder / name)[1]
    assert tuned.init.source == "pretrained" and tuned.test_accuracy == rec.accuracy["pretrained+classical"]
    assert saved_config(folder / name)["classical"]["snr_drop_db"] == dose  # it takes the chosen dose
    assert r.summary["2"].gains["pretrained over classical"].n == 1


def test_the_model_card_is_written_from_the_record():
    record = RecognizerPretrainingRecord(
        name="recognizer-64x64", command="mdaug pretrain-recognizer", date="2026-12-02", machine="m",
        input_shape=[1, 64, 64], channels=[16, 32], classes=10,
        corpus=CorpusSummary(spectrograms=100, trained_on=60, people=10, parts=2, seeds=[1000, 1001], radars=["r"],
                             displays=["none"], size=[64, 64], table="corpus.csv"),
        steps=5, batch_size=4, training_wall_s=120.0, corpus_val_accuracy=0.5, weights_sha256="abc",
        measured={"gait": FineTuning(budget="10", what="w", train=310, test=930, classes=31, pretrained=0.9,
                                     scratch=0.8)})
    card = recognizer_model_card(record)
    assert "| gait | w | 310 | 930 | 90.0% | 80.0% | +10.0 |" in card and "10 simulated walkers" in card
