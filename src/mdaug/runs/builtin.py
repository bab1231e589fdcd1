"""The built-in datasets, simulated once and cached under a key of everything that shapes them ($MDAUG_CACHE, else
~/.cache/mdaug): the gait benchmark (simulate.*), the pretraining corpus of the shipped stage-1 models
(pretrain.*), and the gait benchmark's population seen by the held-out radar (the out-of-corpus check)."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path
from typing import Callable

from rich.console import Console

from mdaug.config import CONFIG_FILE, Config, config_to_yaml, save_config
from mdaug.data import SPLIT_FILE, is_prepared, make_split, save_prepared, save_split
from mdaug.files import atomic_write_text


def cache_root() -> Path:
    """Where simulated datasets are kept between runs ($MDAUG_CACHE, else ~/.cache/mdaug)."""
    return Path(os.environ.get("MDAUG_CACHE") or Path.home() / ".cache" / "mdaug")


def _cached(name: str, key: str, build: Callable[[Path], None]) -> Path:
    """cache_root()/name-key, built by `build(folder)` into a temporary folder and renamed when complete."""
    folder = cache_root() / f"{name}-{hashlib.sha256(key.encode()).hexdigest()[:12]}"
    if is_prepared(folder) and (folder / SPLIT_FILE).exists():
        return folder
    tmp = folder.with_name(f"{folder.name}.partial-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    build(tmp)
    try:
        tmp.rename(folder)
    except OSError:  # another process finished the same dataset first
        shutil.rmtree(tmp, ignore_errors=True)
    return folder


def simulated_dataset(cfg: Config, console: Console | None = None) -> Path:
    """The simulated dataset of cfg.simulate at cfg.data.size (64x64 if unset)."""
    from mdaug.simulate.dataset import simulate_dataset, with_output_size
    from mdaug.simulate.export import write_simulated

    cfg = with_output_size(cfg)

    def build(folder: Path) -> None:
        if console:
            s = cfg.simulate
            console.print(f"simulating {s.people} people x {s.per_person} recordings at "
                          f"{cfg.data.size[0]}x{cfg.data.size[1]}")
        write_simulated(simulate_dataset(cfg.simulate, cfg.data.size, progress=console is not None), folder, cfg)

    return _cached("simulated", config_to_yaml(cfg.simulate) + repr((cfg.data.size, cfg.split)), build)


def held_out_dataset(cfg: Config, console: Console | None = None) -> Path:
    """cfg.simulate's population size (other people) seen by pretrain.held_out, a radar no corpus part uses."""
    from mdaug.simulate.corpus import held_out_set

    s = cfg.simulate
    sim = held_out_set(cfg.pretrain, s, people=s.people, per_person=s.per_person, sessions=s.sessions)
    return simulated_dataset(cfg.model_copy(update={"simulate": sim}), console)


def corpus_dataset(cfg: Config, console: Console | None = None) -> Path:
    """The pretraining corpus of cfg.pretrain at cfg.data.size: every part simulated, shown through its display,
    and written as one prepared dataset with the corpus table (corpus.csv) and every walker's traits."""
    from mdaug.files import csv_text
    from mdaug.simulate.corpus import concatenate, corpus_parts, simulate_part
    from mdaug.simulate.dataset import with_output_size
    from mdaug.simulate.export import corpus_preview

    cfg = with_output_size(cfg)
    parts = corpus_parts(cfg.pretrain, cfg.simulate)

    def build(folder: Path) -> None:
        sims = []
        for part in parts:
            if console:
                console.print(f"corpus part {part.index + 1}/{len(parts)}: {part.radar}, display {part.display}, "
                              f"{part.simulate.people} people x {part.simulate.per_person}")
            sims.append(simulate_part(part, cfg.data.size))
        ds = concatenate(sims)
        save_prepared(ds, folder)
        save_split(make_split(ds, cfg.split), folder / SPLIT_FILE)
        atomic_write_text(folder / "corpus.csv", csv_text([p.row() for p in parts]))
        # every recording's true conditions (the simulator's), with its part's radar: what a conditional stage 2
        # learns the conditions from (no estimate reads a corpus whose parts differ in their display's dB range)
        atomic_write_text(folder / "recordings.csv", csv_text([
            {"id": r.id} | m.row() | {"radar": part.radar}
            for part, sim in zip(parts, sims) for r, m in zip(sim.dataset.records, sim.samples)]))
        atomic_write_text(folder / "people.csv", csv_text([{"part": part.index} | person.row() for part, sim
                                                           in zip(parts, sims) for person in sim.people]))
        save_config(cfg, folder / CONFIG_FILE)
        corpus_preview(sims, parts, folder / "preview.png")

    return _cached("corpus", config_to_yaml(cfg.pretrain) + config_to_yaml(cfg.simulate)
                   + repr((cfg.data.size, cfg.split)) + "recordings.csv", build)


def gait_sessions_dataset(cfg: Config, console: Console | None = None) -> Path:
    """The benchmark whose sessions differ as real ones do (gait_sessions.*)."""
    return simulated_dataset(cfg.model_copy(update={"simulate": cfg.gait_sessions}), console)


def builtin_dataset(cfg: Config, console: Console | None = None) -> Path:
    """The built-in dataset cfg.data.builtin names."""
    return {"gait": simulated_dataset, "gait-sessions": gait_sessions_dataset, "corpus": corpus_dataset,
            "held_out": held_out_dataset}[cfg.data.builtin](cfg, console)


__all__ = ["builtin_dataset", "cache_root", "corpus_dataset", "gait_sessions_dataset", "held_out_dataset",
           "simulated_dataset"]
