"""What every stage-1 family shares: the convolutional backbone (diffusers' Encoder/Decoder blocks), the
output dataclasses and the loading checks. Each family (kl.py, vq.py, rq.py, fsq.py) adds its bottleneck."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from diffusers import ConfigMixin, ModelMixin
from diffusers.models.autoencoders.vae import Decoder, Encoder
from torch import nn

from mdaug.errors import MdaugError


@dataclass
class Encoded:
    latents: torch.Tensor
    """(batch, latent_channels, doppler / f, time / f): quantized vectors for VQ families, z for kl."""
    indices: torch.Tensor | None = None
    """Code indices: (batch, h, w), or (batch, h, w, levels) for rq. None for kl."""
    mean: torch.Tensor | None = None
    """kl: posterior mean (batch, latent_channels, h, w)."""
    logvar: torch.Tensor | None = None
    """kl: posterior log-variance, same shape."""


@dataclass
class AutoencoderOutput:
    sample: torch.Tensor
    """Reconstruction (batch, channels, doppler, time), unclipped."""
    latents: torch.Tensor
    indices: torch.Tensor | None
    reg_losses: dict[str, torch.Tensor] = field(default_factory=dict)
    """Regularisation terms as scalars: 'kl' (mean per latent element, unweighted) or 'commitment' (already
    weighted by commitment_weight, as the quantizer applies it)."""
    encoded: Encoded | None = None


def make_encoder(in_channels: int, out_channels: int, block_out_channels: tuple[int, ...], layers_per_block: int,
                 norm_num_groups: int, attention: bool) -> Encoder:
    return Encoder(in_channels=in_channels, out_channels=out_channels,
                   down_block_types=("DownEncoderBlock2D",) * len(block_out_channels),
                   block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
                   norm_num_groups=norm_num_groups, act_fn="silu", double_z=False, mid_block_add_attention=attention)


def make_decoder(latent_channels: int, out_channels: int, block_out_channels: tuple[int, ...], layers_per_block: int,
                 norm_num_groups: int, attention: bool) -> Decoder:
    return Decoder(in_channels=latent_channels, out_channels=out_channels,
                   up_block_types=("UpDecoderBlock2D",) * len(block_out_channels),
                   block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
                   norm_num_groups=norm_num_groups, act_fn="silu", mid_block_add_attention=attention)


class Autoencoder(ModelMixin, ConfigMixin):
    """Base of the families. Subclasses build `encoder`, `decoder`, `quant_conv`, `post_quant_conv` and
    implement `encode`; `decode` and `forward` are shared."""

    family: ClassVar[str] = ""
    encoder: Encoder
    decoder: Decoder
    quant_conv: nn.Conv2d
    post_quant_conv: nn.Conv2d

    def build_backbone(self, in_channels: int, block_out_channels: tuple[int, ...], layers_per_block: int,
                       norm_num_groups: int, attention: bool, latent_channels: int, encoder_channels: int) -> None:
        """encoder -> 1x1 quant_conv (encoder_channels) | bottleneck | 1x1 post_quant_conv -> decoder."""
        self.encoder = make_encoder(in_channels, encoder_channels, block_out_channels, layers_per_block,
                                    norm_num_groups, attention)
        self.quant_conv = nn.Conv2d(encoder_channels, encoder_channels, 1)
        self.post_quant_conv = nn.Conv2d(latent_channels, latent_channels, 1)
        self.decoder = make_decoder(latent_channels, in_channels, block_out_channels, layers_per_block,
                                    norm_num_groups, attention)

    @property
    def downsampling(self) -> int:
        return 2 ** (len(self.config.block_out_channels) - 1)

    @property
    def last_layer(self) -> torch.Tensor:
        """The decoder's output weight: where the adaptive GAN weight compares gradient norms."""
        return self.decoder.conv_out.weight

    def latent_shape(self, size: tuple[int, int]) -> tuple[int, int, int]:
        f = self.downsampling
        return (self.config.latent_channels, size[0] // f, size[1] // f)

    def encode(self, x: torch.Tensor, *, mode: bool = True) -> Encoded:  # pragma: no cover - abstract
        raise NotImplementedError

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(batch, latent_channels, h, w) -> (batch, channels, h * f, w * f)."""
        return self.decoder(self.post_quant_conv(latents))

    def forward(self, x: torch.Tensor, *, sample_posterior: bool = True) -> AutoencoderOutput:
        enc = self.encode(x, mode=not sample_posterior)
        return AutoencoderOutput(sample=self.decode(enc.latents), latents=enc.latents, indices=enc.indices,
                                 reg_losses=self.reg_losses(x, enc), encoded=enc)

    def reg_losses(self, x: torch.Tensor, enc: Encoded) -> dict[str, torch.Tensor]:
        return {}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> "Autoencoder":
        """diffusers' loader, refusing a folder that holds another family (it would load with random weights)."""
        name = saved_class_name(pretrained_model_name_or_path)
        if cls is not Autoencoder and name != cls.__name__:
            raise MdaugError(f"{pretrained_model_name_or_path} holds a {name}, not a {cls.__name__}; "
                             "load it with mdaug.models.load_autoencoder")
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)


class QuantizedAutoencoder(Autoencoder):
    """Base of the families with a learned codebook (vq, rq): the quantizer's commitment term, already
    weighted by commitment_weight, is the regularisation loss of the last forward pass."""

    _commitment: torch.Tensor | None = None

    @property
    def codebook_size(self) -> int:
        return int(self.config.codebook_size)

    def reg_losses(self, x: torch.Tensor, enc: Encoded) -> dict[str, torch.Tensor]:
        return {"commitment": self._commitment}


def saved_config(folder: str | Path) -> tuple[str | None, dict]:
    """(`_class_name`, the settings without diffusers' own underscored keys) of a save_pretrained folder's
    config.json; the one place that reads that file's keys."""
    saved = json.loads((Path(folder) / "config.json").read_text())
    return saved.get("_class_name"), {k: v for k, v in saved.items() if not k.startswith("_")}


def saved_class_name(folder: str | Path) -> str:
    """The `_class_name` in a save_pretrained folder's config.json, with one-line errors."""
    path = Path(folder) / "config.json"
    if not path.is_file():
        raise MdaugError(f"{folder} is not a saved model (no config.json)")
    try:
        data = json.loads(path.read_text())
        return str(data["_class_name"])
    except (OSError, ValueError, KeyError, TypeError):
        raise MdaugError(f"{path} is not a readable model config") from None


def fp32(device: torch.device) -> torch.autocast:
    """A context with autocast off: quantizers compare distances in fp32 whatever the mixed precision."""
    return torch.autocast(device_type=device.type, enabled=False)
