"""GAN losses for the PatchGAN discriminator and the regularisers that keep it sane on small datasets."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def d_hinge(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Hinge loss of the discriminator (Lim & Ye 2017): mean relu(1 - D(x)) + relu(1 + D(G(z))), halved."""
    loss = 0.5 * (F.relu(1.0 - logits_real).mean() + F.relu(1.0 + logits_fake).mean())
    return loss, {"d_loss": loss.item(), "logits_real": logits_real.mean().item(),
                  "logits_fake": logits_fake.mean().item()}


def d_non_saturating(logits_real: torch.Tensor, logits_fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Non-saturating (logistic) discriminator loss (Goodfellow et al. 2014): softplus(-D(x)) + softplus(D(G(z)))."""
    loss = 0.5 * (F.softplus(-logits_real).mean() + F.softplus(logits_fake).mean())
    return loss, {"d_loss": loss.item(), "logits_real": logits_real.mean().item(),
                  "logits_fake": logits_fake.mean().item()}


def g_hinge(logits_fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Generator side of the hinge loss: -mean D(G(z))."""
    loss = -logits_fake.mean()
    return loss, {"g_adv": loss.item()}


def g_non_saturating(logits_fake: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Generator side of the non-saturating loss: softplus(-D(G(z)))."""
    loss = F.softplus(-logits_fake).mean()
    return loss, {"g_adv": loss.item()}


def adaptive_weight(rec_loss: torch.Tensor, adv_loss: torch.Tensor, last_layer: torch.Tensor,
                    max_weight: float = 1e4) -> torch.Tensor:
    """||grad rec|| / ||grad adv|| at the decoder's last layer (Esser et al. 2021, eq. 7), detached: the
    adversarial term then pushes the decoder as hard as the reconstruction term does."""
    g_rec = torch.autograd.grad(rec_loss, last_layer, retain_graph=True)[0]
    g_adv = torch.autograd.grad(adv_loss, last_layer, retain_graph=True)[0]
    return (g_rec.norm() / (g_adv.norm() + 1e-4)).clamp(0.0, max_weight).detach()


def r1_penalty(logits_real: torch.Tensor, x_real: torch.Tensor) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E ||grad_x D(x)||^2 on real data; x_real must require grad."""
    (grad,) = torch.autograd.grad(logits_real.sum(), x_real, create_graph=True)
    return grad.square().flatten(1).sum(1).mean()


def lecam_penalty(logits_real: torch.Tensor, logits_fake: torch.Tensor, ema_real: float,
                  ema_fake: float) -> torch.Tensor:
    """LeCam regulariser (Tseng et al. 2021): ||relu(D(x) - ema_fake)||^2 + ||relu(ema_real - D(G(z)))||^2,
    where the EMAs of the mean logits are kept by the caller."""
    return F.relu(logits_real - ema_fake).square().mean() + F.relu(ema_real - logits_fake).square().mean()
