"""Is the synthetic-only (TSTR) arm of a utility budget limited by how long its models train? In a finished budget
folder (e.g. the demo's runs/demo/utility/budget-10/repeat-0), train again, in OUT:

- `--recogniser-steps N`: the real-only and synthetic-only recognisers with N steps (on the folder's tstr-pool.npz);
- `--stage2-steps N`: stage 2 with N steps (OUT/ldm, from the folder's stage 1, as the budget's own was), a new
  synthetic-only pool from it with the budget's seed, and its recogniser with the budget's recipe (OUT/ldm-tstr).

    .venv/bin/python benchmarks/tstr_schedule.py runs/demo/utility/budget-10/repeat-0 runs/tstr-1500 \\
        --recogniser-steps 1500
    .venv/bin/python benchmarks/tstr_schedule.py runs/demo/utility/budget-10/repeat-0 runs/tstr-s2-1200 \\
        --stage2-steps 1200

Prints each test accuracy. Run it alone (2 cores); OUT must not hold these runs yet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mdaug import seeds
from mdaug.config import TSTR_STRATEGY, load_config
from mdaug.errors import MdaugError
from mdaug.runs.loading import load_recognizer, load_stage2
from mdaug.runs.run_data import load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.pools import draw_pool
from mdaug.workflows.utility.synthetic import with_synthetic


def _accuracy(run: Path) -> float:
    return float(load_recognizer(run)[1].test_accuracy)


def recogniser_steps(folder: Path, out: Path, steps: int) -> None:
    for arm in ("real", "tstr"):
        every = max(1, steps // 10)
        cfg = load_config(str(folder / f"recognizer-{arm}" / "config.yaml"),
                          [f"recognizer_train.steps={steps}", f"recognizer_train.checkpoint_every={every}"])
        data = load_run_data(cfg)
        if arm == "tstr":
            with np.load(folder / "tstr-pool.npz") as z:  # the budget's own synthetic-only pool
                data = with_synthetic(data, z["x"], z["labels"], "synthetic")
        train_recognizer(cfg, out / arm, role="eval", data=data)
        print(f"{arm} recogniser, {steps} steps: test {_accuracy(out / arm):.3f}", flush=True)


def stage2_steps(folder: Path, out: Path, steps: int) -> None:
    cfg = load_config(str(folder / "ldm" / "config.yaml"), [f"ldm_train.steps={steps}",
                                                            f"ldm_train.checkpoint_every={steps}",
                                                            f"ldm_train.image_every={steps}"])
    train_stage2(cfg, out / "ldm", "ldm", autoencoder=folder / "ae")
    rc = load_config(str(folder / "recognizer-tstr" / "config.yaml"))
    real = load_run_data(rc)
    train = real.indices("train")
    pool = draw_pool(load_stage2(out / "ldm"), TSTR_STRATEGY, real.dataset.x[train], real.dataset.labels[train],
                     cap=rc.utility.max_synthetic_per_class, seed=rc.seed + seeds.UTILITY_TSTR)
    train_recognizer(rc, out / "ldm-tstr", role="eval", data=with_synthetic(real, pool.x, pool.labels, "synthetic"))
    print(f"stage 2 {steps} steps: synthetic only ({len(pool.x)} from noise) test {_accuracy(out / 'ldm-tstr'):.3f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--recogniser-steps", type=int)
    ap.add_argument("--stage2-steps", type=int)
    a = ap.parse_args()
    if not (a.folder / "tstr-pool.npz").is_file() or not (a.folder / "recognizer-tstr").is_dir():
        sys.exit(f"error: {a.folder} is not a utility budget folder with a synthetic-only arm (tstr-pool.npz, "
                 "recognizer-tstr); give e.g. runs/demo/utility/budget-10/repeat-0")
    try:
        if a.recogniser_steps:
            recogniser_steps(a.folder, a.out, a.recogniser_steps)
        if a.stage2_steps:
            stage2_steps(a.folder, a.out, a.stage2_steps)
    except MdaugError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
