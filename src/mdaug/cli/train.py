"""Commands that train: the recogniser, stage 1 and stage 2."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from mdaug.cli.app import (
    AE_OPT,
    FAMILY,
    FROM_CHECKPOINT,
    OVERRIDES,
    PRESETS_HELP,
    RESUME,
    app,
    out,
    resume_arg,
    run_command_config,
)
from mdaug.errors import MdaugError


@app.command("train-recognizer", rich_help_panel="Train")
def train_recognizer_cmd(
    out_dir: Path = typer.Option(..., "--out", "-o", help="Run folder for the recogniser."),
    role: str = typer.Option("loss", "--role", help="'loss' (features of the perceptual loss) or 'eval' (evaluation)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML (default: quick)."),
    data: Optional[Path] = typer.Option(None, "--data", help="Dataset (default: the built-in simulated set)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (recognizer_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train the compact CNN spectrogram recogniser on the training split (for the perceptual loss or evaluation)."""
    from mdaug.training.recognizer import train_recognizer

    resume = resume_arg(resume, checkpoint, out_dir)
    if role not in ("loss", "eval"):
        raise MdaugError(f"--role must be 'loss' or 'eval', not '{role}'")
    extra = list(overrides or []) + ([f"recognizer_train.steps={steps}"] if steps else [])
    cfg = run_command_config(config, extra, out_dir, resume, data)
    final = train_recognizer(cfg, out_dir, role=role, resume=resume, console=out)
    out.print(f"trained the '{role}' recogniser -> {final}")
    if role == "loss":
        out.print(f"use it: mdaug train-ae ae_loss.perceptual_net={final} ae_loss.perceptual_weight=0.1")


@app.command("train-ae", rich_help_panel="Train")
def train_ae(
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/ae-FAMILY)."),
    config: Optional[str] = typer.Option(None, "--config", "-c",
                                         help=f"Preset or YAML (default: quick; when resuming: the run's own): "
                                         f"{PRESETS_HELP}."),
    family: Optional[str] = FAMILY,
    data: Optional[Path] = typer.Option(None, "--data",
                                        help="Dataset to train on (default: the built-in simulated set)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ae_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train a stage-1 autoencoder (kl, vq, vqgan, rq, fsq); writes checkpoints, logs, images and final/."""
    from mdaug.training.autoencoder import train_autoencoder

    resume = resume_arg(resume, checkpoint, out_dir)
    extra = (list(overrides or []) + ([f"ae.family={family}"] if family else [])
             + ([f"ae_train.steps={steps}"] if steps else []))
    run = out_dir or Path(f"runs/ae-{family or 'vqgan'}")
    cfg = run_command_config(config, extra, run, resume, data)
    if out_dir is None and family is None:
        run = Path(f"runs/ae-{cfg.ae.family}")
    final = train_autoencoder(cfg, run, resume=resume, console=out)
    out.print(f"trained {cfg.ae.family} -> {final}  (load with mdaug.runs.loading.load_pretrained_autoencoder)")
    out.print(f"next: mdaug eval-ae {final.parent}")


def _stage2_config(config: str | None, overrides: list[str], run: Path, resume: str | None, ae: Path | None):
    """A stage-2 run's config: the given preset/YAML; else, resuming, the run's own; else the stage-1 run's, so
    that a tiny or quick stage 1 gets the matching stage 2."""
    from mdaug.config import apply_overrides
    from mdaug.runs.loading import load_pretrained_autoencoder
    from mdaug.training.checkpoint import resolve_resume

    found = resolve_resume(run, resume)
    if config is not None or found is not None:
        return run_command_config(config, overrides, run, resume, None)
    if ae is None:
        raise MdaugError("stage 2 needs a trained stage-1 model: --ae RUN (a `mdaug train-ae` run or its final/)")
    pre = load_pretrained_autoencoder(ae)
    return apply_overrides(pre.config, overrides)


def _train_stage2(kind: str, ae: Path | None, out_dir: Path | None, config: str | None, steps: int | None,
                  resume: bool, checkpoint: Path | None, overrides: list[str] | None) -> None:
    from mdaug.training.stage2 import train_stage2

    resume_from = resume_arg(resume, checkpoint, out_dir)
    if out_dir is None:
        if ae is None:
            raise MdaugError("give --ae RUN (the stage-1 model), and --out to resume a run")
        stage1 = Path(ae).resolve()
        out_dir = Path("runs") / f"{kind}-{stage1.parent.name if stage1.name == 'final' else stage1.name}"
    extra = list(overrides or []) + ([f"{kind}_train.steps={steps}"] if steps else [])
    cfg = _stage2_config(config, extra, out_dir, resume_from, ae)
    final = train_stage2(cfg, out_dir, kind, autoencoder=ae, resume=resume_from, console=out)
    out.print(f"trained the {kind} -> {final}")
    out.print(f"next: mdaug sample {final.parent} --per-class 8   or   mdaug augment {final.parent} --per-class 100 "
              "--out DIR")


@app.command("train-ldm", rich_help_panel="Train")
def train_ldm(
    ae: Optional[Path] = AE_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/ldm-<stage-1 run>)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML (default: the stage-1 run's "
                                         "config; when resuming: the run's own)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ldm_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train class-conditional latent diffusion in the latent space of a stage-1 model (any family)."""
    _train_stage2("ldm", ae, out_dir, config, steps, resume, checkpoint, overrides)


@app.command("train-prior", rich_help_panel="Train")
def train_prior(
    ae: Optional[Path] = AE_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="Run folder (default: runs/prior-<stage-1 run>)."),
    config: Optional[str] = typer.Option(None, "--config", "-c", help="Preset or YAML (default: the stage-1 run's "
                                         "config; when resuming: the run's own)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (prior_train.steps)."),
    resume: bool = RESUME,
    checkpoint: Optional[Path] = FROM_CHECKPOINT,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train a class-conditional masked code prior (MaskGIT) over the codes of a vq, vqgan, rq or fsq model."""
    _train_stage2("prior", ae, out_dir, config, steps, resume, checkpoint, overrides)


@app.command("pretrain-ae", rich_help_panel="Train")
def pretrain_ae(
    out_dir: Path = typer.Option(Path("runs/pretrain"), "--out", "-o", help="Folder of the pretraining run "
                                 "(continued when it exists)."),
    config: str = typer.Option("pretrain", "--config", "-c", help="Preset or YAML (the corpus is pretrain.*)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the shipped model (default: FAMILY-HxW)."),
    ship: Optional[Path] = typer.Option(None, "--ship", help="Also copy the shippable folder here, e.g. "
                                        "src/mdaug/pretrained/kl-64x64 (replacing what is there)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ae_train.steps)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train a stage-1 model on the simulated pretraining corpus (walkers who are in no built-in dataset, many radars
    and displays), measure it on the gait benchmark and on a radar the corpus never uses, and write the folder
    that ships with the package: fp16 weights, card, pretraining.json and MODEL_CARD.md. From random weights, or
    continuing the model ae.init names by its path (e.g. vqgan-64x64: the adversarial phase from vq-64x64)."""
    import shlex
    import sys

    from mdaug.config import load_config
    from mdaug.workflows.pretrain import pretrain_autoencoder

    cfg = load_config(config, list(overrides or []) + ([f"ae_train.steps={steps}"] if steps else []))
    h, w = cfg.data.size or (64, 64)
    record = pretrain_autoencoder(cfg, out_dir, name=name or f"{cfg.ae.family}-{h}x{w}", ship=ship, console=out,
                                  command="mdaug " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    for target, m in record.measured.items():
        i = m.identity
        out.print(f"{target}: PSNR {m.psnr_db:.2f} dB, identified {100 * i.reconstructions:.1f}% of the "
                  f"reconstructions against {100 * i.real:.1f}% of the real spectrograms ({i.ratio:.2f}x)")
    out.print(f"shippable model: {out_dir / 'shipped'}" + (f"  copied to {ship}" if ship else ""))


@app.command("pretrain-recognizer", rich_help_panel="Train")
def pretrain_recognizer_cmd(
    out_dir: Path = typer.Option(Path("runs/pretrain-recognizer"), "--out", "-o",
                                 help="Folder of the pretraining run (continued when it exists)."),
    config: str = typer.Option("pretrain-recognizer", "--config", "-c",
                               help="Preset or YAML (the corpus is pretrain.*, the training recognizer_train.*)."),
    measure_with: str = typer.Option("standard", "--measure-with",
                                     help="Preset whose recogniser recipe the measurements fine-tune with."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the shipped model (default: recognizer-HxW)."),
    ship: Optional[Path] = typer.Option(None, "--ship", help="Also copy the shippable folder here, e.g. "
                                        "src/mdaug/pretrained/recognizer-64x64 (replacing what is there)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (recognizer_train.steps)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train the recogniser on the simulated corpus (walkers who are in no built-in dataset, many radars, displays and
    conditions), measure fine-tuning from it against training from scratch on the built-in benchmarks, and write
    the folder that ships with the package: weights, card, pretraining.json and MODEL_CARD.md."""
    import shlex
    import sys

    from mdaug.config import load_config
    from mdaug.workflows.pretrain_recognizer import pretrain_recognizer

    cfg = load_config(config, list(overrides or []) + ([f"recognizer_train.steps={steps}"] if steps else []))
    h, w = cfg.data.size or (64, 64)
    record = pretrain_recognizer(cfg, out_dir, measure_cfg=load_config(measure_with, [f"data.size={h}x{w}"]),
                                 name=name or f"recognizer-{h}x{w}", ship=ship, console=out,
                                 command="mdaug " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    for target, m in record.measured.items():
        out.print(f"{target} ({m.budget}): {100 * m.pretrained:.1f}% fine-tuned from it, "
                  f"{100 * m.scratch:.1f}% from scratch")
    out.print(f"shippable model: {out_dir / 'shipped'}" + (f"  copied to {ship}" if ship else ""))


@app.command("pretrain-ldm", rich_help_panel="Train")
def pretrain_ldm(
    ae: Path = typer.Option(..., "--ae", help="The shipped stage-1 model to model the latents of (a pretrain-ae "
                            "run's shipped/ folder)."),
    out_dir: Path = typer.Option(Path("runs/pretrain-ldm"), "--out", "-o", help="Folder of the pretraining run "
                                 "(continued when it exists)."),
    config: str = typer.Option("pretrain", "--config", "-c", help="Preset or YAML (the corpus is pretrain.*)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the shipped model (default: STAGE1-ldm)."),
    ship: Optional[Path] = typer.Option(None, "--ship", help="Also copy the shippable folder here, e.g. "
                                        "src/mdaug/pretrained/kl-64x64-ldm (replacing what is there)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (ldm_train.steps)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train latent diffusion on the pretraining corpus in the latent space of a shipped stage-1 model, and write the
    folder that ships with the package: stage 2 then starts from it (ldm.init) whenever stage 1 started from that
    stage-1 model, and fine-tunes on your data."""
    _pretrain_stage2("ldm", ae, out_dir, config, name, ship, steps, overrides)


@app.command("pretrain-prior", rich_help_panel="Train")
def pretrain_prior(
    ae: Path = typer.Option(..., "--ae", help="The shipped stage-1 model with codes (vq, vqgan, rq or fsq) to model "
                            "the codes of, e.g. src/mdaug/pretrained/vq-64x64."),
    out_dir: Path = typer.Option(Path("runs/pretrain-prior"), "--out", "-o", help="Folder of the pretraining run "
                                 "(continued when it exists)."),
    config: str = typer.Option("pretrain", "--config", "-c", help="Preset or YAML (the corpus is pretrain.*)."),
    name: Optional[str] = typer.Option(None, "--name", help="Name of the shipped model (default: STAGE1-prior)."),
    ship: Optional[Path] = typer.Option(None, "--ship", help="Also copy the shippable folder here, e.g. "
                                        "src/mdaug/pretrained/vq-64x64-prior (replacing what is there)."),
    steps: Optional[int] = typer.Option(None, "--steps", min=1, help="Training steps (prior_train.steps)."),
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Train the masked code prior on the pretraining corpus's codes of a shipped stage-1 model with codes, and write
    the folder that ships with the package: the code prior then starts from it (prior.init) whenever stage 1 started
    from that stage-1 model, and fine-tunes on your data."""
    _pretrain_stage2("prior", ae, out_dir, config, name, ship, steps, overrides)


def _pretrain_stage2(kind: str, ae: Path, out_dir: Path, config: str, name: str | None, ship: Path | None,
                     steps: int | None, overrides: list[str] | None) -> None:
    import shlex
    import sys

    from mdaug.config import load_config
    from mdaug.runs.loading import load_pretrained_autoencoder
    from mdaug.workflows.pretrain import pretrain_stage2, shipped_name

    cfg = load_config(config, list(overrides or []) + ([f"{kind}_train.steps={steps}"] if steps else []))
    stage1 = shipped_name(load_pretrained_autoencoder(ae).folder)
    record = pretrain_stage2(cfg, out_dir, kind, autoencoder=ae, name=name or f"{stage1}-{kind}", ship=ship,
                             console=out, command="mdaug " + " ".join(shlex.quote(a) for a in sys.argv[1:]))
    out.print(f"{record.name}: mean loss of the last 100 steps {record.final_loss:.3f}; shippable model: "
              f"{out_dir / f'shipped-{kind}'}" + (f"  copied to {ship}" if ship else ""))
