"""Spectrogram perceptual loss: distances between features of a frozen network trained on spectrograms.

LPIPS needs ImageNet backbones, which cannot be downloaded here and know nothing of Doppler; a small
recogniser trained on the user's own training split knows which structures tell the classes apart."""

from __future__ import annotations

import torch


def _unit(f: torch.Tensor) -> torch.Tensor:
    return f / (f.square().sum(dim=1, keepdim=True).sqrt() + 1e-10)


def perceptual_loss(feats_hat: list[torch.Tensor], feats: list[torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean over layers of the squared distance between channel-normalised feature maps (the LPIPS form of
    Zhang et al. 2018, without learned channel weights)."""
    assert len(feats_hat) == len(feats) and feats, "feature lists must match and not be empty"
    per_layer = [(_unit(a.float()) - _unit(b.float())).square().sum(dim=1).mean() for a, b in zip(feats_hat, feats)]
    loss = torch.stack(per_layer).mean()
    return loss, {"perceptual": loss.item()}
