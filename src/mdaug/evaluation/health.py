"""Latent health accumulated over whole epochs (a batch sees too few samples to call a code dead).

Quantized families: code usage histograms overall, per class and (rq) per level -> usage %, perplexity,
dead codes. kl: per-unit sums of the posterior mean and its square (active units, Burda et al. 2016),
per-channel posterior std, variance and KL (variance collapse shows as std -> 0 with a large KL; a noise-dominated
latent as a posterior variance as large as the spread of the means: a low latent SNR)."""

from __future__ import annotations

import math

import torch

from mdaug.evaluation.record_parts import LatentStats
from mdaug.models import Autoencoder, Encoded, KLAutoencoder


class HealthAccumulator:
    def __init__(self, model: Autoencoder, num_classes: int, latent_hw: tuple[int, int]) -> None:
        self.kind = "kl" if isinstance(model, KLAutoencoder) else "codes" if hasattr(model, "codebook_size") else "none"
        self.num_classes = num_classes
        c = int(model.latent_shape(latent_hw)[0])
        if self.kind == "none":  # the pixel-space control: nothing to measure
            self.buffers = {}
        elif self.kind == "codes":
            levels = int(getattr(model.config, "num_quantizers", 1) or 1) if model.family == "rq" else 1
            self.codebook_size = model.codebook_size
            self.buffers = {"hist": torch.zeros(levels, self.codebook_size, dtype=torch.float64),
                            "class_hist": torch.zeros(num_classes, self.codebook_size, dtype=torch.float64)}
        else:
            self.buffers = {"sum_mean": torch.zeros(c, *latent_hw, dtype=torch.float64),
                            "sum_mean_sq": torch.zeros(c, *latent_hw, dtype=torch.float64),
                            "sum_std": torch.zeros(c, dtype=torch.float64),
                            "sum_var": torch.zeros(c, dtype=torch.float64),
                            "sum_kl": torch.zeros(c, dtype=torch.float64)}
        self.buffers["count"] = torch.zeros(1, dtype=torch.float64)

    def reset(self) -> None:
        for v in self.buffers.values():
            v.zero_()

    @torch.no_grad()
    def update(self, enc: Encoded, labels: torch.Tensor) -> None:
        b = self.buffers
        b["count"] += labels.shape[0]
        if self.kind == "none":
            return
        if self.kind == "codes":
            idx = enc.indices.detach().to("cpu").long()
            idx = idx.reshape(idx.shape[0], -1, idx.shape[-1] if idx.ndim == 4 else 1)  # (batch, positions, levels)
            for lev in range(idx.shape[-1]):
                b["hist"][lev] += torch.bincount(idx[..., lev].reshape(-1), minlength=self.codebook_size).double()
            first = idx[..., 0]  # per-class histograms of the first level (the coarse codes)
            flat = labels.to("cpu").long()[:, None] * self.codebook_size + first
            b["class_hist"] += torch.bincount(flat.reshape(-1), minlength=self.num_classes * self.codebook_size
                                              ).double().view(self.num_classes, -1)
        else:
            from mdaug.losses.kl import gaussian_kl

            mean, logvar = enc.mean.detach().float().cpu(), enc.logvar.detach().float().cpu()
            b["sum_mean"] += mean.sum(0).double()
            b["sum_mean_sq"] += mean.square().sum(0).double()
            b["sum_std"] += torch.exp(0.5 * logvar).mean(dim=(2, 3)).sum(0).double()
            b["sum_var"] += torch.exp(logvar).mean(dim=(2, 3)).sum(0).double()
            b["sum_kl"] += gaussian_kl(mean, logvar).mean(dim=(2, 3)).sum(0).double()

    def stats(self) -> LatentStats:
        """The statistics of the samples seen (none before any, or for the pixel-space control)."""
        b = self.buffers
        n = float(b["count"].item())
        if n == 0 or self.kind == "none":
            return LatentStats()
        if self.kind == "codes":
            return codebook_stats(b["hist"])
        return posterior_stats(b["sum_mean"] / n, b["sum_mean_sq"] / n, b["sum_std"] / n, b["sum_kl"] / n,
                               b["sum_var"] / n)

    def summary(self) -> dict[str, float | list[float]]:
        """Scalars for the logs (and lists per level/channel)."""
        return self.stats().model_dump(exclude_none=True)

    @property
    def class_code_hist(self) -> list[list[float]] | None:
        """Code families: per class, how often each code of the first level was used."""
        return self.buffers["class_hist"].tolist() if self.kind == "codes" else None


def codebook_stats(hist: torch.Tensor) -> LatentStats:
    """hist: (levels, codebook_size) counts. Usage % (codes used at least once), perplexity exp(H) of the
    code distribution, dead codes (never used); means over levels plus the per-level lists."""
    hist = hist.double()
    p = hist / hist.sum(dim=1, keepdim=True).clamp_min(1)
    entropy = -(p * p.clamp_min(1e-30).log()).sum(dim=1)
    used = (hist > 0).sum(dim=1).double()
    k = hist.shape[1]
    levels = hist.shape[0] > 1
    return LatentStats(
        codebook_usage_pct=float(100 * used.mean() / k), perplexity=float(entropy.exp().mean()),
        dead_codes=float(k - used.mean()), code_entropy_bits=float(entropy.mean() / math.log(2)),
        usage_pct_per_level=[float(100 * u / k) for u in used] if levels else None,
        entropy_bits_per_level=[float(e / math.log(2)) for e in entropy] if levels else None)


def posterior_stats(mean_mean: torch.Tensor, mean_sq: torch.Tensor, mean_std: torch.Tensor, mean_kl: torch.Tensor,
                    mean_var: torch.Tensor, active_threshold: float = 0.01) -> LatentStats:
    """From per-unit E[mu] and E[mu^2] over the data, per-channel mean posterior std, variance and KL: active
    units are latent units whose posterior mean varies across inputs by more than `active_threshold` (Burda et al.
    2016); the latent SNR of a channel is the variance of its posterior means across inputs (the signal) over its
    mean posterior variance (the noise that every draw z ~ q(z|x) adds, and stage 2 must model too)."""
    var = (mean_sq - mean_mean.square()).clamp_min(0)  # (channels, h, w): Var_x E[z | x]
    active = var > active_threshold
    snr = var.mean(dim=(1, 2)) / mean_var.clamp_min(1e-12)  # (channels,)
    return LatentStats(active_units_pct=float(100 * active.double().mean()),
                       latent_snr_per_channel=[float(v) for v in snr], latent_snr_min=float(snr.min()),
                       active_units_per_channel_pct=[float(100 * a.double().mean()) for a in active],
                       posterior_std_per_channel=[float(s) for s in mean_std],
                       kl_per_channel=[float(k) for k in mean_kl],
                       posterior_std_min=float(mean_std.min()), kl_total_per_element=float(mean_kl.mean()))
