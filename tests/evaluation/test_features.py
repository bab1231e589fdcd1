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


def test_doppler_pooled_embedding_keeps_where_in_doppler_the_energy_is(tmp_path):
    torch.manual_seed(0)
    model = Recognizer(num_classes=2, channels=(4, 8), embed_pool="doppler", doppler_bins=4).eval()
    low, high = torch.full((1, 1, 16, 16), -1.0), torch.full((1, 1, 16, 16), -1.0)
    low[..., 2:4, :], high[..., 12:14, :] = 1.0, 1.0  # the same band, at two Doppler positions
    with torch.no_grad():
        e_low, e_high = model.embed(low), model.embed(high)
    assert e_low.shape == (1, 8)
    assert (e_low - e_high).abs().max() > 1e-3
    model.save_pretrained(tmp_path)
    again = Recognizer.from_pretrained(tmp_path).eval()
    assert again.config.embed_pool == "doppler"
    with torch.no_grad():
        torch.testing.assert_close(again.embed(low), e_low)
