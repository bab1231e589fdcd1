"""How to read a dataset into the canonical form, how to split it, and how to augment it during training."""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from mdaug.config.section import Section

# Colormap names that are not matplotlib colormaps.
SPECIAL_COLORMAPS = ("auto", "gray", "rgb")
SHIPPED_COLORMAPS = ("parula",)
"""Colormaps matplotlib lacks whose tables ship with mdaug (mdaug.data.colormaps.OWN_COLORMAPS; a test holds the
two lists equal, the config layer not importing the data layer)."""


class DataConfig(Section):
    """How to read a dataset into the canonical form (1, doppler, time) float32 in [-1, 1]."""

    path: str | None = None
    """File or folder to read (the CLI sets it from its PATH argument); unset: the built-in dataset below."""
    builtin: Literal["gait", "gait-sessions", "corpus", "held_out"] = "gait"
    """Without a path, the simulated dataset to use: 'gait' (gait31, the gait-identification benchmark of
    simulate.*), 'gait-sessions' (the benchmark whose sessions differ in speed, aspect, arms and SNR, of
    gait_sessions.*), 'corpus' (the pretraining corpus of pretrain.*) or 'held_out' (simulate.* seen by
    pretrain.held_out, a radar the corpus never uses). Each is simulated once and cached ($MDAUG_CACHE, else
    ~/.cache/mdaug)."""
    format: Literal["auto", "images", "npy", "npz", "mat", "hdf5", "prepared"] = "auto"
    """Which files to read in a folder; auto reads every supported kind."""
    colormap: str = "auto"
    """Colour images: 'auto' detects the colormap, a matplotlib name (jet, viridis, ...) or MATLAB's 'parula'
    inverts that one by nearest-colour lookup, 'rgb' keeps three channels, 'gray' reads each pixel's nearest grey."""
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
    direction_free: bool | None = None
    """Whether a class stays itself walking the other way: a person's identity does, an activity such as
    approaching or retreating does not. Direction-free labels let the recognisers mirror spectrograms about zero
    Doppler (classical.doppler_mirror) and a strategy redraw mirrored samples (utility strategies' mirror); a
    class recorded walking one way only is otherwise not recognised walking the other way. None: yes for the
    built-in datasets (their classes are people), no for data.path (set it for your identities)."""

    conditions: str | None = None
    """CSV of the conditions of every recording (speed, direction, aspect, range, SNR, radar, load, any named
    column), one row per sample, matched by an 'id' column (the sample ids) or a 'file' column (paths relative to
    the dataset folder). Unset: conditions.csv (or the simulator's recordings.csv) in the dataset's folder when there
    is one. Conditions not given are estimated where they can be (mdaug.data.conditions)."""
    carrier_hz: float | None = Field(None, gt=0)
    """The radar's carrier frequency, for speeds in m/s (the simulated datasets record their own)."""
    prf_hz: float | None = Field(None, gt=0)
    """The radar's pulse repetition frequency (slow-time rate), for the SNR over the radar's whole band."""
    doppler_hz: tuple[float, float] | None = None
    """The Doppler (Hz) of the lowest and of the highest row of the spectrograms as stored (before data.size)."""
    time_s: tuple[float, float] | None = None
    """Time (s) of the first and the last column."""

    def labels_direction_free(self) -> bool:
        """direction_free, with None resolved: the built-in datasets (no path) are people."""
        return self.path is None if self.direction_free is None else self.direction_free

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

    @field_validator("doppler_hz", "time_s")
    @classmethod
    def _axis(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not v[0] < v[1]:
            raise ValueError(f"give [first, last] with first < last, got {list(v)}")
        return v

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

        if v in SPECIAL_COLORMAPS or v in SHIPPED_COLORMAPS or v in colormaps:
            return v
        names = list(SPECIAL_COLORMAPS) + list(SHIPPED_COLORMAPS) + sorted(colormaps)
        near = difflib.get_close_matches(v, names, n=1)
        hint = f"; did you mean '{near[0]}'?" if near else "; use auto, gray, rgb, parula or a matplotlib name"
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
    train_sessions_per_class: int | None = Field(None, ge=1, repr=False)
    """Real-data budget in recording sessions: keep only this many of each class's training sessions (drawn with the
    split's seed), with all their samples unless train_per_class caps them too. Used by `mdaug utility` for budgets
    like '2s'."""
    val_sessions_per_class: int | None = Field(None, ge=1, repr=False)
    """The same for the validation split."""
    val_per_class: int | None = Field(None, ge=1, repr=False)
    """Keep only this many validation samples per class (drawn like the budget): a user with k real samples per
    class holds back about as many to choose with. Used by `mdaug utility`."""

    @model_validator(mode="after")
    def _fractions(self) -> "SplitConfig":
        if self.val_fraction + self.test_fraction >= 1:
            raise ValueError("val_fraction + test_fraction must be below 1, got "
                             f"{self.val_fraction + self.test_fraction:g}")
        return self


class AugmentConfig(Section):
    """Physics-respecting augmentation: time only. Doppler flips change the label's meaning."""

    time_shift: float = Field(0.0, ge=0, le=1)
    """Largest circular shift along time, as a fraction of the width."""
    time_crop: int | None = Field(None, ge=4)
    """Random crop of this many time bins (then resized back by the caller if needed)."""


class ClassicalAugmentConfig(Section):
    """The classical-augmentation baseline of recognisers (recognizer.classical): label-preserving and
    physics-respecting, every operation drawn per sample; 0 switches an operation off. Amounts in [-1, 1] units are
    shares of the display range (0.1 = 4 dB of a 40 dB range). The Doppler mirror swaps approaching and
    receding motion, which for an activity label changes what the label means: it applies only to direction-free
    labels (data.direction_free)."""

    time_shift: float = Field(0.25, ge=0, le=1)
    """Circular time shift of up to this fraction of the width (the gait cycle starts elsewhere)."""
    time_mask: float = Field(0.15, ge=0, lt=1)
    """One time span of up to this fraction of the width set to the floor (a dropped stretch of recording)."""
    doppler_mask: float = Field(0.1, ge=0, lt=1)
    """One Doppler band of up to this fraction of the height set to the floor (a band, never a flip)."""
    floor_raise: float = Field(0.15, ge=0, le=1)
    """The noise floor raised to a level up to this far above -1, with speckle (a lower SNR)."""
    gain: float = Field(0.075, ge=0, le=1)
    """A constant offset in [-gain, gain], clipped to [-1, 1] (another receiver gain)."""
    blur_max: float = Field(0.7, ge=0)
    """Gaussian blur of sigma uniform in [0, blur_max] bins (another window length)."""
    mixup: float = Field(0.3, ge=0, le=1)
    """Probability that a sample is mixed with another of its class in the batch, with a weight uniform in
    [0.5, 1] on itself (mixup within a class keeps the label; Zhang et al. 2018)."""
    snr_drop_db: float = Field(0.0, ge=0, le=60)
    """Lower the SNR of a share (snr_drop_p) of the samples by up to this many dB (uniform): receiver noise added in
    linear power with the texture of the data's own noise floor, then the display's peak-relative scale again
    (mdaug.data.snr; what a weaker echo, a longer range or a noisier receiver records). 0: off. The utility study
    chooses the dose on validation among utility.snr_drop_db."""
    snr_drop_p: float = Field(0.5, ge=0, le=1)
    """Share of the samples whose SNR is lowered (when snr_drop_db > 0)."""
    doppler_mirror: float = Field(0.5, ge=0, le=1)
    """Probability that a sample is mirrored about zero Doppler: the same walker going the other way. Applied
    only when the labels are direction-free (data.direction_free: people yes, approach/retreat activities no).
    The mirror keeps the range trend of the original (a mirrored approach still brightens), so it is the
    direction without the fading of a receding walker."""
