"""The README's main job, as far as the pipeline exists: example data in two of the formats radar people
use -> inspection with preview grids -> a prepared, leak-free split dataset. Steps whose output already
exists are skipped, so the demo can be re-run or continued."""

from __future__ import annotations

import shutil
from pathlib import Path

from rich.console import Console

from mdaug.config import load_config, save_config
from mdaug.data import load_prepared, make_split, read_dataset, save_prepared, save_split
from mdaug.data.examples import write_examples
from mdaug.data.summary import preview_grid, print_summary, summarize
from mdaug.errors import MdaugError


def run_demo(out: Path, console: Console) -> Path:
    cfg = load_config("quick")
    if out.exists() and not out.is_dir():
        raise MdaugError(f"--out {out} is a file; choose a folder")
    sources = {"jet_images": ("images", out / "example_data" / "jet_images"), "matlab_v73": ("mat73", out / "example_data" / "matlab_v73")}
    for name, (fmt, folder) in sources.items():
        if not folder.exists():  # written beside, then renamed: an interrupted write is never reused
            console.print(f"[bold]writing[/bold] example data ({fmt}) -> {folder}")
            tmp = folder.with_name(folder.name + ".partial")
            shutil.rmtree(tmp, ignore_errors=True)
            write_examples(tmp, fmt, colormap="jet", n_classes=6, per_session=4, sessions=6, seed=cfg.seed)
            tmp.rename(folder)
    read_back = {}
    for name, (fmt, folder) in sources.items():
        path = folder if fmt == "images" else next(folder.glob("*.mat"))
        console.rule(f"inspect {path}")
        result = read_dataset(path, cfg.data, progress=False, collect=True)
        print_summary(summarize(result), console)
        read_back[name] = result.dataset
        preview = preview_grid(result.dataset, out / f"preview_{name}.png", seed=cfg.seed)
        console.print(f"preview: {preview}")
    prepared = out / "dataset"
    if (prepared / "mdaug_dataset.json").exists() and (prepared / "split.json").exists():
        ds = load_prepared(prepared)  # complete: both are written last
        console.print(f"prepared dataset exists, reusing {prepared}")
    else:
        tmp = prepared.with_name("dataset.partial")
        shutil.rmtree(tmp, ignore_errors=True)
        ds = read_back["jet_images"]
        save_prepared(ds, tmp)
        save_split(make_split(ds, cfg.split), tmp / "split.json")
        save_config(cfg, tmp / "config.yaml")
        preview_grid(ds, tmp / "preview.png", seed=cfg.seed)
        if prepared.exists():
            raise MdaugError(f"{prepared} exists but is not a complete dataset; remove it and re-run")
        tmp.rename(prepared)
    console.rule("done")
    console.print(f"prepared dataset: {prepared} ({len(ds)} spectrograms {tuple(ds.x.shape[1:])}, {len(ds.class_names)} classes)")
    console.print(f"previews: {out / 'preview_jet_images.png'}, {out / 'preview_matlab_v73.png'}")
    return prepared
