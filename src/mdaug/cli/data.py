"""Commands that read, check, prepare and simulate data, and show configs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from mdaug.cli.app import (
    COLORMAP,
    CONFIG,
    FORMAT,
    OVERRIDES,
    SIZE,
    SKIP_BAD,
    app,
    command_config,
    config_app,
    data_app,
    err,
    out,
)
from mdaug.errors import MdaugError

app.add_typer(data_app, name="data", rich_help_panel="Data")
app.add_typer(config_app, name="config", rich_help_panel="Data")


@config_app.command("show")
def config_show(config: Optional[str] = CONFIG, overrides: Optional[list[str]] = OVERRIDES) -> None:
    """Print the resolved config (defaults + preset + overrides) as YAML."""
    from mdaug.config import config_to_yaml

    out.print(config_to_yaml(command_config(config, overrides)), end="")


@config_app.command("reference")
def config_reference() -> None:
    """Print every config key with its default and meaning (Markdown table)."""
    from mdaug.config import reference_markdown

    out.print(reference_markdown(), markup=False)


@config_app.command("presets")
def config_presets() -> None:
    """List the shipped presets, each with what it is for."""
    from mdaug.config import preset_names, preset_summary

    names = preset_names()
    width = max(map(len, names))
    out.print("\n".join(f"{n:<{width}}  {preset_summary(n)}" for n in names), markup=False)


@data_app.command("inspect")
def data_inspect(
    path: Path = typer.Argument(..., help="Class-folder tree, array file or prepared dataset."),
    overrides: Optional[list[str]] = OVERRIDES,
    config: Optional[str] = CONFIG,
    format: Optional[str] = FORMAT,
    colormap: Optional[str] = COLORMAP,
    size: Optional[str] = SIZE,
    skip_bad: bool = SKIP_BAD,
    preview: Optional[Path] = typer.Option(None, "--preview",
                                           help="Preview PNG path (default: ./<name>_preview.png, never overwritten)."),
    per_class: int = typer.Option(4, "--preview-per-class", min=1, max=16, help="Spectrograms per class shown in the "
                                  "preview."),
    json_out: Optional[Path] = typer.Option(None, "--json", help="Also write the summary as JSON here."),
) -> None:
    """Summarise a dataset (classes, counts, shapes, value ranges, problems) and write a preview grid.

    Exits with status 1 when problems that would stop training were found."""
    from mdaug.data.conditions import dataset_conditions
    from mdaug.data.read import read_dataset
    from mdaug.data.summary import coverage_figure, preview_grid, print_summary, summarize
    from mdaug.files import atomic_write_text, free_path

    cfg = command_config(config, overrides, path, format=format, colormap=colormap, size=size, skip_bad=skip_bad)
    result = read_dataset(path, cfg.data, collect=True)
    conditions = dataset_conditions(result.dataset, path if path.is_dir() else path.parent, cfg.data) \
        if len(result.dataset) else None
    summary = summarize(result, conditions)
    print_summary(summary, out)
    target = preview or Path(f"{path.resolve().name or 'dataset'}_preview.png")
    if not target.suffix:
        target = target.with_suffix(".png")
    elif target.suffix.lower() != ".png":
        raise MdaugError(f"--preview {target} must be a .png file")
    target = free_path(target)
    preview_grid(result.dataset, target, per_class=per_class, seed=cfg.seed)
    out.print(f"preview: {target}")
    if summary.coverage is not None and summary.coverage.bins:
        figure = coverage_figure(summary.coverage, free_path(target.with_name(target.stem.removesuffix("_preview")
                                                                 + "_coverage.png")))
        out.print(f"coverage: {figure}")
    if json_out:
        atomic_write_text(free_path(json_out), json.dumps(summary.to_json(), indent=2))
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
    from mdaug.data.prepare import prepare_dataset

    cfg = command_config(config, overrides, path, format=format, colormap=colormap, size=size, skip_bad=skip_bad)
    done = prepare_dataset(cfg, path, out_dir)
    ds, split = done.result.dataset, done.split
    for p in done.result.problems:
        err.print(f"warning: {p.message}")
    for note in done.notes:
        err.print(f"warning: {note}")
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
    classes: int = typer.Option(4, "--classes", min=2, max=64, help="How many classes (each a gait of its own)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the signals; the same seed writes the same dataset."),
) -> None:
    """Write a small labelled example dataset (point-scatterer gait signals) in a chosen format."""
    from mdaug.data.examples import write_examples
    from mdaug.files import building

    if format not in ("images", "npz", "mat", "mat73", "hdf5"):
        raise MdaugError(f"unknown example format '{format}'; use images, npz, mat, mat73 or hdf5")
    with building(out_dir) as tmp:
        path = write_examples(tmp, format, colormap=colormap, n_classes=classes, seed=seed)
    out.print(f"wrote {out_dir / path.relative_to(tmp)}")


@app.command("simulate", rich_help_panel="Data")
def simulate(
    out_dir: Path = typer.Option(..., "--out", "-o", help="New folder for the dataset."),
    people: Optional[int] = typer.Option(None, "--people", min=1, help="Number of people (default: 31)."),
    per_person: Optional[int] = typer.Option(None, "--per-class", "-n", min=1,
                                             help="Recordings per person, each person a class (default: 150; "
                                             "gait-sessions 120)."),
    old_per_person: Optional[int] = typer.Option(None, "--per-person", min=1, hidden=True),
    sessions: Optional[int] = typer.Option(None, "--sessions", min=1,
                                           help="Sessions per person (default: 5; gait-sessions 12)."),
    size: Optional[str] = SIZE,
    seed: Optional[int] = typer.Option(None, "--seed", min=0,
                                       help="Seed of people and recordings (default: 0, simulate.seed)."),
    dataset: str = typer.Option("gait", "--dataset",
                                help="gait (gait31, simulate.*) or gait-sessions (sessions that differ in speed, "
                                "aspect, arms and SNR, gait_sessions.*)."),
    images: bool = typer.Option(False, "--images",
                                help="Also write a jet-coloured image folder (images/<person>/<session>/)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, help="Processes (default: all cores)."),
    config: Optional[str] = CONFIG,
    overrides: Optional[list[str]] = OVERRIDES,
) -> None:
    """Simulate radar micro-Doppler spectrograms of walking people: a built-in dataset (gait31, or gait-sessions)."""
    from mdaug.config import load_config
    from mdaug.files import building, ensure_empty_dir
    from mdaug.simulate.dataset import simulate_dataset, with_output_size
    from mdaug.simulate.export import write_simulated

    if dataset not in ("gait", "gait-sessions"):
        raise MdaugError(f"--dataset {dataset!r}: use gait or gait-sessions")
    section = "simulate" if dataset == "gait" else "gait_sessions"
    other = "gait_sessions" if dataset == "gait" else "simulate"
    stray = [o for o in overrides or [] if o.strip().startswith(other + ".")]
    if stray:  # the other dataset's settings would be silently ignored
        raise MdaugError(f"{stray[0].split('=')[0]} sets the other built-in dataset; --dataset {dataset} reads "
                         f"{section}.*")
    per_person = old_per_person or per_person
    extra = [f"{section}.{k}={v}" for k, v in (("people", people), ("per_person", per_person),
                                                ("sessions", sessions), ("seed", seed)) if v is not None]
    cfg = load_config(config, list(overrides or []) + extra + ([f"data.size={size}"] if size else []))
    if dataset == "gait-sessions":  # the simulator reads simulate.*; the written config says which it was
        cfg = cfg.model_copy(update={"simulate": cfg.gait_sessions, "data": cfg.data.model_copy(
            update={"builtin": "gait-sessions"})})
    cfg = with_output_size(cfg)
    ensure_empty_dir(out_dir, create=False)  # before minutes of simulation
    sim = simulate_dataset(cfg.simulate, cfg.data.size, workers=workers)
    with building(out_dir) as tmp:
        write_simulated(sim, tmp, cfg, images=images)
    s = cfg.simulate
    out.print(f"simulated {len(sim.dataset)} spectrograms {tuple(sim.dataset.x.shape[1:])}: {s.people} people x "
              f"{s.per_person} recordings in {s.sessions} sessions -> {out_dir}")
    out.print(f"preview: {out_dir / 'preview.png'}   traits: {out_dir / 'people.csv'}")
