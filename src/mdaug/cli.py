"""Command line: parse, build the typed config, call library functions. No logic of its own."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

from mdaug import __version__
from mdaug.errors import MdaugError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Augment radar micro-Doppler spectrogram datasets with generative models.")
data_app = typer.Typer(no_args_is_help=True, help="Read, check and prepare datasets.")
config_app = typer.Typer(no_args_is_help=True, help="Show resolved configs and presets.")
app.add_typer(data_app, name="data")
app.add_typer(config_app, name="config")
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

OVERRIDES = typer.Argument(None, help="Config overrides in dotted form, e.g. data.size=128 split.seed=3", show_default=False)
CONFIG = typer.Option(None, "--config", "-c", help="Preset name (tiny, quick, full) or a YAML file.")
FORMAT = typer.Option(None, "--format", help="auto, images, npy, npz, mat, hdf5 (data.format).")
COLORMAP = typer.Option(None, "--colormap", help="Colour images: auto, a matplotlib name (jet, viridis...), rgb or gray.")
SIZE = typer.Option(None, "--size", help="Resize to SIZE x SIZE, or DxT like 128x64 (data.size).")
SKIP_BAD = typer.Option(False, "--skip-bad", help="Skip unreadable files and NaN samples (each is still reported).")


def _config(config: str | None, overrides: list[str] | None, path: Path | None = None, **flags):
    from mdaug.config import load_config

    extra = [f"data.{k}={v}" for k, v in flags.items() if v not in (None, False)]
    if path is not None:
        extra.append(f"data.path={path}")
    return load_config(config, list(overrides or []) + extra)


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        out.print(f"mdaug {__version__}")
        raise typer.Exit()


@config_app.command("show")
def config_show(config: Optional[str] = CONFIG, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Print the resolved config (defaults + preset + overrides) as YAML."""
    from mdaug.config import config_to_yaml

    out.print(config_to_yaml(_config(config, overrides)), end="")


@config_app.command("reference")
def config_reference() -> None:
    """Print every config key with its default and meaning (Markdown table)."""
    from mdaug.config import reference_markdown

    out.print(reference_markdown(), markup=False)


@config_app.command("presets")
def config_presets() -> None:
    """List the shipped presets."""
    from mdaug.config import preset_names

    out.print("\n".join(preset_names()))


@data_app.command("inspect")
def data_inspect(
    path: Path = typer.Argument(..., help="Class-folder tree, array file or prepared dataset."),
    overrides: Optional[list[str]] = OVERRIDES,
    config: Optional[str] = CONFIG,
    format: Optional[str] = FORMAT,
    colormap: Optional[str] = COLORMAP,
    size: Optional[str] = SIZE,
    skip_bad: bool = SKIP_BAD,
    preview: Optional[Path] = typer.Option(None, "--preview", help="Preview PNG path [default: ./<name>_preview.png, never overwritten]."),
    per_class: int = typer.Option(4, "--per-class", min=1, max=16, help="Samples per class in the preview."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the summary as JSON here."),
) -> None:
    """Summarise a dataset (classes, counts, shapes, value ranges, problems) and write a preview grid.

    Exits with status 1 when problems that would stop training were found."""
    from mdaug.data.read import read_dataset
    from mdaug.data.summary import preview_grid, print_summary, summarize
    from mdaug.files import atomic_write_text, free_path

    cfg = _config(config, overrides, path, format=format, colormap=colormap, size=size, skip_bad=skip_bad)
    result = read_dataset(path, cfg.data, collect=True)
    summary = summarize(result)
    print_summary(summary, out)
    target = preview or Path(f"{path.resolve().name or 'dataset'}_preview.png")
    if not target.suffix:
        target = target.with_suffix(".png")
    elif target.suffix.lower() != ".png":
        raise MdaugError(f"--preview {target} must be a .png file")
    target = free_path(target)
    preview_grid(result.dataset, target, per_class=per_class, seed=cfg.seed)
    out.print(f"preview: {target}")
    if json_out:
        atomic_write_text(free_path(json_out), json.dumps(summary, indent=2))
    if result.errors:
        raise MdaugError(f"{len(result.errors)} problem(s) must be fixed before this dataset can be used"
                         + ("; --skip-bad skips bad files" if all(p.skippable for p in result.errors) else ""))


@data_app.command("prepare")
def data_prepare(
    path: Path = typer.Argument(..., help="Class-folder tree or array file to read."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="New folder for the prepared dataset."),
    overrides: Optional[list[str]] = OVERRIDES,
    config: Optional[str] = CONFIG,
    format: Optional[str] = FORMAT,
    colormap: Optional[str] = COLORMAP,
    size: Optional[str] = SIZE,
    skip_bad: bool = SKIP_BAD,
) -> None:
    """Read, normalise and resize a dataset, split it leak-free, and save it for the later stages."""
    from mdaug.config import save_config
    from mdaug.data import make_split, read_dataset, save_prepared, save_split
    from mdaug.data.summary import preview_grid
    from mdaug.files import ensure_empty_dir

    cfg = _config(config, overrides, path, format=format, colormap=colormap, size=size, skip_bad=skip_bad)
    ensure_empty_dir(out_dir, create=False)  # checked now, created only after a successful read
    result = read_dataset(path, cfg.data)
    ensure_empty_dir(out_dir)
    for p in result.problems:
        err.print(f"warning: {p.message}")
    ds = result.dataset
    split = make_split(ds, cfg.split)
    save_prepared(ds, out_dir)
    save_split(split, out_dir / "split.json")
    save_config(cfg, out_dir / "config.yaml")
    preview_grid(ds, out_dir / "preview.png", seed=cfg.seed)
    for w in split.warnings:
        err.print(f"warning: {w}")
    counts = ", ".join(f"{k} {len(v)}" for k, v in split.ids.items())
    out.print(f"prepared {len(ds)} spectrograms {tuple(ds.x.shape[1:])} in {len(ds.class_names)} classes -> {out_dir}")
    out.print(f"split by {split.group_by}: {counts}")


@data_app.command("examples")
def data_examples(
    out_dir: Path = typer.Option(..., "--out", "-o", help="New folder to write into."),
    format: str = typer.Option("images", "--format", help="images, npz, mat, mat73 or hdf5."),
    colormap: str = typer.Option("jet", "--colormap", help="Colormap of the images."),
    classes: int = typer.Option(4, "--classes", min=2, max=64),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Write a small labelled example dataset (point-scatterer gait signals) in a chosen format."""
    from mdaug.data.examples import write_examples
    from mdaug.files import ensure_empty_dir

    if format not in ("images", "npz", "mat", "mat73", "hdf5"):
        raise MdaugError(f"unknown example format '{format}'; use images, npz, mat, mat73 or hdf5")
    ensure_empty_dir(out_dir)
    path = write_examples(out_dir, format, colormap=colormap, n_classes=classes, seed=seed)
    out.print(f"wrote {path}")


@app.command("simulate")
def simulate(
    out_dir: Path = typer.Option(..., "--out", "-o", help="New folder for the dataset."),
    people: Optional[int] = typer.Option(None, "--people", min=1, help="Number of people (simulate.people) [default: 31]."),
    per_person: Optional[int] = typer.Option(None, "--per-person", min=1, help="Recordings per person [default: 150]."),
    sessions: Optional[int] = typer.Option(None, "--sessions", min=1, help="Sessions per person [default: 5]."),
    size: Optional[str] = SIZE,
    seed: Optional[int] = typer.Option(None, "--seed", help="Seed of people and recordings (simulate.seed)."),
    images: bool = typer.Option(False, "--images", help="Also write a jet-coloured image folder (images/<person>/<session>/)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes [default: all cores]."),
    config: Optional[str] = CONFIG,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Simulate radar micro-Doppler spectrograms of walking people: the built-in gait dataset."""
    from mdaug.config import load_config
    from mdaug.files import ensure_empty_dir
    from mdaug.simulate.dataset import simulate_dataset, with_output_size
    from mdaug.simulate.export import write_simulated

    extra = [f"simulate.{k}={v}" for k, v in (("people", people), ("per_person", per_person), ("sessions", sessions),
                                               ("seed", seed)) if v is not None]
    cfg = load_config(config, list(overrides or []) + extra + ([f"data.size={size}"] if size else []))
    cfg = with_output_size(cfg)
    ensure_empty_dir(out_dir)
    sim = simulate_dataset(cfg.simulate, cfg.data.size, workers=workers)
    write_simulated(sim, out_dir, cfg, images=images)
    s = cfg.simulate
    out.print(f"simulated {len(sim.dataset)} spectrograms {tuple(sim.dataset.x.shape[1:])}: {s.people} people x "
              f"{s.per_person} recordings in {s.sessions} sessions -> {out_dir}")
    out.print(f"preview: {out_dir / 'preview.png'}   traits: {out_dir / 'people.csv'}")


RESUME = typer.Option(False, "--resume", help="Continue the stopped run in --out from its latest checkpoint.")
FROM_CHECKPOINT = typer.Option(None, "--checkpoint", help="Continue from this checkpoint folder (RUN/checkpoints/step-N).")


def _resume_arg(resume: bool, checkpoint: Path | None) -> str | None:
    return str(checkpoint) if checkpoint is not None else ("latest" if resume else None)


def _run_config(config: str | None, overrides: list[str], run: Path, resume: str | None, data: Path | None):
    """The config of a training command: the given preset/YAML, or, when resuming without one, the run's own."""
    from mdaug.config import apply_overrides, load_config
    from mdaug.training.autoencoder import run_config

    from mdaug.training.checkpoint import resolve_resume

    extra = [f"data.path={data}"] if data else []
    found = resolve_resume(run, resume)  # first: "nothing to resume" is the clearer message
    if found is not None and config is None:
        return apply_overrides(run_config(found.parent.parent), overrides + extra)
    return load_config(config or "quick", overrides + extra)


@app.command("train-ae")
def train_ae(
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder [default: runs/ae-FAMILY]."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset (tiny, quick, full), family file "
                                         "(configs/vq.yaml ...) or YAML [default: quick; when resuming: the run's own]."),
    family: Optional[str] = typer.Option(None, "--family", help="kl, vq, vqgan, rq or fsq (ae.family)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset to train on [default: the built-in simulated set]."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ae_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train a stage-1 autoencoder (kl, vq, vqgan, rq, fsq); writes checkpoints, logs, images and final/."""
    from mdaug.training.autoencoder import train_autoencoder

    resume = _resume_arg(resume, checkpoint)
    extra = list(overrides or []) + ([f"ae.family={family}"] if family else []) + ([f"ae_train.steps={steps}"] if steps else [])
    run = out_dir or Path(f"runs/ae-{family or 'vqgan'}")
    cfg = _run_config(config, extra, run, resume, data)
    if out_dir is None and family is None:
        run = Path(f"runs/ae-{cfg.ae.family}")
    final = train_autoencoder(cfg, run, resume=resume, console=out)
    out.print(f"trained {cfg.ae.family} -> {final}  (load with mdaug.models.pretrained.load_pretrained_autoencoder)")
    out.print(f"next: mdaug eval-ae {final.parent}")


@app.command("eval-ae")
def eval_ae(
    run: Path = typer.Argument(..., help="A train-ae run folder (with final/)."),
    split: str = typer.Option("test", "--split", help="test, val or train."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Reconstruction quality on held-out data: PSNR, SSIM, spectral error, codebook/latent statistics."""
    from mdaug.evaluation.reconstruction import evaluate_reconstruction

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    r = evaluate_reconstruction(run, split=split, batch_size=batch_size)
    if as_json:
        out.print(json.dumps(r, indent=1), markup=False)
        return
    out.print(f"{r['family']} on {r['split']} ({r['samples']} spectrograms): PSNR {r['psnr_db']:.2f} dB, "
              f"SSIM {r['ssim']:.3f}, spectral error {r['spectral_error']:.4f}, L1 {r['l1']:.4f}")
    lat = r["latent"]
    if "codebook_usage_pct" in lat:
        out.print(f"codes: {lat['codebook_usage_pct']:.1f}% of the codebook used, perplexity {lat['perplexity']:.1f}, "
                  f"{lat['dead_codes']:.0f} dead")
    elif lat:
        stds = ", ".join(f"{v:.3f}" for v in lat["posterior_std_per_channel"])
        out.print(f"posterior std per channel: {stds}; active units {lat['active_units_pct']:.0f}%")
    out.print(f"report: {r['files']['json']}  figure: {r['files']['figure']}")


@app.command("diagnose")
def diagnose_cmd(
    run: Path = typer.Argument(..., help="A train-ae run folder (with final/)."),
    diffusability_steps: Optional[int] = typer.Option(None, "--diffusability-steps", min=1,
                                                      help="Training steps of the small latent denoiser of the probe "
                                                      "[default: diagnose.diffusability_steps]."),
    config: Optional[str] = CONFIG,
    overrides: Optional[list[str]] = OVERRIDES,
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Latent-space health over the whole dataset: collapse of variance, of codebook use or into pointer-like
    codes, neighbourhoods, linear probe, smoothness, diffusability; a verdict per problem."""
    from mdaug.evaluation.diagnose import diagnose

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    d = _config(config, list(overrides or []) + ([f"diagnose.diffusability_steps={diffusability_steps}"]
                                                 if diffusability_steps else [])).diagnose
    r = diagnose(run, **d.model_dump())
    if as_json:
        out.print(json.dumps({k: v for k, v in r.items() if k != "class_code_hist"}, indent=1), markup=False)
        return
    out.print(f"{r['family']} latent space over {r['samples']} spectrograms ({'x'.join(map(str, r['latent_shape']))}):")
    for v in r["verdicts"]:
        out.print(f"  {'ok ' if v['ok'] else 'BAD'}  {v['problem']}: {v['message']}", markup=False)
    out.print(f"{'healthy' if r['healthy'] else 'problems found'}; report: {r['files']['json']}  figure: {r['files']['figure']}")


@app.command("evaluate")
def evaluate_cmd(
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    recognizer: Path = typer.Option(..., "--recognizer", help="The evaluation recogniser (train-recognizer --role eval)."),
    per_class: int = typer.Option(30, "--per-class", min=2, help="Generated samples per class."),
    steps: Optional[int] = typer.Option(None, "--steps", help="Sampling steps [default: the model's]."),
    guidance: Optional[float] = typer.Option(None, "--guidance", help="Guidance scale [default: the model's]."),
    seed: int = typer.Option(0, "--seed"),
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON."),
) -> None:
    """Generation quality in the recogniser's feature space: FID/KID against the real test split (with the
    real-train floor), precision/recall, identity accuracy, memorisation, physical plausibility."""
    from mdaug.evaluation.generation_quality import evaluate_generation
    from mdaug.generation import load_stage2

    if not run.is_dir():
        raise MdaugError(f"run folder {run} does not exist")
    settings = load_stage2(run, ae).default_settings()
    settings.steps = steps if steps is not None else settings.steps
    settings.guidance_scale = guidance if guidance is not None else settings.guidance_scale
    r = evaluate_generation(run, recognizer, per_class=per_class, settings=settings, seed=seed, autoencoder=ae)
    if as_json:
        out.print(json.dumps(r, indent=1, default=float), markup=False)
        return
    fl = r["floor"]
    out.print(f"{r['kind']} on {r['family']}, {r['samples']} samples: FID {r['fid']:.2f} (real floor {fl['fid']:.2f}), "
              f"KID {r['kid']:.4f} (floor {fl['kid']:.4f}), precision {r['precision']:.2f}, recall {r['recall']:.2f}")
    ce = r["stage1_ceiling"]
    out.print(f"stage-1 reconstructions of real samples (the ceiling): FID {ce['fid']:.2f}, identity accuracy "
              f"{ce['identity_accuracy']:.3f}")
    mem = r["memorisation_pixels"]["all"]
    out.print(f"identity accuracy {r['identity']['accuracy']:.3f} (the recogniser on real test data: "
              f"{r['recognizer_test_accuracy']:.3f}); copies of training samples: {100 * mem['share_below']:.1f}%")
    out.print(f"report: {r['files']['json']}  grid: {r['files']['grid']}")


@app.command("utility")
def utility_cmd(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Folder of the study (continued when it exists)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML [default: quick]."),
    family: Optional[str] = typer.Option(None, "--family", help="Stage-1 family (ae.family)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset path [default: the simulator]."),
    budgets: Optional[str] = typer.Option(None, "--budgets", help="Real samples per class, e.g. 5,10,20,all (utility.budgets)."),
    seeds: Optional[int] = typer.Option(None, "--seeds", min=1, help="Repeats per budget (utility.seeds)."),
    ae: Optional[Path] = typer.Option(None, "--ae", help="A finished stage-1 run on the whole training split, "
                                      "reused for budget 'all' (with --stage2)."),
    stage2: Optional[Path] = typer.Option(None, "--stage2", help="The finished stage-2 run trained on --ae."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Downstream utility: recognisers trained on real, real + synthetic and synthetic data at several real
    budgets (the generative models of each budget trained on that budget only), tested on held-out real data."""
    from mdaug.evaluation.utility import run_utility

    extra = list(overrides or [])
    if budgets:
        extra.append(f"utility.budgets=[{budgets}]")
    if seeds:
        extra.append(f"utility.seeds={seeds}")
    if family:
        extra.append(f"ae.family={family}")
    cfg = _config(config or "quick", extra, data)
    if (ae is None) != (stage2 is None):
        raise MdaugError("--ae and --stage2 go together (the stage-2 run trained on that stage-1 run)")
    r = run_utility(cfg, out_dir, console=out, reuse=(ae, stage2) if ae is not None else None)
    out.rule("utility")
    out.print("budget  | real           | real+synthetic | synthetic only | gain")
    for b, row in r["summary"].items():
        cells = [f"{row[m]['mean']:.3f} +- {row[m]['std']:.3f}" for m in ("real", "real+synthetic", "synthetic")]
        out.print(f"{b:7s} | " + " | ".join(cells) + f" | {row['gain']['mean']:+.3f}")
    out.print(f"report: {r['files']['json']}  figure: {r['files']['figure']}")


@app.command("run")
def run_cmd(
    out_dir: Path = typer.Option(Path("runs/mdaug"), "--out", "-o", help="Pipeline folder (continued when it exists)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Your dataset [default: the simulated 31-person set]."),
    preset: str = typer.Option("quick", "--preset", "-c", help="quick (64x64, CPU demo), standard (64x64, CPU, 1.5-2 h), full (256x256, GPU), or a YAML."),
    family: Optional[str] = typer.Option(None, "--family", help="Stage-1 family: vqgan, vq, kl, rq or fsq."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """The whole job: data -> split -> recogniser -> stage 1 -> stage 2 -> augmented dataset -> diagnostics,
    generation metrics, utility -> HTML report. Finished steps are skipped; interrupted ones resume."""
    from mdaug.pipeline import run_pipeline

    run_pipeline(out_dir, preset=preset, family=family, data=data, overrides=list(overrides or []), console=out)


@app.command("benchmark")
def benchmark_cmd(
    out_dir: Path = typer.Option(Path("runs/benchmark"), "--out", "-o", help="Benchmark folder (continued when it exists)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Your dataset [default: the simulated 31-person set]."),
    preset: str = typer.Option("quick", "--preset", "-c", help="quick (64x64, CPU demo), standard (64x64, CPU, 1.5-2 h), full (256x256, GPU), or a YAML."),
    families: str = typer.Option("kl,vq,vqgan,rq", "--families",
                                 help="Stage-1 families, comma-separated."),
    prior: bool = typer.Option(True, "--prior/--no-prior", help="Also train and evaluate the code prior (code families)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Every stage-1 family on the same data and budget, each with latent diffusion (and the code prior), then one
    table: reconstruction, latent health, generation quality, identity and utility gain."""
    import shlex
    import sys

    from mdaug.benchmark import run_benchmark

    names = tuple(f.strip() for f in families.split(",") if f.strip())
    run_benchmark(out_dir, preset=preset, families=names, data=data, overrides=list(overrides or []), prior=prior,
                  console=out, command="mdaug " + " ".join(shlex.quote(a) for a in sys.argv[1:]))


@app.command("report")
def report_cmd(folder: Path = typer.Argument(..., help="A pipeline folder (what `mdaug run` writes).")) -> None:
    """One self-contained HTML page (figures embedded) and metrics.json from the results in a pipeline folder."""
    from mdaug.report import write_report

    page, metrics = write_report(folder)
    out.print(f"report: {page}\nmetrics: {metrics}")


@app.command("compare")
def compare_cmd(
    folders: list[Path] = typer.Argument(..., help="Pipeline folders, e.g. one per stage-1 family."),
    md: Optional[Path] = typer.Option(None, "--out", "-o", help="Also write the table to this Markdown file (new)."),
) -> None:
    """One table across pipeline folders: reconstruction, latent health, generation quality, identity, utility gain."""
    from mdaug.files import atomic_write_text
    from mdaug.report import compare_table

    _, table = compare_table(folders)
    out.print(table, markup=False)
    if md is not None:
        if md.exists():
            raise MdaugError(f"{md} exists; choose a new file (results are never overwritten)")
        atomic_write_text(md, table + "\n")
        out.print(f"table: {md}")


@app.command("train-recognizer")
def train_recognizer_cmd(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the recogniser."),
    role: str = typer.Option("loss", "--role", help="'loss' (features of the perceptual loss) or 'eval' (evaluation)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML [default: quick]."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset [default: the built-in simulated set]."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (recognizer_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train the compact CNN spectrogram recogniser on the training split (for the perceptual loss or evaluation)."""
    from mdaug.training.recognizer import train_recognizer

    resume = _resume_arg(resume, checkpoint)
    if role not in ("loss", "eval"):
        raise MdaugError(f"--role must be 'loss' or 'eval', not '{role}'")
    extra = list(overrides or []) + ([f"recognizer_train.steps={steps}"] if steps else [])
    cfg = _run_config(config, extra, out_dir, resume, data)
    final = train_recognizer(cfg, out_dir, role=role, resume=resume, console=out)
    out.print(f"trained the '{role}' recogniser -> {final}")
    if role == "loss":
        out.print(f"use it: mdaug train-ae ae_loss.perceptual_net={final} ae_loss.perceptual_weight=0.1")


def _stage2_config(config: str | None, overrides: list[str], run: Path, resume: str | None, ae: Path | None):
    """A stage-2 run's config: the given preset/YAML; else, resuming, the run's own; else the stage-1 run's, so
    that a tiny or quick stage 1 gets the matching stage 2."""
    from mdaug.config import apply_overrides, config_from_dict
    from mdaug.models.pretrained import load_pretrained_autoencoder
    from mdaug.training.checkpoint import resolve_resume

    found = resolve_resume(run, resume)
    if config is not None or found is not None:
        return _run_config(config, overrides, run, resume, None)
    if ae is None:
        raise MdaugError("stage 2 needs a trained stage-1 model: --ae RUN (a `mdaug train-ae` run or its final/)")
    pre = load_pretrained_autoencoder(ae)
    return apply_overrides(config_from_dict(pre.meta["config"], f"{pre.folder}/mdaug.json"), overrides)


def _train_stage2(kind: str, ae: Path | None, out_dir: Path | None, config: str | None, steps: int | None,
                  resume: bool, checkpoint: Path | None, overrides: list[str] | None) -> None:
    from mdaug.training.stage2 import train_stage2

    resume_arg = _resume_arg(resume, checkpoint)
    if out_dir is None:
        if ae is None:
            raise MdaugError("give --ae RUN (the stage-1 model), and --out to resume a run")
        out_dir = Path("runs") / f"{kind}-{Path(ae).resolve().name if Path(ae).name != 'final' else Path(ae).resolve().parent.name}"
    extra = list(overrides or []) + ([f"{kind}_train.steps={steps}"] if steps else [])
    cfg = _stage2_config(config, extra, out_dir, resume_arg, ae)
    final = train_stage2(cfg, out_dir, kind, autoencoder=ae, resume=resume_arg, console=out)
    out.print(f"trained the {kind} -> {final}")
    out.print(f"next: mdaug sample {final.parent} --n 8   or   mdaug augment {final.parent} --per-class 100 --out DIR")


AE_OPT = typer.Option(None, "--ae", help="The stage-1 model: a train-ae run folder or its final/ [resuming: the one recorded].")


@app.command("train-ldm")
def train_ldm(
    ae: Optional[Path] = AE_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder [default: runs/ldm-<stage-1 run>]."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML [default: the stage-1 run's config; "
                                         "when resuming: the run's own]."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ldm_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train class-conditional latent diffusion in the latent space of a stage-1 model (any family)."""
    _train_stage2("ldm", ae, out_dir, config, steps, resume, checkpoint, overrides)


@app.command("train-prior")
def train_prior(
    ae: Optional[Path] = AE_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder [default: runs/prior-<stage-1 run>]."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML [default: the stage-1 run's config; "
                                         "when resuming: the run's own]."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (prior_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train a class-conditional masked code prior (MaskGIT) over the codes of a vq, vqgan, rq or fsq model."""
    _train_stage2("prior", ae, out_dir, config, steps, resume, checkpoint, overrides)


def _settings(s2, steps: int | None, guidance: float | None, sampler: str | None, temperature: float | None):
    from dataclasses import replace

    from mdaug.generation import check_settings

    s = s2.default_settings()
    s = replace(s, steps=steps if steps is not None else s.steps,
                guidance_scale=guidance if guidance is not None else s.guidance_scale,
                sampler=sampler or s.sampler, temperature=temperature if temperature is not None else s.temperature)
    check_settings(s2.kind, s, s2.model.config.get("num_train_timesteps", 256))
    return s


STEPS_OPT = typer.Option(None, "--steps", help="Sampling steps [default: the model's].")
GUIDANCE_OPT = typer.Option(None, "--guidance", help="Classifier-free guidance scale, 0-20 (1 = conditional only).")
SAMPLER_OPT = typer.Option(None, "--sampler", help="ldm: ddpm, ddim or dpm++.")
TEMPERATURE_OPT = typer.Option(None, "--temperature", help="prior: sampling temperature.")
CLASSES_OPT = typer.Option(None, "--classes", help="Comma-separated class names or indices [default: all, balanced].")
SEED_OPT = typer.Option(0, "--seed", help="Seed of the noise; the same seed gives the same samples.")


@app.command("sample")
def sample_cmd(
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    n: int = typer.Option(8, "--n", min=1, help="Samples per class."),
    classes: Optional[str] = CLASSES_OPT,
    steps: Optional[int] = STEPS_OPT,
    guidance: Optional[float] = GUIDANCE_OPT,
    sampler: Optional[str] = SAMPLER_OPT,
    temperature: Optional[float] = TEMPERATURE_OPT,
    seed: int = SEED_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="New folder for samples.npz and grid.png "
                                           "[default: RUN/samples-seedS, never overwritten]."),
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
) -> None:
    """Generate N spectrograms per class: a PNG grid (one row per class) and the arrays (samples.npz)."""
    import numpy as np

    from mdaug.files import ensure_empty_dir, free_path
    from mdaug.generation import class_indices, generate, load_stage2
    from mdaug.training.images import sample_grid

    s2 = load_stage2(run, ae)
    settings = _settings(s2, steps, guidance, sampler, temperature)
    wanted = class_indices(classes.split(",") if classes else None, s2.class_names)
    folder = out_dir or free_path(s2.folder.parent / f"samples-seed{seed}")
    ensure_empty_dir(folder, what="output folder")
    labels = np.repeat(np.asarray(wanted, dtype=np.int64), n)
    x = generate(s2, labels, settings, seed=seed, batch_size=batch_size, progress=True)
    np.savez(folder / "samples.npz", x=x, labels=labels, class_names=np.array(s2.class_names),
             settings=json.dumps(settings.as_dict(s2.kind) | {"seed": seed, "model": str(s2.folder.resolve())}))
    sample_grid(x[np.argsort(labels, kind="stable")][: 40 * n], np.sort(labels)[: 40 * n], s2.class_names, folder / "grid.png",
                suptitle=f"{s2.kind}: " + ", ".join(f"{k} {v}" for k, v in settings.as_dict(s2.kind).items()))
    out.print(f"{len(x)} samples ({len(wanted)} classes x {n}) -> {folder / 'samples.npz'}  grid: {folder / 'grid.png'}")


@app.command("augment")
def augment_cmd(
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    per_class: int = typer.Option(..., "--per-class", min=1, help="Synthetic spectrograms per class."),
    out_dir: Path = typer.Option(..., "--out", "-o", help="New folder for the synthetic dataset (kept apart from the real one)."),
    fmt: str = typer.Option("auto", "--format", help="auto (the input dataset's), images, npz, mat, mat73, hdf5 or prepared."),
    classes: Optional[str] = CLASSES_OPT,
    steps: Optional[int] = STEPS_OPT,
    guidance: Optional[float] = GUIDANCE_OPT,
    sampler: Optional[str] = SAMPLER_OPT,
    temperature: Optional[float] = TEMPERATURE_OPT,
    seed: int = SEED_OPT,
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    batch_size: int = typer.Option(64, "--batch-size", min=1),
) -> None:
    """Write an augmented dataset: N synthetic spectrograms per class in the input dataset's format, with a
    manifest marking each one synthetic (model, seed, guidance, class)."""
    from mdaug.augment import export_augmented
    from mdaug.generation import load_stage2

    s2 = load_stage2(run, ae)
    settings = _settings(s2, steps, guidance, sampler, temperature)
    r = export_augmented(s2, out_dir, per_class, classes=classes.split(",") if classes else None, settings=settings,
                         seed=seed, fmt=fmt, batch_size=batch_size, progress=True)
    out.print(f"{r['samples']} synthetic spectrograms ({len(r['classes'])} classes x {per_class}, {r['format']}"
              f"{', ' + r['colormap'] if r['colormap'] else ''}) -> {out_dir}")
    out.print(f"manifest: {out_dir / 'synthetic_manifest.csv'}   read back: mdaug data inspect {out_dir / r['data_file']}")


@app.command("demo")
def demo(out_dir: Path = typer.Option(Path("runs/sim"), "--out", "-o", help="Folder for the tour's outputs."),
         config: str = typer.Option("gait31", "--config", "-c", help="Preset or YAML file.")) -> None:
    """The simulator tour: simulate the 31-person gait dataset, write it as jet images, read it back, preview it
    (the main job is `mdaug run`)."""
    from mdaug.demo import run_demo

    run_demo(out_dir, out, config)


def main() -> None:
    try:
        app()
    except MdaugError as e:
        err.print(f"error: {e}", markup=False)
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except OSError as e:  # a file or folder the user named cannot be written or read
        where = f": {e.filename}" if e.filename else ""
        err.print(f"error: {e.strerror or e}{where}", markup=False)
        sys.exit(1)
