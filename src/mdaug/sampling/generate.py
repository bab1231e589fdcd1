"""Generate spectrograms with a trained stage-2 model (see mdaug.runs.loading.load_stage2): sample latents for
chosen classes with the model's kind (diffusion or code prior) and decode them with its stage-1 model."""

from __future__ import annotations

import numpy as np
import torch

from mdaug.data.texture import restore_floor
from mdaug.errors import MdaugError
from mdaug.models.conditioning import parse_request, request_row
from mdaug.models.latents import LatentStats
from mdaug.models.stage2 import SampleSettings, Stage2Kind
from mdaug.runs.loading import Stage2Model


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


def requested_conditions(s2: Stage2Model, request: list[str] | dict[str, object] | None, n: int) -> np.ndarray | None:
    """(n, K) encoded conditions for `n` samples at one request ('speed=1.6' strings or {'speed': 1.6}; names
    without their unit are taken), checked against what the model knows; None when nothing is asked for."""
    if not request:
        return None
    specs = s2.conditions
    row = request_row(specs, parse_request(specs, request))
    return np.repeat(row[None], n, axis=0)


@torch.no_grad()
def sample_images(model: torch.nn.Module, kind: Stage2Kind, autoencoder: torch.nn.Module, stats: LatentStats,
                  labels: torch.Tensor, settings: SampleSettings, generator: torch.Generator | None = None,
                  anchors: torch.Tensor | None = None, conditions: torch.Tensor | None = None) -> torch.Tensor:
    """Spectrograms (batch, channels, H, W) in [-1, 1] for `labels` (on the models' device), as decoded (the
    texture is with_texture's); at `conditions` ((batch, K) as request_row gives them, NaN unknown; None: all
    unknown); with `anchors` (real spectrograms of those classes) and settings.strength < 1, variations of them."""
    anchor = kind.anchor_of(autoencoder, stats, anchors) if anchors is not None and settings.strength < 1 else None
    latents = kind.sample_latents(model, autoencoder, stats, labels, settings, generator, anchor, conditions)
    return autoencoder.decode(latents).float().clamp(-1, 1)


def with_texture(x: torch.Tensor, settings: SampleSettings, floor_noise: float,
                 generator: torch.Generator | None) -> torch.Tensor:
    """Decoded samples with the stage-1 model's noise-floor texture (PretrainedAutoencoder.floor_noise) when
    settings.texture is on, drawn from the batch's generator after its latents."""
    return restore_floor(x, floor_noise, generator) if settings.texture else x


def generate(s2: Stage2Model, labels: list[int] | np.ndarray, settings: SampleSettings, *, seed: int = 0,
             batch_size: int = 64, device: torch.device | str | None = None, progress: bool = False,
             anchors: np.ndarray | None = None, plain: list[np.ndarray] | None = None,
             conditions: np.ndarray | None = None) -> np.ndarray:
    """Spectrograms (n, channels, H, W) float32 in [-1, 1] for `labels`, batch by batch; batch b draws its
    noise from a generator seeded with seed + b, so a sample depends only on (seed, its position). With `anchors`
    (n real spectrograms, one per label) and settings.strength < 1, each sample is a variation of its anchor. `plain`:
    a list that receives the same samples as decoded, before the texture (for checks on the decoder's output, such as
    near-copies, which the texture's noise would hide)."""
    s2.kind.check_settings(settings, s2.max_steps)
    if (anchors is None) != (settings.strength >= 1):
        raise MdaugError("anchored sampling needs real spectrograms to start from, and strength < 1 (and only then)")
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    s2.model.to(device).eval()
    s2.autoencoder.model.to(device).eval()
    labels = np.asarray(labels, dtype=np.int64)
    specs = s2.kind.condition_specs(s2.model)
    if conditions is not None and np.asarray(conditions).shape != (len(labels), len(specs)):
        raise MdaugError(f"conditions must be one row of {len(specs)} per sample, not {np.asarray(conditions).shape}")
    out = []
    batches = range(0, len(labels), batch_size)
    if progress:
        from mdaug.progress import progress_bar

        batches = progress_bar(batches, desc="sample", unit="batch")
    for b, i in enumerate(batches):
        g = torch.Generator(device=device).manual_seed(seed + b)
        y = torch.from_numpy(labels[i:i + batch_size]).to(device)
        a = None if anchors is None else torch.from_numpy(np.asarray(anchors[i:i + batch_size], np.float32)).to(device)
        c = None if conditions is None else torch.from_numpy(np.asarray(conditions[i:i + batch_size],
                                                                         np.float32)).to(device)
        x = sample_images(s2.model, s2.kind, s2.autoencoder.model, s2.stats, y, settings, g, a, c)
        if plain is not None:
            plain.append(x.cpu().numpy())
        out.append(with_texture(x, settings, s2.autoencoder.floor_noise, g).cpu().numpy())
    if plain is not None:
        plain[:] = [np.concatenate(plain) if plain else np.zeros((0, *s2.autoencoder.input_shape), np.float32)]
    return np.concatenate(out) if out else np.zeros((0, *s2.autoencoder.input_shape), np.float32)


__all__ = ["class_indices", "generate", "requested_conditions", "sample_images", "with_texture"]
