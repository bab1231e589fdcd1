"""What every workflow does with a training step: skip it when finished, resume it from its last checkpoint when
it was interrupted, or start it afresh; and the typed step of a pipeline."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from pydantic import BaseModel, ConfigDict
from rich.console import Console

from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text
from mdaug.runs.layout import CHECKPOINTS, run_finished
from mdaug.training.checkpoint import latest_checkpoint

EXPORT_KIND = "ldm"
"""The stage-2 kind whose samples a pipeline exports as the augmented dataset (every family has latents)."""


def train_or_resume(run: Path, train: Callable[[str | None], Any]) -> str | None:
    """Call `train(resume)` for an unfinished run: resume = 'latest' when `run` has a checkpoint; otherwise a
    fresh start, after removing a folder that was started but never checkpointed (nothing in it to keep).
    Returns the resume argument used."""
    run = Path(run)
    resume = "latest" if latest_checkpoint(run / CHECKPOINTS) is not None else None
    if resume is None and run.exists():
        shutil.rmtree(run)
    train(resume)
    return resume


def train_once(folder: Path, train: Callable[[str | None], Any], console: Console | None, what: str) -> None:
    """Skip a finished training run, resume an interrupted one from its last checkpoint, or start it afresh."""
    if run_finished(folder):
        if console:
            console.print(f"  {what}: done, reusing {folder}")
        return
    if console:
        console.print(f"  {what}: training -> {folder}")
    train_or_resume(folder, train)


class Plan(BaseModel):
    """What a workflow folder is for: written when the folder is first used, and compared on every later use, so
    that a folder is never continued with another family, dataset or budget."""

    model_config = ConfigDict(extra="forbid")


def check_claim(path: Path, plan: Plan, refusal: str, *, under: str | None = None) -> None:
    """Raise MdaugError(refusal) when the file `path` records another plan than `plan` (or cannot be read); writes
    nothing, so that a folder can be checked before any work."""
    if path.exists():
        try:
            found = json.loads(path.read_text())
        except (OSError, ValueError):
            found = None
        if under is not None:
            found = found.get(under) if isinstance(found, dict) else None
        if found != plan.model_dump(mode="json"):
            raise MdaugError(refusal)


def claim_folder(path: Path, plan: Plan, refusal: str, *, under: str | None = None) -> None:
    """Record `plan` in the file `path` (as the value of key `under` when given), or raise MdaugError(refusal)
    when `path` already records another plan (or cannot be read)."""
    check_claim(path, plan, refusal, under=under)
    want = plan.model_dump(mode="json")
    atomic_write_text(path, json.dumps({under: want} if under else want, indent=1))


@dataclass
class Step:
    """One step of a pipeline: its banner, whether its output is complete, how to make it, and which estimate of
    mdaug.workflows.estimate.step_costs it costs."""

    name: str
    done: Callable[[], bool]
    run: Callable[[], Any]
    cost: str


__all__ = ["EXPORT_KIND", "Plan", "Step", "check_claim", "claim_folder", "train_once", "train_or_resume"]


def refuse_foreign_files(out: Path, ours: set[str], what: str) -> None:
    """Refuse an --out folder that holds files of the user's own (names a run of this kind never writes)."""
    strangers = sorted(p.name for p in out.iterdir() if p.name not in ours and not p.name.startswith("."))
    if strangers:
        more = f" and {len(strangers) - 1} more" if len(strangers) > 1 else ""
        raise MdaugError(f"--out {out} is not empty and holds no {what} ({strangers[0]}{more}); choose a new "
                         "or empty folder (nothing was written)")

