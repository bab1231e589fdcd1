"""torch Dataset over a SpectrogramSet (or one split of it)."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset

from mdaug.data.canonical import SpectrogramSet


class SpectrogramDataset(Dataset):
    """Items are (x, label): x (channels, doppler, time) float32 in [-1, 1], label an int64 tensor.

    Batch-level augmentation (mdaug.data.transforms) is applied by the training step, not here, so that it
    uses the step's seeded generator and resumes exactly.
    """

    def __init__(self, ds: SpectrogramSet, indices: np.ndarray | None = None) -> None:
        self.ds = ds
        self.indices = np.arange(len(ds)) if indices is None else np.asarray(indices, dtype=np.int64)
        self._x = torch.from_numpy(ds.x)
        self._y = torch.from_numpy(ds.labels)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = int(self.indices[i])
        return self._x[j], self._y[j]

    @property
    def class_names(self) -> list[str]:
        return self.ds.class_names
