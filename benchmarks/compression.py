"""What stage 1's compression costs, at 64x64: the same pipeline (`mdaug run`) with stage-1 variants trained from
scratch on the same budget, one shared evaluation recogniser, and a pixel-space control (no stage 1: latent
diffusion on the spectrograms themselves).

    .venv/bin/python benchmarks/compression.py --out runs/bench-compression --ae-steps 800 --ldm-steps 400

Variants (the quick preset's kl with):
    f4c4    block_out_channels (32, 64, 64), 4 latent channels: 4x16x16, the default (4x fewer numbers than pixels)
    f4c8    8 latent channels: 8x16x16
    f4c16   16 latent channels: 16x16x16 (as many numbers as pixels)
    f2c4    block_out_channels (32, 64), 4 latent channels: 4x32x32
    pixels  no stage 1: 1x64x64

Writes OUT/compression.json and benchmarks/results/compression.json (rows of `mdaug compare` plus each variant's
latent size, the command, date and machine); `scripts/results_tables.py` renders the latter into the docs.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

from rich.console import Console

from mdaug.evaluation.results import compare_table
from mdaug.runs.layout import PipelineFolders, run_finished
from mdaug.runs.loading import load_pretrained_autoencoder
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.benchmark import share_recognizer
from mdaug.workflows.pipeline import Pipeline, pipeline_config
from mdaug.workflows.provenance import provenance
from mdaug.workflows.steps import train_or_resume

VARIANTS = {
    "f4c4": ["ae.latent_channels=4"],
    "f4c8": ["ae.latent_channels=8"],
    "f4c16": ["ae.latent_channels=16"],
    # a 32x32 latent costs ~4x a 16x16 one to sample: the utility arm adds at most 20 synthetic per person
    "f2c4": ["ae.block_out_channels=[32,64]", "ae.latent_channels=4", "utility.max_synthetic_per_class=20"],
    # stage 2 on 64x64 pixels costs ~16x a 16x16 latent per step and per sample (6.1 s per training step against 0.2
    # on 2 cores), so its utility arm adds at most 20 synthetic spectrograms per person instead of 200
    "pixels": ["ae.family=pixels", "utility.max_synthetic_per_class=20"],
}
COLUMNS = ("variant", "latent", "numbers", "psnr_db", "reconstruction_identity", "real_identity", "ldm_identity",
           "ldm_fid", "ldm_fid_floor", "gain_at_all", "minutes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/bench-compression"))
    ap.add_argument("--ae-steps", type=int, default=800)
    ap.add_argument("--ldm-steps", type=int, default=400)
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--results", type=Path, default=Path(__file__).parent / "results" / "compression.json",
                    help="where the results file that the docs' tables are rendered from goes")
    ap.add_argument("--table-only", action="store_true",
                    help="run nothing: the table of what the variants' folders hold now (a step not run is a dash)")
    ap.add_argument("--note", help="a sentence kept in the results file and shown under its table (how the run went)")
    args = ap.parse_args()
    con = Console()
    names = [v for v in args.variants.split(",") if v]
    unknown = [v for v in names if v not in VARIANTS]
    if unknown:
        sys.exit(f"error: unknown variant {unknown[0]} (choose from {', '.join(VARIANTS)})")
    common = ["ae.family=kl", "ae.init=scratch", f"ae_train.steps={args.ae_steps}", "ae_train.lr=1e-3",
              f"ldm_train.steps={args.ldm_steps}", "ldm.init=scratch",
              # the gain with all the real data, where the pipeline's own models are the generative arm's
              "utility.budgets=[all]"]
    cfgs = {v: pipeline_config("quick", None, None, common + VARIANTS[v]) for v in names}
    shared = PipelineFolders(args.out).recognizer
    if not run_finished(shared) and not args.table_only:
        first = cfgs[names[0]]
        train_or_resume(shared, lambda r: train_recognizer(first, shared, role="eval", resume=r, console=con))
    # minutes of a variant's pipeline: measured when it runs here, else kept from the results file of the run that
    # trained it (a variant whose every step was done before takes no time now)
    previous = {}
    if args.results.exists():
        previous = {r["variant"]: r.get("minutes") for r in json.loads(args.results.read_text()).get("rows", [])}
    minutes = {}
    for v in names:
        timing = args.out / v / "compression-minutes.json"
        if args.table_only:
            minutes[v] = json.loads(timing.read_text())["minutes"] if timing.exists() else previous.get(v)
            continue
        con.rule(f"variant {v}")
        share_recognizer(shared, args.out / v)
        t0 = time.monotonic()
        Pipeline(cfgs[v], args.out / v, con).run()
        took = (time.monotonic() - t0) / 60
        # each variant keeps its own measured minutes, so that runs of different variants never lose each other's
        if took >= 1:
            timing.write_text(json.dumps({"minutes": round(took, 1)}) + "\n")
        minutes[v] = json.loads(timing.read_text())["minutes"] if timing.exists() else previous.get(v)
    rows, _ = compare_table([args.out / v for v in names])
    table = []
    for v, row in zip(names, rows):
        c, h, w = load_pretrained_autoencoder(args.out / v / "ae").latent_shape
        table.append({"variant": v, "latent": f"{c}x{h}x{w}", "numbers": c * h * w, "minutes": minutes[v],
                      "synthetic_cap": cfgs[v].utility.max_synthetic_per_class}
                     | {k: row.get(k) for k in COLUMNS if k in row})
    argv = sys.argv[1:]
    if "--note" in argv:  # the note is kept beside the command, not inside it
        i = argv.index("--note")
        argv = argv[:i] + argv[i + 2:]
    result = provenance("python benchmarks/compression.py " + " ".join(shlex.quote(a) for a in argv))
    result["rows"] = table
    if args.note:
        result["note"] = args.note
    for path in (args.out / "compression.json", args.results):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1, default=float) + "\n")
    con.print(json.dumps(result, indent=1, default=float))


if __name__ == "__main__":
    main()
