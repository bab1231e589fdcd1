"""Colormapped images <-> scalar magnitude.

Radar spectrograms are often shared as jet/viridis renders. A render is inverted by looking up, for each
pixel, the nearest colour of the named colormap's lookup table. Written here because no library ships
an inverse colormap; scipy's KD-tree does the nearest-neighbour search, and each distinct colour is
looked up once per image (colormapped PNGs have at most a few hundred distinct colours).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.spatial import cKDTree

from mdaug.errors import MdaugError

LUT_SIZE = 256  # matplotlib's and MATLAB's default lookup-table length
# Colormaps that `colormap=auto` tries. Reversed maps (jet_r) hold the same colours in the opposite
# order, so they cannot be told apart from the image alone and must be named explicitly.
CANDIDATES = ("jet", "turbo", "viridis", "plasma", "inferno", "magma", "cividis", "hot", "rainbow", "gray")
# A pixel further than this from every colormap colour (RGB distance, 0..255 per channel) is not part
# of the render: axes, text or a border. JPEG noise on a render stays well below it.
OFF_MAP_DISTANCE = 24.0
# Median distance above which `auto` refuses to guess (a photo, an unknown colormap). The median, not
# the mean, so that a saved figure's white margins and axes do not hide the colormap of its image.
MAX_AUTO_RESIDUAL = 8.0


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """(LUT_SIZE, 3) float64 RGB in 0..255 of a matplotlib colormap."""
    from matplotlib import colormaps

    if name not in colormaps:
        raise MdaugError(f"unknown colormap '{name}'")
    cmap = colormaps[name].resampled(LUT_SIZE)
    return cmap(np.linspace(0.0, 1.0, LUT_SIZE))[:, :3] * 255.0


@lru_cache(maxsize=None)
def _tree(name: str) -> tuple[cKDTree, np.ndarray]:
    """KD-tree over the colormap's distinct 8-bit colours, and the value of each.

    Some maps repeat a colour (jet is pure blue over five entries); such a colour gets the middle of its
    run, which halves the worst error on the plateau."""
    colours, inverse = np.unique(np.rint(lut(name)), axis=0, return_inverse=True)
    values = np.bincount(inverse.ravel(), weights=np.arange(LUT_SIZE)) / np.bincount(inverse.ravel()) / (LUT_SIZE - 1)
    return cKDTree(colours), values.astype(np.float32)


@dataclass
class Inversion:
    values: np.ndarray  # (h, w) float32 in [0, 1]
    mean_distance: float  # mean RGB distance of the pixels to their nearest colormap colour
    median_distance: float
    off_map_fraction: float  # share of pixels further than OFF_MAP_DISTANCE from the colormap


def invert(rgb: np.ndarray, name: str) -> Inversion:
    """Scalar image in [0, 1] from an (h, w, 3) uint8 render made with colormap `name`."""
    assert rgb.ndim == 3 and rgb.shape[2] == 3, f"expected (h, w, 3), got {rgb.shape}"
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    colours, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    unique_rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.float64)
    tree, lut_values = _tree(name)
    dist, idx = tree.query(unique_rgb)
    values = lut_values[idx][inverse.ravel()].reshape(rgb.shape[:2])
    n = counts.sum()
    order = np.argsort(dist)
    median = float(dist[order][np.searchsorted(np.cumsum(counts[order]), n / 2)])
    return Inversion(
        values=values,
        mean_distance=float((dist * counts).sum() / n),
        median_distance=median,
        off_map_fraction=float(counts[dist > OFF_MAP_DISTANCE].sum() / n),
    )


def detect(rgb_samples: list[np.ndarray]) -> tuple[str, float]:
    """The candidate colormap that explains `rgb_samples` best, and its mean colour distance."""
    scores = {}
    for name in CANDIDATES:
        scores[name] = float(np.mean([invert(s, name).median_distance for s in rgb_samples]))
    best = min(scores, key=scores.get)
    if scores[best] > MAX_AUTO_RESIDUAL:
        raise MdaugError(
            f"colour images do not match a known colormap (closest: {best}, median colour error "
            f"{scores[best]:.1f}/255); pass --colormap NAME (any matplotlib name), or --colormap rgb to keep colour"
        )
    return best, scores[best]


def apply(values: np.ndarray, name: str) -> np.ndarray:
    """(h, w) values in [0, 1] -> (h, w, 3) uint8 render through the colormap's lookup table."""
    idx = np.clip(np.rint(np.asarray(values) * (LUT_SIZE - 1)), 0, LUT_SIZE - 1).astype(np.int64)
    return np.rint(lut(name)[idx]).astype(np.uint8)
