"""The spectrograms and axes the report draws itself, read from a pipeline folder: the data's physical axes
(stage 1's data.json), the augmented dataset's samples (OUT/synthetic, when it is a prepared dataset) and, beside
them, real spectrograms of the test split (when the source data is a prepared dataset that is still there).
Whatever is missing is None with a note why."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mdaug.data import is_prepared, load_prepared, load_split
from mdaug.errors import MdaugError
from mdaug.evaluation.figures import SpectrogramAxes, spectrogram_axes
from mdaug.runs.layout import CARD, SPLIT, PipelineFolders, final_dir
from mdaug.runs.run_data import DataRecord
from mdaug.sampling.export import AugmentRecord


@dataclass
class DataAxes:
    axes: SpectrogramAxes
    rows: int
    cols: int
    class_names: list[str]


def data_axes(folder: str | Path) -> DataAxes:
    """The axes of the pipeline's spectrograms (bins and frames when its data.json carries none), their size and
    class names."""
    p = PipelineFolders(Path(folder))
    try:
        record = DataRecord.load(p.ae)
    except MdaugError:
        record = DataRecord()
    dr = None
    try:
        dr = json.loads((final_dir(p.ae) / CARD).read_text())["normalisation"]["dynamic_range_db"]
    except (OSError, ValueError, KeyError, TypeError):
        pass
    shape = record.shape or [1, 0, 0]
    return DataAxes(spectrogram_axes(record.info, dr), int(shape[-2]), int(shape[-1]), list(record.class_names))


@dataclass
class Samples:
    class_names: list[str]
    fake: np.ndarray
    fake_labels: np.ndarray
    real: np.ndarray | None
    real_labels: np.ndarray | None
    note: str
    """Where the samples come from, or why the real ones are not shown."""


def _real_test(p: PipelineFolders, class_names: list[str]) -> tuple[np.ndarray | None, np.ndarray | None, str]:
    try:
        source = Path(DataRecord.load(p.ae).source)
        if not is_prepared(source):
            return None, None, f"the real data ({source}) is not a prepared dataset, so no real spectrogram is shown"
        ds = load_prepared(source)
        test = set(load_split(p.ae / SPLIT).test)
    except (OSError, ValueError, KeyError, TypeError, MdaugError) as e:
        return None, None, f"real spectrograms not shown ({str(e)[:100]})"
    if list(ds.class_names) != list(class_names):
        return None, None, "real spectrograms not shown (the source data's classes changed)"
    rows = np.array([i for i, r in enumerate(ds.records) if r.id in test], dtype=np.int64)
    return ds.x[rows], ds.labels[rows], "the first column: a real test spectrogram of the class"


def browser_samples(folder: str | Path) -> Samples | None:
    """The augmented dataset's samples with real test spectrograms beside them, or None without OUT/synthetic as
    a prepared dataset."""
    p = PipelineFolders(Path(folder))
    if not is_prepared(p.synthetic):
        return None
    try:
        syn = load_prepared(p.synthetic)
    except MdaugError:
        return None
    real, real_labels, note = _real_test(p, list(syn.class_names))
    record = AugmentRecord.read(p.synthetic)
    counted = ("" if record is None else f"{record.samples} samples, {record.per_class} asked per class"
               + (f"; {record.shortfall()}" if record.shortfall() else ", every class in full") + "; ")
    return Samples(list(syn.class_names), syn.x, syn.labels, real, real_labels,
                   f"the augmented dataset ({p.synthetic}): {counted}{note}")


__all__ = ["DataAxes", "Samples", "browser_samples", "data_axes"]
