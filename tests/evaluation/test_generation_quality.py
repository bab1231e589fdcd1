import json

import numpy as np
import pytest
import torch

from mdaug.errors import MdaugError
from mdaug.evaluation.generation_quality import check_recognizer, quality_metrics
from mdaug.evaluation.record_parts import Memorisation
from mdaug.models.recognizer import Recognizer
from mdaug.runs.cards import RecognizerCard


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(3), 20)
    # each class a different bright Doppler band over noise: distinct in pixels and in features
    x = rng.uniform(-1, -0.6, size=(120, 1, 16, 16)).astype(np.float32)
    lab = np.concatenate([labels, labels])
    for i, c in enumerate(lab):
        x[i, 0, 3 + 4 * c:6 + 4 * c] = rng.uniform(0.5, 1.0, size=(3, 16))
    torch.manual_seed(0)
    rec = Recognizer(num_classes=3, channels=(8, 16)).eval()
    return x[:60], lab[:60], x[60:], lab[60:], rec


def test_identical_sets_give_zero_fid_and_full_precision_recall(sets):
    train, ytrain, test, ytest, rec = sets
    m = quality_metrics(train, ytrain, test, test.copy(), ytest, rec, 3, floor=train)
    assert m.fid == pytest.approx(0.0, abs=1e-6)
    assert m.precision == 1.0 and m.recall == 1.0
    assert m.floor.fid > m.fid  # other real samples are further away than the set itself
    with torch.no_grad():
        expected = (rec(torch.from_numpy(test)).argmax(1).numpy() == ytest).mean()
    assert m.identity.accuracy == pytest.approx(expected)
    assert np.asarray(m.identity.confusion).sum() == len(test)
    for name, stat in m.physical.items():
        if np.isnan(stat.wasserstein):  # only a statistic that neither set has (no gait period in bands)
            assert np.isnan(stat.real_mean) and np.isnan(stat.fake_mean), name
        else:
            assert stat.wasserstein == pytest.approx(0.0, abs=1e-9), name
    assert np.isfinite(m.physical["torso_mean"].wasserstein)


def test_a_copied_training_set_is_flagged_as_memorised(sets):
    train, ytrain, test, ytest, rec = sets
    copied = quality_metrics(train, ytrain, test, train.copy(), ytrain, rec, 3)
    assert copied.memorisation_pixels.all.share_below == 1.0
    assert copied.memorisation_pixels.all.median_ratio < 1e-5
    fresh = quality_metrics(train, ytrain, test, test, ytest, rec, 3)
    assert fresh.memorisation_pixels.all.share_below < 0.2
    per_class = copied.memorisation_pixels.per_class
    assert sorted(per_class) == [0, 1, 2] and all(c.share_below == 1.0 for c in per_class.values())
    on_disk = copied.memorisation_pixels.model_dump(by_alias=True)
    assert list(on_disk) == [0, 1, 2, "all", "threshold"]  # generation.json keeps metrics.memorisation's keys
    assert Memorisation.model_validate_json(json.dumps(on_disk)) == copied.memorisation_pixels


def test_noise_scores_far_worse_than_real_samples(sets):
    train, ytrain, test, ytest, rec = sets
    noise = np.random.default_rng(1).uniform(-1, 1, size=test.shape).astype(np.float32)
    bad = quality_metrics(train, ytrain, test, noise, ytest, rec, 3, floor=train)
    assert bad.fid > 5 * bad.floor.fid
    assert bad.precision < 0.2


def test_every_set_is_judged_at_the_neighbourhood_where_the_real_floor_counts_as_real(sets):
    from mdaug.evaluation.features import embed
    from mdaug.evaluation.metrics import calibrated_neighbours, precision_recall

    train, ytrain, test, ytest, rec = sets
    fake = test[::-1].copy() * 0.9
    m = quality_metrics(train, ytrain, test, fake, ytest[::-1], rec, 3, floor=train, reconstructed=train * 0.95)
    f_test, f_train, f_fake = (embed(rec, a)[0] for a in (test, train, fake))
    k = calibrated_neighbours(f_test, f_train)
    assert m.neighbours == k and (m.precision, m.recall) == tuple(precision_recall(f_test, f_fake, k=k).values())
    assert (m.floor.precision, m.floor.recall) == tuple(precision_recall(f_test, f_train, k=k).values())
    assert min(m.floor.precision, m.floor.recall) >= 0.5 or k == 50
    assert m.stage1_ceiling.precision == precision_recall(f_test, embed(rec, train * 0.95)[0], k=k)["precision"]
    assert quality_metrics(train, ytrain, test, fake, ytest, rec, 3).neighbours == 3  # no floor: Kynkäänniemi's k


def test_only_an_eval_recogniser_on_the_same_data_may_judge():
    class S2:
        class_names = ["a", "b"]

    ok = RecognizerCard(role="eval", seed=1, class_names=["a", "b"], data_fingerprint="f", data_source="d",
                        input_shape=[1, 8, 8], steps=1, best_step=1, selection="val", selection_accuracy=None,
                        selection_ids=[], train_count=0, train_ids_sha256="", train_ids=[], test_accuracy=None,
                        test_accuracy_note="")
    check_recognizer(ok, S2(), "f")
    with pytest.raises(MdaugError, match="'eval' one"):
        check_recognizer(ok.model_copy(update={"role": "loss"}), S2(), "f")
    with pytest.raises(MdaugError, match="other classes"):
        check_recognizer(ok.model_copy(update={"class_names": ["a", "c"]}), S2(), "f")
    with pytest.raises(MdaugError, match="other data"):
        check_recognizer(ok, S2(), "g")


def test_evaluate_cli_errors_are_one_line(cli, tmp_path):
    from tests.conftest import assert_one_line_error

    code, _, err = cli("evaluate", tmp_path / "nope", "--recognizer", tmp_path)
    assert_one_line_error(code, err, "does not exist")
    code, _, err = cli("evaluate", tmp_path, "--recognizer", tmp_path)
    assert_one_line_error(code, err, "not a finished stage-2 model")


def test_the_identity_ceiling_is_measured_on_the_set_given_for_it_not_on_the_floor(sets):
    train, ytrain, test, ytest, rec = sets
    wrong = (ytest + 1) % 3  # the same test spectrograms under labels the recogniser cannot agree with
    m = quality_metrics(train, ytrain, test, test, ytest, rec, 3, floor=train, reconstructed=train,
                        identity_set=(test, wrong))
    with torch.no_grad():
        pred = rec(torch.from_numpy(test)).argmax(1).numpy()
    assert m.stage1_ceiling.identity_accuracy == pytest.approx((pred == wrong).mean())
    assert m.stage1_ceiling.fid == pytest.approx(m.floor.fid)  # FID still on the floor's set
    assert quality_metrics(train, ytrain, test, test, ytest, rec, 3, floor=train,
                           reconstructed=train).stage1_ceiling.identity_accuracy is None
