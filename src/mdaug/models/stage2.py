"""The two kinds of stage-2 model behind one interface: latent diffusion ('ldm', any family) and the masked code
prior ('prior', code families). Everything that differs between them lives here, in one class each, so that the
recipe, sampling, export and the pipeline never branch on the kind:

- which config sections build and train it, and how;
- what a training batch is (normalised latents drawn from the posterior, or code indices);
- how a sample becomes latents that stage 1 decodes;
- the sampling settings it takes and how they are written down.

`STAGE2_KINDS[name]` (or `stage2_kind(name)`, which names the choices on a typo) gives the object."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from mdaug.config import Config, Stage2TrainConfig
from mdaug.errors import MdaugError
from mdaug.models.autoencoder import Autoencoder
from mdaug.models.code_prior import CodePrior
from mdaug.models.conditioning import ConditionSpec
from mdaug.models.latents import LatentSet, LatentStats
from mdaug.models.ldm import SAMPLERS, LatentDiffusion

CODE_FAMILIES = ("vq", "vqgan", "rq", "fsq")
ENCODERS = "unet.class_embedding.encoders."
"""State-dict prefix of the condition encoders (one per condition, by its index: ENCODERS + 'k.')."""
"""Stage-1 families with discrete codes, which the code prior models."""


@dataclass
class SampleSettings:
    steps: int
    guidance_scale: float
    sampler: str = "dpm++"
    """ldm only."""
    temperature: float = 1.0
    """prior only."""
    strength: float = 1.0
    """Share of the sampling path redone from a real sample (its latent noised part-way, then denoised under its
    class; the code prior re-decodes this share of its codes). 1: from pure noise, no real sample."""
    texture: bool = True
    """Give decoded samples back the noise-floor texture their stage-1 model smooths away (its card's texture,
    data/texture.py); off: the decoder's output as it is."""


class Stage2Kind(ABC):
    name: ClassVar[str]
    """'ldm' or 'prior': the card's kind, the pipeline's folder and the prefix of the config sections."""
    title: ClassVar[str]
    model_class: ClassVar[type[torch.nn.Module]]
    needs_codes: ClassVar[bool]
    """Whether it models code indices (and so needs a stage-1 family with codes)."""
    log_keys: ClassVar[tuple[str, ...]]
    """Training logs shown beside the progress bar."""

    @abstractmethod
    def train_config(self, cfg: Config) -> Stage2TrainConfig:
        """Its training section of `cfg`."""

    @abstractmethod
    def build(self, cfg: Config, latent_shape: tuple[int, int, int], autoencoder: Autoencoder,
              num_classes: int, conditions: list[ConditionSpec] | None = None) -> torch.nn.Module:
        """A fresh model for the latents of `autoencoder` (latent_shape: channels, h, w), conditioned on the class
        and on `conditions` (ldm only)."""

    @abstractmethod
    def default_settings(self, cfg: Config) -> SampleSettings:
        """Sampling settings from the config."""

    @abstractmethod
    def settings_dict(self, s: SampleSettings) -> dict[str, Any]:
        """The settings that apply to this kind, as written in cards, manifests and reports."""

    @abstractmethod
    def sampler_name(self, s: SampleSettings) -> str:
        """One word for the manifest's sampler column."""

    @abstractmethod
    def check_own_settings(self, s: SampleSettings) -> None:
        """Raise MdaugError for a setting of this kind out of range."""

    @abstractmethod
    def training_input(self, latents: LatentSet, idx: torch.Tensor, stats: LatentStats,
                       device: torch.device) -> torch.Tensor:
        """The model's training input for rows `idx` of the latent set (on `device`)."""

    @abstractmethod
    def sample_latents(self, model: torch.nn.Module, autoencoder: Autoencoder, stats: LatentStats,
                       labels: torch.Tensor, s: SampleSettings, generator: torch.Generator | None,
                       anchor: torch.Tensor | None = None, conditions: torch.Tensor | None = None) -> torch.Tensor:
        """Stage-1 latents (batch, channels, h, w) sampled for `labels` (at `conditions`: (batch, K) encoded values,
        NaN unknown), ready to decode; with `anchor` (see anchor_of) and s.strength < 1, variations of those real
        samples."""

    @staticmethod
    def condition_specs(model: torch.nn.Module) -> list[ConditionSpec]:
        """The conditions `model` takes besides the class (none for a code prior)."""
        return list(getattr(model, "specs", []))

    @abstractmethod
    def anchor_of(self, autoencoder: Autoencoder, stats: LatentStats, x: torch.Tensor) -> torch.Tensor:
        """What a variation of the real spectrograms x starts from, in this kind's space."""

    class_embedding: ClassVar[str]
    """The state-dict key of the class embedding table (num_classes + 1 rows, the last one 'no class')."""

    def load_start(self, model: torch.nn.Module, state: dict[str, torch.Tensor],
                   carry: dict[int, int] | None = None) -> None:
        """Load a trained model's weights into `model`, whose classes may be others: every class of `model` starts
        from the trained 'no class' embedding (its unconditional prediction), the rest is kept as trained. `carry`
        ({condition here: condition in the start}, mdaug.models.conditioning.carried): the condition encoders kept
        from the start; every other encoder starts new."""
        kept = {}
        for here, there in (carry or {}).items():
            prefix = f"{ENCODERS}{there}."
            kept |= {f"{ENCODERS}{here}.{k[len(prefix):]}": v for k, v in state.items() if k.startswith(prefix)}
        state = {k: v for k, v in state.items() if not k.startswith(self.users_own)} | kept
        own = model.state_dict()
        emb = state.get(self.class_embedding)
        if emb is None or emb.shape[1:] != own[self.class_embedding].shape[1:]:
            raise MdaugError(f"the starting stage-2 model has another architecture; set {self.name}.init=scratch")
        state[self.class_embedding] = emb[-1:].expand_as(own[self.class_embedding]).clone()
        missing = sorted(k for k in set(own) ^ set(state) if not k.startswith(self.users_own))
        bad = [k for k in own if k in state and own[k].shape != state[k].shape]
        if missing or bad:
            raise MdaugError(f"the starting stage-2 model does not fit this one ('{(missing or bad)[0]}'); set "
                             f"{self.name}.init=scratch")
        model.load_state_dict(state, strict=False)  # the condition and identity encoders (the rest is checked above)

    users_own: ClassVar[tuple[str, ...]] = (ENCODERS, "unet.class_embedding.person")
    """State-dict prefixes of the condition encoders and the identity encoder (mdaug.models.conditioning): the user's
    conditions and people, carried from a start only where `carry` names a condition the start knows (each new
    encoder ends in zeros, so the start's predictions stand)."""

    def settings_from_dict(self, d: dict[str, Any]) -> SampleSettings:
        return SampleSettings(steps=d["steps"], guidance_scale=d["guidance_scale"], sampler=d.get("sampler", "dpm++"),
                              temperature=d.get("temperature", 1.0), strength=d.get("strength", 1.0),
                              texture=d.get("texture", True))

    def with_strength(self, d: dict[str, Any], s: SampleSettings) -> dict[str, Any]:
        """A settings dict with the strength when samples are anchored (absent for pure-noise samples), and texture
        when it is off (absent when on, the default)."""
        return d | ({"strength": s.strength} if s.strength < 1 else {}) | ({} if s.texture else {"texture": False})

    def check_settings(self, s: SampleSettings, max_steps: int) -> None:
        if not 1 <= s.steps <= max_steps:
            raise MdaugError(f"steps must be between 1 and {max_steps}, not {s.steps}")
        if not 0 <= s.guidance_scale <= 20:
            raise MdaugError(f"guidance must be between 0 and 20, not {s.guidance_scale}")
        if not 0 < s.strength <= 1:
            raise MdaugError(f"strength must be in (0, 1], not {s.strength}")
        self.check_own_settings(s)

    @staticmethod
    def max_steps(model: torch.nn.Module) -> int:
        return int(model.config.get("num_train_timesteps", 256))


class LatentDiffusionKind(Stage2Kind):
    name, title, model_class, needs_codes = "ldm", "latent diffusion", LatentDiffusion, False
    class_embedding = "unet.class_embedding.weight"
    log_keys = ("loss",)

    def train_config(self, cfg: Config) -> Stage2TrainConfig:
        return cfg.ldm_train

    def build(self, cfg: Config, latent_shape: tuple[int, int, int], autoencoder: Autoencoder,
              num_classes: int, conditions: list[ConditionSpec] | None = None,
              person_features: int = 0) -> LatentDiffusion:
        c, h, w = latent_shape
        m = cfg.ldm
        return LatentDiffusion(latent_channels=c, grid=(h, w), num_classes=num_classes,
                               block_out_channels=tuple(m.block_out_channels), layers_per_block=m.layers_per_block,
                               attention=tuple(m.attention), norm_num_groups=m.norm_num_groups,
                               num_train_timesteps=m.num_train_timesteps, beta_schedule=m.beta_schedule,
                               prediction_type=m.prediction_type, cond_drop_prob=m.cond_drop_prob,
                               conditions=[s.to_json() for s in conditions or []],
                               condition_drop_prob=m.condition_drop_prob, condition_drop_all=m.condition_drop_all,
                               person_features=person_features)

    def default_settings(self, cfg: Config) -> SampleSettings:
        return SampleSettings(steps=cfg.ldm.sample_steps, guidance_scale=cfg.ldm.guidance_scale,
                              sampler=cfg.ldm.sampler)

    def settings_dict(self, s: SampleSettings) -> dict[str, Any]:
        return self.with_strength({"steps": s.steps, "guidance_scale": s.guidance_scale, "sampler": s.sampler}, s)

    def sampler_name(self, s: SampleSettings) -> str:
        return s.sampler

    def check_own_settings(self, s: SampleSettings) -> None:
        if s.sampler not in SAMPLERS:
            raise MdaugError(f"unknown sampler '{s.sampler}' (choose from {', '.join(SAMPLERS)})")

    def training_input(self, latents: LatentSet, idx: torch.Tensor, stats: LatentStats,
                       device: torch.device) -> torch.Tensor:
        z = latents.latents[idx].to(device)
        if latents.logvar is not None:  # kl: a fresh draw from the posterior
            z = z + torch.exp(0.5 * latents.logvar[idx].to(device)) * torch.randn_like(z)
        return stats.normalise(z)

    def sample_latents(self, model: torch.nn.Module, autoencoder: Autoencoder, stats: LatentStats,
                       labels: torch.Tensor, s: SampleSettings, generator: torch.Generator | None,
                       anchor: torch.Tensor | None = None, conditions: torch.Tensor | None = None) -> torch.Tensor:
        z = model.sample(labels, steps=s.steps, guidance_scale=s.guidance_scale, sampler=s.sampler, generator=generator,
                         init=anchor, strength=s.strength, conditions=conditions)
        return stats.denormalise(z.float())

    def anchor_of(self, autoencoder: Autoencoder, stats: LatentStats, x: torch.Tensor) -> torch.Tensor:
        return stats.normalise(autoencoder.encode(x, mode=True).latents.float())


class CodePriorKind(Stage2Kind):
    name, title, model_class, needs_codes = "prior", "code prior", CodePrior, True
    class_embedding = "class_embedding.weight"
    log_keys = ("loss", "masked_accuracy")

    def train_config(self, cfg: Config) -> Stage2TrainConfig:
        return cfg.prior_train

    def build(self, cfg: Config, latent_shape: tuple[int, int, int], autoencoder: Autoencoder,
              num_classes: int, conditions: list[ConditionSpec] | None = None) -> CodePrior:
        if conditions:
            raise MdaugError("the code prior takes no conditions; set ldm.conditions=[] or use latent diffusion")
        _, h, w = latent_shape
        p = cfg.prior
        levels = int(autoencoder.config.num_quantizers) if autoencoder.family == "rq" else 1
        return CodePrior(codebook_size=int(autoencoder.codebook_size), levels=levels, grid=(h, w),
                         num_classes=num_classes, dim=p.dim, depth=p.depth, heads=p.heads, dropout=p.dropout,
                         cond_drop_prob=p.cond_drop_prob)

    def default_settings(self, cfg: Config) -> SampleSettings:
        return SampleSettings(steps=cfg.prior.sample_steps, guidance_scale=cfg.prior.guidance_scale,
                              temperature=cfg.prior.temperature)

    def settings_dict(self, s: SampleSettings) -> dict[str, Any]:
        return self.with_strength({"steps": s.steps, "guidance_scale": s.guidance_scale, "temperature": s.temperature},
                                  s)

    def sampler_name(self, s: SampleSettings) -> str:
        return f"maskgit(t={s.temperature:g})"

    def check_own_settings(self, s: SampleSettings) -> None:
        if not 0 < s.temperature <= 10:
            raise MdaugError(f"temperature must be in (0, 10], not {s.temperature}")

    def training_input(self, latents: LatentSet, idx: torch.Tensor, stats: LatentStats,
                       device: torch.device) -> torch.Tensor:
        return latents.indices[idx].to(device)

    def sample_latents(self, model: torch.nn.Module, autoencoder: Autoencoder, stats: LatentStats,
                       labels: torch.Tensor, s: SampleSettings, generator: torch.Generator | None,
                       anchor: torch.Tensor | None = None, conditions: torch.Tensor | None = None) -> torch.Tensor:
        if conditions is not None and conditions.shape[-1]:
            raise MdaugError("the code prior takes no conditions; sample conditions from a latent-diffusion model")
        idx = model.sample(labels, steps=s.steps, guidance_scale=s.guidance_scale, temperature=s.temperature,
                           generator=generator, init=anchor, strength=s.strength)
        return autoencoder.latents_from_indices(idx)

    def anchor_of(self, autoencoder: Autoencoder, stats: LatentStats, x: torch.Tensor) -> torch.Tensor:
        return autoencoder.encode(x, mode=True).indices


STAGE2_KINDS: dict[str, Stage2Kind] = {k.name: k for k in (LatentDiffusionKind(), CodePriorKind())}


def stage2_kind(name: str) -> Stage2Kind:
    """The kind called `name`; an unknown name is an MdaugError naming the choices."""
    if name not in STAGE2_KINDS:
        raise MdaugError(f"unknown stage-2 kind '{name}' ({' or '.join(STAGE2_KINDS)})")
    return STAGE2_KINDS[name]


__all__ = ["CODE_FAMILIES", "STAGE2_KINDS", "CodePriorKind", "LatentDiffusionKind", "SampleSettings", "Stage2Kind",
           "stage2_kind"]
