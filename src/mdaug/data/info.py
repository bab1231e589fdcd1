"""What a dataset's reader knows about it besides the spectrograms (SpectrogramSet.info): the one record of those
read-time facts, and its one way to and from JSON (the `info` of mdaug_dataset.json and of a run's data.json, a
stage-2 card's data_info).

Keys a file holds that this version does not know (a later version's, or added by hand) are kept in `extra`, written
back unchanged and never read."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer

ORIENTATION = "doppler ascending (row 0 = lowest Doppler), time ascending"
"""The canonical form's orientation, as every reader records it."""

COLOUR_IMAGE = "colour image"
GREYSCALE_IMAGE = "greyscale image"
ARRAY_SAMPLE = "array sample"
SIMULATED = "simulated spectrogram"
"""The kinds of sample a reader counts (DataInfo.kinds)."""


class DataInfo(BaseModel):
    """Read-time facts of a dataset: where it came from, what it was read from and how, and its axes when known.
    Every field is optional: a reader sets what it knows, and only what was set is written (None included)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    source: str | None = None
    """The path read, or what made the data ('mdaug simulator', 'examples', a stage-2 model's folder)."""
    layout: str | None = None
    """'class folders', 'labelled files', 'file', 'labels from file names', 'simulated'."""
    format: str | None = None
    """data.format as read."""
    kinds: dict[str, int] | None = None
    """How many samples of each kind were read (COLOUR_IMAGE, GREYSCALE_IMAGE, ARRAY_SAMPLE, SIMULATED)."""
    colormap: str | None = None
    colormap_detected: bool | None = None
    off_map_fraction: float | None = None
    """Mean share of a colour image's pixels off the colormap."""
    scales: dict[str, int] | None = None
    """How many samples were read as each value scale ('image', 'linear', 'db', 'power', ...)."""
    raw_range: list[float] | None = None
    """Smallest and largest magnitude of the arrays as read."""
    dynamic_range_db: float | None = None
    """The dB range the display shows (-1 is this far below the peak)."""
    native_shapes: dict[str, int] | None = None
    """'DOPPLERxTIME' as read, before resizing -> how many samples had it."""
    orientation: str | None = None
    doppler_hz: list[float] | None = None
    """Centres of the first and last Doppler bins as read."""
    time_s: list[float] | None = None
    """Centres of the first and last time bins as read."""
    carrier_hz: float | None = None
    prf_hz: float | None = None
    dynamic_range_db_mixed: bool | None = None
    """True for a corpus whose parts have different dB ranges (then dynamic_range_db is unset)."""
    seed: int | None = None
    """The simulator's seed."""
    parts: int | None = None
    """How many parts a pretraining corpus has."""
    display: str | None = None
    """A corpus part's display: 'none' or the colormap its images went through."""
    radar: str | None = None
    """A corpus part's radar."""
    synthetic: bool | int | None = None
    """True for generated samples alone; the count of them added to real data."""
    extra: dict[str, Any] = {}
    """Keys of the file this version does not know, written back as they were."""

    @classmethod
    def from_json(cls, value: dict[str, Any] | None) -> DataInfo:
        """The record of an `info` object as a file holds it (None or {}: nothing known)."""
        if value is None:
            return cls()
        if not isinstance(value, dict):
            raise ValueError(f"a dataset's info must be an object, not {type(value).__name__}")
        known = set(cls.model_fields) - {"extra"}
        fields = {k: v for k, v in value.items() if k in known}
        unknown = {k: v for k, v in value.items() if k not in known}
        return cls.model_validate(fields | ({"extra": unknown} if unknown else {}))

    def to_json(self) -> dict[str, Any]:
        """The `info` object as files hold it: the fields that were set, then the unknown keys."""
        return {**self.model_dump(exclude_unset=True, exclude={"extra"}), **self.extra}

    def dynamic_range_or(self, default: float) -> float:
        """The display's dB range, `default` (data.dynamic_range_db) when the data records none."""
        return float(self.dynamic_range_db if self.dynamic_range_db is not None else default)

    def count(self, kind: str) -> int:
        """How many samples of `kind` (COLOUR_IMAGE, ...) were read."""
        return (self.kinds or {}).get(kind, 0)

    def native_shape(self) -> tuple[int, int] | None:
        """(doppler, time) bins as read, when every sample had the same; None otherwise or when unknown."""
        shapes = self.native_shapes or {}
        if len(shapes) != 1:
            return None
        rows, cols = str(next(iter(shapes))).split("x")
        return int(rows), int(cols)

    def updated(self, **fields: Any) -> DataInfo:
        """A copy with `fields` set (checked as the constructor checks them)."""
        return type(self).model_validate({**self.model_dump(exclude_unset=True), **fields})


def _from_json(value: Any) -> Any:
    return value if isinstance(value, DataInfo) else DataInfo.from_json(value)


DataInfoJson = Annotated[DataInfo, BeforeValidator(_from_json), PlainSerializer(DataInfo.to_json)]
"""A DataInfo field of a pydantic record that is written as files hold it (see DataInfo.from_json, to_json)."""

__all__ = ["ARRAY_SAMPLE", "COLOUR_IMAGE", "DataInfo", "DataInfoJson", "GREYSCALE_IMAGE", "ORIENTATION", "SIMULATED"]
