"""The whole typed config of a run: one section per concern, each rejecting unknown keys; and the rule that
keys meaning something only for some stage-1 families are refused for the others and left out when saved."""

from __future__ import annotations

from typing import Any

from mdaug.config.data import AugmentConfig, ClassicalAugmentConfig, DataConfig, SplitConfig
from mdaug.config.models import (
    FAMILY_KEYS,
    AutoencoderConfig,
    AutoencoderLossConfig,
    CodePriorConfig,
    GanConfig,
    LatentDiffusionConfig,
    RecognizerConfig,
)
from mdaug.config.pretrain import PretrainConfig
from mdaug.config.section import Section
from mdaug.config.simulate import GaitSessionsConfig, SimulateConfig
from mdaug.config.studies import DiagnoseConfig, UtilityConfig
from mdaug.config.training import AutoencoderTrainConfig, RecognizerTrainConfig, Stage2TrainConfig


class Config(Section):
    seed: int = 0
    """Seed for everything random in a run that has no seed of its own (previews, ...)."""
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    augment: AugmentConfig = AugmentConfig()
    classical: ClassicalAugmentConfig = ClassicalAugmentConfig()
    """The classical augmentation of recognisers with recognizer.classical (the baseline of the utility study)."""
    simulate: SimulateConfig = SimulateConfig()
    """The built-in gait benchmark (gait31, data.builtin=gait)."""
    gait_sessions: GaitSessionsConfig = GaitSessionsConfig()
    """The built-in benchmark whose sessions differ as real ones do (data.builtin=gait-sessions)."""
    ae: AutoencoderConfig = AutoencoderConfig()
    ae_loss: AutoencoderLossConfig = AutoencoderLossConfig()
    gan: GanConfig = GanConfig()
    """vqgan only."""
    ae_train: AutoencoderTrainConfig = AutoencoderTrainConfig()
    recognizer: RecognizerConfig = RecognizerConfig()
    recognizer_train: RecognizerTrainConfig = RecognizerTrainConfig()
    """The recogniser's training loop."""
    ldm: LatentDiffusionConfig = LatentDiffusionConfig()
    ldm_train: Stage2TrainConfig = Stage2TrainConfig()
    prior: CodePriorConfig = CodePriorConfig()
    """The code prior (vq, vqgan, rq, fsq)."""
    prior_train: Stage2TrainConfig = Stage2TrainConfig()
    diagnose: DiagnoseConfig = DiagnoseConfig()
    utility: UtilityConfig = UtilityConfig()
    pretrain: PretrainConfig = PretrainConfig()
    """The simulated corpus of `mdaug pretrain-ae` (the shipped stage-1 models)."""


def family_key_problem(section: str, family: str, raw: dict[str, Any]) -> str | None:
    """The first key of `raw` (the YAML/override dict of `section`) that does not apply to `family`."""
    rules = FAMILY_KEYS.get(section, {})
    if "*" in rules and raw and family not in rules["*"]:
        key = sorted(raw)[0]
        return f"'{section}.{key}' applies to family {'/'.join(rules['*'])}, not {family}"
    for key in sorted(raw):
        if key in rules and family not in rules[key]:
            return f"'{section}.{key}' applies to family {'/'.join(rules[key])}, not {family}"
    return None


def prune_for_family(data: dict[str, Any], family: str) -> dict[str, Any]:
    """A dumped config without the keys that do not apply to `family` (so it loads back cleanly)."""
    out = dict(data)
    for section, rules in FAMILY_KEYS.items():
        if section not in out:
            continue
        if "*" in rules:
            if family not in rules["*"]:
                del out[section]
            continue
        out[section] = {k: v for k, v in out[section].items() if k not in rules or family in rules[k]}
    return out
