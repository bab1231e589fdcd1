"""Data layer: every supported format into one canonical form, splits, augmentation, datasets.

    from mdaug.config import DataConfig
    from mdaug.data import read_dataset
    ds = read_dataset("gait_images/", DataConfig(colormap="jet", size=(64, 64))).dataset
    ds.x  # (n, 1, doppler, time) float32 in [-1, 1]
"""

from mdaug.data.canonical import Record, SpectrogramSet
from mdaug.data.dataset import SpectrogramDataset
from mdaug.data.prepared import DATASET_FILE, SPLIT_FILE, is_prepared, load_prepared, save_prepared
from mdaug.data.read import Problem, ReadResult, read_dataset, resize
from mdaug.data.splits import Split, check_leak_free, load_split, make_split, save_split
from mdaug.data.write import write_dataset

__all__ = [
    "DATASET_FILE", "SPLIT_FILE", "is_prepared", "Problem", "ReadResult", "Record", "Split", "SpectrogramDataset",
    "SpectrogramSet", "check_leak_free", "load_prepared", "load_split", "make_split", "read_dataset", "resize",
    "save_prepared", "save_split", "write_dataset",
]
