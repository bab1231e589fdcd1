"""The canonical dataset on disk, as `mdaug data prepare` writes it and every later stage reads it.

    DIR/mdaug_dataset.json   format version, shape, class names, fingerprint, read-time facts
    DIR/spectrograms.npy     (n, channels, doppler, time) float32 in [-1, 1]
    DIR/manifest.csv         one row per sample: id, file, index, class, label, session, shape, checksums
    DIR/classes.json         class name <-> index map (stored with every dataset and model)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from mdaug.data.canonical import Record, SpectrogramSet
from mdaug.data.info import DataInfo, DataInfoJson
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_bytes, atomic_write_text, sha256_file

FORMAT_VERSION = 1
DATASET_FILE = "mdaug_dataset.json"
"""Written last into a prepared dataset's folder: its presence marks the dataset complete."""
SPLIT_FILE = "split.json"
"""The split saved beside a prepared dataset (and in every run folder)."""


def is_prepared(folder: Path) -> bool:
    """Whether `folder` holds a complete prepared dataset."""
    return (Path(folder) / DATASET_FILE).is_file()


MANIFEST_FIELDS = ("id", "file", "index", "class", "label", "session", "orig_shape", "file_sha256", "sample_hash")


def manifest_csv(ds: SpectrogramSet) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(MANIFEST_FIELDS)
    for r, lab in zip(ds.records, ds.labels):
        w.writerow([r.id, r.file, r.index, r.class_name, int(lab), r.session or "", "x".join(map(str, r.orig_shape)),
                    r.file_sha256, r.sample_hash])
    return buf.getvalue()


def read_manifest(path: Path) -> tuple[list[Record], np.ndarray]:
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if rows and set(MANIFEST_FIELDS) - set(rows[0]):
        raise MdaugError(f"{path} is not an mdaug manifest "
                         f"(missing columns {sorted(set(MANIFEST_FIELDS) - set(rows[0]))})")
    records = [
        Record(id=r["id"], file=r["file"], index=int(r["index"]), class_name=r["class"], session=r["session"] or None,
               orig_shape=tuple(int(v) for v in r["orig_shape"].split("x")), file_sha256=r["file_sha256"],
               sample_hash=r["sample_hash"])
        for r in rows
    ]
    return records, np.array([int(r["label"]) for r in rows], dtype=np.int64)


def class_map_json(class_names: list[str]) -> str:
    return json.dumps({"names": list(class_names), "index": {n: i for i, n in enumerate(class_names)}}, indent=2)


def load_class_map(path: Path) -> list[str]:
    try:
        names = json.loads(Path(path).read_text())["names"]
    except (OSError, ValueError, KeyError, TypeError):
        raise MdaugError(f"{path} is not a readable class map (classes.json)") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise MdaugError(f"{path}: 'names' must be a list of distinct class names")
    return names


class PreparedMeta(BaseModel):
    """DIR/mdaug_dataset.json."""

    format_version: int
    n: int
    shape: list[int]
    class_names: list[str]
    fingerprint: str
    spectrograms_sha256: str
    info: DataInfoJson = DataInfo()


def save_prepared(ds: SpectrogramSet, out: Path) -> Path:
    """Write `ds` into the folder `out` (which must be new or empty; the caller checks)."""
    out.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    np.save(buf, ds.x, allow_pickle=False)
    atomic_write_bytes(out / "spectrograms.npy", buf.getvalue())
    atomic_write_text(out / "manifest.csv", manifest_csv(ds))
    atomic_write_text(out / "classes.json", class_map_json(ds.class_names))
    meta = PreparedMeta(format_version=FORMAT_VERSION, n=len(ds), shape=list(ds.x.shape[1:]),
                        class_names=ds.class_names, fingerprint=ds.fingerprint(),
                        spectrograms_sha256=hashlib.sha256(buf.getvalue()).hexdigest(), info=ds.info)
    # written last: marks it complete
    atomic_write_text(out / DATASET_FILE, json.dumps(meta.model_dump(), indent=2, default=str))
    return out


def load_prepared(folder: Path) -> SpectrogramSet:
    """Load a prepared dataset, checking that its files agree with each other and were not edited."""
    try:
        written = json.loads((folder / DATASET_FILE).read_text())
        if not isinstance(written, dict):
            raise ValueError("mdaug_dataset.json is not an object")
        if written.get("format_version") != FORMAT_VERSION:
            raise MdaugError(f"{folder} was written by another mdaug version (format "
                             f"{written.get('format_version')}); prepare it again")
        meta = PreparedMeta.model_validate(written)
        content_sha = sha256_file(folder / "spectrograms.npy")
        x = np.load(folder / "spectrograms.npy", allow_pickle=False)
        records, labels = read_manifest(folder / "manifest.csv")
        names = load_class_map(folder / "classes.json")
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise MdaugError(f"{folder} is not a complete mdaug dataset ({type(e).__name__}: {str(e)[:80]})") from None
    if content_sha != meta.spectrograms_sha256:
        raise MdaugError(f"{folder}: spectrograms.npy does not match mdaug_dataset.json (changed after it was "
                         "prepared); prepare it again")
    if x.dtype != np.float32 or x.ndim != 4 or len(x) != len(records):
        raise MdaugError(f"{folder}: spectrograms.npy {x.shape} {x.dtype} does not match manifest.csv "
                         f"({len(records)} rows)")
    if names != meta.class_names or len(labels) and (labels.min() < 0 or labels.max() >= len(names)) \
            or any(r.class_name != names[lab] for r, lab in zip(records, labels)):
        raise MdaugError(f"{folder}: labels in manifest.csv and classes.json disagree (edited by hand?); "
                         "prepare it again")
    ds = SpectrogramSet(x=x, labels=labels, class_names=names, records=records, info=meta.info)
    if ds.fingerprint() != meta.fingerprint:
        raise MdaugError(f"{folder}: manifest.csv does not match mdaug_dataset.json (edited by hand?); "
                         "prepare it again")
    return ds
