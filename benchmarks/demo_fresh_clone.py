"""The README's main command as a new user meets it: clone the repository into a new folder, run `make setup` and
then `make demo` there, timed, with the peak resident memory of the largest process, and write the demo's measured
figures (its `runs/demo/metrics.json`) with the command, date and machine to benchmarks/results/demo-quick.json,
from which `scripts/results_tables.py` renders the README's demo table.

    .venv/bin/python benchmarks/demo_fresh_clone.py                       # clone HEAD of this checkout
    .venv/bin/python benchmarks/demo_fresh_clone.py --empty-cache         # also simulate the data anew
    .venv/bin/python benchmarks/demo_fresh_clone.py --seed 1 --results benchmarks/results/demo-quick-seed1.json
    .venv/bin/python benchmarks/demo_fresh_clone.py --family vq --prior --results benchmarks/results/demo-quick-vq.json

The clone is of the committed HEAD, so uncommitted changes are not measured. The data cache ($MDAUG_CACHE, else
~/.cache/mdaug) is shared with other runs unless --empty-cache gives the clone a cache of its own; the results file
says which. Run it alone: a second job on the 2 cores slows both (torch's threads spin while they wait).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mdaug.workflows.provenance import provenance

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ("seed", "recognizer_train.seed", "ae_train.seed", "ldm_train.seed", "prior_train.seed")
"""The config keys --seed sets: everything random in a run but the data and its split."""


def _timed(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> float:
    t0 = time.monotonic()
    with log.open("a") as f:
        rc = subprocess.run(cmd, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT).returncode
    if rc != 0:
        sys.exit(f"error: `{' '.join(cmd)}` in {cwd} ended with exit code {rc} (log: {log})")
    return time.monotonic() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workdir", type=Path, help="where to clone (a new folder; default: a new temporary one)")
    ap.add_argument("--empty-cache", action="store_true", help="give the clone a data cache of its own")
    ap.add_argument("--results", type=Path, default=ROOT / "benchmarks" / "results" / "demo-quick.json")
    ap.add_argument("--seed", type=int, default=0, help="the run's seeds (config seed and every training seed: "
                    "initialisation, batch order, noise; the data and its split stay the same): runs of several "
                    "seeds give the spread between runs, which the same seed on one machine does not (it repeats "
                    "to the digit)")
    ap.add_argument("--family", help="the demo with ae.family=FAMILY (default: the quick preset's, kl), from that "
                    "family's shipped pretrained weights where they exist")
    ap.add_argument("--prior", action="store_true", help="with the code prior beside latent diffusion (`mdaug run "
                    "--prior`; a family with codes)")
    ap.add_argument("--note", help="a sentence kept in the results file (e.g. what else ran at the time)")
    a = ap.parse_args()
    work = a.workdir or Path(tempfile.mkdtemp(prefix="mdaug-demo-"))
    if work.exists() and any(work.iterdir()):
        sys.exit(f"error: {work} is not empty; give a new folder")
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(work)], check=True)
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    if a.empty_cache:
        env["MDAUG_CACHE"] = str(work / ".cache")
    log = work / "demo.log"
    setup = _timed(["make", "setup"], work, env, log)
    demo_args = " ".join([*(f"{k}={a.seed}" for k in SEEDS if a.seed),
                          *([f"ae.family={a.family}"] if a.family else []), *(["--prior"] if a.prior else [])])
    pipeline = _timed(["make", "demo"] + ([f"DEMO_ARGS={demo_args}"] if demo_args else []), work, env, log)
    # ru_maxrss of RUSAGE_CHILDREN: the largest resident set of any waited-for descendant (kB on Linux)
    peak_gb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 ** 2
    metrics = json.loads((work / "runs" / "demo" / "metrics.json").read_text())
    extra = f" {demo_args}" if demo_args else ""
    result = provenance(f"make demo{f' DEMO_ARGS={demo_args!r}' if demo_args else ''}  # on a fresh clone of "
                        f"{head}: mdaug run --config quick --out runs/demo{extra}")
    result |= {"wall_s": {"fresh_clone_with_setup": round(setup + pipeline), "pipeline": round(pipeline)},
               "peak_rss_gb": round(peak_gb, 2), "data_cache": "empty: the data simulated anew" if a.empty_cache else
               "shared: the simulated data reused from an earlier run"}
    if a.note:
        result["note"] = a.note
    timings = work / "runs" / "demo" / "timings.json"  # seconds per step of the pipeline (mdaug run writes it)
    result["step_seconds"] = json.loads(timings.read_text())["seconds"]
    result["metrics"] = {k: metrics[k] for k in ("summary", "reconstruction", "generation", "utility") if k in metrics}
    a.results.write_text(json.dumps(result, indent=1, default=float) + "\n")
    print(f"setup {setup / 60:.1f} min, demo {pipeline / 60:.1f} min, peak {peak_gb:.2f} GB -> {a.results}")


if __name__ == "__main__":
    main()
