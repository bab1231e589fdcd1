"""Pure loss functions: each returns (loss, logs) or a tensor, and holds no state. Weights, schedules and
which terms are on belong to the training step (mdaug.training)."""

from mdaug.losses.adversarial import (
    adaptive_weight,
    d_hinge,
    d_non_saturating,
    g_hinge,
    g_non_saturating,
    lecam_penalty,
    r1_penalty,
)
from mdaug.losses.kl import gaussian_kl, kl_loss, kl_weight_at
from mdaug.losses.perceptual import perceptual_loss
from mdaug.losses.reconstruction import reconstruction_loss, spectral_loss

__all__ = ["adaptive_weight", "d_hinge", "d_non_saturating", "g_hinge", "g_non_saturating", "gaussian_kl", "kl_loss",
           "kl_weight_at", "lecam_penalty", "perceptual_loss", "r1_penalty", "reconstruction_loss", "spectral_loss"]
