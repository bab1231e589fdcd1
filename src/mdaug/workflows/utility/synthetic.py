"""Synthetic samples in the utility study: a strategy's pool, drawn once per (budget, repeat, strategy) and kept
in a file (drawn again if the file is damaged: it is derived), and added to the real data as a training set with
the real validation and test splits kept."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np

from mdaug.data.canonical import SYNTHETIC_ID_PREFIX, Record, SpectrogramSet, sample_hash
from mdaug.data.splits import Split
from mdaug.files import atomic_write_bytes
from mdaug.runs.run_data import RunData
from mdaug.workflows.pools import Pool


def with_synthetic(real: RunData, x: np.ndarray, labels: np.ndarray, mode: str) -> RunData:
    """The real data with synthetic samples appended: training split = the real training samples (mode 'real'),
    both ('real+synthetic') or the synthetic ones only ('synthetic'); val and test stay real."""
    ds = real.dataset
    names = ds.class_names
    recs = [Record(id=f"{SYNTHETIC_ID_PREFIX}{names[int(y)]}/{i:05d}", file="synthetic", index=i,
                   class_name=names[int(y)], session=f"{SYNTHETIC_ID_PREFIX}{names[int(y)]}",
                   orig_shape=tuple(x.shape[1:]), file_sha256="", sample_hash=sample_hash(x[i]))
            for i, y in enumerate(labels)]
    both = SpectrogramSet(x=np.concatenate([ds.x, x.astype(np.float32)]), labels=np.concatenate([ds.labels, labels]),
                          class_names=names, records=list(ds.records) + recs, info=ds.info.updated(synthetic=len(recs)))
    real_train = list(real.split.train)
    synth_ids = [r.id for r in recs]
    train = {"real": real_train, "real+synthetic": real_train + synth_ids, "synthetic": synth_ids}[mode]
    split = Split(ids=dict(real.split.ids, train=train), group_by=real.split.group_by, seed=real.split.seed,
                  fingerprint=both.fingerprint())
    return RunData(dataset=both, split=split, source=f"{real.source} + {len(recs)} synthetic")


def cached_pool(path: Path, draw: Callable[[], Pool]) -> Pool:
    """The pool saved at `path`, or `draw()` saved there (also when the file is damaged: it is derived)."""
    if path.exists():
        try:
            with np.load(path) as z:
                return Pool(x=z["x"], labels=z["labels"], counts=json.loads(str(z["counts"])))
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):
            pass
    pool = draw()
    buf = io.BytesIO()
    np.savez(buf, x=pool.x, labels=pool.labels, counts=json.dumps(pool.counts))
    atomic_write_bytes(path, buf.getvalue())
    return pool


__all__ = ["cached_pool", "with_synthetic"]
