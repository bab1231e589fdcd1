"""Typed, nested configuration: YAML presets + dotted command-line overrides.

Every section is a pydantic model that forbids unknown keys, so a typo fails loudly with the nearest
valid key named. `load_config("quick", ["data.size=128"])` is what the CLI calls; the resolved config is
written beside every run's outputs with `save_config`.
"""

from __future__ import annotations

import difflib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from mdaug.errors import ConfigError
from mdaug.files import atomic_write_text
from mdaug.section import Section
from mdaug.train_config import (
    AutoencoderConfig,
    AutoencoderLossConfig,
    CodePriorConfig,
    GanConfig,
    LatentDiffusionConfig,
    RecognizerConfig,
    RecognizerTrainConfig,
    Stage2TrainConfig,
    TrainConfig,
    UtilityConfig,
    DiagnoseConfig,
    family_key_problem,
    prune_for_family,
)

# Colormap names that are not matplotlib colormaps.
SPECIAL_COLORMAPS = ("auto", "gray", "rgb")


class DataConfig(Section):
    """How to read a dataset into the canonical form (1, doppler, time) float32 in [-1, 1]."""

    path: str | None = None
    """File or folder to read (the CLI sets it from its PATH argument)."""
    format: Literal["auto", "images", "npy", "npz", "mat", "hdf5", "prepared"] = "auto"
    """Which files to read in a folder; auto reads every supported kind."""
    colormap: str = "auto"
    """Colour images: 'auto' detects the colormap, a matplotlib name (jet, viridis, ...) inverts that
    one by nearest-colour lookup, 'rgb' keeps three channels, 'gray' reads each pixel's nearest grey."""
    crop_to_colormap: Literal[True, False, "auto"] = "auto"
    """Crop each colour image to its largest colormapped region: for spectrograms saved as figures,
    with axes, labels and a colorbar around them. 'auto' crops the images of which more than 20% of
    the pixels are off the colormap (a plain spectrogram image has almost none)."""
    size: tuple[int, int] | None = None
    """(doppler, time) to resize every sample to; None keeps the native size (all must then agree)."""
    scale: Literal["auto", "linear", "power", "db", "unit", "normalized"] = "auto"
    """Array values: linear magnitude, linear power, dB, [0, 1] display values, or already in [-1, 1].
    'auto': complex -> linear; real with negatives -> db (normalized if within [-1, 1]); else linear."""
    dynamic_range_db: float = Field(40.0, gt=0, le=200, allow_inf_nan=False)
    """dB below each sample's maximum that map to -1; everything lower is clipped."""
    array_key: str | None = None
    """Variable holding the spectrograms in .npz/.mat/.h5 files (auto-detected when unset)."""
    label_key: str | None = None
    """Variable holding the labels (ints or strings) when files are not in class folders."""
    session_key: str | None = None
    """Variable holding a recording/session id per sample (used for leak-free splits)."""
    class_names_key: str | None = None
    """Variable holding class names that integer labels index (0- or 1-based)."""
    sample_axis: Literal["auto", "first", "last"] = "auto"
    """Which axis of a 3-D array indexes samples. auto: last for .mat (MATLAB's cat(3, ...)), else first."""
    label_regex: str | None = None
    """Regex applied to each file's path relative to the dataset folder; its group named 'label' (else
    the whole match) is the class. For data not sorted into class folders, e.g. 'P03_walk_r2.mat'."""
    session_regex: str | None = None
    """Regex applied to each file's path relative to the dataset folder (class folder included); its group
    named 'session' (else the whole match) is the recording id."""
    flip_doppler: bool = False
    """Arrays are stored with the highest Doppler in row 0 (canonical is lowest first, as in images
    drawn with origin='lower')."""
    skip_bad: bool = False
    """Skip unreadable files and samples with NaN/inf (each is still reported by name)."""

    @field_validator("size", mode="before")
    @classmethod
    def _size(cls, v: Any) -> Any:
        if v is None:
            return None
        parts = v.lower().split("x") if isinstance(v, str) else (v if isinstance(v, (list, tuple)) else [v])
        if len(parts) == 1:
            parts = [parts[0], parts[0]]
        try:
            ok = len(parts) == 2 and all(not isinstance(p, (bool, float)) and str(p).strip().isdigit() for p in parts)
        except TypeError:
            ok = False
        if not ok:
            raise ValueError("size must be N, DxT (e.g. 128x64) or [D, T] with whole numbers")
        d, t = (int(str(p).strip()) for p in parts)
        if min(d, t) < 4 or max(d, t) > 4096:
            raise ValueError("each size must be between 4 and 4096")
        return (d, t)

    @field_validator("label_regex", "session_regex")
    @classmethod
    def _regex(cls, v: str | None) -> str | None:
        import re

        if v is not None:
            try:
                re.compile(v)
            except re.error as e:
                raise ValueError(f"not a valid regular expression ({e})") from None
        return v

    @field_validator("colormap")
    @classmethod
    def _colormap(cls, v: str) -> str:
        from matplotlib import colormaps

        if v in SPECIAL_COLORMAPS or v in colormaps:
            return v
        names = list(SPECIAL_COLORMAPS) + sorted(colormaps)
        near = difflib.get_close_matches(v, names, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else "; use auto, gray, rgb or a matplotlib name"
        raise ValueError(f"unknown colormap '{v}'{hint}")


class SplitConfig(Section):
    """Leak-free train/val/test split; groups (sessions, else files) never straddle two splits."""

    seed: int = 0
    """Seed of the split; the same seed and data give the same split."""
    val_fraction: float = Field(0.1, ge=0, lt=1)
    """Share of each class's samples for validation (whole groups, so approximately)."""
    test_fraction: float = Field(0.2, ge=0, lt=1)
    """Share of each class's samples held out for testing (whole groups, so approximately)."""
    group_by: Literal["auto", "session", "file", "sample"] = "auto"
    """auto: session ids when the data has them, else the source file. 'sample' leaks when windows
    overlap in time, so it is only for data whose samples are independent recordings."""
    train_per_class: int | None = Field(None, ge=1, repr=False)
    """Real-data budget: keep only this many training samples per class (drawn with the split's seed); the
    rest of the training split is used by nothing, never moved to val or test. Used by `mdaug utility`."""
    budget_seed: int = Field(0, repr=False)
    """Which samples the budget keeps: each budget seed draws another k per class (with the split's seed)."""

    @model_validator(mode="after")
    def _fractions(self) -> "SplitConfig":
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError(f"val_fraction + test_fraction must be below 1, got {self.val_fraction + self.test_fraction:g}")
        return self


class AugmentConfig(Section):
    """Physics-respecting augmentation: time only. Doppler flips change the label's meaning."""

    time_shift: float = Field(0.0, ge=0, le=1)
    """Largest circular shift along time, as a fraction of the width."""
    time_crop: int | None = Field(None, ge=4)
    """Random crop of this many time bins (then resized back by the caller if needed)."""


class RadarConfig(Section):
    """The simulated radar: a CW / pulsed baseband radar at the origin."""

    carrier_hz: float = Field(24e9, gt=1e8)
    """Carrier frequency (24 GHz: lambda = 1.25 cm; 5.8 GHz and 77 GHz are common too)."""
    prf_hz: float = Field(3000.0, gt=0)
    """Slow-time sampling rate; must exceed twice the fastest foot's Doppler (checked)."""
    height_m: float = Field(1.0, ge=0)
    """Antenna height above the ground."""


class StftConfig(Section):
    """Short-time Fourier transform of the slow-time return."""

    window: str = "hamming"
    window_s: float = Field(0.085, gt=0)
    """Window length in seconds of slow time."""
    hop_s: float = Field(0.02, gt=0)
    nfft: int = Field(512, ge=16)
    doppler_span_hz: float | None = Field(1400.0, gt=0)
    """Keep Doppler within +-this many Hz (None: the whole PRF)."""


class SimulateConfig(Section):
    """The built-in dataset: walking people seen by a radar (mdaug.simulate). The defaults are the
    31-person gait-identification benchmark; trait and session spreads set how hard it is."""

    people: int = Field(31, ge=1)
    per_person: int = Field(150, ge=1)
    sessions: int = Field(5, ge=1)
    """Recording sessions per person; samples are spread evenly over them."""
    seed: int = 0
    """Seeds the people (traits) and every recording: the same seed gives the same dataset."""
    duration_s: float = Field(3.0, gt=0.2)
    """Length of each spectrogram in seconds (about three gait cycles)."""
    path: Literal["ground", "treadmill"] = "ground"
    dynamic_range_db: float = Field(40.0, gt=0, le=200)
    radar: RadarConfig = RadarConfig()
    stft: StftConfig = StftConfig()
    height_m: tuple[float, float] = (1.5, 1.95)
    """Range of body heights people are drawn from."""
    rv: tuple[float, float] = (1.6, 2.1)
    """Range of preferred normalised walking speeds RV = V / Ht (V = RV * Ht: people of different
    heights walk at similar RV; 1.6-2.1 is 1.2-2.0 m/s across the heights)."""
    segment_jitter: float = Field(0.04, ge=0, le=0.2)
    """Each segment-length ratio is scaled by 1 + U(-j, j) per person."""
    build: tuple[float, float] = (0.8, 1.25)
    """Range of the factor on segment radii (body build)."""
    arm_swing: tuple[float, float] = (0.4, 1.6)
    knee_peak_offset_deg: float = Field(4.0, ge=0)
    hip_amplitude_offset_deg: float = Field(4.0, ge=0)
    cadence: tuple[float, float] = (0.94, 1.06)
    """Range of the step-rate factor at a given speed."""
    asymmetry: float = Field(0.06, ge=0, le=0.3)
    """Left/right asymmetry is drawn from U(-a, a)."""
    session_speed_jitter: float = Field(0.05, ge=0, le=0.5)
    """Per-session speed factor 1 + U(-j, j)."""
    recording_speed_jitter: float = Field(0.03, ge=0, le=0.2)
    """Stride-to-stride variability: each recording's speed factor 1 + U(-j, j) within its session."""
    recording_arm_jitter: float = Field(0.1, ge=0, le=0.5)
    """Each recording's arm swing factor 1 + U(-j, j)."""
    recording_snr_jitter_db: float = Field(3.0, ge=0)
    aspect_jitter_deg: float = Field(15.0, ge=0, le=90)
    """Per-session walking direction: towards (0 deg) or away (180 deg) from the radar, +- this."""
    away_fraction: float = Field(0.5, ge=0, le=1)
    range_m: tuple[float, float] = (6.0, 14.0)
    """Range of the walker at mid-recording (a 3 s walk at 2 m/s keeps at least 3 m from the radar)."""
    snr_db: tuple[float, float] = (5.0, 25.0)
    clutter_db: float | None = 10.0
    """Static clutter above the body's return (None: none)."""
    mti_cutoff_hz: float | None = Field(15.0, gt=0)
    """MTI high-pass cut-off that removes the clutter (None: off)."""

    @field_validator("height_m", "rv", "build", "arm_swing", "cadence", "range_m", "snr_db")
    @classmethod
    def _ordered(cls, v: tuple[float, float]) -> tuple[float, float]:
        if v[0] > v[1]:
            raise ValueError(f"range must be [low, high], got {list(v)}")
        return v

    @model_validator(mode="after")
    def _walkable(self) -> "SimulateConfig":
        top = self.rv[1] * (1 + self.session_speed_jitter) * (1 + self.recording_speed_jitter)
        if self.rv[0] <= 0 or top > 3:
            raise ValueError(f"rv {list(self.rv)} with session_speed_jitter {self.session_speed_jitter} leaves the walking "
                             "model's range 0 < RV <= 3")
        if min(self.height_m[0], self.build[0], self.cadence[0], self.range_m[0]) <= 0:
            raise ValueError("height_m, build, cadence and range_m must be positive")
        if self.sessions > self.per_person:
            raise ValueError(f"sessions ({self.sessions}) cannot exceed per_person ({self.per_person})")
        return self


class Config(Section):
    seed: int = 0
    """Seed for everything random in a run that has no seed of its own (previews, ...)."""
    data: DataConfig = DataConfig()
    split: SplitConfig = SplitConfig()
    augment: AugmentConfig = AugmentConfig()
    simulate: SimulateConfig = SimulateConfig()
    ae: AutoencoderConfig = AutoencoderConfig()
    ae_loss: AutoencoderLossConfig = AutoencoderLossConfig()
    gan: GanConfig = GanConfig()
    """vqgan only."""
    ae_train: TrainConfig = TrainConfig()
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


# ---------------------------------------------------------------- loading, overrides, errors


def preset_names() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("mdaug.configs").iterdir() if p.name.endswith(".yaml"))


def _read_yaml(source: str | Path, _depth: int = 0) -> dict[str, Any]:
    path = Path(source)
    if path.suffix not in (".yaml", ".yml"):
        if str(source) not in preset_names():
            near = difflib.get_close_matches(str(source), preset_names(), n=1)
            hint = f"; did you mean '{near[0]}'?" if near else f" (presets: {', '.join(preset_names())})"
            raise ConfigError(f"no preset or YAML file named '{source}'{hint}")
        text = resources.files("mdaug.configs").joinpath(f"{source}.yaml").read_text()
    elif not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    else:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise ConfigError(f"config file {path} cannot be read ({type(e).__name__})") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(f"config {source} is not valid YAML{where}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"config {source} must be a mapping of sections, got {type(data).__name__}")
    base = data.pop("base", None)
    if base is not None:  # `base: quick` (or a YAML path, relative to this file): this file's keys win
        if not isinstance(base, str) or base == str(source) or _depth > 8:
            raise ConfigError(f"config {source}: 'base' must name another preset or YAML file")
        if base.endswith((".yaml", ".yml")) and path.suffix in (".yaml", ".yml"):
            base = str(path.parent / base)
        data = _deep_merge(_read_yaml(base, _depth + 1), data)
    return data


def _deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in top.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def parse_override(text: str) -> tuple[list[str], Any]:
    """'model.codebook_size=1024' -> (['model', 'codebook_size'], 1024); the value is parsed as YAML."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"override '{text}' must look like section.key=value")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError:
        value = raw
    return key.strip().split("."), value


def _merge(base: dict[str, Any], keys: list[str], value: Any) -> None:
    node = base
    for i, k in enumerate(keys[:-1]):
        child = node.setdefault(k, {})
        if not isinstance(child, dict):
            raise ConfigError(f"'{'.'.join(keys[: i + 1])}' is a value, not a section")
        node = child
    node[keys[-1]] = value


def all_keys(model: type[BaseModel] = Config, prefix: str = "") -> list[str]:
    """Every dotted key a config accepts, sections included."""
    keys = []
    for name, field in model.model_fields.items():
        dotted = f"{prefix}{name}"
        keys.append(dotted)
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys.extend(all_keys(ann, dotted + "."))
    return keys


def _one_line(err: ValidationError, source: str) -> str:
    e = err.errors()[0]
    dotted = ".".join(str(p) for p in e["loc"]) or "(top level)"
    if e["type"] == "extra_forbidden":
        near = difflib.get_close_matches(dotted, all_keys(), n=1, cutoff=0.5)
        if not near:  # compare the last part only, within the same section
            parent = dotted.rsplit(".", 1)[0] if "." in dotted else ""
            siblings = [k for k in all_keys() if k.rsplit(".", 1)[0] == parent or (not parent and "." not in k)]
            near = difflib.get_close_matches(dotted, siblings, n=1, cutoff=0.3)
        hint = f"; did you mean '{near[0]}'?" if near else ""
        return f"unknown config key '{dotted}' in {source}{hint}"
    msg = e["msg"].removeprefix("Value error, ")
    return f"config key '{dotted}' in {source}: {msg} (got {e.get('input')!r})"


def load_config(source: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """Build a Config from a preset name or YAML file, then apply dotted overrides in order."""
    data = _read_yaml(source) if source is not None else {}
    origin = f"config '{source}'" if source is not None else "the defaults"
    for text in overrides or []:
        keys, value = parse_override(text)
        _merge(data, keys, value)
        origin = "the overrides" if source is None else f"'{source}' + overrides"
    return _validate(data, origin)


def _validate(data: dict[str, Any], origin: str) -> Config:
    ae = data.get("ae")
    family = ae.get("family", Config().ae.family) if isinstance(ae, dict) else Config().ae.family
    for section in ("ae", "ae_loss", "gan"):
        raw = data.get(section)
        if isinstance(raw, dict) and isinstance(family, str):
            problem = family_key_problem(section, family, raw)
            if problem:
                raise ConfigError(f"{problem} (in {origin}): a config for another family? Remove the key or "
                                  "set ae.family to match")
    try:
        return Config.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_one_line(err, origin)) from None


def apply_overrides(cfg: Config, overrides: list[str]) -> Config:
    """A new Config with `overrides` applied on top of `cfg`."""
    data = config_dict(cfg)
    for text in overrides:
        keys, value = parse_override(text)
        _merge(data, keys, value)
    return _validate(data, "the overrides")


def reference_markdown(model: type[BaseModel] = Config, prefix: str = "") -> str:
    """The config reference table of the README: every key, its default and what it means."""
    rows = [] if prefix else ["| key | default | meaning |", "|---|---|---|"]
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            rows.append(reference_markdown(ann, f"{prefix}{name}."))
            continue
        default = yaml.safe_dump(field.default if not isinstance(field.default, tuple) else list(field.default),
                                 default_flow_style=True).strip().removesuffix("...").strip()
        text = " ".join((field.description or "").split()).replace("|", "\\|")
        rows.append(f"| `{prefix}{name}` | `{default}` | {text} |")
    return "\n".join(rows)


def config_dict(cfg: BaseModel) -> dict[str, Any]:
    """Every key with its value, without the keys that do not apply to the config's model family."""
    data = cfg.model_dump(mode="json")
    return prune_for_family(data, cfg.ae.family) if isinstance(cfg, Config) else data


def config_from_dict(data: dict[str, Any], origin: str) -> Config:
    """Validate a dict (e.g. a run's saved config) as a Config, with the same one-line errors."""
    return _validate(data, origin)


def config_to_yaml(cfg: BaseModel) -> str:
    return yaml.safe_dump(config_dict(cfg), sort_keys=False)


def save_config(cfg: BaseModel, path: str | Path) -> Path:
    """Write the resolved config (every key, defaults included) atomically."""
    return atomic_write_text(path, config_to_yaml(cfg))
