"""benchmarks/zero_shot_families.py's judgement: identity out of every class the judge knows, with an interval that
resamples walkers, not samples."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "zero_shot_families.py"
_spec = importlib.util.spec_from_file_location("zero_shot_families", SCRIPT)
zs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zs)


def _logits(named: list[int], n_classes: int) -> np.ndarray:
    out = np.zeros((len(named), n_classes), np.float32)
    out[np.arange(len(named)), named] = 1.0
    return out


def test_identity_counts_names_by_the_judges_own_class_order():
    judge = ["w2", "x", "w0", "w1"]  # the judge knows more classes, in another order
    truth = ["w0", "w0", "w1", "w2"]
    named = [2, 3, 3, 1]  # right, wrong (w1), right, wrong (x)
    j = zs.judged(truth, _logits(named, 4), judge, ["w0", "w1", "w2"], np.random.default_rng(0))
    assert j["identity"] == 0.5 and j["n"] == 4


def test_the_interval_resamples_walkers_so_one_walker_right_every_time_gives_a_wide_one():
    walkers = [f"w{k}" for k in range(10)]
    truth = [w for w in walkers for _ in range(20)]
    rng = np.random.default_rng(0)
    # walker 0 always named right, the others never: 10% of samples, all from one walker
    named = [0 if t == "w0" else (walkers.index(t) + 1) % 10 for t in truth]
    j = zs.judged(truth, _logits(named, 10), walkers, walkers, rng)
    assert j["identity"] == pytest.approx(0.1)
    assert j["low"] == 0.0 and j["high"] >= 0.25  # resampling samples would give about [0.06, 0.14]
    even = [walkers.index(t) if k % 10 == 0 else (walkers.index(t) + 1) % 10 for k, t in enumerate(truth)]
    j = zs.judged(truth, _logits(even, 10), walkers, walkers, rng)  # every walker right 10% of the time
    assert j["identity"] == pytest.approx(0.1) and j["high"] - j["low"] < 0.01
