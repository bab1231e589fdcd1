"""VQ-VAE (van den Oord et al. 2017) with the fixes of later work, through vector-quantize-pytorch:
EMA codebook updates, k-means initialisation, dead-code restart (Dhariwal et al. 2020, Jukebox), optional
low-dimensional and L2-normalised codes (Yu et al. 2022). The commitment weight multiplies the encoder's
commitment term ||z_e - sg[z_q]||^2; the codebook itself learns by EMA, so there is no codebook term to
confuse it with (the legacy-beta swap of taming/diffusers cannot happen). The `vqgan` family is this model
trained with a discriminator."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config
from vector_quantize_pytorch import VectorQuantize

from mdaug.models.autoencoder import Encoded, QuantizedAutoencoder, fp32


class VQAutoencoder(QuantizedAutoencoder):
    family = "vq"

    @register_to_config
    def __init__(self, *, in_channels: int = 1, block_out_channels: tuple[int, ...] = (32, 64, 64),
                 layers_per_block: int = 1, norm_num_groups: int = 32, attention: bool = False,
                 latent_channels: int = 4, codebook_size: int = 512, codebook_dim: int | None = None,
                 cosine_codes: bool = True, codebook_ema_decay: float = 0.95, kmeans_init: bool = True,
                 dead_code_threshold: float = 1.0, commitment_weight: float = 0.25) -> None:
        super().__init__()
        assert codebook_size >= 2, "codebook_size must be at least 2"
        self.build_backbone(in_channels, block_out_channels, layers_per_block, norm_num_groups, attention,
                            latent_channels, latent_channels)
        self.quantizer = VectorQuantize(
            dim=latent_channels, codebook_size=codebook_size, codebook_dim=codebook_dim, decay=codebook_ema_decay,
            kmeans_init=kmeans_init, threshold_ema_dead_code=dead_code_threshold, use_cosine_sim=cosine_codes,
            commitment_weight=commitment_weight, accept_image_fmap=True)

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:
        z = self.quant_conv(self.encoder(x))
        with fp32(z.device):
            q, idx, commit = self.quantizer(z.float())  # (b, c, h, w), (b, h, w), scalar
        self._commitment = commit.sum()
        return Encoded(latents=q, indices=idx)

    def latents_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(batch, h, w) code indices -> (batch, latent_channels, h, w) quantized latents."""
        with fp32(indices.device):
            return self.quantizer.get_output_from_indices(indices)  # image-shaped with accept_image_fmap
