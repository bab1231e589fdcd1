"""Do `mdaug diagnose`'s figures predict generation? Stage-1 models of every family at several points of training
(fine-tuned from the shipped weights, trained from scratch on the same budget) and deliberately collapsed ones, each
diagnosed, given a latent diffusion of the same recipe and judged by one evaluation recogniser; then the Spearman rank
correlation of each diagnose figure with the generated samples' identity and FID over all models.

    .venv/bin/python benchmarks/diagnostics_rank.py --out runs/diagnostics-rank
    .venv/bin/python benchmarks/diagnostics_rank.py --out runs/diagnostics-rank --only vq-pretrained,vq-scratch

Every step is skipped when its output exists, so a stopped run continues. Writes
benchmarks/results/diagnostics-rank.json (per model: its figures, reconstruction identity, generated identity and
FID; per figure: rho against identity and FID); its table is in benchmarks/README.md. Models already in that file
and not measured by this call are kept (runs/ does not outlive a session, so the models are measured over several),
provided they were judged by the same evaluation recogniser: it is trained with a fixed seed, and a row is kept only
when the real test split's identity it recorded is this recogniser's to the last digit.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.evaluation.diagnose import LEARNED_CODEBOOKS, diagnose, verdicts
from mdaug.evaluation.generation_quality import evaluate_generation
from mdaug.evaluation.reconstruction import evaluate_reconstruction
from mdaug.evaluation.record_parts import DiagnoseMeasures
from mdaug.evaluation.records import DiagnoseReport, GenerationReport, ReconstructionReport
from mdaug.runs.layout import final_dir, run_finished
from mdaug.runs.run_data import load_run_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.provenance import provenance
from mdaug.workflows.steps import train_or_resume

VARIANTS: dict[str, list[str]] = {
    "kl-pretrained": ["ae.family=kl", "ae.init=pretrained"],
    "kl-scratch": ["ae.family=kl", "ae.init=scratch"],
    "kl-collapsed": ["ae.family=kl", "ae.init=scratch", "ae_loss.kl_weight=1.0"],
    "vq-pretrained": ["ae.family=vq", "ae.init=pretrained"],
    "vq-scratch": ["ae.family=vq", "ae.init=scratch"],
    "vq-collapsed": ["ae.family=vq", "ae.init=scratch", "ae.codebook_size=2"],
    "vqgan-pretrained": ["ae.family=vqgan", "ae.init=pretrained"],
    "vqgan-scratch": ["ae.family=vqgan", "ae.init=scratch"],
    "vqgan-collapsed": ["ae.family=vqgan", "ae.init=scratch", "ae.codebook_size=2"],
    "rq-pretrained": ["ae.family=rq", "ae.init=pretrained"],
    "rq-scratch": ["ae.family=rq", "ae.init=scratch"],
    "rq-collapsed": ["ae.family=rq", "ae.init=scratch", "ae.codebook_size=2"],
    "fsq-pretrained": ["ae.family=fsq", "ae.init=pretrained"],
    "fsq-scratch": ["ae.family=fsq", "ae.init=scratch"],
    "fsq-collapsed": ["ae.family=fsq", "ae.init=scratch", "ae.fsq_levels=[3,3,3]"],
}
"""Each model: the quick preset with these overrides (stage 1's budget is the demo's: ae_train.steps)."""

FIGURES = {
    "class probe ratio": lambda d: d.linear_probe / max(d.linear_probe_pixels, 1e-9),
    "k-NN agreement ratio": lambda d: d.knn_agreement / max(d.knn_agreement_pixels, 1e-9),
    "interpolation roughness": lambda d: d.roughness.same_class,
    "diffusability loss": lambda d: d.diffusability_loss,
    "detail margin": lambda d: d.fidelity.margin_db if d.fidelity else float("nan"),
}
"""The figures of `mdaug diagnose` that every family has (family-specific ones, codebook use and posterior spread,
are reported per model but not ranked across families). The detail margin is stage 1's test PSNR less the PSNR of each
test spectrogram's nearest training spectrogram, so on one dataset it ranks as the PSNR does; diagnose reports written
before it was measured give NaN."""


def _json(path: Path, record_type):
    return record_type.model_validate_json(path.read_text()) if path.exists() else None


def flagged_now(diag: DiagnoseReport) -> list[str]:
    """The problems `mdaug diagnose` flags in this report's measurements with today's verdicts and thresholds (the
    report's own verdicts are those of the day it was written)."""
    measures = DiagnoseMeasures(**{k: getattr(diag, k) for k in DiagnoseMeasures.model_fields if hasattr(diag, k)})
    if diag.latent.codes and measures.learned_codebook is None:
        measures.learned_codebook = diag.family in LEARNED_CODEBOOKS
    return [v.problem for v in verdicts(measures) if not v.ok]


def model_row(name: str, overrides: list[str], out: Path, recognizer: Path, ldm: list[str],
              preset: str = "quick") -> dict:
    """Train (or reuse) one variant's stage 1 and latent diffusion, and measure both."""
    folder = out / name
    cfg = load_config(preset, overrides + ldm)
    ae, s2 = folder / "ae", folder / "ldm"
    started = time.monotonic()
    if not run_finished(ae):
        train_or_resume(ae, lambda r: train_autoencoder(cfg, ae, resume=r))
    diag = _json(folder / "diagnose.json", DiagnoseReport) or diagnose(
        ae, diffusability_steps=cfg.diagnose.diffusability_steps, out=folder)
    recon = _json(folder / "reconstruction-test.json", ReconstructionReport) or evaluate_reconstruction(
        ae, out=folder, recognizer=recognizer)
    if not run_finished(s2):
        train_or_resume(s2, lambda r: train_stage2(cfg, s2, "ldm", autoencoder=final_dir(ae), resume=r))
    gen = _json(folder / "generation.json", GenerationReport) or evaluate_generation(s2, recognizer, out=folder)
    return {"name": name, "overrides": overrides, "family": diag.family,
            "figures": {f: float(fn(diag)) for f, fn in FIGURES.items()},
            "codebook_usage_pct": diag.latent.codebook_usage_pct, "code_perplexity": diag.latent.perplexity,
            "latent_snr_min": diag.latent.latent_snr_min,
            "healthy": diag.healthy, "flagged": [v.problem for v in diag.verdicts if not v.ok],
            "flagged_now": flagged_now(diag),
            "psnr_db": recon.psnr_db, "reconstruction_identity": recon.identity.reconstructions,
            "real_identity": recon.identity.real, "generated_identity": gen.identity.accuracy, "fid": gen.fid,
            "fid_floor": gen.floor.fid, "precision": gen.precision, "recall": gen.recall,
            "neighbours": gen.neighbours, "minutes_this_call": round((time.monotonic() - started) / 60, 1)}


def correlations(rows: list[dict]) -> dict[str, dict[str, float]]:
    """Spearman's rho of each figure (and of stage 1's reconstruction identity and PSNR on the test split, which a
    user also has before stage 2, for reference) with generated identity and with FID, over the models that have the
    figure (n: how many; a figure added to diagnose after some models were measured is NaN for those)."""
    value = {f: [r["figures"].get(f, float("nan")) for r in rows] for f in FIGURES} | {
        "reconstruction identity": [r["reconstruction_identity"] for r in rows],
        "reconstruction PSNR": [r["psnr_db"] for r in rows]}
    ident, fid = np.array([r["generated_identity"] for r in rows]), np.array([r["fid"] for r in rows])
    out = {}
    for f, v in value.items():
        v = np.asarray(v, dtype=float)
        ok = np.isfinite(v)
        if ok.sum() >= 3:
            out[f] = {"identity": float(spearmanr(v[ok], ident[ok]).statistic),
                      "fid": float(spearmanr(v[ok], fid[ok]).statistic), "n": int(ok.sum())}
    return out


GROUPS = {"fine-tuned from the shipped weights": "-pretrained",
          "trained from scratch or collapsed": ("-scratch", "-collapsed")}
"""Models by how their stage 1 started (by the variant's name): a figure can part the groups without ranking the
models within either, which the rank correlation over all models does not show."""


def within_groups(rows: list[dict]) -> dict[str, dict]:
    """The rank correlations within each group of GROUPS that has at least 3 models, with the group's model names."""
    out = {}
    for group, ends in GROUPS.items():
        members = [r for r in rows if r["name"].endswith(ends)]
        if len(members) >= 3:
            out[group] = {"models": [r["name"] for r in members], "spearman": correlations(members)}
    return out


def merged(old: dict | None, rows: list[dict]) -> list[dict]:
    """The rows of an earlier results file that this call did not re-measure (in their order), then this call's rows.
    Refuses to mix recognisers: every kept row must record the real identity the new rows record."""
    fresh = {r["name"] for r in rows}
    kept = [r for r in (old or {}).get("models", []) if r["name"] not in fresh]
    if rows and kept:
        real = {r["real_identity"] for r in rows}
        other = [r["name"] for r in kept if {r["real_identity"]} != real]
        if len(real) > 1 or other:
            raise MdaugError(f"the kept rows {other} were judged by another evaluation recogniser (real test identity "
                             f"{sorted(real)} now); measure them again with --only, or write to a new --results")
    return kept + rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", type=Path, default=Path("runs/diagnostics-rank"))
    ap.add_argument("--only", help="comma-separated variant names (default: all)")
    ap.add_argument("--preset", default="quick", help="the preset every model is trained with (tiny: a wiring check)")
    ap.add_argument("--ldm", default="", help="stage-2 overrides for every model, e.g. ldm.init=scratch")
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/diagnostics-rank.json"))
    args = ap.parse_args()
    names = args.only.split(",") if args.only else list(VARIANTS)
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        sys.exit(f"error: unknown variants {unknown}; known: {', '.join(VARIANTS)}")
    ldm = args.ldm.split() if args.ldm else []
    for n in names:  # a typo in a variant's overrides fails here, not after hours of the variants before it
        try:
            load_config(args.preset, VARIANTS[n] + ldm)
        except MdaugError as e:
            sys.exit(f"error: variant {n}: {e}")
    try:
        old = json.loads(args.results.read_text()) if args.results.exists() else None
    except (OSError, ValueError) as e:
        sys.exit(f"error: {args.results} is not a readable results file ({type(e).__name__}); move it away or give "
                 "another --results")
    if old and (old.get("preset"), old.get("ldm_overrides")) != (args.preset, ldm):
        sys.exit(f"error: {args.results} holds models of preset {old.get('preset')} with stage-2 overrides "
                 f"{old.get('ldm_overrides')}; write these to a new --results")
    cfg = load_config(args.preset)
    recognizer = args.out / "recognizer-eval"
    train_or_resume(recognizer, lambda r: train_recognizer(cfg, recognizer, role="eval", resume=r,
                                                           data=load_run_data(cfg))) \
        if not run_finished(recognizer) else None
    rows = [model_row(n, VARIANTS[n], args.out, recognizer, ldm, args.preset) for n in names]
    try:
        rows = merged(old, rows)
    except MdaugError as e:
        sys.exit(f"error: {e}")
    earlier = [] if not old or len(rows) == len(names) else [
        {k: old[k] for k in ("command", "date", "machine")}, *old.get("earlier", [])]
    record = {**provenance(" ".join(["python", *sys.argv])), "earlier": earlier, "preset": args.preset,
              "ldm_overrides": ldm, "models": rows, "spearman": correlations(rows) if len(rows) >= 3 else {},
              "spearman_within": within_groups(rows)}
    args.results.write_text(json.dumps(record, indent=1) + "\n")
    for f, rho in record["spearman"].items():
        print(f"{f:28s} rho vs identity {rho['identity']:+.2f}, vs FID {rho['fid']:+.2f}")
    print(f"{len(rows)} models; mean generated identity {np.mean([r['generated_identity'] for r in rows]):.3f}")


if __name__ == "__main__":
    main()
