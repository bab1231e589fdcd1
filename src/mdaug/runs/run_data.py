"""The data of a training run: the dataset (simulated when no path is given), its leak-free split, and a
record of both in the run folder so that a resumed run or a later stage can check it sees the same data."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydantic import BaseModel
from rich.console import Console

from mdaug.config import Config, DataConfig
from mdaug.data import SpectrogramSet, is_prepared, load_prepared, load_split, make_split, read_dataset, save_split
from mdaug.data.axes import with_axes
from mdaug.data.conditions import Conditions, dataset_conditions
from mdaug.data.info import DataInfo, DataInfoJson
from mdaug.data.limits import check_size, one_class_message
from mdaug.data.read import resize
from mdaug.data.splits import Split, check_leak_free, limit_sessions, limit_train
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text
from mdaug.runs.builtin import builtin_dataset
from mdaug.runs.layout import DATA_RECORD, SPLIT


@dataclass
class RunData:
    dataset: SpectrogramSet
    split: Split
    source: str
    """Where the data came from: a path, or the simulator cache folder."""
    data_cfg: DataConfig | None = None
    """How it was read: where its conditions file is and what its axes are (data.conditions, data.doppler_hz, ...)."""
    _conditions: Conditions | None = field(default=None, repr=False, compare=False)

    @property
    def conditions(self) -> Conditions:
        """Every sample's conditions, given and estimated (mdaug.data.conditions); computed once, on first use."""
        if self._conditions is None:
            folder = Path(self.source)
            self._conditions = dataset_conditions(self.dataset, folder if folder.is_dir() else folder.parent,
                                                  self.data_cfg)
        return self._conditions

    def indices(self, name: str) -> np.ndarray:
        return self.split.indices(self.dataset, name)

    @property
    def size(self) -> tuple[int, int]:
        return (int(self.dataset.x.shape[2]), int(self.dataset.x.shape[3]))

    @property
    def channels(self) -> int:
        return int(self.dataset.x.shape[1])


def check_data_path(cfg: Config) -> None:
    """A data path given that does not exist: refused before anything else is done."""
    if cfg.data.path and not Path(cfg.data.path).exists():
        raise MdaugError(f"data path {cfg.data.path} does not exist")


def load_run_data(cfg: Config, console: Console | None = None) -> RunData:
    """The dataset of cfg.data.path (a prepared dataset, or any folder/file the readers take), or the
    simulated one when no path is set; resized to cfg.data.size when that is set; with its split (the
    dataset's own split.json when it has one, else made from cfg.split)."""
    check_data_path(cfg)
    path = Path(cfg.data.path) if cfg.data.path else builtin_dataset(cfg, console)
    if is_prepared(path):
        ds = load_prepared(path)
    else:
        result = read_dataset(path, cfg.data, progress=console is not None)
        ds = result.dataset
    ds.info = with_axes(ds.info, cfg.data)  # data.doppler_hz, ... where the data does not record its own
    if len(ds.class_names) < 2:  # a prepared or simulated set read without the reader's check
        raise MdaugError(one_class_message(ds.class_names[0] if ds.class_names else "-", len(ds)))
    if cfg.data.size is not None and tuple(ds.x.shape[2:]) != tuple(cfg.data.size):
        check_size(cfg.data.size, len(ds), ds.x.shape[1])
        ds = replace(ds, x=resize(ds.x, cfg.data.size))
    saved = path / SPLIT if path.is_dir() else None
    split = None
    if saved is not None and saved.exists():
        split = load_split(saved)
        if split.fingerprint != ds.fingerprint():
            split = None  # resized, so the ids are equal but the content hash is not: re-split the same way
    sp, seed = cfg.split, (cfg.split.seed, cfg.split.budget_seed)
    split = limit_sessions(split or make_split(ds, sp), ds, sp.train_sessions_per_class, (*seed, 2))
    split = limit_sessions(split, ds, sp.val_sessions_per_class, (*seed, 3), "val")
    split = limit_train(split, ds, sp.train_per_class, seed)
    split = limit_train(split, ds, sp.val_per_class, (*seed, 1), "val")
    check_leak_free(split, ds)
    train = split.indices(ds, "train")
    counts = np.bincount(ds.labels[train], minlength=len(ds.class_names))
    if counts.min() == 0:
        raise MdaugError(f"class '{ds.class_names[int(counts.argmin())]}' has no training samples after the split")
    return RunData(dataset=ds, split=split, source=str(path), data_cfg=cfg.data)


class DataRecord(BaseModel):
    """RUN/data.json: what data a run saw, checked again on resume and read by later stages."""

    source: str = ""
    fingerprint: str = ""
    n: int = 0
    shape: list[int] = []
    """(channels, doppler, time) of one sample."""
    class_names: list[str] = []
    split: dict[str, int] = {}
    """How many samples each split holds."""
    split_group_by: str = ""
    info: DataInfoJson = DataInfo()

    @classmethod
    def load(cls, run: Path) -> DataRecord:
        """The record of the run folder `run`; MdaugError when it has none that reads."""
        try:
            return cls.model_validate_json((Path(run) / DATA_RECORD).read_text())
        except (OSError, ValueError):
            raise MdaugError(f"{run}/{DATA_RECORD} is missing or unreadable; this is not a complete mdaug run") \
                from None


def data_record(data: RunData) -> DataRecord:
    """What a run stores about its data (data.json), checked again on resume and by later stages."""
    return DataRecord(source=data.source, fingerprint=data.dataset.fingerprint(), n=len(data.dataset),
                      shape=list(data.dataset.x.shape[1:]), class_names=data.dataset.class_names,
                      split={k: len(v) for k, v in data.split.ids.items()}, split_group_by=data.split.group_by,
                      info=data.dataset.info)


def write_run_data(data: RunData, run: Path) -> None:
    save_split(data.split, run / SPLIT)
    atomic_write_text(run / DATA_RECORD, json.dumps(data_record(data).model_dump(), indent=2, default=str))


def check_run_data(data: RunData, run: Path) -> None:
    """Refuse to resume on other data than the run started with."""
    before, now = DataRecord.load(run), data_record(data)
    if before.fingerprint != now.fingerprint or before.shape != now.shape:
        raise MdaugError(f"the data differs from the data {run} was trained on ({before.source}, "
                         f"{before.n} samples {before.shape}); resume with the same data")
    split = load_split(run / SPLIT)
    if split.ids != data.split.ids:
        raise MdaugError(f"the split differs from the one {run} was trained on; resume with the same split config")


def ids_digest(ids: list[str]) -> str:
    """SHA-256 (16 hex digits) of a set of sample ids: which samples a model saw, comparable across records."""
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]
