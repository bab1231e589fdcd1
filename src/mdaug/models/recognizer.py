"""A compact CNN spectrogram classifier. Its intermediate features serve as the spectrogram perceptual loss
(no ImageNet network is available, and none would know spectrograms) and, as a separately trained
network, as the feature space of the evaluation."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn


def _stage(cin: int, cout: int) -> nn.Sequential:
    g = min(8, cout)
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.GroupNorm(g, cout), nn.SiLU(),
                         nn.Conv2d(cout, cout, 3, padding=1), nn.GroupNorm(g, cout), nn.SiLU())


class Recognizer(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, *, in_channels: int = 1, num_classes: int = 2, channels: tuple[int, ...] = (32, 64, 128),
                 dropout: float = 0.2, role: str = "eval") -> None:
        super().__init__()
        assert num_classes >= 2, "a classifier needs at least 2 classes"
        assert role in ("eval", "loss"), "role is 'eval' or 'loss'"
        self.stages = nn.ModuleList()
        c = in_channels
        for cout in channels:
            self.stages.append(_stage(c, cout))
            c = cout
        self.pool = nn.MaxPool2d(2)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each stage: [(batch, channels[i], doppler / 2^i, time / 2^i)]."""
        feats = []
        for i, stage in enumerate(self.stages):
            x = stage(x if i == 0 else self.pool(x))
            feats.append(x)
        return feats

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels[-1]): the globally pooled last features (the evaluation's feature space)."""
        return self.features(x)[-1].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, doppler, time) -> (batch, num_classes) logits."""
        return self.head(self.embed(x))
