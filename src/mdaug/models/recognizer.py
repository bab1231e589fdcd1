"""A compact CNN spectrogram classifier. Its intermediate features serve as the spectrogram perceptual loss
(no ImageNet network is available, and none would know spectrograms) and, as a separately trained
network, as the feature space of the evaluation.

Each stage is conv 3x3 -> BatchNorm -> ReLU -> max-pool 2x2, and the embedding is the last stage averaged
over Doppler and time. On the quick preset's split (31 people, held-out sessions, 600 steps of batch 64)
this design reaches 73% test accuracy; the earlier one (two GroupNorm convs per stage, pooling only between
stages) reached 20% (benchmarks/README.md, "Evaluation recogniser")."""

from __future__ import annotations

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.configuration_utils import register_to_config
from torch import nn

from mdaug.errors import MdaugError


def _stage(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))


class Recognizer(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, *, in_channels: int = 1, num_classes: int = 2, channels: tuple[int, ...] = (16, 32, 64, 96),
                 dropout: float = 0.3, role: str = "eval") -> None:
        super().__init__()
        if num_classes < 2:
            raise MdaugError(f"a recogniser needs at least 2 classes, the data has {num_classes}; add a class")
        if role not in ("eval", "loss"):
            raise MdaugError(f"a recogniser's role is 'eval' or 'loss', not '{role}'")
        self.stages = nn.ModuleList()
        c = in_channels
        for cout in channels:
            self.stages.append(_stage(c, cout))
            c = cout
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(c, num_classes))

    def features(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Feature maps after each stage: [(batch, channels[i], doppler / 2^(i+1), time / 2^(i+1))]."""
        feats = []
        for stage in self.stages:
            x = stage(x)
            feats.append(x)
        return feats

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels[-1]): the evaluation's feature space, the last features averaged over Doppler and
        time."""
        return self.features(x)[-1].mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(batch, channels, doppler, time) -> (batch, num_classes) logits."""
        return self.head(self.embed(x))
