"""What the recording conditions do to a trained stage 2 (mdaug.evaluation.conditions_control, as `mdaug
eval-conditions` measures it), written with the command, date, machine and wall time to benchmarks/results/NAME.json,
from which scripts/results_tables.py renders the table of benchmarks/README.md.

    .venv/bin/python benchmarks/conditions_control.py conditions-gait-sessions runs/gs/ldm --recognizer runs/gs/rec

Controllability: samples asked for one condition at a time (5 values, the 10-90% quantiles of the training
recordings'), read back by the estimators, beside chance (the same persons and noise asked for nothing) and the
estimator's own error on the training recordings. Identity: the evaluation recogniser on samples of each person at
their own recordings' conditions and at conditions of other people's recordings that theirs lack. Physics: the gait
cycle read back at two asked speeds against the walking model's sqrt ratio."""

from __future__ import annotations

import argparse
import json
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from mdaug.evaluation.conditions_control import evaluate_conditions
from mdaug.files import atomic_write_text
from mdaug.runs.loading import load_stage2
from mdaug.workflows.provenance import provenance

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="the results file: benchmarks/results/NAME.json")
    ap.add_argument("run", type=Path, help="a train-ldm run trained with recording conditions")
    ap.add_argument("--recognizer", type=Path, help="an evaluation recogniser of the same data (identity)")
    ap.add_argument("--per-value", type=int, default=16)
    ap.add_argument("--per-class", type=int, default=8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--note", default="", help="what the run is (data, budget, steps), for the table")
    ap.add_argument("--figure", type=Path, help="also copy the figure of one person at conditions they lack here")
    a = ap.parse_args()
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        r = evaluate_conditions(a.run, a.recognizer, per_value=a.per_value, per_class=a.per_class, seed=a.seed,
                                out=tmp)
        if a.figure and "person" in r.get("files", {}):
            shutil.copyfile(r["files"]["person"], a.figure)
    card = load_stage2(a.run).card
    out = {**provenance(shlex.join(["benchmarks/conditions_control.py", *sys.argv[1:]])),
           "wall_s": round(time.monotonic() - t0, 1), "note": a.note, "train_samples": card.train_samples,
           "steps": card.steps, "condition_sources": card.condition_sources,
           "result": {k: v for k, v in r.items() if k not in ("files", "model")}}
    path = atomic_write_text(RESULTS / f"{a.name}.json", json.dumps(out, indent=1))
    print(f"results: {path}")


if __name__ == "__main__":
    main()
