"""PatchGAN discriminator (Isola et al. 2017): a real/fake logit per overlapping patch, as in VQGAN
(Esser et al. 2021). Written here because no maintained library ships one as a module; GroupNorm instead of
BatchNorm so that it behaves the same at batch size 1 and across processes."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn


class PatchDiscriminator(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, *, in_channels: int = 1, channels: int = 64, layers: int = 3) -> None:
        super().__init__()
        assert layers >= 1 and channels >= 4, "layers >= 1, channels >= 4"
        mods: list[nn.Module] = [nn.Conv2d(in_channels, channels, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = channels
        for i in range(1, layers + 1):
            nxt = channels * min(2**i, 8)
            stride = 2 if i < layers else 1
            mods += [nn.Conv2d(c, nxt, 4, stride, 1, bias=False), nn.GroupNorm(min(32, nxt // 4), nxt),
                     nn.LeakyReLU(0.2)]
            c = nxt
        mods.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*mods)
        self.apply(_init)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, doppler, time) -> (batch, 1, patches_d, patches_t) logits."""
        return self.net(x)


def _init(m: nn.Module) -> None:
    if isinstance(m, nn.Conv2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.GroupNorm):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
