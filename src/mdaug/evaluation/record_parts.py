"""The named parts of the evaluation records (mdaug.evaluation.records): noise floors, identity ceilings, latent
statistics, memorisation, physical statistics, sampler settings and the files an evaluation wrote. Where a JSON key
is not a Python name (a per-class number, the texture's level in a key) the part maps it, so that the files on disk
keep their keys and everything else reads fields."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, model_validator

from mdaug.evaluation.record_base import EvalRecord


class Files(EvalRecord):
    """What an evaluation wrote beside its JSON (each only where that evaluation writes it)."""

    omit_when_none = ("json_file", "figure", "grid", "confusion", "person")
    json_file: str | None = Field(None, alias="json")
    figure: str | None = None
    grid: str | None = None
    """Generation: real and generated samples of every class."""
    confusion: str | None = None
    """Generation: the identity confusion."""
    person: str | None = None
    """Conditions: one person at conditions their recordings lack."""


class FloorStats(EvalRecord):
    """The noise floor of spectrograms (mdaug.data.texture.noise_floor): bins below the 40th percentile."""

    level_db: float
    spread_db: float
    correlation_time: float
    correlation_doppler: float


TEXTURED = re.compile(r"reconstructed \+ (.+) dB texture")
"""The JSON key of the reconstructions with the noise floor's texture, which names its level."""


class NoiseFloors(EvalRecord):
    """The noise floor of real spectrograms and of their reconstructions, and of the reconstructions with the texture
    generated samples get back (when the model has one: its held-out check)."""

    omit_when_none = ("texture_db", "textured")
    real: FloorStats
    reconstructed: FloorStats
    texture_db: float | None = None
    textured: FloorStats | None = None

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        out = {}
        for key, value in data.items():
            match = TEXTURED.fullmatch(key) if isinstance(key, str) else None
            out |= {"texture_db": float(match.group(1)), "textured": value} if match else {key: value}
        return out

    def textured_name(self) -> str:
        return f"reconstructed + {self.texture_db:g} dB texture"

    def on_disk(self, data: dict[str, Any]) -> dict[str, Any]:
        textured = data.pop("textured", None)
        data.pop("texture_db", None)
        return data | ({self.textured_name(): textured} if textured is not None else {})

    def columns(self) -> dict[str, FloorStats]:
        """Name -> statistics, as the JSON names them."""
        return {"real": self.real, "reconstructed": self.reconstructed} | (
            {self.textured_name(): self.textured} if self.textured is not None else {})


class IdentityCeiling(EvalRecord):
    """How often the evaluation recogniser names the right class for real spectrograms and for their stage-1
    reconstructions, and their ratio: a generated sample cannot carry more of a class than stage 1 reconstructs."""

    real: float
    reconstructions: float
    ratio: float


class LatentStats(EvalRecord):
    """Latent health of a stage-1 model's codes (mdaug.evaluation.health.codebook_stats: code families) or posterior
    (posterior_stats: kl); none of either for the pixel-space control."""

    omit_when_none = ("codebook_usage_pct", "perplexity", "dead_codes", "code_entropy_bits", "usage_pct_per_level",
                      "entropy_bits_per_level", "active_units_pct", "latent_snr_per_channel", "latent_snr_min",
                      "active_units_per_channel_pct", "posterior_std_per_channel", "kl_per_channel",
                      "posterior_std_min", "kl_total_per_element")
    codebook_usage_pct: float | None = None
    perplexity: float | None = None
    dead_codes: float | None = None
    code_entropy_bits: float | None = None
    usage_pct_per_level: list[float] | None = None
    """rq only: per quantiser level."""
    entropy_bits_per_level: list[float] | None = None
    active_units_pct: float | None = None
    latent_snr_per_channel: list[float] | None = None
    latent_snr_min: float | None = None
    active_units_per_channel_pct: list[float] | None = None
    posterior_std_per_channel: list[float] | None = None
    kl_per_channel: list[float] | None = None
    posterior_std_min: float | None = None
    kl_total_per_element: float | None = None

    @property
    def codes(self) -> bool:
        return self.codebook_usage_pct is not None

    @property
    def posterior(self) -> bool:
        return self.posterior_std_min is not None


class Roughness(EvalRecord):
    """Median path roughness of decoded straight lines between latents of same-class and different-class pairs."""

    same_class: float
    different_class: float


class Fidelity(EvalRecord):
    """How much of what tells one recording from another survives stage 1: the mean PSNR of the reconstructions of
    the held-out spectrograms, against the mean PSNR of each held-out spectrogram and its nearest other recording
    (the nearest training spectrogram in pixel space, of any class)."""

    reconstruction_psnr_db: float
    nearest_recording_psnr_db: float
    margin_db: float
    """reconstruction_psnr_db - nearest_recording_psnr_db: above 0 a reconstruction is closer to its spectrogram than
    any other recording is; below 0 stage 1 blurs recordings into each other."""


class DiagnoseThresholds(EvalRecord):
    """Where a latent-health measurement becomes a problem (mdaug.evaluation.diagnose.verdicts)."""

    omit_when_none = ("codebook_usage_pct",)
    code_perplexity: float = 8.0
    """Below: codebook collapse. The perplexity of the codes in use (exp of their entropy; per level for rq) is how
    many equally used codes they are worth, whatever the book's size. Over the 12 code models of
    benchmarks/results/diagnostics-rank.json the deliberately collapsed ones (books of 2 codes, fsq levels [3,3,3])
    reach 1.4-5.3 and every other 16-427, so 8 parts them; the share of the book in use did not (every vq, vqgan and
    rq model used all of it, the 2-code ones included, and the best fsq model 23% of its grid)."""
    codebook_usage_pct: float | None = None
    """Reports written before 2026-12-08 only: the share of the book in use below which codebook collapse was flagged
    (25%); no longer judged (code_perplexity)."""
    dead_code_pct: float = 50.0
    """Above: more than half the codebook is dead. Learned codebooks only (vq, vqgan, rq): an fsq grid point that no
    input reaches costs nothing and has nothing to restart (fsq-64x64 leaves 77% of its 1000 unused, and generates
    best of the code families)."""
    posterior_std_min: float = 0.01
    """Below: a channel's posterior std is ~0 (variance collapse: deterministic codes)."""
    active_units_pct: float = 50.0
    """Below: most latent units carry no information (posterior collapse)."""
    latent_snr: float = 10.0
    """Below in some channel: each draw z ~ q(z|x) is mostly noise (a noise-dominated latent)."""
    knn_ratio: float = 0.6
    """Latent k-NN class agreement / pixel-space agreement below this: neighbourhoods lost. Over the 15 stage-1
    models of benchmarks/results/diagnostics-rank.json the ratio does not rank generated identity (rho -0.08), and
    at the former 0.8 it flagged good models: only a gross loss is flagged now (the 2-code books, 0.40-0.47)."""
    probe_ratio: float = 0.6
    """Latent linear-probe accuracy / pixel-space accuracy below this: the class information a stage 2 draws on is
    lost. In benchmarks/results/diagnostics-rank.json every model at 0.8 was flagged, good or bad; the stage 1s
    fine-tuned from shipped weights (0.66-0.84), whose samples are identified 2-7x as often as any other's, pass 0.6
    and the rest (0.17-0.54) do not."""
    roughness_ratio: float = 1.5
    """Latent interpolation roughness / pixel-space cross-fade roughness above this: pointer-like latents. Below it
    roughness is no health figure: a stage 1 that keeps detail decodes rougher paths (1.1-1.2) than one that smooths
    it away (1.0), and generates better (benchmarks/results/diagnostics-rank.json)."""
    fidelity_margin_db: float = 0.0
    """Reconstruction PSNR minus nearest-recording PSNR (Fidelity.margin_db) below this: a reconstruction is further
    from its spectrogram than the nearest other recording is, and stage 2 cannot generate the detail stage 1 cannot
    decode. The figure that ranks generation best: over the 15 stage-1 models of
    benchmarks/results/diagnostics-rank.json (one dataset, so the margin is the test PSNR less a constant) its rank
    correlation with generated identity is +0.92; at 0 dB it passes the five fine-tuned from shipped weights (+4.5 to
    +7.2 dB, samples identified 23-48%) and flags every other (-0.3 to -3.8 dB, 7-16%). It does not rank the five
    healthy ones among themselves: which of them generates best is stage 2's doing."""
    diffusability_loss: float = 0.75
    """Held-out denoising loss of the probe (1 = predicting nothing) above this: a latent a denoiser can hardly
    learn. A richer latent is harder to denoise, so below this a lower loss is no better (0.5 flagged the
    second-best model of benchmarks/results/diagnostics-rank.json, and a collapsed one scored 0.15)."""


class DiagnoseMeasures(EvalRecord):
    """What the latent-health verdicts judge: the latent statistics and whichever probes were measured."""

    latent: LatentStats
    codebook_size: int | None = None
    learned_codebook: bool | None = None
    """Code families: whether the codes are learned vectors (vq, vqgan, rq) rather than points of a fixed grid (fsq);
    None is taken as learned."""
    knn_agreement: float | None = None
    knn_agreement_pixels: float | None = None
    linear_probe: float | None = None
    linear_probe_pixels: float | None = None
    roughness: Roughness | None = None
    diffusability_steps: int | None = None
    diffusability_loss: float | None = None
    fidelity: Fidelity | None = None


class MemorisationShare(EvalRecord):
    """Generated samples against their nearest training samples (mdaug.evaluation.metrics.memorisation)."""

    n: int
    median_ratio: float
    share_below: float
    """Near-copies: the share whose nearest training sample is far closer than the second nearest."""
    nn_distance_ratio: float


class Memorisation(EvalRecord):
    """Per class generated for (the JSON's keys 0, 1, ...) and over all samples, with the ratio's threshold."""

    per_class: dict[int, MemorisationShare]
    all: MemorisationShare
    threshold: float

    @model_validator(mode="before")
    @classmethod
    def _from_disk(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "per_class" in data:
            return data
        number = lambda k: isinstance(k, int) or (isinstance(k, str) and k.isdigit())  # noqa: E731
        return {k: v for k, v in data.items() if not number(k)} | {
            "per_class": {k: v for k, v in data.items() if number(k)}}

    def on_disk(self, data: dict[str, Any]) -> dict[str, Any]:
        return data.pop("per_class") | data


class PhysicalStat(EvalRecord):
    """One statistic of the Doppler envelope of real and generated spectrograms (in rows or columns)."""

    real_mean: float
    real_std: float
    fake_mean: float
    fake_std: float
    difference: float
    real_median: float
    fake_median: float
    wasserstein: float


class SamplerSettings(EvalRecord):
    """The sampler settings of a stage-2 kind (Stage2Kind.settings_dict) and the floor texture the samples got."""

    omit_when_none = ("sampler", "temperature", "strength", "texture")
    steps: int
    guidance_scale: float
    sampler: str | None = None
    """ldm."""
    temperature: float | None = None
    """prior."""
    strength: float | None = None
    """Anchored samples only."""
    texture: bool | None = None
    """False when the texture is off (absent when on)."""
    floor_noise_db: float


class Controllability(EvalRecord):
    """One condition asked of stage 2 and read back (mdaug.evaluation.conditions_control.controllability)."""

    unit: str
    asked: list[float]
    """The values asked for: quantiles of the training recordings' (GRID)."""
    samples: int
    median_abs_error: float | None
    median_rel_error: float | None
    """None for the SNR (in dB, a relative error means nothing)."""
    chance_median_abs_error: float | None
    """The same persons' samples asked for nothing."""
    estimator_median_abs_error: float | None
    """The estimator on the real training recordings, where the data gives the condition (else None)."""
    read_back_per_value: list[float | None]
    unread: int


class Recognised(EvalRecord):
    samples: int
    recognised: float | None
    """The share the recogniser names as the person (None without samples)."""


class IdentityUnderChange(EvalRecord):
    """Samples of each person at their own recordings' conditions and at conditions their recordings lack."""

    own: Recognised
    unseen: Recognised
    ratio: float | None


class WalkingPhysics(EvalRecord):
    """Samples asked for two walking speeds: the torso speed and gait cycles read back against the walking model's.
    The torso speed is read only where the data's Doppler axis is in m/s (both torso fields absent otherwise)."""

    speeds: list[float]
    samples: int
    torso_speed_read: list[float | None] | None = None
    torso_speed_expected: list[float] | None = None
    """The speeds asked, when the model takes the aspect (asked at 0); None when it does not."""
    cycle_ratio_read: float | None
    cycle_ratio_expected: float

    def left_out(self) -> set[str]:
        return set() if self.torso_speed_read is not None else {"torso_speed_read", "torso_speed_expected"}


__all__ = ["Controllability", "DiagnoseMeasures", "DiagnoseThresholds", "Files", "FloorStats", "IdentityCeiling",
           "IdentityUnderChange", "LatentStats", "Memorisation", "MemorisationShare", "NoiseFloors", "PhysicalStat",
           "Recognised", "Roughness", "SamplerSettings", "WalkingPhysics"]
