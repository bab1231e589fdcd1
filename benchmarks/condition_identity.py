"""What conditioning stage 2 on the recordings' conditions costs the person: stage 2 trained in several variants on
one stage-1 model (the same data, steps and seed; only ldm.* overrides differ), each measured for

- identity of samples asked for nothing (the evaluation recogniser names their person, 10 per person), the
  figure the demo reports, against the variant without conditions;
- identity at the person's own recordings' conditions and at conditions of other people's recordings that theirs
  lack (mdaug.evaluation.conditions_control.identity_under_change, 4 per person);
- controllability (median error of what is read back against what was asked, 8 per value) and the walking model's
  speed-cadence relation (conditions_control.physics).

    .venv/bin/python benchmarks/condition_identity.py condition-identity-quick --ae runs/demo/ae \\
        --recognizer runs/demo/recognizer-eval --out runs/cond-identity -c quick \\
        --variant "none:ldm.conditions=[]" --variant "auto:" ...

A variant whose run is finished in OUT/NAME is measured again, not retrained. Writes benchmarks/results/NAME.json
(rendered into benchmarks/README.md by scripts/results_tables.py)."""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from mdaug.evaluation.conditions_control import _recognised, controllability, identity_under_change, physics
from mdaug.files import atomic_write_text
from mdaug.runs.layout import run_finished
from mdaug.runs.loading import load_recognizer, load_stage2, stage1_data
from mdaug.sampling.generate import generate
from mdaug.workflows.provenance import provenance

RESULTS = Path(__file__).parent / "results"


def measure(run: Path, recognizer: Path) -> dict:
    s2 = load_stage2(run)
    data = stage1_data(s2.autoencoder)
    rec = load_recognizer(recognizer)[0]
    labels = np.repeat(np.arange(len(s2.class_names)), 10)
    x = generate(s2, labels, s2.default_settings(), seed=0)
    out = {"conditions": [c.describe() for c in s2.conditions], "steps": s2.card.steps,
           "identity_nothing_asked": round(float(_recognised(rec, x, labels, None).mean()), 4)}
    if s2.conditions:
        out["identity"] = identity_under_change(s2, data, rec, per_class=4)
        out["controllability"] = {k: {m: v[m] for m in ("unit", "median_abs_error", "chance_median_abs_error")}
                                  for k, v in controllability(s2, data, per_value=8).items()}
        out["physics"] = physics(s2, data, per_value=8)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name")
    ap.add_argument("--ae", type=Path, required=True, help="the stage-1 run every variant models")
    ap.add_argument("--recognizer", type=Path, required=True, help="the evaluation recogniser of the same data")
    ap.add_argument("--out", type=Path, required=True, help="a folder for the variants' runs")
    ap.add_argument("-c", "--config", default="quick")
    ap.add_argument("--variant", action="append", required=True, help="NAME:OVERRIDE OVERRIDE ... (ldm.* keys)")
    a = ap.parse_args()
    t0 = time.monotonic()
    rows = {}
    for v in a.variant:
        name, _, overrides = v.partition(":")
        run = a.out / name
        if not run_finished(run):
            cmd = [sys.executable, "-m", "mdaug", "train-ldm", "-c", a.config, "--ae", str(a.ae), "-o", str(run),
                   *overrides.split()]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        rows[name] = {"overrides": overrides.split(), **measure(run, a.recognizer)}
        print(name, json.dumps(rows[name]["identity_nothing_asked"]), flush=True)
    out = {**provenance(shlex.join(["benchmarks/condition_identity.py", *sys.argv[1:]])),
           "wall_s": round(time.monotonic() - t0, 1), "config": a.config, "variants": rows}
    print(f"results: {atomic_write_text(RESULTS / f'{a.name}.json', json.dumps(out, indent=1))}")


if __name__ == "__main__":
    main()
