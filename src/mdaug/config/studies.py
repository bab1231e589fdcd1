"""Measurement budgets: latent-space diagnostics and the downstream-utility study."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

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


class StrategyConfig(Section):
    """One way to draw synthetic samples and let them into a recogniser's training (an arm of the utility study,
    and what `mdaug augment` uses once the study has chosen it)."""

    name: str
    """Shown in tables and written into augment.json."""
    guidance_scale: float | None = Field(None, ge=0, le=20)
    """Classifier-free guidance (None: the model's): lower keeps diversity, higher trades it for identity."""
    strength: float = Field(1.0, gt=0, le=1)
    """1: samples from pure noise. Below 1: variations of real training samples, whose latents are noised this
    share of the way and denoised under their class (SDEdit, Meng et al. 2022; about 0.5 in DA-Fusion)."""
    per_real: float = Field(2.0, gt=0)
    """Synthetic samples per real training sample of their class (gains saturate by a few; capped by
    utility.max_synthetic_per_class)."""
    filter_confidence: float = Field(0.0, ge=0, lt=1)
    """Keep a sample only when a recogniser trained on the same real training samples gives its class at least
    this probability (0: off); twice as many are drawn so that enough pass (sifting; Erol et al. 2020)."""
    filter_named: bool = False
    """Keep a sample only when the recogniser trained on the same real samples names its class (its top choice),
    whatever its confidence: for samples at conditions the real samples lack, where that recogniser is unsure of
    every class (with filter_confidence too, both must hold)."""
    remove_copies: bool = True
    """Drop near-copies of real training samples (nearest / second-nearest distance below 0.5, in pixels)."""
    weight: float = Field(1.0, ge=0)
    """Loss weight of the synthetic samples (recognizer_train.synthetic_weight)."""
    share: float | None = Field(None, gt=0, lt=1)
    """Share of every batch drawn from the synthetic samples (recognizer_train.synthetic_share)."""
    pretrain_steps: int = Field(0, ge=0)
    """Pretrain on the synthetic samples alone for this many steps, then fine-tune on the real ones
    (recognizer_train.synthetic_pretrain_steps)."""
    texture: bool = False
    """Give the samples the noise floor's speckle that stage 1 smooths away (data/texture.py). Off by default here:
    mixed with recordings, textured samples cost held-out accuracy in every measurement so far (smooth ones a
    recogniser can partly set apart), while a recogniser trained on samples alone learns more from textured ones
    (the synthetic-only arm uses it; benchmarks/README.md, the noise floor's texture)."""
    mirror: float = Field(0.0, ge=0, le=1)
    """Share of the anchors mirrored about zero Doppler before stage 2 redraws them under their class (needs
    strength < 1): the class walking the other way, which a few recordings may never show. For identity labels
    only. A pretrained stage 2 has seen walkers go both ways, so it can redraw what a bare mirror gets wrong (a
    receding walker fades with range). With filter_confidence, a mirrored sample is judged mirrored back (the
    recogniser of the real samples knows the class only the way its recordings go)."""

    conditions: Literal["none", "fill"] = "none"
    """'none': samples asked for no recording condition (the model draws them as its training recordings come).
    'fill': each sample of a person is asked for the session conditions (speed, aspect, SNR, ...) of a training
    recording of another person that the person's own training recordings lack (mdaug.data.coverage.lacking; the
    person's own gait cycle left to the model), and kept only when the estimators read those conditions back from it
    (readback_tolerance) and, with filter_named (or filter_confidence), the recogniser of the real samples still
    names the person.
    Needs a stage 2 trained with conditions (ldm.conditions) and samples from noise (strength 1)."""
    readback_tolerance: float = Field(2.0, gt=0)
    """'fill': how many of each condition's tolerances (mdaug.data.conditions.TOLERANCE) the value read back from a
    sample may be off the value asked for."""

    @model_validator(mode="after")
    def _mirror_needs_anchors(self) -> "StrategyConfig":
        if self.mirror > 0 and self.strength >= 1:
            raise ValueError(f"strategy {self.name!r}: mirror needs anchored samples (strength below 1)")
        if self.conditions == "fill" and (self.strength < 1 or self.mirror > 0):
            raise ValueError(f"strategy {self.name!r}: conditions=fill draws from noise at the conditions asked "
                             "(strength 1, no mirror); an anchor would bring its own")
        return self


# Chosen by the exploration of benchmarks/README.md (10 real per person, standard preset): samples from noise
# sifted by the budget's real recogniser were best on validation; anchored ones (SDEdit at 0.5) next. Unsifted
# samples, more of them (5 per real), guidance 4, a loss weight of 0.5 and synthetic pretraining all did worse.
DEFAULT_STRATEGIES = (
    StrategyConfig(name="from-noise", strength=1.0, per_real=2.0, filter_confidence=0.5),
    StrategyConfig(name="anchored", strength=0.5, per_real=2.0, filter_confidence=0.5),
)


TSTR_STRATEGY = StrategyConfig(name="tstr", strength=1.0, per_real=1.0, texture=True)
"""The utility study's synthetic-only arm: one sample from noise per real training sample, unsifted (near-copies
dropped), with the noise floor's texture, at each guidance of utility.tstr_guidance (tstr_strategy)."""


def tstr_strategy(guidance: float | None) -> StrategyConfig:
    """The synthetic-only arm at one guidance (None: the model's); its pool and recogniser folders are named
    after it: tstr for the model's guidance, tstr-g1 for guidance 1."""
    if guidance is None:
        return TSTR_STRATEGY
    return TSTR_STRATEGY.model_copy(update={"name": f"{TSTR_STRATEGY.name}-g{guidance:g}", "guidance_scale": guidance})

def tstr_strategies(guidances: tuple[float | None, ...], model_guidance: float) -> list[StrategyConfig]:
    """The synthetic-only arm's candidates: one per guidance, None resolved to the model's, each guidance once
    (e.g. 1 when the model's own is 1)."""
    return list({model_guidance if g is None else g: tstr_strategy(g) for g in guidances}.values())


RESERVED_STRATEGY_NAMES = ("real", "real-classical", "pretrained-classical", TSTR_STRATEGY.name)
"""Folder names of the utility study's other arms (recognizer-NAME)."""


class UtilityConfig(Section):
    """Downstream utility (`mdaug utility`): does adding synthetic samples raise a recogniser's accuracy on
    held-out real data? At each real-data budget the generative models are trained on that budget only."""

    budgets: tuple[int | str, ...] = (5, 10, 20, "all")
    """Real training data per class: a number of samples (drawn from all its training sessions), 'Ns' for all the
    samples of N of its training sessions (e.g. '2s': what a recogniser of two sessions per person knows), or 'all'
    (the whole training split)."""
    seeds: int = Field(3, ge=1, le=20)
    """Repeats per budget: each draws other real samples and other seeds for every model (at 'all' the repeats
    share one pair of generative models, there being no other real samples to draw, and differ in the synthetic
    samples and the recognisers' seeds)."""
    synthetic_per_class: int = Field(50, ge=1)
    """Synthetic samples per class of the exported augmented dataset (`mdaug run`'s synthetic/)."""
    max_synthetic_per_class: int = Field(200, ge=1)
    """The most synthetic samples per class a strategy may add to a recogniser's training."""
    snr_drop_db: tuple[float, ...] = (0.0, 10.0, 20.0)
    """The doses of the classical lower SNR (classical.snr_drop_db) the real + classical arm tries, each with its own
    recogniser; the best on validation is the arm (ties: the first listed), and the other arms that use classical
    augmentation (the pretrained recogniser's, the strategies') take that dose."""
    pretrained: bool = True
    """Add the arm `real + classical, pretrained recogniser`: the recogniser shipped with mdaug (pretrained on the
    simulated corpus, recognizer.init=pretrained) fine-tuned on the budget's real data with the chosen classical
    augmentation: the same outside knowledge a pretrained generator has, used directly. Skipped, with a note, where
    no shipped recogniser fits the data's size."""
    generative: bool = True
    """Train the generative models and their arms. False: the non-generative arms only (real, real + classical, the
    pretrained recogniser's): the learning curve that says whether more data of the kind the budget lacks can help
    at all, in minutes instead of hours."""
    generator: Literal["ldm", "prior"] = "ldm"
    """The stage-2 model that makes the synthetic data."""
    strategies: tuple[StrategyConfig, ...] = DEFAULT_STRATEGIES
    """The candidates of the generative arm: each is tried at every budget and repeat, and the one with the best
    accuracy on the validation split (real, other sessions than training; never the test split) is the arm."""
    tstr_guidance: tuple[float | None, ...] = (None, 1.0)
    """Guidance of the synthetic-only arm's samples (None: the model's own), each tried, the best on validation
    kept (ties: the first). Guidance trades variety for class identity, and a recogniser trained on samples alone
    needs the variety (benchmarks/README.md, the noise floor's texture); 1 samples the model's own class-conditional
    distribution."""

    @field_validator("budgets")
    @classmethod
    def _budgets(cls, v: tuple[int | str, ...]) -> tuple[int | str, ...]:
        out: list[int | str] = []
        for b in v:
            text = str(b).strip()
            if not (text == "all" or re.fullmatch(r"[1-9]\d*s?", text)) or isinstance(b, bool):
                raise ValueError(f"budget {b!r} must be a number of samples per class (10), a number of sessions per "
                                 "class ('2s') or 'all'")
            out.append(int(text) if text.isdigit() else text)
        if len(set(map(str, out))) < len(out):
            raise ValueError(f"utility.budgets {list(v)} names a budget twice")
        return tuple(out)

    @field_validator("snr_drop_db")
    @classmethod
    def _doses(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if not v or len(set(v)) < len(v) or any(not 0 <= d <= 60 for d in v):
            raise ValueError(f"utility.snr_drop_db {list(v)} must be one or more different doses in dB (0-60; 0: no "
                             "lower SNR)")
        return v

    @model_validator(mode="after")
    def _strategy_names(self) -> "UtilityConfig":
        # a strategy's pool and recogniser are folders named after it, beside the real arms' and the TSTR arm's
        names = [s.name for s in self.strategies]
        if not names:
            raise ValueError("utility.strategies is empty: give at least one strategy")
        for n in names:
            if names.count(n) > 1 or n in RESERVED_STRATEGY_NAMES or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", n):
                raise ValueError(f"strategy name {n!r} must be unique, made of letters, digits, '.', '-' and '_', "
                                 f"and none of {', '.join(RESERVED_STRATEGY_NAMES)}")
        g = self.tstr_guidance
        if not g or len(set(g)) < len(g) or any(v is not None and not 0 <= v <= 20 for v in g):
            raise ValueError(f"utility.tstr_guidance {list(g)} must be one or more different guidance scales "
                             "(0-20, or null for the model's own)")
        taken = {tstr_strategy(v).name for v in g} & set(names)
        if taken:
            raise ValueError(f"strategy name {sorted(taken)[0]!r} is the synthetic-only arm's; choose another")
        return self


