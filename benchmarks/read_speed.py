"""Reading speed of colormapped image folders, against plain PIL decoding of the same files.

    .venv/bin/python benchmarks/read_speed.py [--images 300] [--repeats 3]

Writes `--images` jet-coloured PNGs at 64x64 and at 256x256 (the seed project's format), then times
(a) PIL decode only (the floor any reader pays) and (b) mdaug's full read: decode, colormap detection
and inversion, flip, checksum, manifest. Prints medians over `--repeats` runs and the ratio b/a.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from mdaug.config import DataConfig
from mdaug.data import read_dataset
from mdaug.data.colormaps import apply


def write_folder(root: Path, n: int, size: int, classes: int = 31) -> None:
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size, 0:size] / size
    for i in range(n):
        v = 0.5 + 0.3 * np.sin(9 * xx + rng.uniform(0, 6)) * np.cos(4 * yy) + 0.05 * rng.standard_normal((size, size))
        folder = root / f"person{i % classes + 1}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(apply(np.clip(v, 0, 1), "jet")).save(folder / f"{i:05d}.png")


def time_it(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    print("| size | images | PIL decode only (img/s) | mdaug read (img/s) | ratio | est. 4,650 images |")
    print("|---|---|---|---|---|---|")
    for size in (64, 256):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            write_folder(root, args.images, size)
            files = sorted(root.rglob("*.png"))
            base = time_it(lambda files=files: [np.asarray(Image.open(f).convert("RGB")) for f in files], args.repeats)
            full = time_it(lambda root=root: read_dataset(root, DataConfig(), progress=False), args.repeats)
            n = len(files)
            print(f"| {size}x{size} | {n} | {n / base:.0f} | {n / full:.0f} | {full / base:.2f}x | "
                  f"{4650 * full / n:.0f} s |")


if __name__ == "__main__":
    main()
