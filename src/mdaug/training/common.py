"""Pieces every recipe uses: the optimizer and LR schedule, weight EMA (diffusers' EMAModel) stored as
safetensors, the per-step loss log, and the checks that a resumed run is the same run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.state import AcceleratorState
from diffusers.optimization import get_scheduler
from diffusers.training_utils import EMAModel

from mdaug.config import Config, TrainConfig, config_dict, config_from_dict, saved_config
from mdaug.errors import MdaugError
from mdaug.files import as_os_error
from mdaug.runs.loss_log import keep_steps_up_to

# Keys of a training section that may change when a run is resumed: how long and how often, not what.
RESUMABLE_CHANGES = {"steps", "log_every", "image_every", "checkpoint_every", "keep_checkpoints", "on_nan"}
UNREAD_SECTIONS = {"ae_train": ("recognizer_train", "ldm", "ldm_train", "prior", "prior_train"),
                   "ldm_train": ("ae_train", "gan", "recognizer_train", "prior", "prior_train"),
                   "prior_train": ("ae_train", "gan", "recognizer_train", "ldm", "ldm_train"),
                   "recognizer_train": ("ae_train", "gan", "ldm", "ldm_train", "prior", "prior_train")}
"""Per training section, the other stages' sections its run never reads: a resume ignores changes there (a stage-1
run stopped before its preset's stage-2 settings changed resumes)."""


def make_accelerator(mixed_precision: str) -> Accelerator:
    """An Accelerator on the GPU when there is one. Accelerate keeps one process-wide state, so a second run in
    the same process (a pipeline trains stages one after another) with another precision starts a fresh one."""
    if mixed_precision == "fp16" and not torch.cuda.is_available():
        raise MdaugError("mixed_precision=fp16 needs a GPU; use bf16 or no on CPU")
    try:
        return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=mixed_precision)
    except ValueError:
        AcceleratorState._reset_state()  # the precision part only: the process group is kept
        return Accelerator(cpu=not torch.cuda.is_available(), mixed_precision=mixed_precision)


def make_optimizer(params: Any, cfg: TrainConfig, lr: float | None = None) -> torch.optim.Optimizer:
    """AdamW over `params` (parameters, or groups that each carry their own lr) at lr, else cfg.lr."""
    return torch.optim.AdamW(params, lr=lr or cfg.lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay)


def make_schedule(opt: torch.optim.Optimizer, cfg: TrainConfig) -> torch.optim.lr_scheduler.LambdaLR:
    name = "cosine" if cfg.lr_schedule == "cosine" else "constant_with_warmup"
    return get_scheduler(name, opt, num_warmup_steps=cfg.warmup_steps, num_training_steps=cfg.steps)


def make_ema(model: torch.nn.Module, decay: float | None, device: torch.device | str = "cpu") -> EMAModel | None:
    """Weight EMA whose shadow copy lives on `device` (the accelerator's), next to the weights it follows."""
    if decay is None:
        return None
    ema = EMAModel(model.parameters(), decay=decay)
    ema.to(device)
    return ema


def ema_tensors(ema: EMAModel, model: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {name: p for (name, _), p in zip(model.named_parameters(), ema.shadow_params)}


def ema_load(ema: EMAModel, model: torch.nn.Module, tensors: dict[str, torch.Tensor], optimization_step: int) -> None:
    names = [n for n, _ in model.named_parameters()]
    if sorted(names) != sorted(tensors):
        raise MdaugError("the checkpoint's EMA weights do not match the model; was it saved by another model config?")
    for shadow, name in zip(ema.shadow_params, names):
        shadow.copy_(tensors[name].to(shadow.device))
    ema.optimization_step = optimization_step


def load_state_strict(module: torch.nn.Module, tensors: dict[str, torch.Tensor], what: str) -> None:
    """load_state_dict with a one-line error when the checkpoint belongs to another model config."""
    own = module.state_dict()
    missing = sorted(set(own) - set(tensors))
    unexpected = sorted(set(tensors) - set(own))
    bad = [k for k in own if k in tensors and tuple(own[k].shape) != tuple(tensors[k].shape)]
    if missing or unexpected or bad:
        first = (missing or unexpected or bad)[0]
        raise MdaugError(f"the checkpoint's {what} does not fit this model ({len(missing)} missing, {len(unexpected)} "
                         f"unexpected, {len(bad)} mis-shaped tensors, e.g. '{first}'): it was saved with another "
                         "model config")
    module.load_state_dict(tensors)


def _as_today(saved: dict[str, Any], run: Path) -> dict[str, Any]:
    """The saved config with today's defaults for the keys it lacks; refused in one line when today's schema refuses
    it (a key that no longer exists)."""
    try:
        return config_dict(config_from_dict(saved, f"{run}/config.yaml"))
    except MdaugError as e:
        raise MdaugError(f"cannot resume {run}: {e}") from None


def check_resumable(run: Path, now: Config, train_section: str) -> None:
    """Refuse to resume `run` with a config that changes anything but run length and logging intervals of its
    training section `train_section` (and the sections of other stages it never reads, UNREAD_SECTIONS); the
    message names the first differing key. A key that mdaug gained after the
    run started is read from the saved config as its default (so upgrading mdaug does not strand a half-finished
    run), and differs only where `now` sets it otherwise."""
    saved = _as_today(saved_config(run), run)
    current = config_dict(now)

    def walk(a: Any, b: Any, prefix: str) -> str | None:
        if isinstance(a, dict) and isinstance(b, dict):
            for k in sorted(set(a) | set(b)):
                if prefix == f"{train_section}." and k in RESUMABLE_CHANGES:
                    continue
                if prefix == "" and k in UNREAD_SECTIONS.get(train_section, ()):
                    continue
                if prefix == "" and k == "data" and isinstance(a.get(k), dict):
                    found = walk({kk: vv for kk, vv in a[k].items() if kk != "path"},
                                 {kk: vv for kk, vv in (b.get(k) or {}).items() if kk != "path"}, "data.")
                else:
                    found = walk(a.get(k), b.get(k), f"{prefix}{k}.")
                if found:
                    return found
            return None
        return None if a == b else f"{prefix[:-1]} (run: {a!r}, now: {b!r})"

    diff = walk(saved, current, "")
    if diff:
        raise MdaugError(f"cannot resume {run} with a different config: {diff}. Resume without --config, "
                         "or start a new run")


class LossLog:
    """One JSON line per optimizer step (main process). On resume, lines past the resumed step are dropped:
    those steps are redone and would otherwise appear twice."""

    def __init__(self, path: Path, resume_step: int | None) -> None:
        self.path = path
        if resume_step is not None and path.exists():
            keep_steps_up_to(path, resume_step)
        self._f = path.open("a")

    def write(self, row: dict[str, Any]) -> None:
        try:
            self._f.write(json.dumps(row) + "\n")
            self._f.flush()
        except OSError as e:  # disk full: name the file (a failed write names none)
            raise as_os_error(e, self.path) from None

    def close(self) -> None:
        self._f.close()

