"""Typed, nested configuration: YAML presets + dotted command-line overrides.

Every section is a pydantic model that forbids unknown keys, so a typo fails loudly with the nearest valid key
named. `load_config("quick", ["data.size=128"])` is what the CLI calls; the resolved config is written beside
every run's outputs with `save_config`.

    section.py    the base of every section
    data.py       reading, splitting and augmenting data
    simulate.py   the built-in dataset's simulator
    models.py     every network (stage 1 families, discriminator, recogniser, stage 2)
    training.py   the training loops
    studies.py    diagnostics and the utility study
    pretrain.py   the simulated corpus of the shipped pretrained stage-1 models
    schema.py     the whole Config
    loading.py    presets, files, overrides, errors, saving
    presets/      the shipped YAML presets
"""

from mdaug.config.data import SPECIAL_COLORMAPS, AugmentConfig, ClassicalAugmentConfig, DataConfig, SplitConfig
from mdaug.config.loading import (
                                  CONFIG_FILE,
                                  all_keys,
                                  apply_overrides,
                                  config_dict,
                                  config_from_dict,
                                  config_to_yaml,
                                  load_config,
                                  parse_override,
                                  preset_names,
                                  preset_summary,
                                  reference_markdown,
                                  run_config,
                                  save_config,
                                  saved_config,
)
from mdaug.config.models import (
                                  FAMILIES,
                                  FAMILY_KEYS,
                                  QUANTIZED,
                                  AutoencoderConfig,
                                  AutoencoderLossConfig,
                                  CodePriorConfig,
                                  Family,
                                  GanConfig,
                                  LatentDiffusionConfig,
                                  RecognizerConfig,
)
from mdaug.config.pretrain import PretrainConfig, RadarPreset
from mdaug.config.schema import Config, family_key_problem, prune_for_family
from mdaug.config.section import Section
from mdaug.config.simulate import GaitSessionsConfig, RadarConfig, SimulateConfig, StftConfig
from mdaug.config.studies import (
    DEFAULT_STRATEGIES,
    TSTR_STRATEGY,
    DiagnoseConfig,
    StrategyConfig,
    UtilityConfig,
    tstr_strategies,
    tstr_strategy,
)
from mdaug.config.training import AutoencoderTrainConfig, RecognizerTrainConfig, Stage2TrainConfig, TrainConfig

__all__ = [
    "CONFIG_FILE", "DEFAULT_STRATEGIES", "FAMILIES", "FAMILY_KEYS", "QUANTIZED", "SPECIAL_COLORMAPS", "AugmentConfig",
    "AutoencoderConfig", "AutoencoderLossConfig", "AutoencoderTrainConfig", "ClassicalAugmentConfig",
    "CodePriorConfig", "Config", "DataConfig", "DiagnoseConfig", "Family", "GaitSessionsConfig", "GanConfig",
    "LatentDiffusionConfig",
    "PretrainConfig", "RadarConfig", "RadarPreset", "RecognizerConfig", "RecognizerTrainConfig", "Section",
    "SimulateConfig", "SplitConfig", "Stage2TrainConfig", "StftConfig", "StrategyConfig", "TrainConfig",
    "TSTR_STRATEGY", "UtilityConfig", "all_keys", "apply_overrides", "config_dict", "config_from_dict",
    "config_to_yaml", "family_key_problem", "load_config", "parse_override", "preset_names", "preset_summary",
    "prune_for_family", "reference_markdown", "run_config", "save_config", "saved_config", "tstr_strategies",
    "tstr_strategy",
]
