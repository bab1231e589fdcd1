"""Known answers for the pure loss functions of mdaug.losses, on tensors built so the value can be worked
out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from mdaug.losses import (
    adaptive_weight,
    d_hinge,
    d_non_saturating,
    g_hinge,
    g_non_saturating,
    gaussian_kl,
    kl_loss,
    kl_weight_at,
    lecam_penalty,
    perceptual_loss,
    r1_penalty,
    reconstruction_loss,
    spectral_loss,
)


def rand(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- reconstruction and spectral


def test_reconstruction_l1_l2():
    x = torch.zeros(1, 1, 2, 2)
    x_hat = torch.tensor([1.0, -2.0, 3.0, -4.0]).reshape(1, 1, 2, 2)
    l1, logs1 = reconstruction_loss(x_hat, x, "l1")
    l2, logs2 = reconstruction_loss(x_hat, x, "l2")
    assert l1.item() == pytest.approx(10 / 4) and logs1 == {"rec_l1": pytest.approx(2.5)}
    assert l2.item() == pytest.approx(30 / 4) and logs2 == {"rec_l2": pytest.approx(7.5)}
    with pytest.raises(ValueError, match="l1 or l2"):
        reconstruction_loss(x_hat, x, "l3")


def test_spectral_loss_known_value():
    # A constant c has one non-zero Fourier coefficient, the DC term: c*sqrt(n) with norm='ortho'.
    d, t, c = 8, 6, 0.5
    x, x_hat = torch.zeros(1, 1, d, t), torch.full((1, 1, d, t), c)
    loss, logs = spectral_loss(x_hat, x)
    doppler = math.log1p(c * math.sqrt(d)) / (d // 2 + 1)  # one DC bin of d//2+1 per time bin
    two_d = math.log1p(c * math.sqrt(d * t)) / (d * (t // 2 + 1))  # one DC bin of d*(t//2+1)
    assert logs["spectral_doppler"] == pytest.approx(doppler, rel=1e-5)
    assert logs["spectral_2d"] == pytest.approx(two_d, rel=1e-5)
    assert loss.item() == pytest.approx(0.5 * (doppler + two_d), rel=1e-5)


def test_spectral_loss_zero_iff_magnitudes_match():
    x, other = rand(2, 1, 16, 12, seed=1), rand(2, 1, 16, 12, seed=2)
    assert spectral_loss(x, x)[0].item() == 0.0
    assert spectral_loss(other, x)[0].item() > 0.05
    # Both terms see only |FFT| along Doppler (per time bin) and in 2-D, so a circular Doppler shift of the
    # reconstruction alone costs nothing: the spectral term is blind to it, the pixel loss must catch it.
    assert spectral_loss(torch.roll(x, 5, dims=-2), x)[0].item() == pytest.approx(0.0, abs=1e-6)
    # A circular time shift of the reconstruction alone keeps the 2-D magnitudes but moves columns, so
    # only the per-time-bin Doppler term sees it.
    _, logs = spectral_loss(torch.roll(x, 3, dims=-1), x)
    assert logs["spectral_2d"] == pytest.approx(0.0, abs=1e-6) and logs["spectral_doppler"] > 0.05
    # The same circular time shift of both inputs changes nothing.
    shifted = spectral_loss(torch.roll(other, 4, dims=-1), torch.roll(x, 4, dims=-1))[0]
    assert shifted.item() == pytest.approx(spectral_loss(other, x)[0].item(), rel=1e-6)


# ---------------------------------------------------------------- KL


def test_gaussian_kl_closed_form():
    zero = gaussian_kl(torch.zeros(3), torch.zeros(3))
    assert torch.equal(zero, torch.zeros(3))
    mean, var = 1.0, 2.0
    got = gaussian_kl(torch.tensor([mean]), torch.tensor([math.log(var)])).item()
    assert got == pytest.approx(0.5 * (mean**2 + var - 1 - math.log(var)))  # 0.5 * (2 - ln 2)
    ref = torch.distributions.kl_divergence(torch.distributions.Normal(mean, math.sqrt(var)),
                                            torch.distributions.Normal(0.0, 1.0))
    assert got == pytest.approx(ref.item(), rel=1e-6)


def test_kl_loss_mean_and_per_channel():
    mean = torch.zeros(2, 2, 3, 3)
    mean[:, 1] = 2.0  # channel 1: KL 0.5 * 4 = 2 per element; channel 0: 0
    loss, logs = kl_loss(mean, torch.zeros_like(mean))
    assert loss.item() == pytest.approx(1.0)
    assert logs["kl_ch0"] == pytest.approx(0.0) and logs["kl_ch1"] == pytest.approx(2.0)


def test_kl_weight_schedule():
    assert kl_weight_at(0, 1e-3, 100) == 0.0
    assert kl_weight_at(50, 1e-3, 100) == pytest.approx(5e-4)
    assert kl_weight_at(100, 1e-3, 100) == pytest.approx(1e-3)
    assert kl_weight_at(10_000, 1e-3, 100) == pytest.approx(1e-3)
    assert kl_weight_at(0, 1e-3, 0) == 1e-3  # no annealing


# ---------------------------------------------------------------- adversarial


def test_hinge_values():
    loss, logs = d_hinge(torch.tensor([2.0, 0.5]), torch.tensor([-3.0, 0.0]))
    # real: relu(1-2)=0, relu(1-0.5)=0.5 -> 0.25; fake: relu(1-3)=0, relu(1+0)=1 -> 0.5; halved sum
    assert loss.item() == pytest.approx(0.375)
    assert logs["logits_real"] == pytest.approx(1.25) and logs["logits_fake"] == pytest.approx(-1.5)
    assert d_hinge(torch.tensor([1.0, 5.0]), torch.tensor([-1.0, -7.0]))[0].item() == 0.0  # margins met
    assert g_hinge(torch.tensor([1.0, 3.0]))[0].item() == pytest.approx(-2.0)


def test_non_saturating_values():
    zero = torch.zeros(4)
    assert d_non_saturating(zero, zero)[0].item() == pytest.approx(math.log(2))
    assert g_non_saturating(zero)[0].item() == pytest.approx(math.log(2))
    assert d_non_saturating(torch.full((4,), 30.0), torch.full((4,), -30.0))[0].item() == pytest.approx(0.0, abs=1e-12)
    assert g_non_saturating(torch.tensor([-1.0]))[0].item() == pytest.approx(math.log1p(math.e))


def test_adaptive_weight_is_ratio_of_gradient_norms():
    layer = torch.nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 2.0]]))
    # d/dW sum(W a) = a: ||(3, 4)|| = 5 and ||(0, 1)|| = 1
    rec = layer(torch.tensor([3.0, 4.0])).sum()
    adv = layer(torch.tensor([0.0, 1.0])).sum()
    w = adaptive_weight(rec, adv, layer.weight)
    assert w.item() == pytest.approx(5.0 / (1.0 + 1e-4))
    assert not w.requires_grad
    # an adversarial gradient of zero would give 5 / 1e-4 = 5e4: clamped
    flat = layer(torch.tensor([0.0, 0.0])).sum()
    assert adaptive_weight(rec, flat, layer.weight).item() == pytest.approx(1e4)


def test_r1_penalty_on_linear_and_quadratic_critics():
    a = rand(1, 3, 4, seed=3).requires_grad_(True)
    x = rand(5, 1, 3, 4, seed=4).requires_grad_(True)
    # D(x) = sum(a * x): grad_x D = a for every sample, so E||grad||^2 = ||a||^2
    r1 = r1_penalty((a * x).flatten(1).sum(1), x)
    assert r1.item() == pytest.approx(a.square().sum().item(), rel=1e-6)
    # differentiable w.r.t. the critic (create_graph): d ||a||^2 / da = 2a
    (g,) = torch.autograd.grad(r1, a)
    assert torch.allclose(g, 2 * a)
    # D(x) = sum(a * x^2): grad = 2 a x per sample
    r1q = r1_penalty((a * x.square()).flatten(1).sum(1), x)
    expected = (2 * a * x).square().flatten(1).sum(1).mean()
    assert r1q.item() == pytest.approx(expected.item(), rel=1e-6)


def test_lecam_penalty():
    ema_real, ema_fake = 0.5, -0.5
    # zero when real logits stay at or below the fake EMA and fake logits at or above the real EMA
    assert lecam_penalty(torch.tensor([-2.0, -0.5]), torch.tensor([0.5, 3.0]), ema_real, ema_fake).item() == 0.0
    # real: relu(0 + 0.5)^2 = 0.25, relu(1 + 0.5)^2 = 2.25 -> mean 1.25; fake: relu(0.5 - 0)^2 = 0.25
    got = lecam_penalty(torch.tensor([0.0, 1.0]), torch.tensor([0.0]), ema_real, ema_fake)
    assert got.item() == pytest.approx(1.5)


# ---------------------------------------------------------------- perceptual


def test_perceptual_loss():
    feats = [rand(2, 4, 5, 5, seed=5), rand(2, 8, 3, 3, seed=6)]
    assert perceptual_loss(feats, feats)[0].item() == pytest.approx(0.0, abs=1e-12)
    # each feature vector is normalised over channels, so a positive per-position scale changes nothing
    scaled = [f * (0.1 + rand(f.shape[0], 1, *f.shape[2:], seed=7).abs()) for f in feats]
    assert perceptual_loss(scaled, feats)[0].item() == pytest.approx(0.0, abs=1e-10)
    other = [rand(*f.shape, seed=10 + i) for i, f in enumerate(feats)]
    assert perceptual_loss(other, feats)[0].item() > 0.1


def test_perceptual_loss_known_value():
    # unit vectors e0 and e1 at every position: squared distance 2; opposite vectors: 4; mean over layers
    e0 = torch.zeros(1, 2, 3, 3)
    e0[:, 0] = 3.0
    e1 = torch.zeros(1, 2, 3, 3)
    e1[:, 1] = 0.5
    loss, logs = perceptual_loss([e0, e0], [e1, -e0])
    assert loss.item() == pytest.approx((2.0 + 4.0) / 2)
    assert logs == {"perceptual": pytest.approx(3.0)}
    with pytest.raises(AssertionError):
        perceptual_loss([e0], [e0, e0])
