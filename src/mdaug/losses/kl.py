"""KL divergence of a diagonal Gaussian posterior from N(0, I), and its annealing schedule."""

from __future__ import annotations

import torch


def gaussian_kl(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """Elementwise KL(N(mean, exp(logvar)) || N(0, 1)) in nats, same shape as mean."""
    mean, logvar = mean.float(), logvar.float()
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)


def kl_loss(mean: torch.Tensor, logvar: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Mean KL per latent element, and the KL per channel (nats per element) in the logs."""
    kl = gaussian_kl(mean, logvar)
    per_channel = kl.mean(dim=(0, 2, 3))
    return kl.mean(), {"kl": kl.mean().item()} | {f"kl_ch{i}": v.item() for i, v in enumerate(per_channel)}


def kl_weight_at(step: int, weight: float, anneal_steps: int) -> float:
    """Linear KL warm-up (Bowman et al. 2016): 0 at step 0, `weight` from `anneal_steps` on."""
    if anneal_steps <= 0:
        return weight
    return weight * min(1.0, step / anneal_steps)
