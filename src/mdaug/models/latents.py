"""Stage 2's view of a stage-1 model: latents as tensors, and the statistics that normalise them (per-channel mean
and one scale, from the whole training set, stored with every stage-2 model and read back before decoding)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from mdaug.errors import MdaugError


@dataclass
class LatentSet:
    latents: torch.Tensor
    """(n, channels, h, w) float32: the quantized vectors (code families) or the posterior mean (kl)."""
    labels: torch.Tensor
    """(n,) int64 class indices."""
    rows: torch.Tensor
    """(n,) int64: each latent's row in the dataset (which real files stage 2 saw)."""
    logvar: torch.Tensor | None = None
    """kl: the posterior log-variance, so that training draws z ~ q(z|x) rather than always the mean."""
    indices: torch.Tensor | None = None
    """Code families: (n, h, w) code indices, or (n, h, w, levels) for rq."""

    def __len__(self) -> int:
        return int(self.latents.shape[0])


@dataclass
class LatentStats:
    shift: torch.Tensor
    """(channels,) mean of each latent channel over the whole training set."""
    scale: float
    """1 / the standard deviation of the shifted latents: normalised = (z - shift) * scale has unit variance."""

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.shift.to(z.device).view(1, -1, 1, 1)) * self.scale

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.scale + self.shift.to(z.device).view(1, -1, 1, 1)

    def to_json(self) -> dict:
        return {"shift": [float(v) for v in self.shift], "scale": float(self.scale)}

    @classmethod
    def from_json(cls, d: dict) -> "LatentStats":
        return cls(shift=torch.tensor(d["shift"], dtype=torch.float32), scale=float(d["scale"]))


def latent_stats(latents: torch.Tensor, logvar: torch.Tensor | None = None) -> LatentStats:
    """Per-channel mean and the global scale over all of `latents` (n, c, h, w). With a posterior (kl) the
    variance is that of z ~ q(z|x): the spread of the means plus the mean posterior variance, exactly."""
    z = latents.double()
    shift = z.mean(dim=(0, 2, 3))
    var = ((z - shift.view(1, -1, 1, 1)) ** 2).mean()
    if logvar is not None:
        var = var + logvar.double().exp().mean()
    if not torch.isfinite(var) or var <= 0:
        raise MdaugError("the stage-1 latents have no variance (all equal): the autoencoder's latent space has "
                         "collapsed; run `mdaug eval-ae` on it")
    return LatentStats(shift=shift.float(), scale=float(var.rsqrt()))


__all__ = ["LatentSet", "LatentStats", "latent_stats"]
