import torch

from mdaug.config import AugmentConfig
from mdaug.data.transforms import TimeAugment, random_time_crop, random_time_shift


def batch():
    return torch.randn(8, 1, 16, 20, generator=torch.Generator().manual_seed(0))


def test_time_shift_keeps_every_time_bins_doppler_content():
    x = batch()
    y = random_time_shift(x, 0.25, torch.Generator().manual_seed(1))
    assert y.shape == x.shape
    # the Doppler profile summed over time is unchanged, and the Doppler axis is never reordered
    torch.testing.assert_close(y.sum(-1), x.sum(-1))
    for i in range(8):
        shifts = [s for s in range(-5, 6) if torch.equal(torch.roll(x[i], s, -1), y[i])]
        assert len(shifts) >= 1  # a pure roll along time by at most 25% of 20 bins


def test_time_shift_is_seeded_and_varies():
    x = batch()
    a = random_time_shift(x, 0.5, torch.Generator().manual_seed(3))
    b = random_time_shift(x, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(a, b)
    assert not torch.equal(a, x)


def test_time_crop_takes_contiguous_windows():
    x = torch.arange(20.0).expand(4, 1, 3, 20)
    y = random_time_crop(x, 8, torch.Generator().manual_seed(0))
    assert y.shape == (4, 1, 3, 8)
    assert torch.all(torch.diff(y, dim=-1) == 1)


def test_identity_when_off():
    x = batch()
    assert torch.equal(TimeAugment(AugmentConfig())(x), x)


def test_random_blur_spreads_a_point_by_the_drawn_width_and_keeps_its_mass():
    import torch

    from mdaug.data.transforms import random_blur

    x = torch.zeros(64, 1, 33, 33)
    x[:, :, 16, 16] = 1.0
    assert torch.equal(random_blur(x, 0.0), x)
    g = torch.Generator().manual_seed(0)
    y = random_blur(x, 2.0, generator=g)
    sigma = torch.rand(64, generator=torch.Generator().manual_seed(0)) * 2.0  # the same draw
    assert torch.allclose(y.sum((1, 2, 3)), torch.ones(64), atol=1e-5)  # the kernel is normalised
    grid = torch.arange(33, dtype=torch.float32) - 16
    spread = (y[:, 0].sum(1) * grid ** 2).sum(1).sqrt()  # std along time of each blurred point
    wide = sigma > 0.5  # narrower kernels are a few taps: their std is not sigma any more
    assert torch.allclose(spread[wide], sigma[wide], rtol=0.05)
    assert torch.equal(random_blur(x, 2.0, generator=torch.Generator().manual_seed(0)), y)  # reproducible


def test_diff_augment_keeps_the_gradient_and_draws_per_sample():
    from mdaug.data.transforms import diff_augment

    x = batch().clamp(-1, 1).requires_grad_(True)
    y = diff_augment(x, torch.Generator().manual_seed(3), shift=0.25, mask=0.25, gain=0.1)
    assert y.shape == x.shape
    y.sum().backward()  # every operation is differentiable: the gradient reaches x where nothing is masked
    assert x.grad is not None and (x.grad == 1).any() and (x.grad == 0).any()
    again = diff_augment(x.detach(), torch.Generator().manual_seed(3), shift=0.25, mask=0.25, gain=0.1)
    torch.testing.assert_close(again, y.detach())  # the same generator, the same draw
    masked = x.grad[:, 0] == 0  # bins set to the floor: whole time spans and Doppler bands, per sample
    assert not torch.equal(masked[0], masked[1])
    none = diff_augment(x.detach(), torch.Generator().manual_seed(3), shift=0.0, mask=0.0, gain=0.0)
    torch.testing.assert_close(none, x.detach())  # with nothing to draw, the identity


def test_the_doppler_mirror_reverses_the_axis_about_zero_doppler():
    import numpy as np

    from mdaug.data.transforms import mirror_doppler, zero_doppler_row

    x = torch.rand(3, 1, 8, 5, generator=torch.Generator().manual_seed(0)) * 2 - 1
    torch.testing.assert_close(mirror_doppler(x, 3.5), x.flip(-2))  # zero in the middle: a plain reversal
    shifted = mirror_doppler(x, 3.0)  # zero on row 3: rows 0..6 swap about it, row 7 would come from row -1
    torch.testing.assert_close(shifted[..., :7, :], x[..., :7, :].flip(-2))
    assert (shifted[..., 7, :] == -1).all()  # nothing there: the floor
    torch.testing.assert_close(mirror_doppler(mirror_doppler(x, 3.0), 3.0)[..., :7, :], x[..., :7, :])
    between = mirror_doppler(x, 3.25)  # zero between rows: row i takes the value at 6.5 - i, halfway
    torch.testing.assert_close(between[..., 0, :], (x[..., 6, :] + x[..., 7, :]) / 2)
    torch.testing.assert_close(between[..., 6, :], (x[..., 0, :] + x[..., 1, :]) / 2)
    assert isinstance(mirror_doppler(x.numpy(), 3.5), np.ndarray)  # numpy in, numpy out
    assert zero_doppler_row(64, (-100.0, 100.0)) == 31.5
    assert abs(zero_doppler_row(65, (-100.0, 100.0)) - 32.0) < 1e-9
    assert zero_doppler_row(64, (-100.0, 60.0)) == 100 / 160 * 63  # an asymmetric axis
    assert zero_doppler_row(64, (10.0, 100.0)) == 31.5 and zero_doppler_row(64) == 31.5  # no zero on it / unknown
