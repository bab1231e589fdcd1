"""Commands that measure: reconstruction, latent health, generation quality, utility, the report."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mdaug.cli.app import CONFIG, OVERRIDES, SEED_OPT, app, command_config, out
from mdaug.errors import MdaugError


@app.command("eval-ae", rich_help_panel="Evaluate")
def eval_ae(
    run: Path = typer.Argument(..., help="A train-ae run folder (with final/)."),
    split: str = typer.Option("test", "--split", help="test, val or train."),
    batch_size: int = typer.Option(64, "--batch-size", min=1, help="Spectrograms encoded at once (memory only)."),
    recognizer: Optional[Path] = typer.Option(None, "--recognizer", help="An evaluation recogniser of the same data "
                                              "(train-recognizer --role eval): adds the identity ceiling."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Reconstruction quality on held-out data: PSNR, SSIM, spectral error, noise floor, codebook/latent statistics,
    and with --recognizer the identity ceiling (how often reconstructions are still recognised)."""
    from mdaug.evaluation.reconstruction import evaluate_reconstruction

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    report = evaluate_reconstruction(run, split=split, batch_size=batch_size, recognizer=recognizer)
    if as_json:
        out.print(report.to_json(), markup=False)
        return
    out.print(f"{report.family} on {report.split} ({report.samples} spectrograms): PSNR {report.psnr_db:.2f} dB, "
              f"SSIM {report.ssim:.3f}, spectral error {report.spectral_error:.4f}, L1 {report.l1:.4f}")
    lat = report.latent
    if lat.codes:
        out.print(f"codes: {lat.codebook_usage_pct:.1f}% of the codebook used, perplexity {lat.perplexity:.1f}, "
                  f"{lat.dead_codes:.0f} dead")
    elif lat.posterior:
        stds = ", ".join(f"{v:.3f}" for v in lat.posterior_std_per_channel)
        snr = ", ".join(f"{v:.3g}" for v in lat.latent_snr_per_channel)
        out.print(f"posterior std per channel: {stds}; latent SNR per channel: {snr}; active units "
                  f"{lat.active_units_pct:.0f}%")
    real, rec = report.noise_floor.real, report.noise_floor.reconstructed
    out.print(f"noise floor, real / reconstructed: level {real.level_db:.1f} / {rec.level_db:.1f} dB, spread "
              f"{real.spread_db:.2f} / {rec.spread_db:.2f} dB, neighbour correlation along time "
              f"{real.correlation_time:.2f} / {rec.correlation_time:.2f}")
    if report.identity:
        i = report.identity
        out.print(f"identity ceiling: the recogniser names {100 * i.reconstructions:.1f}% of the reconstructions "
                  f"against {100 * i.real:.1f}% of the real spectrograms ({i.ratio:.2f}x)")
    out.print(f"report: {report.files.json_file}  figure: {report.files.figure}")


@app.command("diagnose", rich_help_panel="Evaluate")
def diagnose_cmd(
    run: Path = typer.Argument(..., help="A train-ae run folder (with final/)."),
    diffusability_steps: Optional[int] = typer.Option(None, "--diffusability-steps", min=1,
                                                      help="Training steps of the small latent denoiser of the probe "
                                                      "(default: diagnose.diffusability_steps)."),
    config: Optional[str] = CONFIG,
    overrides: Optional[list[str]] = OVERRIDES,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Latent-space health over the whole dataset: collapse of variance, of codebook use or into pointer-like
    codes, neighbourhoods, linear probe, smoothness, diffusability; a verdict per problem."""
    from mdaug.evaluation.diagnose import diagnose

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    settings = command_config(config, list(overrides or []) + ([f"diagnose.diffusability_steps={diffusability_steps}"]
                                                        if diffusability_steps else [])).diagnose
    report = diagnose(run, **settings.model_dump())
    if as_json:
        out.print(json.dumps(report.model_dump(by_alias=True, exclude={"class_code_hist"}), indent=1), markup=False)
        return
    out.print(f"{report.family} latent space over {report.samples} spectrograms "
              f"({'x'.join(map(str, report.latent_shape))}):")
    for v in report.verdicts:
        out.print(f"  {'ok ' if v.ok else 'BAD'}  {v.problem}: {v.message}", markup=False)
    out.print(f"{'healthy' if report.healthy else 'problems found'}; report: {report.files.json_file}  "
              f"figure: {report.files.figure}")


@app.command("evaluate", rich_help_panel="Evaluate")
def evaluate_cmd(
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    recognizer: Path = typer.Option(..., "--recognizer",
                                    help="The evaluation recogniser (train-recognizer --role eval)."),
    per_class: int = typer.Option(30, "--per-class", min=2, help="Synthetic spectrograms per class."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Sampling steps (default: the model's)."),
    guidance: Optional[float] = typer.Option(None, "--guidance", help="Guidance scale (default: the model's)."),
    seed: int = SEED_OPT,
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Generation quality in the recogniser's feature space: FID/KID against the real test split (with the
    real-train floor), precision/recall, identity accuracy, memorisation, physical plausibility."""
    from mdaug.evaluation.generation_quality import evaluate_generation
    from mdaug.runs.loading import load_stage2

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    settings = load_stage2(run, ae).default_settings()
    settings.steps = steps if steps is not None else settings.steps
    settings.guidance_scale = guidance if guidance is not None else settings.guidance_scale
    report = evaluate_generation(run, recognizer, per_class=per_class, settings=settings, seed=seed, autoencoder=ae)
    if as_json:
        out.print(report.to_json(), markup=False)
        return
    fl, ce = report.floor, report.stage1_ceiling
    out.print(f"{report.kind} on {report.family}, {report.samples} samples: FID {report.fid:.2f} (real floor "
              f"{fl.fid:.2f}), KID {report.kid:.4f} (floor {fl.kid:.4f}), precision {report.precision:.2f}, recall "
              f"{report.recall:.2f} (k={report.neighbours or 3}; real floor {fl.precision:.2f} / {fl.recall:.2f})")
    out.print(f"stage-1 reconstructions of real samples (the ceiling): FID {ce.fid:.2f}; identity accuracy on "
              f"reconstructions of the real test split {ce.identity_accuracy:.3f}")
    out.print(f"identity accuracy {report.identity.accuracy:.3f} (the recogniser on real test data: "
              f"{report.recognizer_test_accuracy:.3f}); copies of training samples: "
              f"{100 * report.memorisation_pixels.all.share_below:.1f}%")
    out.print(f"report: {report.files.json_file}  grid: {report.files.grid}")


@app.command("eval-conditions", rich_help_panel="Evaluate")
def eval_conditions_cmd(
    run: Path = typer.Argument(..., help="A train-ldm run trained with recording conditions (ldm.conditions)."),
    recognizer: Optional[Path] = typer.Option(None, "--recognizer", help="An evaluation recogniser of the same data "
                                              "(train-recognizer --role eval): adds identity under a change of "
                                              "condition."),
    per_value: int = typer.Option(16, "--per-value", min=1, help="Samples per value asked for."),
    per_class: int = typer.Option(8, "--per-class", min=1, help="Samples per person for identity."),
    seed: int = SEED_OPT,
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="New folder for conditions.json and person.png "
                                           "(default: RUN/conditions-seedS, never overwritten)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
) -> None:
    """What the recording conditions do to the samples: controllability (asked against read back, per condition),
    identity under a change of condition, the walking model's physics, and a figure of one person at conditions
    their recordings lack."""
    from mdaug.evaluation.conditions_control import evaluate_conditions
    from mdaug.files import ensure_empty_dir, free_path
    from mdaug.runs.loading import load_stage2

    s2 = load_stage2(run, ae)
    if not s2.conditions:
        raise MdaugError(f"{run} was trained without recording conditions (ldm.conditions); nothing to measure")
    folder = out_dir or free_path(s2.folder.parent / f"conditions-seed{seed}")
    ensure_empty_dir(folder, what="output folder")
    result = evaluate_conditions(s2.folder, recognizer, per_value=per_value, per_class=per_class, seed=seed,
                                 out=folder, autoencoder=ae)
    if as_json:
        out.print(json.dumps(result.model_dump(by_alias=True), indent=1), markup=False)
        return
    for name, r in result.controllability.items():
        out.print(f"{name}: asked vs read back, median error {r.median_abs_error} {r.unit} (asked for nothing: "
                  f"{r.chance_median_abs_error}; the estimator on recordings: {r.estimator_median_abs_error})")
    if result.physics:
        p = result.physics
        out.print(f"speed {p.speeds[0]} -> {p.speeds[1]} m/s: gait cycle ratio read {p.cycle_ratio_read} "
                  f"(walking model {p.cycle_ratio_expected}); torso speed read {p.torso_speed_read}")
    if result.identity:
        i = result.identity
        out.print(f"identity: {i.own.recognised} at the person's own conditions, {i.unseen.recognised} "
                  f"at conditions they lack (ratio {i.ratio})")
    out.print(f"results: {result.files.json_file}  figure: {result.files.person or '-'}")


@app.command("report", rich_help_panel="Evaluate")
def report_cmd(folder: Path = typer.Argument(..., help="A pipeline folder (what `mdaug run` writes).")) -> None:
    """One self-contained HTML page (figures embedded) and metrics.json from the results in a pipeline folder."""
    from mdaug.evaluation.report import write_report

    page, metrics = write_report(folder)
    out.print(f"report: {page}\nmetrics: {metrics}")


@app.command("compare", rich_help_panel="Evaluate")
def compare_cmd(
    folders: list[Path] = typer.Argument(..., help="Pipeline folders, e.g. one per stage-1 family."),
    md: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table to this Markdown file (new)."),
) -> None:
    """One table across pipeline folders: reconstruction, latent health, generation quality, identity, utility gain."""
    from mdaug.evaluation.results import compare_table
    from mdaug.files import atomic_write_text

    _, table = compare_table(folders)
    out.print(table, markup=False)
    if md is not None:
        if md.exists():
            raise MdaugError(f"{md} exists; choose a new file (results are never overwritten)")
        atomic_write_text(md, table + "\n")
        out.print(f"table: {md}")
