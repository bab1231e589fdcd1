"""The command line's shared pieces: the typer apps, the two consoles, the options several commands take, and the
config a command builds from its preset, overrides and flags. Commands live in one module per topic and only
parse, build the typed config and call library functions (imported inside each command, so that `--help` does
not wait for torch)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from mdaug import __version__
from mdaug.errors import MdaugError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Augment radar micro-Doppler spectrogram datasets with generative models.")
data_app = typer.Typer(no_args_is_help=True, help="Read, check and prepare datasets.")
config_app = typer.Typer(no_args_is_help=True, help="Show resolved configs and presets.")
out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

OVERRIDES = typer.Argument(None, help="Config overrides in dotted form, e.g. data.size=128 split.seed=3",
                           show_default=False)
# the shipped presets in one line (tests/cli/test_help.py holds it to the presets folder and to each preset's family)
PRESETS_HELP = ("tiny (tests), quick (64x64, the CPU demo; docs/results.md has its times), "
                "standard (64x64, CPU, hours), "
                "full (256x256, GPU), pretrain (the shipped stage-1 model), pretrain-recognizer (the shipped "
                "recogniser), gait31 (the built-in data), the family "
                "files kl, vq, vqgan, rq and fsq (quick with that family), or a YAML file; `mdaug config presets` "
                "describes each")
FAMILY_HELP = "Stage-1 family: kl, vq, vqgan, rq or fsq (default: the config's ae.family: kl in quick and standard, " \
              "vqgan in tiny and full)."
CONFIG = typer.Option(None, "--config", "-c", help=f"Preset or YAML (default: quick): {PRESETS_HELP}.")
FAMILY = typer.Option(None, "--family", help=FAMILY_HELP)
FORMAT = typer.Option(None, "--format", help="auto, images, npy, npz, mat, hdf5 (data.format).")
COLORMAP = typer.Option(None, "--colormap",
                        help="Colour images: auto, a matplotlib name (jet, viridis...), rgb or gray.")
SIZE = typer.Option(None, "--size", help="Resize to SIZE x SIZE, or DxT like 128x64 (data.size).")
SKIP_BAD = typer.Option(False, "--skip-bad", help="Skip unreadable files and NaN samples (each is still reported).")
RESUME = typer.Option(False, "--resume", help="Continue the stopped run in --out from its latest checkpoint.")
FROM_CHECKPOINT = typer.Option(None, "--checkpoint",
                               help="Continue from this checkpoint folder (RUN/checkpoints/step-N).")
AE_OPT = typer.Option(None, "--ae",
                      help="The stage-1 model: a train-ae run folder or its final/. Required, except with --resume "
                           "or --checkpoint (then the one recorded).")
STEPS_OPT = typer.Option(None, "--steps", help="Sampling steps (default: the model's, from its config).")
GUIDANCE_OPT = typer.Option(None, "--guidance", help="Classifier-free guidance scale, 0-20 (1 = conditional only; "
                            "default: the model's, ldm.guidance_scale).")
SAMPLER_OPT = typer.Option(None, "--sampler", help="ldm: ddpm, ddim or dpm++ (default: the model's, ldm.sampler).")
TEMPERATURE_OPT = typer.Option(None, "--temperature", help="prior: sampling temperature (default: the model's).")
TEXTURE_OPT = typer.Option(None, "--texture/--no-texture",
                           help="The noise-floor speckle the stage-1 decoder smooths away, put back (fitted on its "
                                "training data). Default: as `mdaug augment` draws them: the chosen strategy's "
                                "(RUN/strategy.json), else off, since mixed with recordings textured samples have "
                                "cost accuracy so far (benchmarks/README.md).")
CLASSES_OPT = typer.Option(None, "--classes",
                           help="Comma-separated class names or indices (default: all, balanced).")
SEED_OPT = typer.Option(0, "--seed", help="Seed of the noise; the same seed gives the same samples.")
PER_CLASS_HELP = "Synthetic spectrograms per class."
BATCH_OPT = typer.Option(64, "--batch-size", min=1, help="Samples generated at once (memory, not results: a "
                         "sample's noise comes from --seed and its place).")


@app.callback(invoke_without_command=True)
def _root(version: bool = typer.Option(False, "--version", help="Print the version and exit.")) -> None:
    if version:
        out.print(f"mdaug {__version__}")
        raise typer.Exit()


def command_config(config: str | None, overrides: list[str] | None, path: Path | None = None, **flags):
    """A command's config: the preset or YAML, the overrides, then data.<flag> for every flag that is set."""
    from mdaug.config import load_config

    extra = [f"data.{k}={v}" for k, v in flags.items() if v not in (None, False)]
    if path is not None:
        extra.append(f"data.path={path}")
    return load_config(config, list(overrides or []) + extra)


def resume_arg(resume: bool, checkpoint: Path | None, out_dir: Path | None = None) -> str | None:
    """--resume / --checkpoint as the recipes take it. A checkpoint continues its own run, in its own folder: one of
    another run than --out is refused rather than written into."""
    if checkpoint is not None and out_dir is not None:
        own = Path(checkpoint).resolve().parent.parent
        if Path(out_dir).resolve() != own:
            raise MdaugError(f"--checkpoint {checkpoint} is of the run in {own}, not of --out {out_dir}; a run "
                             f"continues in its own folder: give --out {own}, or leave --out out (nothing was "
                             "written)")
    return str(checkpoint) if checkpoint is not None else ("latest" if resume else None)


def run_command_config(config: str | None, overrides: list[str], run: Path, resume: str | None, data: Path | None):
    """The config of a training command: the given preset/YAML, or, when resuming without one, the run's own."""
    from mdaug.config import apply_overrides, load_config, run_config
    from mdaug.training.checkpoint import resolve_resume

    extra = [f"data.path={data}"] if data else []
    found = resolve_resume(run, resume)  # first: "nothing to resume" is the clearer message
    if found is not None and config is None:
        return apply_overrides(run_config(found.parent.parent), overrides + extra)
    return load_config(config or "quick", overrides + extra)
