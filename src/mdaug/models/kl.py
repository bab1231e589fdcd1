"""KL autoencoder (VAE): a diagonal Gaussian posterior regularised towards N(0, I) (Kingma & Welling 2014),
as the first stage of latent diffusion (Rombach et al. 2022)."""

from __future__ import annotations

import torch
from diffusers.configuration_utils import register_to_config

from mdaug.models.autoencoder import Autoencoder, Encoded


class KLAutoencoder(Autoencoder):
    family = "kl"

    @register_to_config
    def __init__(self, *, in_channels: int = 1, block_out_channels: tuple[int, ...] = (32, 64, 64),
                 layers_per_block: int = 1, norm_num_groups: int = 32, attention: bool = False,
                 latent_channels: int = 4) -> None:
        super().__init__()
        assert latent_channels >= 1, "latent_channels must be positive"
        self.build_backbone(in_channels, block_out_channels, layers_per_block, norm_num_groups, attention,
                            latent_channels, 2 * latent_channels)

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:
        """mode=True returns the posterior mean (deterministic); otherwise z = mean + std * eps."""
        mean, logvar = self.quant_conv(self.encoder(x)).chunk(2, dim=1)
        logvar = logvar.clamp(-30.0, 20.0)
        z = mean if mode else mean + torch.exp(0.5 * logvar) * torch.randn_like(mean)
        return Encoded(latents=z, mean=mean, logvar=logvar)

    def reg_losses(self, x: torch.Tensor, enc: Encoded) -> dict[str, torch.Tensor]:
        from mdaug.losses.kl import gaussian_kl

        return {"kl": gaussian_kl(enc.mean, enc.logvar).mean()}
