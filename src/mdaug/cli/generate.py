"""Commands that generate: samples and augmented datasets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mdaug.cli.app import (
    BATCH_OPT,
    CLASSES_OPT,
    GUIDANCE_OPT,
    PER_CLASS_HELP,
    SAMPLER_OPT,
    SEED_OPT,
    STEPS_OPT,
    TEMPERATURE_OPT,
    TEXTURE_OPT,
    app,
    out,
)


def _settings(s2, steps: int | None, guidance: float | None, sampler: str | None, temperature: float | None,
              texture: bool = True):
    from dataclasses import replace

    s = s2.default_settings()
    s = replace(s, steps=steps if steps is not None else s.steps,
                guidance_scale=guidance if guidance is not None else s.guidance_scale,
                sampler=sampler or s.sampler, temperature=temperature if temperature is not None else s.temperature,
                texture=texture)
    s2.kind.check_settings(s, s2.max_steps)
    return s


@app.command("sample", rich_help_panel="Generate",
             context_settings={"allow_extra_args": True, "ignore_unknown_options": False})
def sample_cmd(
    ctx: typer.Context,
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    n: int = typer.Option(8, "--per-class", "-n", min=1, help=PER_CLASS_HELP),
    old_n: Optional[int] = typer.Option(None, "--n", min=1, hidden=True),
    classes: Optional[str] = CLASSES_OPT,
    steps: Optional[int] = STEPS_OPT,
    guidance: Optional[float] = GUIDANCE_OPT,
    sampler: Optional[str] = SAMPLER_OPT,
    temperature: Optional[float] = TEMPERATURE_OPT,
    texture: Optional[bool] = TEXTURE_OPT,
    seed: int = SEED_OPT,
    out_dir: Optional[Path] = typer.Option(None, "--out", "-o", help="New folder for samples.npz and grid.png "
                                           "(default: RUN/samples-seedS, never overwritten)."),
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    batch_size: int = BATCH_OPT,
    condition: list[str] = typer.Option([], "--condition", "-C", help="Recording conditions to render, NAME=VALUE "
                                        "(e.g. --condition speed=1.6 aspect=40; the name without its unit is taken); "
                                        "an unknown name or a value outside what the model knows lists what it "
                                        "does. Unnamed conditions are left to the model."),
) -> None:
    """Generate N spectrograms per class: a PNG grid (one row per class) and the arrays (samples.npz)."""
    import numpy as np

    from mdaug.errors import MdaugError
    from mdaug.evaluation.figures import sample_grid
    from mdaug.files import atomic_savez, ensure_empty_dir, free_path
    from mdaug.models.conditioning import parse_request
    from mdaug.runs.loading import load_stage2
    from mdaug.sampling.export import check_export_size
    from mdaug.sampling.generate import class_indices, generate, requested_conditions

    extra = [a for a in ctx.args if "=" in a and not a.startswith("-")]
    if len(extra) != len(ctx.args) or (extra and not condition):
        raise MdaugError(f"unexpected argument '{next(a for a in ctx.args if a not in extra or not condition)}' "
                         "(conditions follow --condition: --condition speed=1.6 aspect=40)")
    request = [c for item in [*condition, *extra] for c in item.replace(",", " ").split()]
    from mdaug.workflows.pools import StrategyChoice

    n = old_n or n
    s2 = load_stage2(run, ae)
    if texture is None:  # as `mdaug augment` would draw them
        choice = StrategyChoice.read(s2.folder.parent)
        texture = bool(choice and choice.strategy.texture)
    settings = _settings(s2, steps, guidance, sampler, temperature, texture)
    wanted = class_indices(classes.split(",") if classes else None, s2.class_names)
    check_export_size(s2, len(wanted) * n)
    labels = np.repeat(np.asarray(wanted, dtype=np.int64), n)
    asked = parse_request(s2.conditions, request) if request else {}
    conds = requested_conditions(s2, asked, len(labels))
    folder = out_dir or free_path(s2.folder.parent / f"samples-seed{seed}")
    ensure_empty_dir(folder, what="output folder")
    x = generate(s2, labels, settings, seed=seed, batch_size=batch_size, progress=True, conditions=conds)
    atomic_savez(folder / "samples.npz", x=x, labels=labels, class_names=np.array(s2.class_names),
             settings=json.dumps(s2.kind.settings_dict(settings) | {"seed": seed, "model": str(s2.folder.resolve())}
                                 | ({"conditions": asked} if asked else {})))
    shown = s2.kind.settings_dict(settings) | asked
    sample_grid(x[np.argsort(labels, kind="stable")][: 40 * n], np.sort(labels)[: 40 * n], s2.class_names,
                folder / "grid.png", suptitle=f"{s2.kind.name}: " + ", ".join(f"{k} {v}" for k, v in shown.items()))
    out.print(f"{len(x)} samples ({len(wanted)} classes x {n}) -> {folder / 'samples.npz'}  "
              f"grid: {folder / 'grid.png'}")


@app.command("augment", rich_help_panel="Generate")
def augment_cmd(
    run: Path = typer.Argument(..., help="A train-ldm / train-prior run folder (or its final/)."),
    per_class: int = typer.Option(..., "--per-class", "-n", min=1, help=PER_CLASS_HELP),
    out_dir: Path = typer.Option(..., "--out", "-o",
                                 help="New folder for the synthetic dataset (kept apart from the real one)."),
    fmt: str = typer.Option("auto", "--format",
                            help="auto (the input dataset's), images, npz, mat, mat73, hdf5 or prepared."),
    classes: Optional[str] = CLASSES_OPT,
    steps: Optional[int] = STEPS_OPT,
    guidance: Optional[float] = GUIDANCE_OPT,
    sampler: Optional[str] = SAMPLER_OPT,
    temperature: Optional[float] = TEMPERATURE_OPT,
    texture: Optional[bool] = TEXTURE_OPT,
    seed: int = SEED_OPT,
    ae: Optional[Path] = typer.Option(None, "--ae", help="The stage-1 model, if it moved since training."),
    batch_size: int = BATCH_OPT,
    plain: bool = typer.Option(False, "--plain", help="Ignore the strategy chosen for this model (RUN/strategy.json, "
                               "written by `mdaug run`): samples from noise with the model's settings."),
) -> None:
    """Write an augmented dataset: N synthetic spectrograms per class in the input dataset's format, with a
    manifest marking each one synthetic (model, seed, strategy, guidance, class). By default they are drawn with the
    strategy the utility study chose for this model on its validation split (when `mdaug run` made it)."""
    from mdaug.runs.loading import load_stage2
    from mdaug.sampling.export import MANIFEST, export_augmented
    from mdaug.workflows.pools import StrategyChoice, export_with_strategy

    s2 = load_stage2(run, ae)
    wanted = classes.split(",") if classes else None
    explicit = any(v is not None for v in (steps, guidance, sampler, temperature))
    choice = None if plain or explicit else StrategyChoice.read(s2.folder.parent)
    if choice is not None:
        out.print(f"strategy {choice.strategy.name}: {choice.selected}")
        r = export_with_strategy(s2, out_dir, per_class, choice, classes=wanted, seed=seed, fmt=fmt, progress=True,
                                 texture=texture)
    else:
        settings = _settings(s2, steps, guidance, sampler, temperature, bool(texture))
        r = export_augmented(s2, out_dir, per_class, classes=wanted, settings=settings, seed=seed, fmt=fmt,
                             batch_size=batch_size, progress=True)
    out.print(f"{r.samples} synthetic spectrograms ({len(r.classes)} classes x {per_class}, {r.format}"
              f"{', ' + r.colormap if r.colormap else ''}) -> {out_dir}")
    if r.shortfall():
        out.print(f"fewer than asked: {r.shortfall()}", markup=False)
    out.print(f"manifest: {out_dir / MANIFEST}   read back: mdaug data inspect {out_dir / r.data_file}")
