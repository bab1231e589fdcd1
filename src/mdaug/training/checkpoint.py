"""Complete, atomic, verifiable checkpoints.

A checkpoint is a folder `step-NNNNNNN/`: tensors in safetensors files (models, EMA, codebook buffers,
health accumulators), optimizer/scheduler/scaler states in `optim.pt` (loaded with weights_only=True, never
unpickled), each process's RNG state, and `state.json` with the step, the config and the SHA-256 of every
file. It is written as `step-NNNNNNN.tmp/` and renamed when complete, so a kill leaves either the old set
or the new one; loading verifies every hash, so a truncated or edited checkpoint is named, not half-loaded."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from mdaug.config.loading import CONFIG_FILE
from mdaug.errors import MdaugError
from mdaug.files import (
    as_os_error,
    atomic_write_bytes,
    atomic_write_text,
    ensure_empty_dir,
    free_path,
    sha256_file,
    write_failure,
)
from mdaug.runs.layout import (
    AUTOENCODER_RECORD,
    CHECKPOINTS,
    DATA_RECORD,
    FINAL,
    HEALTH,
    IMAGES,
    INIT_RECORD,
    LATENTS,
    LOGS,
    LOSSES,
    SPLIT,
)

STEP_DIR = re.compile(r"^step-(\d+)$")


@dataclass
class Checkpoint:
    path: Path
    step: int
    state: dict[str, Any]
    tensors: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)

    def rng(self, rank: int) -> dict[str, Any] | None:
        f = self.path / f"rng-{rank}.json"
        return json.loads(f.read_text()) if f.exists() else None


def step_dir(root: Path, step: int) -> Path:
    return root / f"step-{step:07d}"


def list_checkpoints(root: Path) -> list[Path]:
    """Complete checkpoints under `root`, oldest first."""
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := STEP_DIR.match(p.name))
             and (p / "state.json").exists()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(root: Path) -> Path | None:
    found = list_checkpoints(root)
    return found[-1] if found else None


def rng_state() -> dict[str, Any]:
    """This process's RNG states as JSON-able values."""
    state: dict[str, Any] = {"torch": torch.get_rng_state().tolist(), "numpy": None, "python": None}
    kind, keys, pos, has_gauss, gauss = np.random.get_state()
    state["numpy"] = [kind, keys.tolist(), int(pos), int(has_gauss), float(gauss)]
    v, internal, g = random.getstate()
    state["python"] = [v, list(internal), g]
    if torch.cuda.is_available():
        state["cuda"] = [s.tolist() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(torch.tensor(state["torch"], dtype=torch.uint8))
    kind, keys, pos, has_gauss, gauss = state["numpy"]
    np.random.set_state((kind, np.array(keys, dtype=np.uint32), pos, has_gauss, gauss))
    v, internal, g = state["python"]
    random.setstate((v, tuple(internal), g))
    if "cuda" in state and torch.cuda.is_available() and len(state["cuda"]) == torch.cuda.device_count():
        torch.cuda.set_rng_state_all([torch.tensor(s, dtype=torch.uint8) for s in state["cuda"]])


def _cpu(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    # clone: safetensors refuses tensors that share storage, and a view must not pin a large buffer
    return {k: v.detach().to("cpu").contiguous().clone() for k, v in sd.items()}


@contextlib.contextmanager
def writing(tmp: Path):
    """A failed write into the temporary checkpoint `tmp` (disk full, quota, permissions) removes `tmp` and becomes
    one MdaugError line naming the file and the checkpoint a resumed run continues from; the complete checkpoints
    before it are untouched."""
    try:
        yield
    except (OSError, SafetensorError) as e:
        shutil.rmtree(tmp, ignore_errors=True)
        last = latest_checkpoint(tmp.parent)
        then = (f"{last} is complete: continue with the same command and --resume" if last is not None
                else "no checkpoint was written yet: start the same command again")
        raise MdaugError(f"{write_failure(as_os_error(e, tmp))}; the incomplete checkpoint was removed and "
                         f"{then}") from None


def begin(root: Path, step: int) -> Path:
    """Create the temporary folder of the checkpoint at `step` (main process only)."""
    tmp = step_dir(root, step).with_name(step_dir(root, step).name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with writing(tmp):
        tmp.mkdir(parents=True)
    return tmp


def write_rng(tmp: Path, rank: int) -> None:
    """Every process writes its own RNG state into the temporary folder."""
    with writing(tmp):
        atomic_write_text(tmp / f"rng-{rank}.json", json.dumps(rng_state()))


def finish(tmp: Path, step: int, *, tensors: dict[str, dict[str, torch.Tensor]], objects: dict[str, Any],
           state: dict[str, Any], keep: int) -> Path:
    """Write the tensors, objects and state into `tmp`, rename it into place and drop all but the newest `keep`."""
    with writing(tmp):
        for name, sd in tensors.items():
            target = tmp / f"{name}.safetensors"
            try:
                save_file(_cpu(sd), str(target))
            except (OSError, SafetensorError) as e:
                raise as_os_error(e, target) from None
        buf = io.BytesIO()
        torch.save(objects, buf)
        atomic_write_bytes(tmp / "optim.pt", buf.getvalue())
        files = {p.name: sha256_file(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        atomic_write_text(tmp / "state.json", json.dumps(state | {"step": step, "files": files}, indent=1,
                                                         default=str))
    final = step_dir(tmp.parent, step)
    if final.exists():  # a resumed run that went back: keep what was there, under another name
        final.rename(free_path(final.with_name(final.name + "-replaced")))
    tmp.rename(final)
    for old in list_checkpoints(tmp.parent)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
    return final


def load_checkpoint(path: Path) -> Checkpoint:
    """Load and verify a checkpoint folder; every problem is one MdaugError line."""
    path = Path(path)
    state_file = path / "state.json"
    if not state_file.is_file():
        raise MdaugError(f"{path} is not a checkpoint (no state.json)")
    try:
        state = json.loads(state_file.read_text())
        files: dict[str, str] = state["files"]
        step = int(state["step"])
    except (OSError, ValueError, KeyError, TypeError):
        raise MdaugError(f"{state_file} is corrupt; resume from another checkpoint") from None
    for name, digest in files.items():
        f = path / name
        if not f.is_file() or sha256_file(f) != digest:
            raise MdaugError(f"checkpoint {path} is corrupt or truncated "
                             f"({name} {'is missing' if not f.is_file() else 'does not match its hash'}); "
                             "resume from an earlier one with --checkpoint PATH")
    try:
        tensors = {f[:-len(".safetensors")]: load_file(str(path / f)) for f in files if f.endswith(".safetensors")}
        objects = torch.load(path / "optim.pt", map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any failure to parse is the same problem for the user
        raise MdaugError(f"checkpoint {path} cannot be read ({type(e).__name__}); resume from an earlier one") from None
    return Checkpoint(path=path, step=step, state=state, tensors=tensors, objects=objects)


RUN_FILES = frozenset({CONFIG_FILE, DATA_RECORD, SPLIT, CHECKPOINTS, LOSSES, LOGS, IMAGES, HEALTH, LATENTS,
                       INIT_RECORD, AUTOENCODER_RECORD})
"""What a training run writes before its first complete checkpoint (final/ comes last)."""


def start_fresh(run: Path, *, create: bool = True) -> bool:
    """The folder of a run started without --resume: new or empty; or one that a stopped run of the same command
    left before its first complete checkpoint (nothing in it worth keeping: it is cleared, and True returned, so
    that the same command starts over as its interruption message says). A folder with a complete checkpoint is
    refused with the --resume that continues it; a finished run, or files a run does not write, with a new --out."""
    run = Path(run)
    if run.is_dir() and any(run.iterdir()):
        if (run / FINAL).exists():
            raise MdaugError(f"run folder {run} holds a finished run ({run / FINAL}); choose a new --out (nothing "
                             "was overwritten)")
        last = latest_checkpoint(run / CHECKPOINTS)
        if last is not None:
            raise MdaugError(f"run folder {run} holds a stopped run (its last checkpoint: {last.name}): add --resume "
                             "to the same command to continue it, or choose a new --out (nothing was overwritten)")
        if {p.name for p in run.iterdir()} <= RUN_FILES:
            for p in run.iterdir():
                shutil.rmtree(p) if p.is_dir() else p.unlink()
            if create:
                run.mkdir(parents=True, exist_ok=True)
            return True
    ensure_empty_dir(run, what="run folder", create=create)
    return False


def resolve_resume(run: Path, resume: str | None) -> Path | None:
    """--resume: None (fresh run), 'latest' (the newest complete checkpoint of `run`) or a checkpoint folder."""
    if resume is None:
        return None
    if resume == "latest":
        found = latest_checkpoint(run / CHECKPOINTS)
        if found is None:
            raise MdaugError(f"no checkpoint to resume in {run / 'checkpoints'}; the same command without --resume "
                             "starts the run over")
        return found
    path = Path(resume)
    if not (path / "state.json").is_file():
        raise MdaugError(f"--resume {resume}: not a checkpoint folder (expected {path}/state.json)")
    return path
