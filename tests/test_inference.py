import numpy as np
import pytest
import torch

from mdaug.inference import in_batches, reconstruct


def test_batches_give_what_one_call_gives_for_every_batch_size():
    x = np.random.default_rng(0).normal(size=(10, 3)).astype(np.float32)
    w = torch.randn(3, 2)
    whole = torch.from_numpy(x) @ w
    for size in (1, 3, 4, 10, 64):
        seen = []

        def fn(xb, seen=seen):
            seen.append(len(xb))
            return xb @ w

        assert torch.allclose(in_batches(fn, x, batch_size=size), whole)
        assert seen == [min(size, 10 - i) for i in range(0, 10, size)]


def test_several_inputs_and_outputs_stay_aligned_and_none_stays_none():
    x, y = np.arange(7.0), np.arange(7) * 10
    a, b, c = in_batches(lambda xb, yb: (xb + yb, yb - xb, None), x, y, batch_size=3)
    assert a.tolist() == [11.0 * i for i in range(7)]
    assert b.tolist() == [9.0 * i for i in range(7)]
    assert c is None


def test_no_samples_keep_the_shape_beyond_the_first_dimension():
    out = in_batches(lambda xb: xb.reshape(-1, 4) @ torch.ones(4, 5), np.zeros((0, 4), np.float32))
    assert out.shape == (0, 5)


def test_inputs_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="one length"):
        in_batches(lambda a, b: a, np.zeros(3), np.zeros(4))


def test_no_gradient_is_kept():
    w = torch.ones(2, requires_grad=True)
    assert not in_batches(lambda xb: xb * w, np.ones(2, np.float32)).requires_grad


class _Out:
    def __init__(self, sample, encoded):
        self.sample, self.encoded = sample, encoded


class _Doubler(torch.nn.Module):
    """An autoencoder stand-in: output 2x (so that clipping shows), posterior mode required."""

    def forward(self, x, sample_posterior=True):
        assert sample_posterior is False
        return _Out(2 * x, x.mean((1, 2, 3)))


def test_reconstruct_clips_reports_every_row_once_and_restores_the_mode():
    x = np.linspace(-1, 1, 5 * 4).reshape(5, 1, 2, 2).astype(np.float32)
    model = _Doubler().train()
    rows = []
    out = reconstruct(model, x, batch_size=2, each=lambda o, r: rows.append((r.start, r.stop, o.encoded.tolist())))
    assert np.allclose(out, np.clip(2 * x, -1, 1)) and out.dtype == np.float32
    assert [(a, b) for a, b, _ in rows] == [(0, 2), (2, 4), (4, 5)]
    assert np.allclose(sum((e for *_, e in rows), []), x.mean((1, 2, 3)))
    assert model.training
