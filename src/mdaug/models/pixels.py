"""No stage 1 at all: the identity as a stage-1 model, so that stage 2 models the spectrograms themselves. It is
the control that shows what a stage 1 costs (compression, smoothing) and what it buys (speed): every pipeline step
works unchanged on it, and there is nothing to train."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config

from mdaug.models.autoencoder import Autoencoder, Encoded


class PixelAutoencoder(Autoencoder):
    family = "pixels"

    @register_to_config
    def __init__(self, *, in_channels: int = 1) -> None:
        super().__init__()
        assert in_channels >= 1, "in_channels must be positive"
        # no weights, but a saved model needs a weights file (and stage 2 checks its hash): one constant buffer
        self.register_buffer("channels", torch.tensor([float(in_channels)]))

    @property
    def downsampling(self) -> int:
        return 1

    @property
    def last_layer(self) -> torch.Tensor:  # pragma: no cover - there is no decoder to weigh
        raise AttributeError("the pixel-space control has no decoder")

    def latent_shape(self, size: tuple[int, int]) -> tuple[int, int, int]:
        return (int(self.config.in_channels), size[0], size[1])

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:
        return Encoded(latents=x)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return latents


__all__ = ["PixelAutoencoder"]
