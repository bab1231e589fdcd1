"""Write a SpectrogramSet in the layouts the readers accept: an image folder (one subfolder per class,
greyscale or colormapped), or one .npz / .mat (v7 or v7.3) / .h5 file with labels and class names.

Values are written in canonical form ([-1, 1], read back with data.scale=normalized); images map
[-1, 1] to the full 8-bit range. Existing files are never overwritten.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np

from mdaug.data import arrays
from mdaug.data.canonical import SpectrogramSet
from mdaug.data.images import write_image
from mdaug.errors import MdaugError

Format = Literal["images", "npz", "mat", "mat73", "hdf5"]


def write_dataset(ds: SpectrogramSet, out: str | Path, fmt: Format, *, colormap: str = "gray",
                  image_suffix: str = ".png") -> list[Path]:
    """Write `ds` under `out`; returns the files written."""
    out = Path(out)
    if fmt == "images":
        written = []
        for i, (x, r) in enumerate(zip(ds.x, ds.records)):
            session = (r.session or "").replace("\\", "/").split("/")[-1]
            stem = Path(r.file).stem + (f"_{r.index}" if r.index >= 0 else "")
            path = out / r.class_name / session / f"{stem or i}{image_suffix}"
            if path.exists():
                raise MdaugError(f"{path} exists; write into a new folder (nothing was overwritten)")
            write_image(path, x, colormap)
            written.append(path)
        return written
    path = out / {"npz": "dataset.npz", "mat": "dataset.mat", "mat73": "dataset.mat", "hdf5": "dataset.h5"}[fmt]
    if path.exists():
        raise MdaugError(f"{path} exists; write into a new folder (nothing was overwritten)")
    out.mkdir(parents=True, exist_ok=True)
    x = ds.x[:, 0] if ds.x.shape[1] == 1 else ds.x  # (n, doppler, time) for one channel
    content = {"class_names": np.array(ds.class_names), "sessions": np.array([s or "" for s in ds.sessions])}
    if fmt in ("mat", "mat73"):  # MATLAB order: samples last, labels 1-based
        content |= {"x": np.moveaxis(x, 0, -1), "labels": (ds.labels + 1).astype(np.float64)[:, None]}
        arrays.save_mat(path, content, v73=fmt == "mat73")
    else:
        content |= {"x": x, "labels": ds.labels}
        (arrays.save_npz if fmt == "npz" else arrays.save_hdf5)(path, content)
    return [path]
