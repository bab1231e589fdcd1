"""The conditions of every recording: facts about how it was recorded (walking speed, direction, aspect, range, SNR,
what the arms did, the radar, ...), carried with the data from reading to the report.

Given conditions come from a CSV beside the data (data.conditions, else conditions.csv, else the simulator's
recordings.csv), one row per recording, matched by the sample id (or, for one-sample files, the file path relative
to the dataset folder); every column but the identifiers is a condition, numeric when all its values are numbers.
Observable conditions that are not given are estimated from the spectrograms (mdaug.data.estimators): the torso's
radial speed and walking direction, the gait cycle and the SNR. A condition's name carries its unit.

What a condition is compared with (coverage, unseen conditions) is its TOLERANCE: two recordings are in the same
condition when they differ by no more than it (categories: when equal)."""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mdaug.data.axes import Axes, axes_of
from mdaug.data.canonical import SpectrogramSet
from mdaug.errors import MdaugError

CONDITION_FILES = ("conditions.csv", "recordings.csv")
"""Looked for in the dataset's folder, in this order, when data.conditions is not set."""
IDENTIFIERS = ("id", "file", "index", "class", "label", "person", "session", "recording", "orig_shape",
               "file_sha256", "sample_hash", "phase0")
"""Columns that say which recording a row is (or, phase0, where in the gait cycle it starts): not conditions."""
TOLERANCE: dict[str, float | None] = {
    "speed_mps": 0.1, "radial_speed_mps": 0.1, "radial_doppler_hz": 20.0, "radial_doppler_rows": 0.5,
    "aspect_deg": 15.0, "snr_db": 2.0, "cycle_s": 0.05, "cycle_cols": 1.0, "range_m": None,
}
"""How far apart two recordings may be and still be in the same condition. None: never compared (on a display
normalised to its peak, the range acts only through the SNR, which is compared itself). A numeric condition not
named here: a tenth of the spread of its values (5th to 95th percentile); a category: equal or not."""
PERSON_TRAITS = ("cycle_s", "cycle_cols")
"""Conditions that follow from the person (the gait cycle: body and cadence at a given speed, Boulic-Thalmann), not
from the session: never asked of another person when rendering a session they lack (mdaug.data.coverage.lacking)."""
DESCRIPTIONS = {
    "speed_mps": "walking speed (m/s)", "radial_speed_mps": "torso's radial speed, + towards the radar (m/s)",
    "radial_doppler_hz": "torso's Doppler (Hz)", "radial_doppler_rows": "torso's Doppler (rows from zero)",
    "direction": "walking towards or away from the radar", "aspect_deg": "walking direction against the line "
    "of sight (degrees; 0 towards, 180 away)", "range_m": "range at mid-recording (m)", "snr_db": "SNR (dB)",
    "cycle_s": "gait cycle (s)", "cycle_cols": "gait cycle (time bins)", "arms": "what the arms do",
    "radar": "the radar", "load": "what is carried"}


LABELS = {
    "speed_mps": "speed (m/s)", "radial_speed_mps": "radial speed (m/s)", "radial_doppler_hz": "torso (Hz)",
    "radial_doppler_rows": "torso (rows)", "direction": "direction", "aspect_deg": "aspect (deg)",
    "range_m": "range (m)", "snr_db": "SNR (dB)", "cycle_s": "cycle (s)", "cycle_cols": "cycle (bins)",
    "arms": "arms", "radar": "radar", "load": "load"}
"""Short labels for tables and figures."""


def label(name: str) -> str:
    return LABELS.get(name, name)


@dataclass
class Conditions:
    """Per-sample conditions aligned with a dataset's samples: numeric ones as float64 (NaN: unknown), categories
    as str ('': unknown)."""

    values: dict[str, np.ndarray]
    source: dict[str, str]
    """'given (FILE)', 'estimated', or 'given (FILE), N estimated' per condition."""
    bounded: dict[str, np.ndarray] = field(default_factory=dict)
    """Per condition that can be: True where the value is only a lower bound (an SNR whose floor the display
    clips)."""
    notes: list[str] = field(default_factory=list)
    """What could not be read or estimated, one line each (a conditions file found beside the data that does not
    fit it, spectrograms the estimators cannot read)."""

    @property
    def names(self) -> list[str]:
        return list(self.values)

    def numeric(self, name: str) -> bool:
        return self.values[name].dtype.kind == "f"

    def __len__(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0

    def known(self, name: str) -> np.ndarray:
        v = self.values[name]
        return np.isfinite(v) if self.numeric(name) else v != ""

    def subset(self, idx: np.ndarray) -> Conditions:
        return Conditions(values={k: v[idx] for k, v in self.values.items()}, source=dict(self.source),
                          bounded={k: v[idx] for k, v in self.bounded.items()}, notes=list(self.notes))

    def tolerance(self, name: str) -> float | None:
        """The tolerance of a numeric condition (TOLERANCE, else a tenth of its 5-95% spread); None for categories
        and for conditions that are not compared."""
        if not self.numeric(name):
            return None
        if name in TOLERANCE:
            return TOLERANCE[name]
        v = self.values[name][np.isfinite(self.values[name])]
        if not len(v):
            return None
        spread = float(np.quantile(v, 0.95) - np.quantile(v, 0.05))
        return spread / 10 if spread > 0 else 1e-9

    def compared(self) -> list[str]:
        """The conditions that coverage and unseen conditions compare: numeric ones with a tolerance, and
        categories but those with a value for nearly every recording (more distinct values than half the recordings
        that have one: free text or a per-recording name, which would make every held-out recording unseen)."""
        out = []
        for n in self.names:
            if self.numeric(n):
                if self.tolerance(n) is not None:
                    out.append(n)
                continue
            known = self.values[n][self.known(n)]
            if len(known) and len(set(known)) <= len(known) / 2:
                out.append(n)
        return out

    def rows(self, ids: list[str]) -> list[dict[str, object]]:
        """One dict per sample (id first), for a CSV."""
        out = []
        for i, sid in enumerate(ids):
            row: dict[str, object] = {"id": sid}
            for n, v in self.values.items():
                row[n] = ("" if not math.isfinite(v[i]) else round(float(v[i]), 4)) if self.numeric(n) else v[i]
            out.append(row)
        return out


def _parse(column: list[str]) -> np.ndarray:
    """Numbers when every non-empty value is one (empty: NaN), else categories."""
    cells = [c.strip() for c in column]
    try:
        return np.array([float(c) if c else np.nan for c in cells], dtype=np.float64)
    except ValueError:
        return np.array(cells, dtype=object)


def read_condition_file(path: Path, ds: SpectrogramSet) -> Conditions:
    """The conditions of `ds`'s samples from the CSV at `path` (see the module docstring). Rows of samples the data
    does not hold are ignored; samples without a row get unknown values. Errors: no id or file column, no row that
    matches a sample, the same sample twice."""
    path = Path(path)
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise MdaugError(f"conditions file {path} cannot be read ({type(e).__name__})") from None
    if not rows:
        raise MdaugError(f"conditions file {path} has no rows")
    header = list(rows[0])
    key = "id" if "id" in header else "file" if "file" in header else None
    if key is None:
        raise MdaugError(f"conditions file {path} needs an 'id' column (the sample ids of manifest.csv) or a 'file' "
                         f"column (paths relative to the dataset folder); it has {', '.join(header[:8])}")
    where = {sid: i for i, sid in enumerate(ds.ids)} if key == "id" else \
        {r.file: i for i, r in enumerate(ds.records) if r.index < 0}
    if key == "file" and not where:
        raise MdaugError(f"conditions file {path}: a 'file' column names files of one spectrogram each, and this "
                         f"data's files hold several; give an 'id' column instead (ids like {ds.ids[0]!r}, as in "
                         "manifest.csv)")
    order, seen = np.full(len(rows), -1), set()
    for k, r in enumerate(rows):
        name = (r.get(key) or "").strip().replace("\\", "/")
        if name in seen:
            raise MdaugError(f"conditions file {path}: {key} {name!r} appears twice")
        seen.add(name)
        order[k] = where.get(name, -1)
    if not (order >= 0).any():
        example = ds.ids[0] if key == "id" else ds.records[0].file
        raise MdaugError(f"conditions file {path}: no {key} matches a sample of the data (first row "
                         f"{rows[0].get(key)!r}; the data's ids look like {example!r})")
    names = [h for h in header if h and h not in IDENTIFIERS]
    values, source = {}, {}
    hit = order >= 0
    for n in names:
        col = _parse([r.get(n) or "" for r in rows])
        full = np.full(len(ds), np.nan) if col.dtype.kind == "f" else np.full(len(ds), "", dtype=object)
        full[order[hit]] = col[hit]
        values[n], source[n] = full, f"given ({path.name})"
    return Conditions(values=values, source=source)


def find_condition_file(folder: Path | None, configured: str | None) -> Path | None:
    """data.conditions when set (an error when it does not exist), else the first of CONDITION_FILES in the
    dataset's folder."""
    if configured:
        path = Path(configured)
        if not path.is_file():
            raise MdaugError(f"data.conditions={configured} is not a file; give the CSV of conditions per recording")
        return path
    if folder is None or not folder.is_dir():
        return None
    return next((folder / n for n in CONDITION_FILES if (folder / n).is_file()), None)


ESTIMATE_CHUNK = 512
"""Spectrograms estimated at a time (the estimators hold a few float64 copies of what they read)."""


def estimate_conditions(ds: SpectrogramSet, axes: Axes, dynamic_range_db: float) -> Conditions:
    """The observable conditions of every sample, estimated from the spectrograms (mdaug.data.estimators), in chunks
    of ESTIMATE_CHUNK; none, with a note, for spectrograms of several channels or display ranges (no dB display to
    read)."""
    from mdaug.data import estimators as est

    if ds.x.shape[1] != 1 or ds.info.dynamic_range_db_mixed or not len(ds):
        why = ("no spectrograms" if not len(ds) else f"{ds.x.shape[1]} channels" if ds.x.shape[1] != 1
               else "several display ranges")
        return Conditions(values={}, source={}, notes=[f"no condition estimated from the spectrograms ({why})"])
    # the floor's gamma shape is the data's (its STFT and resize), so it is read once, from a sample of it
    pick = np.random.default_rng(0).permutation(len(ds))[:ESTIMATE_CHUNK]
    shape = est.noise_shape(est.power(ds.x[np.sort(pick)], dynamic_range_db), 10.0 ** (-dynamic_range_db / 10.0))
    parts = []
    for i in range(0, len(ds), ESTIMATE_CHUNK):
        p = est.power(ds.x[i:i + ESTIMATE_CHUNK], dynamic_range_db)
        speed, unit = est.radial_speed(p, axes)
        cycle, cycle_unit = est.gait_cycle(p, axes)
        snr, bounded = est.snr(p, axes, dynamic_range_db, shape=shape)
        parts.append((speed, cycle, snr, bounded))
    speed, cycle, snr, bounded = (np.concatenate(v) for v in zip(*parts))
    speed_name = {"m/s": "radial_speed_mps", "Hz": "radial_doppler_hz", "rows": "radial_doppler_rows"}[unit]
    values = {speed_name: speed, "direction": np.where(speed >= 0, "towards", "away").astype(object),
              "cycle_s" if cycle_unit == "s" else "cycle_cols": cycle, "snr_db": snr}
    return Conditions(values=values, source=dict.fromkeys(values, "estimated"), bounded={"snr_db": bounded})


def merge(given: Conditions | None, estimated: Conditions) -> Conditions:
    """Given conditions, with the estimated ones they lack: a condition not given at all, or the samples a given
    one leaves unknown."""
    if given is None:
        return estimated
    values, source, bounded = dict(given.values), dict(given.source), dict(given.bounded)
    notes = list(given.notes) + list(estimated.notes)
    for n, v in estimated.values.items():
        if n not in values:
            values[n], source[n] = v, estimated.source[n]
            if n in estimated.bounded:
                bounded[n] = estimated.bounded[n]
            continue
        if given.numeric(n) != estimated.numeric(n):
            continue
        gap = ~given.known(n)
        if gap.any():
            values[n] = np.where(gap, v, values[n])
            source[n] = f"{given.source[n]}, {int(gap.sum())} estimated"
            if n in estimated.bounded:  # an estimate that fills a gap keeps what it is: maybe a bound only
                bounded[n] = gap & estimated.bounded[n] | given.bounded.get(n, np.zeros(len(gap), dtype=bool))
    return Conditions(values=values, source=source, bounded=bounded, notes=notes)


def dataset_conditions(ds: SpectrogramSet, folder: Path | None, data_cfg: object | None = None) -> Conditions:
    """Every sample's conditions: given (find_condition_file) and estimated, merged. `data_cfg` (a DataConfig) gives
    data.conditions, the axes the data does not record (data.doppler_hz, ...) and the display's dB range."""
    configured = getattr(data_cfg, "conditions", None)
    path = find_condition_file(folder, configured)
    given = None
    if path is not None:
        try:
            given = read_condition_file(path, ds)
        except MdaugError as e:
            if configured:  # asked for: it must fit
                raise
            given = Conditions(values={}, source={}, notes=[f"{path} was found beside the data and left out: {e}"])
    dr = ds.info.dynamic_range_or(getattr(data_cfg, "dynamic_range_db", 40.0))
    return merge(given, estimate_conditions(ds, axes_of(ds.x.shape, ds.info, data_cfg), dr))


__all__ = ["CONDITION_FILES", "Conditions", "DESCRIPTIONS", "PERSON_TRAITS", "IDENTIFIERS", "LABELS", "TOLERANCE",
           "dataset_conditions", "estimate_conditions", "find_condition_file", "label", "merge",
           "read_condition_file"]
