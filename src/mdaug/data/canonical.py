"""The canonical in-memory dataset every reader produces and every later stage consumes."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace

import numpy as np

from mdaug.data.info import DataInfo

SYNTHETIC_ID_PREFIX = "synthetic/"
"""Ids of generated samples added to a dataset start with this: they are never real, never tested on."""


@dataclass(frozen=True)
class Record:
    """Where one sample came from: one row of the dataset manifest."""

    id: str
    """Unique within the dataset: the file path relative to the dataset root, plus '#i' for stacks."""
    file: str
    index: int
    """Position inside a multi-sample file, -1 for one-sample files."""
    class_name: str
    session: str | None
    orig_shape: tuple[int, ...]
    """(channels, doppler, time) as read, before resizing."""
    file_sha256: str
    sample_hash: str = ""
    """blake2b of the canonical sample: equal hashes are duplicate samples."""


@dataclass
class SpectrogramSet:
    """Spectrograms in canonical form with their labels and provenance.

    x: (n, channels, doppler, time) float32 in [-1, 1]; channels is 1 (or 3 for kept RGB). Doppler index 0
    is the lowest (most negative) Doppler, as drawn by imshow(origin='lower').
    """

    x: np.ndarray
    labels: np.ndarray  # (n,) int64 indices into class_names
    class_names: list[str]
    records: list[Record]
    info: DataInfo = field(default_factory=DataInfo)
    """Read-time facts: format, colormap, scale, source path, axes when known."""

    def __post_init__(self) -> None:
        n = len(self.x)
        assert self.x.ndim == 4 and self.x.dtype == np.float32, \
            f"x must be (n, c, d, t) float32, got {self.x.shape} {self.x.dtype}"
        assert self.labels.shape == (n,) and len(self.records) == n, "labels/records must match x"

    def __len__(self) -> int:
        return len(self.x)

    @property
    def sessions(self) -> list[str | None]:
        return [r.session for r in self.records]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]

    def class_to_index(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.class_names)}

    def counts(self) -> dict[str, int]:
        c = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(c[i]) for i, name in enumerate(self.class_names)}

    def subset(self, indices: np.ndarray | list[int]) -> SpectrogramSet:
        idx = np.asarray(indices, dtype=np.int64)
        return replace(self, x=self.x[idx], labels=self.labels[idx], records=[self.records[i] for i in idx])

    def fingerprint(self) -> str:
        """Identity of the dataset's content and order, stored with splits and models."""
        h = hashlib.sha256()
        for r in self.records:
            h.update(f"{r.id}\t{r.class_name}\t{r.sample_hash}\n".encode())
        return h.hexdigest()[:16]


def sample_hash(x: np.ndarray) -> str:
    return hashlib.blake2b(np.ascontiguousarray(x, dtype=np.float32).tobytes(), digest_size=12).hexdigest()


def natural_key(name: str) -> list:
    """Sort 'person2' before 'person10'."""
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", name)]
