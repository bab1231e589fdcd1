"""Generate spectrograms with a trained stage-2 model: load it with its stage-1 model (checked by identity),
sample normalised latents (diffusion) or code indices (prior) for chosen classes, decode with stage 1."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mdaug.errors import MdaugError
from mdaug.models import load_strict
from mdaug.models.pretrained import PretrainedAutoencoder, load_pretrained_autoencoder
from mdaug.training.latents import LatentStats, autoencoder_identity

KINDS = ("ldm", "prior")


@dataclass
class SampleSettings:
    steps: int
    guidance_scale: float
    sampler: str = "dpm++"
    """ldm only."""
    temperature: float = 1.0
    """prior only."""

    def as_dict(self, kind: str) -> dict[str, Any]:
        d = {"steps": self.steps, "guidance_scale": self.guidance_scale}
        return d | ({"sampler": self.sampler} if kind == "ldm" else {"temperature": self.temperature})


@dataclass
class Stage2Model:
    model: torch.nn.Module
    kind: str
    """'ldm' (latent diffusion) or 'prior' (code prior)."""
    autoencoder: PretrainedAutoencoder
    stats: LatentStats
    class_names: list[str]
    meta: dict[str, Any] = field(default_factory=dict)
    folder: Path = Path(".")

    def default_settings(self) -> SampleSettings:
        s = self.meta["sampling"]
        return SampleSettings(steps=s["steps"], guidance_scale=s["guidance_scale"], sampler=s.get("sampler", "dpm++"),
                              temperature=s.get("temperature", 1.0))


def class_indices(wanted: list[str] | None, class_names: list[str]) -> list[int]:
    """Class names (or indices as text) -> indices; None or ['all'] -> every class. Unknown ones are an error."""
    if not wanted or wanted == ["all"]:
        return list(range(len(class_names)))
    out = []
    for w in wanted:
        if w in class_names:
            out.append(class_names.index(w))
        elif w.isdigit() and int(w) < len(class_names):
            out.append(int(w))
        else:
            shown = ", ".join(class_names[:6]) + (", ..." if len(class_names) > 6 else "")
            raise MdaugError(f"no class '{w}' in this model (classes: {shown}; or an index 0..{len(class_names) - 1})")
    return out


def check_settings(kind: str, s: SampleSettings, max_steps: int) -> None:
    if not 1 <= s.steps <= max_steps:
        raise MdaugError(f"steps must be between 1 and {max_steps}, not {s.steps}")
    if not 0 <= s.guidance_scale <= 20:
        raise MdaugError(f"guidance must be between 0 and 20, not {s.guidance_scale}")
    if kind == "ldm":
        from mdaug.models.ldm import SAMPLERS

        if s.sampler not in SAMPLERS:
            raise MdaugError(f"unknown sampler '{s.sampler}' (choose from {', '.join(SAMPLERS)})")
    elif not 0 < s.temperature <= 10:
        raise MdaugError(f"temperature must be in (0, 10], not {s.temperature}")


@torch.no_grad()
def sample_images(model: torch.nn.Module, kind: str, autoencoder: torch.nn.Module, stats: LatentStats,
                  labels: torch.Tensor, settings: SampleSettings, generator: torch.Generator | None = None) -> torch.Tensor:
    """Spectrograms (batch, channels, H, W) in [-1, 1] for `labels` (on the models' device)."""
    if kind == "ldm":
        z = model.sample(labels, steps=settings.steps, guidance_scale=settings.guidance_scale, sampler=settings.sampler,
                         generator=generator)
        latents = stats.denormalise(z.float())
    else:
        idx = model.sample(labels, steps=settings.steps, guidance_scale=settings.guidance_scale,
                           temperature=settings.temperature, generator=generator)
        latents = autoencoder.latents_from_indices(idx)
    return autoencoder.decode(latents).float().clamp(-1, 1)


def generate(s2: Stage2Model, labels: list[int] | np.ndarray, settings: SampleSettings, *, seed: int = 0,
             batch_size: int = 64, device: torch.device | str | None = None, progress: bool = False) -> np.ndarray:
    """Spectrograms (n, channels, H, W) float32 in [-1, 1] for `labels`, batch by batch; batch b draws its
    noise from a generator seeded with seed + b, so a sample depends only on (seed, its position)."""
    check_settings(s2.kind, settings, s2.model.config.get("num_train_timesteps", 256))
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    s2.model.to(device).eval()
    s2.autoencoder.model.to(device).eval()
    labels = np.asarray(labels, dtype=np.int64)
    out = []
    batches = range(0, len(labels), batch_size)
    if progress:
        from tqdm.auto import tqdm

        batches = tqdm(batches, desc="sample", unit="batch")
    for b, i in enumerate(batches):
        g = torch.Generator(device=device).manual_seed(seed + b)
        y = torch.from_numpy(labels[i:i + batch_size]).to(device)
        out.append(sample_images(s2.model, s2.kind, s2.autoencoder.model, s2.stats, y, settings, g).cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, *s2.autoencoder.input_shape), np.float32)


def load_stage2(folder: str | Path, autoencoder: str | Path | None = None) -> Stage2Model:
    """A stage-2 run (or its final/ folder) with the stage-1 model it was trained on: the recorded path, or
    `autoencoder` when the run was moved. The stage-1 weights must be the very ones (SHA-256)."""
    folder = Path(folder)
    if (folder / "final" / "mdaug.json").exists():
        folder = folder / "final"
    try:
        meta = json.loads((folder / "mdaug.json").read_text())
    except FileNotFoundError:
        raise MdaugError(f"{folder} is not a finished stage-2 model (no mdaug.json); train it with `mdaug train-ldm` "
                         "or `mdaug train-prior`") from None
    except (OSError, ValueError):
        raise MdaugError(f"{folder}/mdaug.json is unreadable") from None
    if meta.get("kind") not in KINDS:
        raise MdaugError(f"{folder} holds a {meta.get('kind')}, not a stage-2 model (ldm or prior)")
    rec = meta["autoencoder"]
    ae_path = Path(autoencoder or rec["path"])
    if not ae_path.exists():
        raise MdaugError(f"the stage-1 model {ae_path} is gone; point to it with --ae PATH")
    pre = load_pretrained_autoencoder(ae_path)
    found = autoencoder_identity(pre.folder)
    if found != rec["identity"]:
        raise MdaugError(f"{pre.folder} is not the stage-1 model this {meta['kind']} was trained on (weights "
                         f"{found[:12]}, expected {rec['identity'][:12]}); use the stage-1 run it was trained with")
    if meta["kind"] == "ldm":
        from mdaug.models.ldm import LatentDiffusion

        model = load_strict(LatentDiffusion, folder)
    else:
        from mdaug.models.code_prior import CodePrior

        model = load_strict(CodePrior, folder)
    return Stage2Model(model=model.eval(), kind=meta["kind"], autoencoder=pre, stats=LatentStats.from_json(meta["latent_stats"]),
                       class_names=list(meta["class_names"]), meta=meta, folder=folder)


__all__ = ["KINDS", "SampleSettings", "Stage2Model", "check_settings", "class_indices", "generate", "load_stage2",
           "sample_images"]
