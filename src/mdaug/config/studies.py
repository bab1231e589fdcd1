"""Measurement budgets: latent-space diagnostics and the downstream-utility study."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from mdaug.config.section import Section


class DiagnoseConfig(Section):
    """Budgets of the latent-health measurements (`mdaug diagnose`)."""

    knn_k: int = Field(10, ge=1)
    """Neighbours per sample for the class agreement of latent neighbourhoods."""
    probe_steps: int = Field(100, ge=1)
    """L-BFGS iterations of the linear class probe."""
    pairs: int = Field(16, ge=1)
    """Same-class and different-class pairs whose interpolations are decoded."""
    diffusability_steps: int = Field(150, ge=1)
    """Training steps of the small latent denoiser of the diffusability probe."""


class UtilityConfig(Section):
    """Downstream utility (`mdaug utility`): does adding synthetic samples raise a recogniser's accuracy on
    held-out real data? At each real-data budget the generative models are trained on that budget only."""

    budgets: tuple[int | Literal["all"], ...] = (5, 10, 20, "all")
    """Real training samples per class; 'all' = the whole training split."""
    seeds: int = Field(2, ge=1, le=20)
    """Repeats per budget: each draws other real samples and other seeds for every model (at 'all' the repeats
    share one pair of generative models, there being no other real samples to draw, and differ in the synthetic
    samples and the recognisers' seeds)."""
    synthetic_per_class: int = Field(50, ge=1)
    """Synthetic samples per class added to (or, for TSTR, replacing) the real ones."""
    generator: Literal["ldm", "prior"] = "ldm"
    """The stage-2 model that makes the synthetic data."""


