"""Retrain the recognisers of one utility (budget, repeat) folder at another step count, to see whether the
study's recognisers had converged: ARM is `real`, `real-classical` or a strategy whose pool the folder holds
(trained on real + classical + that pool, with the recipe the study used), each optionally followed by
`:section.key=value,...` overrides. Prints the best step (chosen on validation) and the accuracies.

    .venv/bin/python benchmarks/recognizer_steps.py runs/explore-k10/budget-10/repeat-0 2000 runs/steps \\
        real real-classical noise-filter
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mdaug.config import config_from_dict, saved_config
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.utility.synthetic import with_synthetic

REAL_ARMS = ("real", "real-classical")


def _value(v: str) -> object:
    if v == "none":
        return None
    try:
        return int(v)
    except ValueError:
        return float(v)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a utility study's budget-K/repeat-R folder")
    ap.add_argument("steps", type=int)
    ap.add_argument("out", type=Path)
    ap.add_argument("arms", nargs="+")
    a = ap.parse_args()
    for arm in a.arms:
        name, _, extra = arm.partition(":")
        d = saved_config(a.folder / f"recognizer-{name}")  # the recipe the study trained this arm with
        d["recognizer_train"]["steps"] = a.steps
        d["recognizer_train"]["checkpoint_every"] = max(100, a.steps // 10)
        for kv in filter(None, extra.split(",")):
            key, v = kv.split("=")
            section, field = key.split(".")
            d[section][field] = _value(v)
        cfg = config_from_dict(d, arm)
        data = load_run_data(cfg)
        if name not in REAL_ARMS:
            with np.load(a.folder / f"pool-{name}.npz") as p:
                data = with_synthetic(data, p["x"], p["labels"], "real+synthetic")
        run = a.out / f"{arm.replace(':', '_').replace(',', '_')}-{a.steps}"
        if not (run / "final").exists():
            train_recognizer(cfg, run, role="eval", data=data)
        _, card = load_recognizer(run)
        print(f"{run.name}: best step {card.best_step}, validation {card.selection_accuracy:.3f}, "
              f"test {card.test_accuracy:.3f}", flush=True)


if __name__ == "__main__":
    main()
