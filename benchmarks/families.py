"""The family comparison (issue 29, item 3): `mdaug benchmark` for one family at a time, each fine-tuned from its
shipped weights and judged by the benchmark's one evaluation recogniser; each family's figures are merged into one
results file, from which the README's family table is rendered. One family of the standard preset takes one to two
hours on 2 CPU cores, and runs/ may not outlive a session, so the families are measured over several calls:

    .venv/bin/python benchmarks/families.py --family vq                 # standard preset, into runs/families-standard
    .venv/bin/python benchmarks/families.py --family kl --preset quick  # another preset: its own results file
    .venv/bin/python benchmarks/families.py --family rq utility.budgets=[10]  # overrides, as mdaug benchmark takes

The overrides must be the same in every call of one results file (the file refuses others), so that every family
ran the same recipe.

The recognisers of the real data (the evaluation recogniser, and each utility study's arms without synthetic data)
are shared between the calls through OUT/recognisers (mdaug.workflows.utility.recognisers.RecogniserStore): the first
family trains them, later ones copy them, which saves about half of a family's study. The evaluation recogniser is
trained with a fixed seed on the same data and split in every call, so every family is judged by the same one; a
family is added to the file only when its recogniser names the real test split exactly as the families already there
were judged (the real rate to the last digit), else the call stops and says so.
Writes benchmarks/results/families-PRESET.json (per family: the run's metrics.json parts, the minutes it took, the
command and date); a family measured again replaces its row.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mdaug.errors import MdaugError
from mdaug.models.stage2 import CODE_FAMILIES
from mdaug.workflows.benchmark import FAMILIES, run_benchmark
from mdaug.workflows.provenance import provenance

PARTS = ("summary", "reconstruction", "diagnose", "generation", "utility")
"""What of a family's metrics.json the results file keeps."""


def real_rate(metrics: dict) -> float:
    """The share of the real test split the family's evaluation recogniser names right."""
    return float(metrics["reconstruction"]["identity"]["real"])


def starts(run: Path) -> dict[str, str]:
    """Where each model of a pipeline folder started (its init.json): 'scratch', or the shipped model's name."""
    out = {}
    for model in ("ae", "ldm", "prior"):
        path = run / model / "init.json"
        if path.exists():
            init = json.loads(path.read_text())
            out[model] = Path(init["path"]).name if init.get("path") else init["source"]
            out[model] = Path(init["path"]).parent.name if out[model] == "final" else out[model]
    return out


def identity_interval(per_class: list[float], seed: int = 0, draws: int = 2000) -> list[float]:
    """95% bootstrap interval of the identity accuracy, resampling classes (each class has as many samples, so the
    accuracy is the mean of the per-class ones; samples of one class are not independent)."""
    acc = np.asarray(per_class, dtype=float)
    boot = acc[np.random.default_rng(seed).integers(0, len(acc), (draws, len(acc)))].mean(1)
    return [float(np.quantile(boot, 0.025)), float(np.quantile(boot, 0.975))]


def merged(old: dict | None, family: str, row: dict) -> dict[str, dict]:
    """The families of an earlier results file with `row` for `family` (replacing its earlier one), in the order of
    FAMILIES. Refuses a row judged by another evaluation recogniser than the kept rows."""
    families = {k: v for k, v in (old or {}).get("families", {}).items() if k != family}
    other = [k for k, v in families.items() if real_rate(v["metrics"]) != real_rate(row["metrics"])]
    if other:
        raise MdaugError(f"{family}'s evaluation recogniser names {real_rate(row['metrics']):.6f} of the real test "
                         f"split, the one that judged {', '.join(other)} named another share: not the same judge "
                         "(other data, split, preset or code); measure them again, or write to a new --results")
    families[family] = row
    return {k: families[k] for k in FAMILIES if k in families}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--family", required=True, choices=FAMILIES)
    ap.add_argument("--preset", default="standard")
    ap.add_argument("--out", type=Path, help="runs folder (default: runs/families-PRESET); each family in OUT/FAMILY")
    ap.add_argument("--results", type=Path, help="default: benchmarks/results/families-PRESET.json")
    ap.add_argument("--note", help="what the results file should say about this call (other work on the machine)")
    ap.add_argument("overrides", nargs="*", help="config overrides for every family, as mdaug benchmark takes them")
    a = ap.parse_args()
    out = (a.out or Path(f"runs/families-{a.preset}")) / a.family
    results = a.results or Path(f"benchmarks/results/families-{a.preset}.json")
    try:
        old = json.loads(results.read_text()) if results.exists() else None
    except (OSError, ValueError) as e:
        sys.exit(f"error: {results} is not a readable results file ({type(e).__name__}); move it away or give "
                 "another --results")
    if old and old.get("overrides", []) != a.overrides:
        sys.exit(f"error: {results} holds families run with the overrides {old.get('overrides', [])}, not "
                 f"{a.overrides}; give the same, or write to a new --results")
    command = " ".join(["python", *sys.argv])
    benchmark = " ".join([f"mdaug benchmark --config {a.preset} --families {a.family} --out {out} --recognisers "
                          f"{out.parent / 'recognisers'}", *a.overrides])
    started = time.monotonic()
    try:
        run_benchmark(out, preset=a.preset, families=(a.family,), overrides=a.overrides, command=benchmark,
                      recognisers=out.parent / "recognisers")
        metrics = json.loads((out / a.family / "metrics.json").read_text())
        parts = {k: metrics[k] for k in PARTS if k in metrics}
        row = {**provenance(command), "benchmark": benchmark, "minutes": round((time.monotonic() - started) / 60, 1),
               **({"note": a.note} if a.note else {}), "prior": a.family in CODE_FAMILIES,
               "started_from": starts(out / a.family),
               "identity_interval": {k: identity_interval(g["identity"]["per_class_accuracy"])
                                     for k, g in parts.get("generation", {}).items() if g},
               "metrics": parts}
        families = merged(old, a.family, row)
    except MdaugError as e:
        sys.exit(f"error: {e}")
    record = {"preset": a.preset, "overrides": a.overrides, "script": "benchmarks/families.py", "families": families}
    results.write_text(json.dumps(record, indent=1, default=float) + "\n")
    s = row["metrics"]["summary"]
    print(f"{a.family}: reconstructions {s.get('reconstruction_identity')}, ldm {s.get('ldm_identity')}, prior "
          f"{s.get('prior_identity')}, real {s.get('real_identity')}; {row['minutes']} min -> {results}")


if __name__ == "__main__":
    main()
