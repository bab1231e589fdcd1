"""The utility study as a benchmark: runs `mdaug utility` with the given arguments, times it, and writes its report
with the command, date, machine and wall time to benchmarks/results/NAME.json, from which
`scripts/results_tables.py` renders the tables of README.md and benchmarks/README.md.

    .venv/bin/python benchmarks/utility_study.py utility-standard -- -c standard --out runs/study-standard
    .venv/bin/python benchmarks/utility_study.py strategies-k10 -- -c benchmarks/configs/strategies-k10.yaml \\
        --out runs/explore-k10

A study that is continued (its folder existed) adds the new invocation's time to the wall time recorded for that
folder before, so the figure is the whole study's compute however often it was interrupted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import time
from pathlib import Path

from mdaug.workflows.provenance import provenance
from mdaug.workflows.utility import UTILITY_JSON

RESULTS = Path(__file__).parent / "results"
WALL = "study_wall_s.json"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("name", help="the results file: benchmarks/results/NAME.json")
    ap.add_argument("utility_args", nargs=argparse.REMAINDER, help="after --: the arguments of `mdaug utility`")
    args = ap.parse_args()
    rest = [a for a in args.utility_args if a != "--"]
    if "--out" not in rest and "-o" not in rest:
        sys.exit("error: give `mdaug utility`'s --out after --")
    out = Path(rest[(rest.index("--out") if "--out" in rest else rest.index("-o")) + 1])
    wall_file = out / WALL
    before = json.loads(wall_file.read_text())["wall_s"] if wall_file.exists() else 0.0
    t0 = time.monotonic()
    rc = subprocess.call([sys.executable, "-m", "mdaug", "utility", *rest])
    spent = time.monotonic() - t0
    out.mkdir(parents=True, exist_ok=True)
    wall_file.write_text(json.dumps({"wall_s": before + spent}))
    if rc != 0:
        sys.exit(rc)
    result = provenance("mdaug utility " + " ".join(shlex.quote(a) for a in rest))
    result |= {"wall_s": round(before + spent, 1), "invocations_wall_s": [round(before, 1), round(spent, 1)],
               "report": json.loads((out / UTILITY_JSON).read_text())}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{args.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"{RESULTS / (args.name + '.json')}: {result['wall_s'] / 3600:.2f} hours in all")


if __name__ == "__main__":
    main()
