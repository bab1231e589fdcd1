"""What a dataset must be for mdaug to use it: at least two classes, spectrograms of at least MIN_SIDE pixels on a
side, and a size that fits the models and this machine's memory."""

from __future__ import annotations

import os

from mdaug.errors import MdaugError

MIN_SIDE = 8
"""Fewer pixels than this on a side is no spectrogram (an icon, a 1x1 placeholder): refused, not upscaled."""
MAX_SIZE = 1024
"""The largest data.size side: the models are built for 64-256, and 48 samples at 4096x4096 already need 6 GB."""


def check_size(size: tuple[int, int] | list[int] | None, n: int = 0, channels: int = 1) -> None:
    """Refuse a data.size beyond MAX_SIZE, and (given `n`) one the dataset does not fit in memory at."""
    if size is not None and max(size) > MAX_SIZE:
        raise MdaugError(f"data.size {size[0]}x{size[1]} is beyond {MAX_SIZE} on a side: the models are built for "
                         "64-256 and memory grows with its square; choose e.g. --size 256")
    if size is not None and n:
        check_memory(tuple(size), n, channels)


def check_memory(shape: tuple[int, int], n: int, channels: int, *, what: str = "to read",
                 fix: str = "choose a smaller --size") -> None:
    """Refuse `n` samples of `shape` whose canonical array (read, then stacked: about twice its size at the peak)
    would not fit in half this machine's memory, before any of them is made; `fix` says what to change."""
    need = 2 * n * channels * shape[0] * shape[1] * 4
    try:
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return
    if need > have / 2:
        raise MdaugError(f"{n} samples at {shape[0]}x{shape[1]} need about {need / 2**30:.1f} GiB {what}, more "
                         f"than half of this machine's {have / 2**30:.0f} GiB; {fix}")


def one_class_message(name: str, n: int) -> str:
    return (f"only one class ('{name}', {n} samples): mdaug needs at least 2 classes (the recogniser tells classes "
            "apart and generation is conditioned on the class); add a folder per class")
