"""Colormapped images <-> scalar magnitude.

Radar spectrograms are often shared as jet/viridis renders. A render is inverted by looking up, for each
pixel, the nearest colour of the named colormap's lookup table. Written here because no library ships
an inverse colormap; scipy's KD-tree does the nearest-neighbour search, and each distinct colour is
looked up once per image (colormapped PNGs have at most a few hundred distinct colours).

Distances are taken in YCbCr with luminance weighted 3x: JPEG keeps luminance at full resolution but
halves chroma, so at the sharp lines of a spectrogram the colour is smeared while the brightness is
not. On JPEG renders of simulated spectrograms this lowers the mean inversion error by 20-30% against
plain RGB distance; lossless renders are recovered exactly either way.
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
CANDIDATES = ("jet", "parula", "turbo", "viridis", "plasma", "inferno", "magma", "cividis", "hot", "rainbow", "gray")
# RGB (0..255) -> YCbCr with luminance weighted 3x: the space distances are measured in.
_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5],
                 [0.5, -0.418688, -0.081312]]) * np.array([[3.0], [1.0], [1.0]])
# A pixel further than this from every colormap colour is not part of the render: axes, text or a
# border (white, black and greys are 70-150 away from jet and viridis). JPEG damage mostly stays below.
OFF_MAP_DISTANCE = 45.0
# Pixels whose RGB channels differ by less than this are grey-ish (backgrounds, axes, text): they
# decide nothing when a colormap is detected, unless nearly the whole image is grey.
CHROMA_MIN = 30
# Median distance above which `auto` refuses to guess (a photo, an unknown colormap). The median, not
# the mean, so that a saved figure's white margins and axes do not hide the colormap of its image.
MAX_AUTO_RESIDUAL = 8.0
# ...or up to twice that, when the runner-up explains the colours at least this many times worse
CLEAR_MARGIN = 3.0
# Off-map gaps up to this many pixels inside the spectrogram of a figure are bridged when it is cropped
GAP = 2


# MATLAB's default colormap since R2014b, parula(64): the 64 anchors as MATLAB lists them (widely reproduced),
# RGB in 0..1. MATLAB's own parula(256) interpolates the same curve; linear interpolation of these anchors
# matches it to within an 8-bit step or so, far below the colour error that decides detection.
PARULA_64 = (
    (0.2081, 0.1663, 0.5292), (0.2116, 0.1898, 0.5777), (0.2123, 0.2138, 0.6270), (0.2081, 0.2386, 0.6771),
    (0.1959, 0.2645, 0.7279), (0.1707, 0.2919, 0.7792), (0.1253, 0.3242, 0.8303), (0.0591, 0.3598, 0.8683),
    (0.0117, 0.3875, 0.8820), (0.0060, 0.4086, 0.8828), (0.0165, 0.4266, 0.8786), (0.0329, 0.4430, 0.8720),
    (0.0498, 0.4586, 0.8641), (0.0629, 0.4737, 0.8554), (0.0723, 0.4887, 0.8467), (0.0779, 0.5040, 0.8384),
    (0.0793, 0.5200, 0.8312), (0.0749, 0.5375, 0.8263), (0.0641, 0.5570, 0.8240), (0.0488, 0.5772, 0.8228),
    (0.0343, 0.5966, 0.8199), (0.0265, 0.6137, 0.8135), (0.0239, 0.6287, 0.8038), (0.0231, 0.6418, 0.7913),
    (0.0228, 0.6535, 0.7768), (0.0267, 0.6642, 0.7607), (0.0384, 0.6743, 0.7436), (0.0590, 0.6838, 0.7254),
    (0.0843, 0.6928, 0.7062), (0.1133, 0.7015, 0.6859), (0.1453, 0.7098, 0.6646), (0.1801, 0.7177, 0.6424),
    (0.2178, 0.7250, 0.6193), (0.2586, 0.7317, 0.5954), (0.3022, 0.7376, 0.5712), (0.3482, 0.7424, 0.5473),
    (0.3953, 0.7459, 0.5244), (0.4420, 0.7481, 0.5033), (0.4871, 0.7491, 0.4840), (0.5300, 0.7491, 0.4661),
    (0.5709, 0.7485, 0.4494), (0.6099, 0.7473, 0.4337), (0.6473, 0.7456, 0.4188), (0.6834, 0.7435, 0.4044),
    (0.7184, 0.7411, 0.3905), (0.7525, 0.7384, 0.3768), (0.7858, 0.7356, 0.3633), (0.8185, 0.7327, 0.3498),
    (0.8507, 0.7299, 0.3360), (0.8824, 0.7274, 0.3217), (0.9139, 0.7258, 0.3063), (0.9450, 0.7261, 0.2886),
    (0.9739, 0.7314, 0.2666), (0.9938, 0.7455, 0.2403), (0.9990, 0.7653, 0.2164), (0.9955, 0.7861, 0.1967),
    (0.9880, 0.8066, 0.1794), (0.9789, 0.8271, 0.1633), (0.9697, 0.8481, 0.1475), (0.9626, 0.8705, 0.1309),
    (0.9589, 0.8949, 0.1132), (0.9598, 0.9218, 0.0948), (0.9661, 0.9514, 0.0755), (0.9763, 0.9831, 0.0538),
)
OWN_COLORMAPS = ("parula",)
"""Colormaps mdaug ships because matplotlib does not."""


def _own_lut(name: str) -> np.ndarray:
    anchors = np.asarray(PARULA_64, dtype=np.float64)
    where = np.linspace(0.0, len(anchors) - 1, LUT_SIZE)
    return np.stack([np.interp(where, np.arange(len(anchors)), anchors[:, c]) for c in range(3)], axis=1) * 255.0


@lru_cache(maxsize=None)
def lut(name: str) -> np.ndarray:
    """(LUT_SIZE, 3) float64 RGB in 0..255 of a matplotlib colormap, or of one of OWN_COLORMAPS."""
    if name in OWN_COLORMAPS:
        return _own_lut(name)
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
    return cKDTree(colours @ _YCC.T), values.astype(np.float32)


@dataclass
class Inversion:
    values: np.ndarray  # (h, w) float32 in [0, 1]
    on_map: np.ndarray  # (h, w) bool: within OFF_MAP_DISTANCE of the colormap
    mean_distance: float  # mean distance of the pixels to their nearest colormap colour
    median_distance: float
    off_map_fraction: float  # share of pixels further than OFF_MAP_DISTANCE from the colormap


def invert(rgb: np.ndarray, name: str) -> Inversion:
    """Scalar image in [0, 1] from an (h, w, 3) uint8 render made with colormap `name`."""
    assert rgb.ndim == 3 and rgb.shape[2] == 3, f"expected (h, w, 3), got {rgb.shape}"
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    colours, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    unique_rgb = np.stack([(colours >> 16) & 255, (colours >> 8) & 255, colours & 255], axis=1).astype(np.float64)
    tree, lut_values = _tree(name)
    dist, idx = tree.query(unique_rgb @ _YCC.T)
    values = lut_values[idx][inverse.ravel()].reshape(rgb.shape[:2])
    n = counts.sum()
    order = np.argsort(dist)
    median = float(dist[order][np.searchsorted(np.cumsum(counts[order]), n / 2)])
    return Inversion(
        values=values,
        on_map=(dist <= OFF_MAP_DISTANCE)[inverse.ravel()].reshape(rgb.shape[:2]),
        mean_distance=float((dist * counts).sum() / n),
        median_distance=median,
        off_map_fraction=float(counts[dist > OFF_MAP_DISTANCE].sum() / n),
    )


def fit_scores(rgb_samples: list[np.ndarray], names: tuple[str, ...] = CANDIDATES) -> dict[str, float]:
    """How far `rgb_samples` lie from each colormap of `names`: the mean over images of the median colour distance.

    Only the colourful pixels are scored, so that the white margins, black axes and grey text of a
    saved figure do not decide; images with almost no colourful pixel are scored against 'gray'."""
    colourful = []
    for s in rgb_samples:
        chroma = s.max(-1).astype(np.int16) - s.min(-1)
        colourful.append(s[chroma >= CHROMA_MIN][None] if (chroma >= CHROMA_MIN).mean() > 0.02 else None)
    scores = {}
    for name in names:
        if name == "gray":
            per_image = [invert(s, name).median_distance for s, c in zip(rgb_samples, colourful) if c is None]
        else:
            per_image = [invert(c, name).median_distance for c in colourful if c is not None]
        if per_image:
            scores[name] = float(np.mean(per_image))
    return scores


def check_named(rgb_samples: list[np.ndarray], name: str) -> None:
    """Refuse a colormap named by the user that the colour images were not rendered with: one that another known
    colormap explains far better (viridis images read as jet come out inverted), or one that leaves most coloured
    pixels off the map. An explicit but wrong colormap is a mistake to name, not a warning to scroll past."""
    if name in ("rgb", "gray", "auto"):
        return
    scores = fit_scores(rgb_samples, tuple(dict.fromkeys((name, *CANDIDATES))))
    if name not in scores:  # no colourful pixel at all: nothing to judge the colormap by
        return
    best = min(scores, key=scores.get)
    if best != name and scores[name] > MAX_AUTO_RESIDUAL and scores[best] <= 2 * MAX_AUTO_RESIDUAL \
            and scores[name] >= CLEAR_MARGIN * scores[best]:
        raise MdaugError(f"the colour images do not look like --colormap {name} (median colour error "
                         f"{scores[name]:.0f}) but like {best} (error {scores[best]:.0f}); pass --colormap {best} "
                         "or --colormap auto")
    if scores[name] > OFF_MAP_DISTANCE:
        raise MdaugError(f"most coloured pixels of the images are off the {name} colormap (median colour error "
                         f"{scores[name]:.0f}, closest known map: {best}); pass the colormap they were rendered with "
                         "(--colormap NAME), --colormap auto, or --colormap rgb to keep colour")


def detect(rgb_samples: list[np.ndarray]) -> tuple[str, float]:
    """The candidate colormap that explains `rgb_samples` best, and its median colour distance (see fit_scores)."""
    scores = fit_scores(rgb_samples)
    ranked = sorted(scores, key=scores.get)
    best = ranked[0]
    runner_up = scores[ranked[1]] if len(ranked) > 1 else float("inf")
    # JPEG's chroma subsampling smears colours at every edge of a figure (measured: jet figures saved at
    # quality 90 score 8-9), so a residual up to twice the limit is accepted when no other map comes close
    clear_winner = scores[best] <= 2 * MAX_AUTO_RESIDUAL and runner_up >= CLEAR_MARGIN * scores[best]
    if scores[best] > MAX_AUTO_RESIDUAL and not clear_winner:
        raise MdaugError(
            f"colour images do not match a known colormap (closest: {best}, median colour error "
            f"{scores[best]:.0f}); pass --colormap NAME (any matplotlib name), or --colormap rgb to keep colour"
        )
    return best, scores[best]


def apply(values: np.ndarray, name: str) -> np.ndarray:
    """(h, w) values in [0, 1] -> (h, w, 3) uint8 render through the colormap's lookup table."""
    idx = np.clip(np.rint(np.asarray(values) * (LUT_SIZE - 1)), 0, LUT_SIZE - 1).astype(np.int64)
    return np.rint(lut(name)[idx]).astype(np.uint8)


def largest_region_box(on_map: np.ndarray) -> tuple[slice, slice]:
    """Bounding box of the largest connected on-colormap region: the spectrogram inside a saved figure
    (its colorbar is a smaller region; axes, ticks and text are off the map)."""
    from scipy import ndimage

    # close gaps of a few pixels first: a thin bright trace in a JPEG loses its colour to chroma
    # subsampling and would otherwise split the spectrogram into two regions (seen on jet figures)
    closed = ndimage.binary_closing(on_map, structure=np.ones((2 * GAP + 1, 2 * GAP + 1), bool), border_value=0)
    labels, n = ndimage.label(closed | on_map)
    if n == 0:
        return slice(0, on_map.shape[0]), slice(0, on_map.shape[1])
    sizes = np.bincount(labels.ravel())[1:]
    return ndimage.find_objects((labels == int(np.argmax(sizes)) + 1).astype(np.int32))[0]
