import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from mdaug.config import DataConfig, SplitConfig
from mdaug.data import SpectrogramDataset, make_split, read_dataset, resize, write_dataset
from mdaug.errors import MdaugError


def test_dataset_over_a_split_yields_the_right_items(small_set):
    split = make_split(small_set, SplitConfig(seed=0, val_fraction=0.0, test_fraction=0.5))
    idx = split.indices(small_set, "test")
    dset = SpectrogramDataset(small_set, idx)
    assert len(dset) == len(idx) and dset.class_names == small_set.class_names
    x, y = next(iter(DataLoader(dset, batch_size=len(dset))))
    assert x.shape == (len(idx), 1, 32, 32) and x.dtype == torch.float32 and y.dtype == torch.int64
    np.testing.assert_array_equal(x.numpy(), small_set.x[idx])
    np.testing.assert_array_equal(y.numpy(), small_set.labels[idx])


def test_resize_keeps_range_and_constant_images():
    x = np.full((1, 40, 30), 0.25, dtype=np.float32)
    y = resize(x, (16, 64))
    assert y.shape == (1, 16, 64) and np.allclose(y, 0.25)
    z = resize(np.sign(np.random.default_rng(0).standard_normal((1, 40, 30))).astype(np.float32), (7, 9))
    assert z.min() >= -1 and z.max() <= 1


def test_format_must_fit_the_path(tmp_path, small_set):
    (path,) = write_dataset(small_set, tmp_path, "npz")
    with pytest.raises(MdaugError, match="data.format=mat but dataset.npz"):
        read_dataset(path, DataConfig(format="mat"))
    with pytest.raises(MdaugError, match="not a prepared dataset"):
        read_dataset(tmp_path, DataConfig(format="prepared"))
