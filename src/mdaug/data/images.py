"""Spectrogram image files (PNG/JPG/BMP/TIFF), greyscale or colormapped, in both directions.

An image shows the highest Doppler at the top, so rows are flipped on reading to make Doppler index 0
the lowest (the canonical orientation), and flipped back on writing.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from mdaug.data import colormaps

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")


class BadFile(Exception):
    """A file that cannot be read; carries the reason shown next to the file name."""


def decode_image(data: bytes, name: str = "") -> np.ndarray:
    """Pixels of an encoded image: (h, w) greyscale in [0, 1] float32, or (h, w, 3) uint8 colour.

    Colour images whose three channels are equal everywhere are returned as greyscale.
    """
    try:
        img = Image.open(io.BytesIO(data))
        img.load()
    except UnidentifiedImageError:
        raise BadFile("not a readable image (unknown or damaged format)") from None
    except (OSError, SyntaxError, ValueError) as e:
        raise BadFile(f"not a readable image ({type(e).__name__}: {str(e)[:80]})") from None
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit greyscale (PIL opens many as "I")
        a = np.asarray(img, dtype=np.float64)
        if a.min() < 0 or a.max() > 65535:
            raise BadFile(f"integer image values [{a.min():.0f}, {a.max():.0f}] are outside 16 bits; "
                          "save the array as .npy")
        return (a / 65535.0).astype(np.float32)
    if img.mode == "F":  # float image: [0, 1], else 8- or 16-bit ranges, fixed per range (never per image max)
        a = np.asarray(img, dtype=np.float64)
        if not np.isfinite(a).all():
            raise BadFile("contains NaN or inf values")
        lo, hi = float(a.min()), float(a.max())
        top = next((v for v in (1.0, 255.0, 65535.0) if lo >= 0 and hi <= v), None)
        if top is None:
            raise BadFile(f"float image values [{lo:.3g}, {hi:.3g}] are not display values; save the array as .npy "
                          "and set data.scale")
        return (a / top).astype(np.float32)
    if img.mode in ("L", "LA", "1"):
        return np.asarray(img.convert("L"), dtype=np.float32) / 255.0
    rgb = np.asarray(img.convert("RGB"), dtype=np.uint8)
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0].astype(np.float32) / 255.0
    return rgb


def is_colour(pixels: np.ndarray) -> bool:
    return pixels.ndim == 3


# crop_to_colormap='auto' crops an image with more off-colormap pixels than this: a figure's margins, axes
# and colorbar (our jet figures: 60%); plain spectrogram images have almost none (JPEG: a few %)
AUTO_CROP_OFF_MAP = 0.2


def image_to_canonical(pixels: np.ndarray, colormap: str, crop: bool | str = False) -> tuple[np.ndarray, float]:
    """Decoded pixels -> ((channels, doppler, time) float32 in [-1, 1], share of off-colormap pixels).

    `colormap` is a resolved name: a matplotlib colormap, 'rgb' (keep colour) or 'gray'. With `crop`, a
    colour image is cut to its largest colormapped region (the plot inside a saved figure); with
    crop='auto', only when more than AUTO_CROP_OFF_MAP of its pixels are off the colormap.
    """
    off = 0.0
    if not is_colour(pixels):
        values = pixels[None]
    elif colormap == "rgb":
        values = np.moveaxis(pixels.astype(np.float32) / 255.0, -1, 0)
    else:  # a colormap, 'gray' included (the nearest grey of a colour pixel)
        inv = colormaps.invert(pixels, colormap)
        values, off = inv.values[None], inv.off_map_fraction
        if crop is True or (crop == "auto" and off > AUTO_CROP_OFF_MAP):
            box = colormaps.largest_region_box(inv.on_map)
            values, off = values[(slice(None), *box)], 1.0 - float(inv.on_map[box].mean())
    values = values[:, ::-1, :]  # top row is the highest Doppler
    return np.ascontiguousarray(values * 2.0 - 1.0, dtype=np.float32), off


def canonical_to_image(x: np.ndarray, colormap: str = "gray") -> Image.Image:
    """(channels, doppler, time) in [-1, 1] -> a PIL image (8-bit grey, colormapped or RGB)."""
    assert x.ndim == 3, f"expected (channels, doppler, time), got {x.shape}"
    unit = np.clip((np.asarray(x, dtype=np.float64)[:, ::-1, :] + 1.0) / 2.0, 0.0, 1.0)
    if x.shape[0] == 3:
        return Image.fromarray(np.rint(np.moveaxis(unit, 0, -1) * 255).astype(np.uint8), mode="RGB")
    if colormap in ("gray", "auto"):
        return Image.fromarray(np.rint(unit[0] * 255).astype(np.uint8), mode="L")
    return Image.fromarray(colormaps.apply(unit[0], colormap), mode="RGB")


def write_image(path: str | Path, x: np.ndarray, colormap: str = "gray", quality: int = 95) -> None:
    img = canonical_to_image(x, colormap)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path, quality=quality) if Path(path).suffix.lower() in (".jpg", ".jpeg") else img.save(path)
