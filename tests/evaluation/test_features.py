import numpy as np
import pytest
import torch

from mdaug.evaluation.features import embed, frechet_distance
from mdaug.models.recognizer import Recognizer


def test_frechet_distance_of_a_set_with_itself_is_zero():
    a = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_between_known_gaussians():
    # N(0, I) vs N(m, 4I) in d dims: |m|^2 + d (1 + 4 - 2 * 2) = |m|^2 + d
    rng = np.random.default_rng(1)
    d, m = 4, np.array([1.0, 2.0, 0.0, 0.0])
    a = rng.normal(size=(20000, d))
    b = m + 2.0 * rng.normal(size=(20000, d))
    assert frechet_distance(a, b) == pytest.approx(5.0 + d, rel=0.03)
    assert frechet_distance(a, b) == pytest.approx(frechet_distance(b, a), rel=1e-6)


def test_frechet_distance_needs_two_samples():
    with pytest.raises(ValueError):
        frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_embed_matches_the_model_in_batches():
    torch.manual_seed(0)
    model = Recognizer(num_classes=3, channels=(4, 8))
    x = torch.randn(7, 1, 16, 16)
    feats, logits = embed(model, x, batch_size=3)
    assert feats.shape == (7, 8) and logits.shape == (7, 3)
    with torch.no_grad():
        expected = model(x)
    np.testing.assert_allclose(logits, expected.numpy(), rtol=1e-5, atol=1e-6)


def test_embedding_is_the_pooled_last_stage_and_survives_a_round_trip(tmp_path):
    torch.manual_seed(0)
    model = Recognizer(num_classes=2, channels=(4, 8)).eval()
    x = torch.randn(3, 1, 16, 16)
    with torch.no_grad():
        feats = model.features(x)
        e = model.embed(x)
    assert [f.shape for f in feats] == [(3, 4, 8, 8), (3, 8, 4, 4)]  # every stage halves both axes
    torch.testing.assert_close(e, feats[-1].mean(dim=(2, 3)))
    model.save_pretrained(tmp_path)
    again = Recognizer.from_pretrained(tmp_path).eval()
    with torch.no_grad():
        torch.testing.assert_close(again.embed(x), e)  # BatchNorm running statistics travel too
