"""Training loops (Hugging Face Accelerate): one section per stage, the same keys with defaults of their own."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from mdaug.config.section import Section


class TrainConfig(Section):
    """One training loop (Hugging Face Accelerate): optimisation, precision, logging and checkpoints."""

    steps: int = Field(300, ge=1)
    """Optimizer steps (each one batch_size x grad_accum samples, per process)."""
    batch_size: int = Field(16, ge=1)
    lr: float = Field(2e-4, gt=0)
    betas: tuple[float, float] = (0.5, 0.9)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(0, ge=0)
    """Linear learning-rate warm-up."""
    lr_schedule: Literal["constant", "cosine"] = "constant"
    grad_accum: int = Field(1, ge=1)
    grad_clip: float | None = Field(1.0, gt=0)
    ema_decay: float | None = Field(0.999, gt=0, lt=1)
    """Weight EMA of the model (None: off); the EMA weights are the ones saved in final/."""
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    """Autocast precision; quantizers always run in fp32. fp16 needs a GPU."""
    seed: int = 0
    log_every: int = Field(10, ge=1)
    image_every: int = Field(100, ge=1)
    """Write a reconstruction grid PNG every this many steps."""
    checkpoint_every: int = Field(100, ge=1)
    keep_checkpoints: int = Field(3, ge=1)
    on_nan: Literal["stop", "skip"] = "stop"
    """A NaN/inf loss stops the run naming the step and the last good checkpoint, or skips the batch."""

    @field_validator("mixed_precision", mode="before")
    @classmethod
    def _no(cls, v: Any) -> Any:
        return "no" if v is False else v  # YAML reads a bare `no` as false

    @field_validator("betas")
    @classmethod
    def _betas(cls, v: tuple[float, float]) -> tuple[float, float]:
        if not all(0 <= b < 1 for b in v):
            raise ValueError("betas must be in [0, 1)")
        return v


class AutoencoderTrainConfig(TrainConfig):
    """Stage 1's training loop."""

    finetune_lr: float | None = Field(2e-4, gt=0)
    """Learning rate when stage 1 starts from trained weights (ae.init: a shipped model or another run): smaller
    steps keep what the start knows. None: lr either way."""


class RecognizerTrainConfig(TrainConfig):
    """The recogniser's training loop: the same keys, with defaults for a classifier."""

    steps: int = Field(600, ge=1)
    batch_size: int = Field(64, ge=2)
    """At least 2: the recogniser's BatchNorm needs two samples per batch."""
    lr: float = Field(3e-3, gt=0)
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(1e-4, ge=0)
    warmup_steps: int = Field(30, ge=0)
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    label_smoothing: float = Field(0.1, ge=0, lt=1)
    """Cross-entropy label smoothing."""
    ema_decay: float | None = Field(None, gt=0, lt=1)
    grad_clip: float | None = Field(None, gt=0)
    seed: int = 1
    """Seed of the 'eval' recogniser; the 'loss' one uses seed + 1000."""
    checkpoint_every: int = Field(200, ge=1)
    synthetic_weight: float = Field(1.0, ge=0)
    """Loss weight of synthetic training samples (ids synthetic/...) against 1 for real ones."""
    synthetic_share: float | None = Field(None, gt=0, lt=1)
    """Share of every batch drawn from the synthetic samples (None: as they fall in one shuffled pool)."""
    synthetic_pretrain_steps: int = Field(0, ge=0)
    """Train on the synthetic samples alone for this many steps, then on the real ones alone (pretrain on synthetic,
    fine-tune on real); 0 mixes them throughout."""


class Stage2TrainConfig(TrainConfig):
    """The stage-2 training loop (latent diffusion or code prior) on cached latents."""

    steps: int = Field(2000, ge=1)
    batch_size: int = Field(64, ge=1)
    lr: float = Field(4e-4, gt=0)
    finetune_lr: float | None = Field(1e-4, gt=0)
    """Learning rate when stage 2 starts from trained weights (ldm.init, prior.init). None: lr either way."""
    class_lr: float | None = Field(0.1, gt=0)
    """Learning rate of the class-embedding table when stage 2 starts from trained weights: its rows for your
    classes start from 'no class' and have everything to learn, while the rest only adapts (None: finetune_lr)."""
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = Field(0.0, ge=0)
    warmup_steps: int = Field(100, ge=0)
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    ema_decay: float | None = Field(0.999, gt=0, lt=1)
    image_every: int = Field(500, ge=1)
    """Write a sample grid (one row per class) every this many steps."""
    checkpoint_every: int = Field(500, ge=1)


