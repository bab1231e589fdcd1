"""FSQ: finite scalar quantization (Mentzer et al. 2023). Each latent dimension is bounded and rounded to
a few levels; the implicit codebook is their product, every code is reachable, and nothing can collapse or
die, so it needs no commitment loss, EMA or restarts."""

from __future__ import annotations

import math

import torch
from diffusers.configuration_utils import register_to_config
from vector_quantize_pytorch import FSQ

from mdaug.models.autoencoder import Autoencoder, Encoded, fp32


class FSQAutoencoder(Autoencoder):
    family = "fsq"

    @register_to_config
    def __init__(self, *, in_channels: int = 1, block_out_channels: tuple[int, ...] = (32, 64, 64),
                 layers_per_block: int = 1, norm_num_groups: int = 32, attention: bool = False,
                 latent_channels: int = 4, fsq_levels: tuple[int, ...] = (8, 5, 5, 5)) -> None:
        super().__init__()
        assert len(fsq_levels) >= 1 and min(fsq_levels) >= 3, "fsq_levels must be integers >= 3"
        self.build_backbone(in_channels, block_out_channels, layers_per_block, norm_num_groups, attention,
                            latent_channels, latent_channels)
        self.quantizer = FSQ(levels=list(fsq_levels), dim=latent_channels)

    @property
    def codebook_size(self) -> int:
        return math.prod(self.config.fsq_levels)

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:
        z = self.quant_conv(self.encoder(x))
        with fp32(z.device):
            q, idx = self.quantizer(z.float())  # (b, c, h, w), (b, h, w)
        return Encoded(latents=q, indices=idx)

    def latents_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        with fp32(indices.device):
            codes = self.quantizer.indices_to_codes(indices)
        return codes if codes.shape[1] == self.config.latent_channels else codes.permute(0, 3, 1, 2).contiguous()
