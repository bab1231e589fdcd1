"""Class-conditional latent diffusion (Rombach et al. 2022): diffusers' UNet2DModel with a class embedding,
trained with label dropout so that one network gives both the conditional and the unconditional prediction
for classifier-free guidance (Ho & Salimans 2022). The noise schedule lives in the model's config, and the
samplers (DDPM, DDIM, DPM-Solver++) are diffusers schedulers built from it, never clipping samples:
latents are not bounded like pixels.

With `conditions` (ConditionSpec.to_json() each; mdaug.models.conditioning), the class embedding also takes the
recording's conditions, each dropped on its own in training, so that any subset of them can be asked; guidance is
on the person at the conditions asked (the unconditional branch keeps them and drops the person)."""

from __future__ import annotations

from typing import Any, Literal

import torch
import torch.nn.functional as F
from diffusers import ConfigMixin, DDIMScheduler, DDPMScheduler, DPMSolverMultistepScheduler, ModelMixin, UNet2DModel
from diffusers.configuration_utils import register_to_config

from mdaug.models.conditioning import ConditionedEmbedding, ConditionSpec, drop_conditions

Sampler = Literal["ddpm", "ddim", "dpm++"]
SAMPLERS: tuple[str, ...] = ("ddpm", "ddim", "dpm++")


class LatentDiffusion(ModelMixin, ConfigMixin):
    @register_to_config
    def __init__(self, *, latent_channels: int = 4, grid: tuple[int, int] = (16, 16), num_classes: int = 2,
                 block_out_channels: tuple[int, ...] = (64, 128, 128), layers_per_block: int = 1,
                 attention: tuple[bool, ...] = (False, True, True), norm_num_groups: int = 32,
                 num_train_timesteps: int = 1000, beta_schedule: str = "squaredcos_cap_v2",
                 prediction_type: str = "v_prediction", cond_drop_prob: float = 0.1,
                 conditions: list[dict[str, Any]] | None = None, condition_drop_prob: float = 0.2,
                 condition_drop_all: float = 0.2, person_features: int = 0) -> None:
        super().__init__()
        assert num_classes >= 1, "num_classes must be positive"
        assert len(attention) == len(block_out_channels), "one attention flag per level"
        assert 0 <= cond_drop_prob < 1, "cond_drop_prob must be in [0, 1)"
        self.unet = UNet2DModel(
            sample_size=tuple(grid), in_channels=latent_channels, out_channels=latent_channels,
            block_out_channels=tuple(block_out_channels), layers_per_block=layers_per_block,
            down_block_types=tuple("AttnDownBlock2D" if a else "DownBlock2D" for a in attention),
            up_block_types=tuple("AttnUpBlock2D" if a else "UpBlock2D" for a in reversed(attention)),
            norm_num_groups=norm_num_groups, num_class_embeds=num_classes + 1,
            attention_head_dim=min(32, min(block_out_channels)))  # heads of at most 32 channels, at least one
        self.specs = [ConditionSpec.from_json(d) for d in conditions or []]
        if self.specs or person_features:
            table = self.unet.class_embedding
            self.unet.class_embedding = ConditionedEmbedding(table.num_embeddings, table.embedding_dim, self.specs,
                                                             person_features)
        self._train_scheduler = self.scheduler("ddpm")

    def set_person_features(self, features: torch.Tensor) -> None:
        """Each class's identity features (num_classes, person_features): see ConditionedEmbedding."""
        emb = self.unet.class_embedding
        if not getattr(emb, "person", None):
            raise ValueError("this model takes no identity features (person_features=0)")
        if features.shape != (self.config.num_classes, emb.person_features.shape[1]):
            raise ValueError(f"identity features must be ({self.config.num_classes}, {emb.person_features.shape[1]}), "
                             f"not {tuple(features.shape)}")
        with torch.no_grad():
            emb.person_features[:-1] = features.to(emb.person_features)
            emb.person_features[-1] = 0

    @property
    def condition_names(self) -> list[str]:
        return [s.name for s in self.specs]

    def pack(self, labels: torch.Tensor, conditions: torch.Tensor | None) -> torch.Tensor:
        """What the class embedding takes: the labels alone for a model without conditions; else (batch, 1 + K)
        floats, the label then each condition (NaN, unknown, where `conditions` is None)."""
        if not self.specs:
            if conditions is not None and conditions.shape[-1]:
                raise ValueError("this model takes no conditions")
            return labels
        if conditions is None:
            conditions = torch.full((labels.shape[0], len(self.specs)), float("nan"), device=labels.device)
        if conditions.shape != (labels.shape[0], len(self.specs)):
            raise ValueError(f"conditions must be (batch, {len(self.specs)}), not {tuple(conditions.shape)}")
        return torch.cat([labels.float()[:, None], conditions.to(labels.device).float()], dim=1)

    @property
    def null_class(self) -> int:
        """The class index that means 'no class' (the unconditional branch of guidance)."""
        return int(self.config.num_classes)

    def scheduler(self, sampler: Sampler) -> DDPMScheduler | DDIMScheduler | DPMSolverMultistepScheduler:
        """A fresh diffusers scheduler with this model's noise schedule and prediction type."""
        c = self.config
        common = {"num_train_timesteps": c.num_train_timesteps, "beta_schedule": c.beta_schedule,
                  "prediction_type": c.prediction_type}
        if sampler == "ddpm":
            return DDPMScheduler(**common, clip_sample=False)
        if sampler == "ddim":
            return DDIMScheduler(**common, clip_sample=False, set_alpha_to_one=False)
        if sampler == "dpm++":
            return DPMSolverMultistepScheduler(**common, algorithm_type="dpmsolver++", solver_order=2,
                                               thresholding=False)
        raise ValueError(f"unknown sampler '{sampler}' (choose from {', '.join(SAMPLERS)})")

    def drop_labels(self, labels: torch.Tensor) -> torch.Tensor:
        """Training only: each label becomes the null class with probability cond_drop_prob."""
        if not self.training or self.config.cond_drop_prob == 0:
            return labels
        drop = torch.rand(labels.shape, device=labels.device) < self.config.cond_drop_prob
        return torch.where(drop, torch.full_like(labels, self.null_class), labels)

    def drop_conditions(self, conditions: torch.Tensor | None) -> torch.Tensor | None:
        """Training only: conditions made unknown, each on its own and now and then all of a sample's at once."""
        if not self.training or conditions is None:
            return conditions
        c = self.config
        return drop_conditions(conditions, c.condition_drop_prob, c.condition_drop_all)

    def forward(self, latents: torch.Tensor, timesteps: torch.Tensor, labels: torch.Tensor,
                conditions: torch.Tensor | None = None) -> torch.Tensor:
        return self.unet(latents, timesteps, class_labels=self.pack(labels, conditions)).sample

    def training_loss(self, latents: torch.Tensor, labels: torch.Tensor, *, net: torch.nn.Module | None = None,
                      conditions: torch.Tensor | None = None) -> tuple[torch.Tensor, dict[str, float]]:
        """MSE of the prediction (noise or v) at uniformly drawn timesteps; randomness from the global RNG,
        which the trainer's checkpoints restore. `net`: this model as wrapped for distributed training (its
        forward must be the one called, so that gradients are synchronised)."""
        sched = self._train_scheduler
        noise = torch.randn_like(latents)
        t = torch.randint(0, self.config.num_train_timesteps, (latents.shape[0],), device=latents.device)
        noisy = sched.add_noise(latents, noise, t)
        target = noise if self.config.prediction_type == "epsilon" else sched.get_velocity(latents, noise, t)
        pred = (net or self)(noisy, t, self.drop_labels(labels), self.drop_conditions(conditions))
        loss = F.mse_loss(pred.float(), target.float())
        return loss, {"mse": loss.item()}

    @torch.no_grad()
    def sample(self, labels: torch.Tensor, *, steps: int = 25, guidance_scale: float = 2.0, sampler: Sampler = "dpm++",
               generator: torch.Generator | None = None, init: torch.Tensor | None = None,
               strength: float = 1.0, conditions: torch.Tensor | None = None) -> torch.Tensor:
        """Normalised latents (batch, channels, h, w) for `labels` (and `conditions`: (batch, K) as pack takes
        them, NaN unknown), from noise drawn with `generator`; guidance on the class at those conditions. With
        `init` (normalised latents of real samples) and strength < 1, the variation of SDEdit (Meng et al. 2022): `init`
        noised to the level of the last `strength` of the sampling path, and denoised from there under `labels`
        (strength 1: from pure noise; near 0: `init` itself)."""
        if steps < 1 or steps > self.config.num_train_timesteps:
            raise ValueError(f"steps must be in 1..{self.config.num_train_timesteps}, not {steps}")
        if guidance_scale < 0:
            raise ValueError(f"guidance_scale must be >= 0, not {guidance_scale}")
        if not 0 < strength <= 1:
            raise ValueError(f"strength must be in (0, 1], not {strength}")
        sched = self.scheduler(sampler)
        sched.set_timesteps(steps, device=labels.device)
        c = self.config
        x = torch.randn((labels.shape[0], c.latent_channels, *c.grid), generator=generator,
                        device=generator.device if generator is not None else labels.device).to(labels.device)
        timesteps = sched.timesteps
        if init is None or strength >= 1:
            x = x * sched.init_noise_sigma
        else:
            start = min(int(round(len(timesteps) * (1 - strength))), len(timesteps) - 1)
            timesteps = timesteps[start:]
            x = sched.add_noise(init.to(x), x, timesteps[:1].expand(x.shape[0]))
            if hasattr(sched, "set_begin_index"):  # multistep solvers count their steps from here
                sched.set_begin_index(start)
        null = torch.full_like(labels, self.null_class)
        cond = self.pack(labels, conditions)
        # guidance on the person at the conditions asked: the unconditional branch keeps them and drops the person
        both_labels = torch.cat([cond, self.pack(null, conditions)])
        for t in timesteps:
            inp = sched.scale_model_input(x, t)
            if guidance_scale == 1:
                pred = self.unet(inp, t.expand(x.shape[0]), class_labels=cond).sample
            else:  # conditional and unconditional in one batch
                both = self.unet(torch.cat([inp, inp]), t.expand(2 * x.shape[0]), class_labels=both_labels).sample
                cond, uncond = both.chunk(2)
                pred = uncond + guidance_scale * (cond - uncond)
            x = sched.step(pred, t, x, generator=generator).prev_sample
        return x


__all__ = ["LatentDiffusion", "SAMPLERS", "Sampler"]
