"""`mdaug data prepare`: read a dataset, split it leak-free and save it, into a new folder that is never left
half-written. The folder is checked before anything is read (new or empty, and not inside the dataset it is made
from, where the next read would take the prepared files as samples), and removed again when any write fails
(disk full, quota, permissions) or the command is interrupted."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from mdaug.config import CONFIG_FILE, Config, save_config
from mdaug.data.conditions import CONDITION_FILES, find_condition_file, read_condition_file
from mdaug.data.prepared import SPLIT_FILE, save_prepared
from mdaug.data.read import ReadResult, read_dataset
from mdaug.data.splits import Split, make_split, save_split
from mdaug.data.summary import preview_grid
from mdaug.errors import MdaugError
from mdaug.files import as_os_error, atomic_write_text, csv_text, ensure_empty_dir, write_failure


@dataclass
class Prepared:
    result: ReadResult
    split: Split
    out: Path
    notes: tuple[str, ...] = ()


def check_output_outside(source: Path, out: Path) -> None:
    """Refuse an output folder inside the dataset folder it is made from (or the dataset folder itself)."""
    src, dst = Path(source).expanduser().resolve(), Path(out).expanduser().resolve()
    if src.is_dir() and (dst == src or src in dst.parents):
        raise MdaugError(f"--out {out} is inside the dataset folder {source}: the next read of {source} would take "
                         "the files written there as samples; choose a folder outside it")


def prepare_dataset(cfg: Config, source: Path, out: Path) -> Prepared:
    """Read `source` with cfg.data, split it with cfg.split and write the prepared dataset, its split, config and
    preview into the new folder `out`. Bad data fails before the folder is made; a failed write removes it."""
    out = Path(out)
    check_output_outside(source, out)
    ensure_empty_dir(out, create=False)  # checked now, created only after a successful read
    result = read_dataset(source, cfg.data)
    source = Path(source)
    given = find_condition_file(source if source.is_dir() else source.parent, cfg.data.conditions)
    conditions, notes = None, ()
    if given is not None:
        try:
            conditions = read_condition_file(given, result.dataset)
        except MdaugError as e:
            if cfg.data.conditions:  # asked for: it must fit
                raise
            notes = (f"{given} was found beside the data and left out: {e}",)
    existed = out.is_dir()
    ensure_empty_dir(out)
    try:
        split = make_split(result.dataset, cfg.split)
        save_prepared(result.dataset, out)
        if conditions is not None:  # the given ones, by sample id (estimated ones are estimated again when read)
            atomic_write_text(out / CONDITION_FILES[0], csv_text(conditions.rows(result.dataset.ids)))
        save_split(split, out / SPLIT_FILE)
        save_config(cfg, out / CONFIG_FILE)
        preview_grid(result.dataset, out / "preview.png", seed=cfg.seed)
    except BaseException as e:
        _remove(out, keep_folder=existed)
        if isinstance(e, OSError):
            raise MdaugError(f"{write_failure(as_os_error(e, out))}; the incomplete {out} was removed") from None
        raise
    return Prepared(result=result, split=split, out=out, notes=notes)


def _remove(out: Path, *, keep_folder: bool) -> None:
    """Remove what this command wrote: the folder it created, or the contents of the empty one it was given."""
    if not keep_folder:
        shutil.rmtree(out, ignore_errors=True)
        return
    for p in out.iterdir():
        shutil.rmtree(p, ignore_errors=True) if p.is_dir() and not p.is_symlink() else p.unlink(missing_ok=True)


__all__ = ["Prepared", "check_output_outside", "prepare_dataset"]
