"""Pixel and spectral reconstruction losses for spectrograms (batch, channels, doppler, time)."""

from __future__ import annotations

import torch


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor,
                        kind: str = "l1") -> tuple[torch.Tensor, dict[str, float]]:
    """Mean absolute ('l1') or squared ('l2') error per pixel."""
    diff = x_hat.float() - x.float()
    if kind == "l1":
        loss = diff.abs().mean()
    elif kind == "l2":
        loss = diff.square().mean()
    else:
        raise ValueError(f"unknown reconstruction loss '{kind}' (l1 or l2)")
    return loss, {f"rec_{kind}": loss.item()}


def _log_mag(x: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return torch.log1p(torch.fft.rfftn(x.float(), dim=dims, norm="ortho").abs())


def spectral_loss(x_hat: torch.Tensor, x: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """L1 between log(1 + |FFT|) of reconstruction and target, along the Doppler axis (per time bin: the
    texture across Doppler of each instant) and in 2-D (periodicities of the gait pattern), averaged.

    A pixel loss alone blurs speckle and weak limb returns to their mean; magnitudes of the Fourier transform
    are phase-blind, so this term asks for the right texture statistics without asking for the exact noise."""
    doppler = (_log_mag(x_hat, (-2,)) - _log_mag(x, (-2,))).abs().mean()
    two_d = (_log_mag(x_hat, (-2, -1)) - _log_mag(x, (-2, -1))).abs().mean()
    loss = 0.5 * (doppler + two_d)
    return loss, {"spectral_doppler": doppler.item(), "spectral_2d": two_d.item()}
