"""The protocol every training recipe follows (torchtune's shape): setup -> train -> save_checkpoint /
load_checkpoint -> final/. A recipe's constructor does the setup and fills in the attributes below; `Recipe`
then owns the step loop, the checkpoint protocol, the NaN policy and the logs, so that the three stages
(recogniser, autoencoder, stage 2) differ only in what is theirs.

A recipe provides:
- `train_step(step)`: one optimizer step, returning scalar logs (`step` counts from 0);
- `checkpoint_contents()` / `restore(checkpoint)`: the tensors, optimizer-like objects and identity of this stage
  beyond what every recipe saves (the model, its EMA, optimizer, scheduler, scaler, loop state and RNG);
- `write_final()`: the finished model and its card in RUN/final/;
- optionally `write_images(step)` and `after_step(step)` (scalars logged to TensorBoard under `monitor_tag`).

The loop state is a dataclass deriving from `LoopState`, saved whole in every checkpoint."""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

import torch
from accelerate import Accelerator
from diffusers.training_utils import EMAModel
from rich.console import Console
from tqdm.auto import tqdm

from mdaug.config import TrainConfig
from mdaug.errors import MdaugError
from mdaug.progress import progress_bar
from mdaug.runs.layout import CHECKPOINTS, LOGS, LOSSES, final_dir
from mdaug.training import checkpoint as ckpt
from mdaug.training.common import LossLog, ema_load, ema_tensors, load_state_strict


@dataclass
class LoopState:
    """What every loop carries across a checkpoint; recipes add their own fields in a subclass."""

    step: int = 0
    skipped: list[int] = field(default_factory=list)
    """Steps (from 1) whose batch was skipped for a NaN/inf loss (on_nan=skip)."""


@dataclass
class CheckpointContents:
    """A stage's own part of a checkpoint."""

    tensors: dict[str, dict[str, torch.Tensor]] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)
    """Optimizer-like states (torch.save, loaded with weights_only=True)."""
    identity: dict[str, Any] = field(default_factory=dict)
    """What this checkpoint belongs to (family, kind, role): checked by `restore` before anything loads."""


class Recipe(ABC):
    accelerator: Accelerator
    run: Path
    console: Console | None
    train_cfg: TrainConfig
    section: str
    """The name of `train_cfg` in the config ('ae_train', ...), for messages."""
    model: torch.nn.Module
    """The trained network as prepared by Accelerate (`unwrapped` is the bare one)."""
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    ema: EMAModel | None
    state: LoopState
    monitor_tag: str = "health"

    # ------------------------------------------------------------------ what each recipe provides

    @abstractmethod
    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step (0-based `step`); scalar logs for losses.jsonl and TensorBoard."""

    @abstractmethod
    def checkpoint_contents(self) -> CheckpointContents:
        """This stage's own tensors, objects and identity (main process)."""

    @abstractmethod
    def restore(self, c: ckpt.Checkpoint) -> None:
        """Check `c.state` is this stage's (MdaugError otherwise) and load this stage's own tensors and objects."""

    @abstractmethod
    def write_final(self) -> Path:
        """RUN/final/ (main process): the finished model and its card."""

    def write_images(self, step: int) -> Path | None:
        return None

    def after_step(self, step: int) -> dict[str, Any]:
        """Measurements after optimizer step `step` (0-based), logged to TensorBoard under `monitor_tag`."""
        return {}

    # ------------------------------------------------------------------ shared pieces

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    @contextlib.contextmanager
    def ema_weights(self) -> Iterator[torch.nn.Module]:
        """The bare model with its EMA weights in place (the ones saved in final/), restored afterwards."""
        model = self.unwrapped
        if self.ema is not None:
            self.ema.store(model.parameters())
            self.ema.copy_to(model.parameters())
        try:
            yield model
        finally:
            if self.ema is not None:
                self.ema.restore(model.parameters())

    def all_finite(self, loss: torch.Tensor) -> bool:
        """Whether `loss` is finite on every process: all take the same decision, so none waits alone in a
        gradient all-reduce."""
        bad = torch.tensor([0.0 if torch.isfinite(loss).all() else 1.0], device=self.accelerator.device)
        return self.accelerator.reduce(bad, "sum").item() == 0

    def non_finite(self, step: int) -> dict[str, float]:
        """The one NaN policy: the step's gradients are dropped and nothing is stepped; then either the run stops,
        naming the step and the last good checkpoint, or (on_nan=skip) the step is recorded as skipped."""
        self.optimizer.zero_grad(set_to_none=True)
        if self.train_cfg.on_nan == "skip":
            self.state.skipped.append(step + 1)
            return {"skipped": 1.0}
        last = ckpt.latest_checkpoint(self.run / CHECKPOINTS)
        where = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
        raise MdaugError(f"the loss became NaN/inf at step {step + 1}; {where}. Lower {self.section}.lr, or set "
                         f"{self.section}.on_nan=skip to skip such batches")

    # ------------------------------------------------------------------ checkpoints

    def save(self, step: int) -> Path | None:
        """A complete checkpoint of `step`: every process writes its RNG state, the main process the rest."""
        acc = self.accelerator
        root = self.run / CHECKPOINTS
        tmp = ckpt.begin(root, step) if acc.is_main_process else None
        acc.wait_for_everyone()
        tmp = tmp or ckpt.step_dir(root, step).with_name(f"{ckpt.step_dir(root, step).name}.tmp")
        ckpt.write_rng(tmp, acc.process_index)
        acc.wait_for_everyone()
        final = None
        if acc.is_main_process:
            own = self.checkpoint_contents()
            tensors = {"model": self.unwrapped.state_dict()} | own.tensors
            if self.ema is not None:
                tensors["ema"] = ema_tensors(self.ema, self.unwrapped)
            objects = {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}
            if acc.scaler is not None:
                objects["scaler"] = acc.scaler.state_dict()
            state = own.identity | {"loop": asdict(self.state), "ema_step": self.ema.optimization_step if self.ema
                                    else None, "world_size": acc.num_processes}
            final = ckpt.finish(tmp, step, tensors=tensors, objects=own.objects | objects, state=state,
                                keep=self.train_cfg.keep_checkpoints)
        acc.wait_for_everyone()
        return final

    def load(self, path: Path) -> None:
        """Continue from the checkpoint at `path` exactly where it stopped."""
        c = ckpt.load_checkpoint(path)
        self.restore(c)
        if not {"optimizer", "scheduler"} <= set(c.objects) or "loop" not in c.state:
            raise MdaugError(f"checkpoint {path} was written by another mdaug version; start a new run")
        load_state_strict(self.unwrapped, c.tensors["model"], "model")
        self.optimizer.load_state_dict(c.objects["optimizer"])
        self.scheduler.load_state_dict(c.objects["scheduler"])
        if self.ema is not None:
            ema_load(self.ema, self.unwrapped, c.tensors["ema"], int(c.state["ema_step"]))
        if self.accelerator.scaler is not None and "scaler" in c.objects:
            self.accelerator.scaler.load_state_dict(c.objects["scaler"])
        self.state = type(self.state)(**c.state["loop"])
        rng = c.rng(self.accelerator.process_index) or c.rng(0)
        if rng is not None:
            ckpt.set_rng_state(rng)
        if self.console and self.accelerator.is_main_process:
            self.console.print(f"resumed from {path} (step {c.step})")

    # ------------------------------------------------------------------ the loop

    def run_loop(self, desc: str, postfix: tuple[str, ...], stop_after: int | None = None) -> Path | None:
        """Train to train_cfg.steps and write final/ (returned). `stop_after`: stop after that step with a
        checkpoint, as a killed or time-limited session would, returning None."""
        t, acc = self.train_cfg, self.accelerator
        main = acc.is_main_process
        start = self.state.step
        log = LossLog(self.run / LOSSES, start if start else None) if main else None
        writer = None
        if main:
            from torch.utils.tensorboard import SummaryWriter

            writer = SummaryWriter(str(self.run / LOGS), purge_step=start if start else None)
        bar = progress_bar(total=t.steps, initial=start, desc=desc, unit="step",
                           enabled=main and self.console is not None)
        try:
            for step in range(start, t.steps):
                logs = self.train_step(step)
                self.state.step = step + 1
                extra = self.after_step(step)
                if main:
                    self._log(log, writer, bar, step, logs, extra, postfix)
                bar.update(1)
                if (step + 1) % t.image_every == 0 or step + 1 == t.steps:
                    self.write_images(step + 1)
                if (step + 1) % t.checkpoint_every == 0 or step + 1 in (t.steps, stop_after):
                    self.save(step + 1)
                if step + 1 == stop_after:
                    return None
        finally:
            bar.close()
            if main:
                log.close()
                writer.close()
        final = self.write_final() if main else final_dir(self.run)
        acc.wait_for_everyone()
        return final

    def _log(self, log: LossLog, writer: Any, bar: tqdm, step: int, logs: dict[str, Any], extra: dict[str, Any],
             postfix: tuple[str, ...]) -> None:
        t = self.train_cfg
        log.write({"step": step + 1} | logs)
        if (step + 1) % t.log_every == 0 or step + 1 == t.steps:
            for k, v in logs.items():
                if isinstance(v, (int, float)):
                    writer.add_scalar(f"train/{k}", v, step + 1)
            bar.set_postfix({k: f"{logs[k]:.4g}" for k in postfix if isinstance(logs.get(k), (int, float))})
        for k, v in extra.items():
            if isinstance(v, float):
                writer.add_scalar(f"{self.monitor_tag}/{k}", v, step + 1)


__all__ = ["CheckpointContents", "LoopState", "Recipe"]
