"""The synthetic samples of one utility repeat: drawn once (or taken from the exported augmented dataset when
they are exactly its samples), kept in synthetic.npz, and added to the real data as a training set."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
from rich.console import Console

from mdaug import seeds
from mdaug.data import load_prepared
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.splits import Split
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_bytes
from mdaug.runs.loading import Stage2Model, load_stage2
from mdaug.runs.run_data import RunData
from mdaug.sampling.export import AugmentRecord
from mdaug.sampling.generate import generate

MODES = ("real", "real+synthetic", "synthetic")
"""The training sets of the study: real only, real and synthetic, synthetic only (TSTR)."""


def with_synthetic(real: RunData, x: np.ndarray, labels: np.ndarray, mode: str) -> tuple[RunData, np.ndarray | None]:
    """The real data with synthetic samples appended: training split = the real training samples (mode
    'real'), both ('real+synthetic') or the synthetic ones only ('synthetic'); val and test stay real.
    Returns the data and the pool of indices the recogniser's carve-out may draw from (None: all)."""
    ds = real.dataset
    names = ds.class_names
    recs = [Record(id=f"synthetic/{names[int(y)]}/{i:05d}", file="synthetic", index=i, class_name=names[int(y)],
                   session=f"synthetic/{names[int(y)]}", orig_shape=tuple(x.shape[1:]), file_sha256="",
                   sample_hash=sample_hash(x[i])) for i, y in enumerate(labels)]
    both = SpectrogramSet(x=np.concatenate([ds.x, x.astype(np.float32)]), labels=np.concatenate([ds.labels, labels]),
                          class_names=names, records=list(ds.records) + recs, info=dict(ds.info, synthetic=len(recs)))
    real_train = list(real.split.ids["train"])
    synth_ids = [r.id for r in recs]
    train = {"real": real_train, "real+synthetic": real_train + synth_ids, "synthetic": synth_ids}[mode]
    split = Split(ids=dict(real.split.ids, train=train), group_by=real.split.group_by, seed=real.split.seed,
                  fingerprint=both.fingerprint())
    pool = real.indices("train") if mode == "real+synthetic" else None  # real rows keep their positions
    return RunData(dataset=both, split=split, source=f"{real.source} + {len(recs)} synthetic"), pool


def exported_samples(augmented: Path, s2: Stage2Model, labels: np.ndarray, seed: int) -> np.ndarray | None:
    """The samples of the augmented dataset `augmented` (written by mdaug.sampling.export.export_augmented) when
    they are exactly the ones this generation would draw: the same stage-2 model, sampler settings, seed and labels,
    stored as float arrays (format 'prepared'; images are quantised). None otherwise."""
    rec = AugmentRecord.read(augmented)
    names = s2.class_names
    same = (rec is not None and rec.format == "prepared" and rec.kind == s2.kind.name
            and rec.model == str(s2.folder.resolve()) and rec.seed == seed
            and rec.sampling == s2.kind.settings_dict(s2.default_settings())
            and rec.classes == list(names) and rec.samples == len(labels))
    if not same:
        return None
    try:
        ds = load_prepared(augmented)
    except MdaugError:
        return None
    got = np.array([names.index(n) for n in ds.class_names])[ds.labels]
    return ds.x if np.array_equal(got, labels) else None


def synthetic_samples(folder: Path, s2_dir: Path, n_classes: int, per_class: int, seed: int, repeat: int, *,
                      augmented: Path | None = None, console: Console | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(x, labels): `per_class` samples of every class for this repeat, from folder/synthetic.npz when it is there
    and readable (it is derived, so a damaged one is drawn again), else drawn with seed + seeds.UTILITY_SYNTHETIC
    x repeat (or taken from `augmented`, see exported_samples) and saved there."""
    path = folder / "synthetic.npz"
    labels = np.repeat(np.arange(n_classes), per_class)
    if path.exists():
        try:
            with np.load(path) as z:
                return z["x"], z["labels"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            if console:
                console.print(f"  {path} is unreadable; generating it again")
    s2 = load_stage2(s2_dir)
    seed = seed + seeds.UTILITY_SYNTHETIC * repeat
    x = exported_samples(Path(augmented), s2, labels, seed) if augmented is not None else None
    if x is not None and console:
        console.print(f"  synthetic samples: those of the augmented dataset {augmented} (the same model and seed)")
    if x is None:
        x = generate(s2, labels, s2.default_settings(), seed=seed, device="cpu")
    buf = io.BytesIO()
    np.savez(buf, x=x, labels=labels)
    atomic_write_bytes(path, buf.getvalue())
    return x, labels


__all__ = ["MODES", "exported_samples", "synthetic_samples", "with_synthetic"]
