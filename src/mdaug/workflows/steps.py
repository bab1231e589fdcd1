"""What every workflow does with a training step: skip it when finished, resume it from its last checkpoint when
it was interrupted, or start it afresh; and the typed step of a pipeline."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from rich.console import Console

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


@dataclass
class Step:
    """One step of a pipeline: its banner, whether its output is complete, how to make it, and which estimate of
    mdaug.workflows.estimate.step_costs it costs."""

    name: str
    done: Callable[[], bool]
    run: Callable[[], Any]
    cost: str


__all__ = ["EXPORT_KIND", "Step", "train_once", "train_or_resume"]
