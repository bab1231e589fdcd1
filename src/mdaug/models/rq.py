"""RQ-VAE: residual quantization, each level quantizing what the previous ones left (Lee et al. 2022), with
one codebook per level or one shared, all with EMA updates, k-means init and dead-code restart."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config
from vector_quantize_pytorch import ResidualVQ

from mdaug.models.autoencoder import Encoded, QuantizedAutoencoder, fp32


class RQAutoencoder(QuantizedAutoencoder):
    family = "rq"

    @register_to_config
    def __init__(self, *, in_channels: int = 1, block_out_channels: tuple[int, ...] = (32, 64, 64),
                 layers_per_block: int = 1, norm_num_groups: int = 32, attention: bool = False,
                 latent_channels: int = 4, codebook_size: int = 512, codebook_dim: int | None = None,
                 num_quantizers: int = 4, shared_codebook: bool = False, codebook_ema_decay: float = 0.95,
                 kmeans_init: bool = True, dead_code_threshold: float = 1.0, commitment_weight: float = 0.25) -> None:
        super().__init__()
        assert num_quantizers >= 1, "num_quantizers must be positive"
        self.build_backbone(in_channels, block_out_channels, layers_per_block, norm_num_groups, attention,
                            latent_channels, latent_channels)
        self.quantizer = ResidualVQ(
            dim=latent_channels, num_quantizers=num_quantizers, codebook_size=codebook_size, codebook_dim=codebook_dim,
            shared_codebook=shared_codebook, decay=codebook_ema_decay, kmeans_init=kmeans_init,
            threshold_ema_dead_code=dead_code_threshold, commitment_weight=commitment_weight)

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:
        z = self.quant_conv(self.encoder(x))
        b, c, h, w = z.shape
        # flattened by hand: the library's accept_image_fmap path fails for residual quantization (1.32)
        with fp32(z.device):
            q, idx, commit = self.quantizer(z.float().flatten(2).transpose(1, 2))  # (b, hw, c), (b, hw, levels)
        self._commitment = commit.sum()
        return Encoded(latents=q.transpose(1, 2).reshape(b, c, h, w), indices=idx.reshape(b, h, w, -1))

    def latents_from_indices(self, indices: torch.Tensor) -> torch.Tensor:
        """(batch, h, w, levels) code stacks -> (batch, latent_channels, h, w): the sum over levels."""
        with fp32(indices.device):
            b, h, w, levels = indices.shape
            out = self.quantizer.get_output_from_indices(indices.reshape(b, h * w, levels))  # (b, hw, c)
        return out.transpose(1, 2).reshape(b, -1, h, w)
