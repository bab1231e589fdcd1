"""Simulator speed: the default 31 x 150 dataset at 64x64, one worker (baseline) against all cores.

    .venv/bin/python benchmarks/simulate_speed.py [--repeats 3] [--per-person 150]

Target (issue 3): the whole default dataset in under 2 minutes on 2 cores. Prints medians.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from mdaug.config import load_config
from mdaug.simulate.dataset import simulate_dataset


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--per-person", type=int, default=150)
    args = ap.parse_args()
    cfg = load_config("gait31", [f"simulate.per_person={args.per_person}"]).simulate
    n = cfg.people * cfg.per_person
    print("| workers | spectrograms | median time | spectrograms/s | speed-up |")
    print("|---|---|---|---|---|")
    base = None
    for workers in (1, os.cpu_count() or 1):
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            simulate_dataset(cfg, (64, 64), workers=workers, progress=False)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        base = base or med
        print(f"| {workers} | {n} | {med:.1f} s | {n / med:.0f} | {base / med:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
