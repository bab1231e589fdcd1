"""How the code prior's sampling settings change what it draws: the shipped code prior of each discrete
family, zero-shot on its corpus, sampled at each combination of steps, guidance and temperature, judged as
benchmarks/zero_shot_families.py judges (the shipped recogniser: identity out of every walker it knows, FID to the
real corpus test recordings it never saw). No training: settings only, so that the default is chosen on a
measurement. Writes benchmarks/results/prior-sampling.json; its table is in benchmarks/README.md.

    .venv/bin/python benchmarks/prior_sampling.py
"""

from __future__ import annotations

import argparse
import importlib.util
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

from mdaug.models.stage2 import SampleSettings
from mdaug.runs.loading import load_stage2
from mdaug.runs.pretrained import SHIPPED
from mdaug.sampling.generate import generate
from mdaug.workflows.provenance import provenance

_spec = importlib.util.spec_from_file_location("zero_shot_families", Path(__file__).with_name("zero_shot_families.py"))
zs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--families", default="vq,vqgan,rq,fsq")
    ap.add_argument("--steps", default="8,16")
    ap.add_argument("--guidance", default="2,4")
    ap.add_argument("--temperature", default="1.0,0.6,0.3")
    ap.add_argument("--per-class", type=int, default=1)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/prior-sampling.json"))
    a = ap.parse_args()
    started = time.monotonic()
    judge = zs.Judge()
    grid = list(itertools.product([int(v) for v in a.steps.split(",")], [float(v) for v in a.guidance.split(",")],
                                  [float(v) for v in a.temperature.split(",")]))
    record = {**provenance(" ".join(["python", *sys.argv])), **judge.about(), "per_class": a.per_class, "rows": []}
    for family in a.families.split(","):
        folder = SHIPPED / f"{family}-64x64-prior"
        if not folder.is_dir():
            print(f"{folder.name}: not shipped, skipped")
            continue
        s2 = load_stage2(folder, autoencoder=SHIPPED / f"{family}-64x64")
        labels = np.repeat(np.arange(len(s2.class_names)), a.per_class)
        names = [s2.class_names[c] for c in labels]
        for steps, guidance, temperature in grid:
            t = time.monotonic()
            settings = SampleSettings(steps=steps, guidance_scale=guidance, temperature=temperature)
            x = generate(s2, labels, settings, seed=0)
            row = {"family": family, "model": folder.name, "steps": steps, "guidance": guidance,
                   "temperature": temperature, "default": s2.card.sampling, **judge.judge(x, names),
                   "seconds": round(time.monotonic() - t, 1)}
            record["rows"].append(row)
            print(f"{family} steps {steps} guidance {guidance:g} temperature {temperature:g}: identity "
                  f"{row['identity']:.3f} ({row['identity'] / judge.real['identity']:.2f}x), FID {row['fid']:.1f}")
    record["wall_s"] = round(time.monotonic() - started, 1)
    a.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
