"""How well the condition estimators (mdaug.data.estimators) read a recording's conditions off its spectrogram,
against the simulator's truth, for every radar preset of the corpus, the held-out radar, and the two built-in
benchmarks; each corpus radar through every display of the corpus (float, jet, viridis, grey 8-bit images read back).

    .venv/bin/python benchmarks/conditions.py conditions-estimators

Writes benchmarks/results/NAME.json (rendered into benchmarks/README.md by scripts/results_tables.py). Errors:
radial speed |estimate / truth - 1| and gait cycle the same, SNR |estimate - truth| in dB over the recordings whose
floor the display does not clip (the others are lower bounds: the share of them, and how many bounds hold, are given
too), direction: the share whose sign agrees."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mdaug.config import load_config
from mdaug.data import estimators as est
from mdaug.data.axes import axes_of
from mdaug.runs.builtin import builtin_dataset
from mdaug.runs.run_data import load_run_data
from mdaug.simulate.corpus import corpus_parts, held_out_set, simulate_part
from mdaug.simulate.dataset import simulate_dataset
from mdaug.workflows.provenance import provenance

RESULTS = Path(__file__).parent / "results"
TRUTH = ("radial_speed_mps", "cycle_s", "snr_db")


def errors(x: np.ndarray, info: dict, truth: dict[str, np.ndarray], *, treadmill: bool = False) -> dict[str, Any]:
    """The estimators on spectrograms x against the truth of the same recordings. On a treadmill the torso stays
    where it is (its radial speed is about 0): the speed's error is then absolute (m/s), and the direction has no
    meaning."""
    dr = float(info["dynamic_range_db"])
    p = est.power(x, dr)
    ax = axes_of(x.shape, info)
    speed, unit = est.radial_speed(p, ax)
    assert unit == "m/s", unit
    cycle, _ = est.gait_cycle(p, ax)
    snr, bounded = est.snr(p, ax, dr)
    v = truth["radial_speed_mps"]
    crel = np.abs(cycle / truth["cycle_s"] - 1)
    serr = np.abs(snr - truth["snr_db"])[~bounded]
    if treadmill:
        speed_err = {"speed_abs_median_mps": float(np.median(np.abs(speed - v))),
                     "speed_abs_p90_mps": float(np.quantile(np.abs(speed - v), .9))}
    else:
        rel = np.abs(speed / v - 1)
        speed_err = {"speed_median": float(np.median(rel)), "speed_p90": float(np.quantile(rel, .9)),
                     "speed_bias": float(np.median(np.abs(speed) / np.abs(v) - 1)),
                     "direction": float((np.sign(speed) == np.sign(v)).mean())}
    return {"recordings": int(len(x)), "path": "treadmill" if treadmill else "ground", **speed_err,
            "cycle_median": float(np.nanmedian(crel)), "cycle_p90": float(np.nanquantile(crel, .9)),
            "cycle_found": float(np.isfinite(cycle).mean()),
            "snr_median_db": float(np.median(serr)) if len(serr) else None,
            "snr_p90_db": float(np.quantile(serr, .9)) if len(serr) else None,
            "snr_bounded": float(bounded.mean()),
            "bounds_hold": float((snr[bounded] <= truth["snr_db"][bounded] + 1.0).mean()) if bounded.any() else None,
            "snr_range_db": [float(truth["snr_db"].min()), float(truth["snr_db"].max())],
            "dynamic_range_db": dr}


def truth_of(samples: list[dict]) -> dict[str, np.ndarray]:
    return {k: np.array([m[k] for m in samples], dtype=np.float64) for k in TRUTH}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="results/NAME.json")
    ap.add_argument("--people", type=int, default=4, help="people per corpus part")
    ap.add_argument("--per-person", type=int, default=12)
    ap.add_argument("--builtin", type=int, default=600, help="recordings drawn from each built-in benchmark")
    a = ap.parse_args()
    cfg = load_config("pretrain-recognizer")
    p = cfg.pretrain.model_copy(update={"parts": 4 * len(cfg.pretrain.colormaps), "people_per_part": a.people,
                                        "per_person": a.per_person, "sessions": 4})
    rows = []
    for part in corpus_parts(p, cfg.simulate):
        sim = simulate_part(part, (64, 64))
        rows.append({"data": part.radar, "display": part.display, "mti": part.simulate.mti_cutoff_hz is not None,
                     **errors(sim.dataset.x, sim.dataset.info, truth_of(sim.samples),
                              treadmill=part.simulate.path == "treadmill")})
        print(rows[-1]["data"], rows[-1]["display"], {k: round(v, 3) for k, v in rows[-1].items()
                                                      if isinstance(v, float)}, flush=True)
    held = held_out_set(p, cfg.simulate, people=8, per_person=24, sessions=4)
    held = held.model_copy(update={"session_speed_jitter": 0.2, "aspect_jitter_deg": 60.0})
    sim = simulate_dataset(held, (64, 64), progress=False)
    rows.append({"data": p.held_out.name, "display": "none", "mti": held.mti_cutoff_hz is not None,
                 **errors(sim.dataset.x, sim.dataset.info, truth_of(sim.samples))})
    rng = np.random.default_rng(0)
    for builtin in ("gait", "gait-sessions"):
        bcfg = load_config("quick", [f"data.builtin={builtin}"])
        folder = builtin_dataset(bcfg)
        data = load_run_data(bcfg)
        pick = np.sort(rng.choice(len(data.dataset), size=min(a.builtin, len(data.dataset)), replace=False))
        c = data.conditions
        truth = {k: c.values[k][pick] for k in TRUTH}
        rows.append({"data": builtin, "display": "none", "mti": True,
                     **errors(data.dataset.x[pick], data.dataset.info, truth), "folder": str(folder)})
    out = {**provenance("benchmarks/conditions.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])), "rows": rows}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{a.name}.json").write_text(json.dumps(out, indent=1))
    print(f"-> {RESULTS / (a.name + '.json')}")


if __name__ == "__main__":
    main()
