"""How the gait-sessions benchmark's settings were chosen: the real + classical recogniser of the utility study (the
standard preset's recipe) at budgets of 2 sessions per person, 20 recordings per person from all training sessions,
and all of them, for a variant of gait_sessions.* given as overrides. What a setting has to show (issue 25): with all
training sessions, at least 10 points above 2 sessions per person at the same number of recordings; no generative
arm is looked at.

    .venv/bin/python benchmarks/sessions_calibration.py sessions-calibration B gait_sessions.aspect_jitter_deg=45

Each variant is one repeat (the product's `mdaug utility` measures the chosen settings with repeats: benchmarks/
README.md); results go to benchmarks/results/NAME.json, one variant per call, written as each recogniser finishes."""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path

from mdaug.config import apply_overrides, load_config
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.provenance import provenance
from mdaug.workflows.steps import train_or_resume
from mdaug.workflows.utility import budget_config
from mdaug.workflows.utility.recognisers import user_recipe

RESULTS = Path(__file__).parent / "results"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("name", help="results/NAME.json (variants are added to it)")
    ap.add_argument("variant", help="a name for this variant")
    ap.add_argument("overrides", nargs="*", help="gait_sessions.* overrides")
    ap.add_argument("--budgets", default="2s,20,all")
    ap.add_argument("--runs", type=Path, default=Path("runs/sessions-calibration"))
    a = ap.parse_args()
    path = RESULTS / f"{a.name}.json"
    out = json.loads(path.read_text()) if path.exists() else {"variants": []}
    variant = {"name": a.variant, "overrides": dict(o.split("=", 1) for o in a.overrides), "rows": [],
               **provenance("benchmarks/sessions_calibration.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]))}
    out["variants"].append(variant)
    base = apply_overrides(load_config("standard"), ["data.builtin=gait-sessions", *a.overrides])
    for b in a.budgets.split(","):
        k = b if b.endswith("s") or b == "all" else int(b)
        cfg = budget_config(base, k, 0)
        data = load_run_data(cfg)
        rc = user_recipe(cfg, len(data.indices("train")), classical=True)
        run = a.runs / a.variant / f"budget-{b}"
        train_or_resume(run, lambda r, rc=rc, run=run, data=data: train_recognizer(rc, run, role="eval", resume=r,
                                                                                     data=data))
        card = load_recognizer(run)[1]
        variant["rows"].append({"budget": b, "repeat": 0, "test_accuracy": card.test_accuracy,
                                "val_accuracy": card.selection_accuracy, "real_train": len(data.indices("train"))})
        path.write_text(json.dumps(out, indent=1))
        print(b, variant["rows"][-1], flush=True)


if __name__ == "__main__":
    main()
