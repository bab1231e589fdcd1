"""Augmented-dataset export: synthetic spectrograms written in the format and layout of the user's input
dataset (an image folder with the same colormap and suffix, or one npz / mat / HDF5 file, or a prepared
mdaug dataset), in a folder of their own, with a manifest that marks every sample synthetic and says which
model, seed, guidance and class made it. Nothing existing is overwritten."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict

from mdaug.config import StrategyConfig
from mdaug.data import is_prepared, save_prepared, write_dataset
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.info import ARRAY_SAMPLE, COLOUR_IMAGE, GREYSCALE_IMAGE, DataInfo
from mdaug.data.limits import check_memory
from mdaug.data.summary import preview_grid
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text, building, ensure_empty_dir
from mdaug.models.stage2 import SampleSettings
from mdaug.runs.cards import AutoencoderRef
from mdaug.runs.loading import Stage2Model
from mdaug.sampling.generate import class_indices, generate

FORMATS = ("auto", "images", "npz", "mat", "mat73", "hdf5", "prepared")
AUGMENT_JSON = "augment.json"
PREVIEW = "synthetic_preview.png"
"""Beside the samples: four of each class (the first 32 classes), as `mdaug data inspect` previews a dataset."""
MANIFEST = "synthetic_manifest.csv"


@dataclass
class OutputFormat:
    fmt: str
    colormap: str = "gray"
    suffix: str = ".png"


def input_format(source: str, info: DataInfo) -> OutputFormat:
    """The format of the dataset a model was trained on, from its path and the reader's facts."""
    path = Path(source)
    if is_prepared(path):
        return OutputFormat("prepared")
    if path.is_file() or path.suffix:
        suffix = path.suffix.lower()
        if suffix in (".npz", ".npy"):
            return OutputFormat("npz")
        if suffix == ".mat":
            import h5py

            return OutputFormat("mat73" if path.exists() and h5py.is_hdf5(path) else "mat")
        if suffix in (".h5", ".hdf5"):
            return OutputFormat("hdf5")
    colour_images, greyscale_images = info.count(COLOUR_IMAGE), info.count(GREYSCALE_IMAGE)
    if colour_images or greyscale_images:
        cmap = (info.colormap or "jet") if colour_images >= greyscale_images else "gray"
        suffixes = Counter(Path(f).suffix.lower() for f in _image_files(path))
        suffix = suffixes.most_common(1)[0][0] if suffixes else ".png"
        return OutputFormat("images", cmap, ".png" if suffix in (".jpg", ".jpeg") else suffix)
    if info.count(ARRAY_SAMPLE):
        return OutputFormat("npz")
    return OutputFormat("prepared")


def _image_files(root: Path, limit: int = 200) -> list[str]:
    found = []
    if root.is_dir():
        for p in root.rglob("*"):
            if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"):
                found.append(str(p))
                if len(found) >= limit:
                    break
    return found


def manifest_rows(files: list[str], labels: np.ndarray, class_names: list[str], s2: Stage2Model,
                  settings: SampleSettings, seed: int, batch_size: int, strategy: str | None = None) -> list[dict]:
    """One row per sample. Without a strategy a sample is reproducible alone (its batch's seed and its place in the
    batch); a strategy's pool is reproducible as a whole (model, strategy, seed)."""
    model = f"{s2.kind.name}:{s2.folder.resolve()}"
    rows = []
    for i, (f, y) in enumerate(zip(files, labels)):
        where = ({"batch_seed": seed + i // batch_size, "index_in_batch": i % batch_size} if strategy is None
                 else {"strategy": strategy})
        rows.append({"file": f, "class": class_names[int(y)], "synthetic": True, "model": model,
                     "autoencoder": s2.card.autoencoder.identity[:12], "seed": seed} | where
                    | {"guidance": settings.guidance_scale, "steps": settings.steps, "strength": settings.strength,
                       "sampler": s2.kind.sampler_name(settings)})
    return rows


class AugmentRecord(BaseModel):
    """out/augment.json: what an augmented dataset is and how it was made."""

    model_config = ConfigDict(extra="forbid")
    synthetic: bool = True
    format: str
    colormap: str | None
    per_class: int
    classes: list[str]
    samples: int
    seed: int
    sampling: dict[str, Any]
    model: str
    """The stage-2 model's final/ folder."""
    kind: str
    autoencoder: AutoencoderRef
    data_file: str
    """What `mdaug data inspect` reads, relative to the folder (which may be renamed after writing)."""
    strategy: StrategyConfig | None = None
    """The strategy the samples were drawn with, None for plain samples."""
    selected: str | None = None
    """How that strategy was chosen."""
    floor_noise_db: float | None = None
    """The noise-floor texture the samples got back (dB std, the stage-1 card's texture; 0 when off or when the
    stage-1 model has none)."""
    short: dict[str, int] = {}
    """The classes given fewer than per_class, with how many each got (empty: every class got per_class)."""
    short_why: str | None = None
    """Why those classes got fewer (a strategy's checks passed too few of what was drawn)."""
    drawn: dict[str, int] | None = None
    """A strategy's draw, summed over its rounds: drawn, and how many each check removed (near_copies,
    filtered_out, off_condition), kept."""
    rounds: int | None = None
    """How many times a strategy drew (again for the classes still short)."""

    def shortfall(self) -> str | None:
        """One line naming the classes that got fewer than asked and why; None when none did."""
        if not self.short:
            return None
        listed = ", ".join(f"{k} {v}" for k, v in list(self.short.items())[:8]) + (", ..." if len(self.short) > 8
                                                                                    else "")
        return (f"{len(self.short)} of {len(self.classes)} classes got fewer than the {self.per_class} asked "
                f"({self.samples} of {self.per_class * len(self.classes)} in all; {listed}): {self.short_why}")

    @classmethod
    def read(cls, folder: Path) -> "AugmentRecord | None":
        """The record of the augmented dataset in `folder`, or None when there is none readable."""
        try:
            return cls.model_validate_json((Path(folder) / AUGMENT_JSON).read_text())
        except (OSError, ValueError):
            return None


def _dataset(x: np.ndarray, labels: np.ndarray, names: list[str], suffix: str, images: bool,
             source: Path) -> SpectrogramSet:
    """The samples as a dataset, named class/synthetic_NNNNN per class."""
    counter: Counter = Counter()
    records = []
    for xi, y in zip(x, labels):
        name = names[int(y)]
        counter[name] += 1
        stem = f"synthetic_{counter[name]:05d}"
        rel = f"{name}/{stem}{suffix}" if images else f"{name}/{stem}"  # a file's name only where there is one
        records.append(Record(id=rel, file=rel if images else stem, index=-1, class_name=name, session=None,
                              orig_shape=tuple(xi.shape), file_sha256="", sample_hash=sample_hash(xi)))
    return SpectrogramSet(x=x.astype(np.float32), labels=labels, class_names=list(names), records=records,
                          info=DataInfo(synthetic=True, source=str(source)))


def _write(ds: SpectrogramSet, out: Path, of: OutputFormat) -> list[str]:
    """Write `ds` in format `of`; returns each sample's file (file#index inside an array file)."""
    if of.fmt == "prepared":
        save_prepared(ds, out)
        return [f"#{i}" for i in range(len(ds))]
    written = write_dataset(ds, out, of.fmt, colormap=of.colormap, image_suffix=of.suffix)
    if of.fmt == "images":
        return [str(p.relative_to(out)) for p in written]
    return [f"{written[0].name}#{i}" for i in range(len(ds))]


def check_export_size(s2: Stage2Model, n: int) -> None:
    """Refuse, before drawing any, `n` samples that would not fit in this machine's memory."""
    channels, *side = s2.autoencoder.input_shape
    check_memory(tuple(side), n, channels, what="to generate", fix="a smaller --per-class (or --classes)")


def export_augmented(s2: Stage2Model, out: Path, per_class: int, *, classes: list[str] | None = None,
                     settings: SampleSettings | None = None, seed: int = 0, fmt: str = "auto", batch_size: int = 64,
                     device: str | None = None, progress: bool = False,
                     pool: tuple[np.ndarray, np.ndarray] | None = None, strategy: StrategyConfig | None = None,
                     selected: str | None = None, drawn: dict[str, int] | None = None, rounds: int | None = None,
                     short_why: str | None = None) -> AugmentRecord:
    """Write `per_class` spectrograms for each chosen class to the new folder `out` in the input dataset's format
    (or `fmt`): generated here with `settings` (default: the model's, without the noise floor's texture, as for a
    strategy), or the (x, labels) of `pool`, drawn with `strategy` (as
    mdaug.workflows.pools.export_with_strategy does, with its `drawn` counts, `rounds` and why a class can fall
    `short_why` of the number asked). Returns the record written to out/augment.json."""
    if per_class < 1:
        raise MdaugError(f"--per-class must be at least 1, not {per_class}")
    if fmt not in FORMATS:
        raise MdaugError(f"unknown format '{fmt}' (choose from {', '.join(FORMATS)})")
    of = (input_format(s2.card.data_source, s2.card.data_info) if fmt == "auto"
          else OutputFormat(fmt, "jet" if fmt == "images" else "gray"))
    settings = settings or replace(s2.default_settings(), texture=False)  # mixed with recordings: see pools.py
    wanted = class_indices(classes, s2.class_names)
    check_export_size(s2, len(wanted) * per_class)
    ensure_empty_dir(out, what="output folder", create=False)
    if pool is None:
        labels = np.repeat(np.asarray(wanted, dtype=np.int64), per_class)
        x = generate(s2, labels, settings, seed=seed, batch_size=batch_size, device=device, progress=progress)
    else:
        x, labels = pool
        if not len(x):
            raise MdaugError(f"the strategy kept no sample ({short_why or 'its checks passed none'}); lower its "
                             "filter_confidence, or draw plain samples with --plain")
    with building(out) as tmp:  # a full disk or a kill leaves no folder that reads as complete
        names = s2.class_names
        ds = _dataset(x, labels, names, of.suffix, of.fmt == "images", s2.folder)
        files = _write(ds, tmp, of)
        rows = manifest_rows(files, labels, names, s2, settings, seed, batch_size,
                             None if strategy is None else strategy.name)
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
        atomic_write_text(tmp / MANIFEST, buf.getvalue())
        got = np.bincount(labels, minlength=len(names))
        short = {names[c]: int(got[c]) for c in wanted if got[c] < per_class}
        record = AugmentRecord(
            format=of.fmt, colormap=of.colormap if of.fmt == "images" else None, per_class=per_class,
            classes=[names[c] for c in wanted], samples=len(ds), seed=seed, sampling=s2.kind.settings_dict(settings),
            model=str(s2.folder.resolve()), kind=s2.kind.name, autoencoder=s2.card.autoencoder, strategy=strategy,
            selected=selected, floor_noise_db=s2.autoencoder.texture_db(settings.texture),
            data_file="." if of.fmt in ("images", "prepared") else files[0].split("#")[0],
            short=short, short_why=short_why if short else None, drawn=drawn, rounds=rounds)
        atomic_write_text(tmp / AUGMENT_JSON, json.dumps(record.model_dump(), indent=1))
        preview_grid(ds, tmp / PREVIEW, seed=seed)  # what the folder holds, at a glance
    return record


__all__ = ["AUGMENT_JSON", "FORMATS", "MANIFEST", "PREVIEW", "AugmentRecord", "OutputFormat", "check_export_size",
           "export_augmented", "input_format"]
