"""Stage 2 recipe: train a class-conditional generator in the latent space of a frozen stage-1 model, one
loop for both kinds:

- 'ldm': latent diffusion on the normalised latents (kl: z drawn from the cached posterior every step);
- 'prior': a masked code prior on the code indices (vq, vqgan, rq, fsq).

setup (stage-1 model and its data, cached latents and their statistics, model, optimizer, EMA, Accelerate)
-> train (the model's own training_loss) -> checkpoints (complete, atomic, exact resume) -> final/ with
mdaug.json: the stage-1 identity (SHA-256 of its weights), latent statistics, label map, rows seen."""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml
from rich.console import Console

from mdaug.config import Config, save_config
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text, ensure_empty_dir, free_path
from mdaug.generation import SampleSettings, sample_images
from mdaug.models.pretrained import PretrainedAutoencoder, load_pretrained_autoencoder
from mdaug.training import checkpoint as ckpt
from mdaug.training.batches import BatchOrder
from mdaug.training.common import (check_resumable, ema_load, ema_tensors, load_state_strict, make_accelerator,
                                   make_ema, make_optimizer, make_schedule)
from mdaug.training.images import sample_grid
from mdaug.training.loop import RecipeLoop
from mdaug.training.latents import LatentSet, autoencoder_identity, cached_latents, latent_stats, stage1_data
from mdaug.train_config import Stage2TrainConfig

CODE_FAMILIES = ("vq", "vqgan", "rq", "fsq")


@dataclass
class Stage2State:
    step: int = 0
    skipped: list[int] = field(default_factory=list)


def make_stage2_model(cfg: Config, kind: str, pre: PretrainedAutoencoder, n_classes: int) -> torch.nn.Module:
    c, h, w = pre.meta["latent_shape"]
    if kind == "ldm":
        from mdaug.models.ldm import LatentDiffusion

        m = cfg.ldm
        return LatentDiffusion(latent_channels=c, grid=(h, w), num_classes=n_classes,
                               block_out_channels=tuple(m.block_out_channels), layers_per_block=m.layers_per_block,
                               attention=tuple(m.attention), norm_num_groups=m.norm_num_groups,
                               num_train_timesteps=m.num_train_timesteps, beta_schedule=m.beta_schedule,
                               prediction_type=m.prediction_type, cond_drop_prob=m.cond_drop_prob)
    from mdaug.models.code_prior import CodePrior

    p = cfg.prior
    levels = int(pre.model.config.num_quantizers) if pre.meta["family"] == "rq" else 1
    return CodePrior(codebook_size=int(pre.model.codebook_size), levels=levels, grid=(h, w), num_classes=n_classes,
                     dim=p.dim, depth=p.depth, heads=p.heads, dropout=p.dropout, cond_drop_prob=p.cond_drop_prob)


def sample_settings(cfg: Config, kind: str) -> SampleSettings:
    if kind == "ldm":
        return SampleSettings(steps=cfg.ldm.sample_steps, guidance_scale=cfg.ldm.guidance_scale, sampler=cfg.ldm.sampler)
    return SampleSettings(steps=cfg.prior.sample_steps, guidance_scale=cfg.prior.guidance_scale,
                          temperature=cfg.prior.temperature)


class Stage2Recipe(RecipeLoop):
    def __init__(self, cfg: Config, run: Path, kind: str, *, autoencoder: str | Path | None = None,
                 resume: str | None = None, console: Console | None = None) -> None:
        if kind not in ("ldm", "prior"):
            raise MdaugError(f"unknown stage-2 kind '{kind}' (ldm or prior)")
        self.cfg, self.kind, self.console = cfg, kind, console
        self.run = Path(run)
        self.section = f"{kind}_train"
        self.t: Stage2TrainConfig = getattr(cfg, self.section)
        resume_from = ckpt.resolve_resume(self.run, resume)
        record = None
        if resume_from is not None:
            self.run = resume_from.parent.parent
            check_resumable(yaml.safe_load((self.run / "config.yaml").read_text()), cfg, self.section, self.run)
            record = json.loads((self.run / "autoencoder.json").read_text())
            autoencoder = autoencoder or record["path"]
        if autoencoder is None:
            raise MdaugError("stage 2 needs a trained stage-1 model: --ae RUN (a `mdaug train-ae` run or its final/)")
        self.pre = load_pretrained_autoencoder(autoencoder)
        family = self.pre.meta["family"]
        if kind == "prior" and family not in CODE_FAMILIES:
            raise MdaugError(f"the code prior needs a stage-1 model with codes ({', '.join(CODE_FAMILIES)}); "
                             f"{family} has none: use `mdaug train-ldm`")
        self.identity = autoencoder_identity(self.pre.folder)
        if record is not None and record["identity"] != self.identity:
            raise MdaugError(f"{self.pre.folder} is not the stage-1 model {self.run} was trained on; resume with that one")
        acc = self.accelerator = make_accelerator(self.t.mixed_precision)
        if resume_from is None and acc.is_main_process:
            ensure_empty_dir(self.run, what="run folder")
        acc.wait_for_everyone()
        self.data = stage1_data(self.pre)
        self.class_names = self.data.dataset.class_names
        self.latents: LatentSet = cached_latents(self.pre, self.data, "train", device=acc.device,
                                                 console=console if acc.is_main_process else None)
        if kind == "prior" and self.latents.indices is None:
            raise MdaugError(f"the stage-1 model at {self.pre.folder} gave no code indices")
        self.stats = latent_stats(self.latents.latents, self.latents.logvar)
        self.pre.model.to(acc.device).eval().requires_grad_(False)
        torch.manual_seed(self.t.seed)  # the same initial weights on every process
        self.model = make_stage2_model(cfg, kind, self.pre, len(self.class_names))
        self.opt = make_optimizer(self.model.parameters(), self.t)
        self.sched = make_schedule(self.opt, self.t)
        self.ema = make_ema(self.model, self.t.ema_decay, acc.device)
        self.model, self.opt = acc.prepare(self.model, self.opt)
        torch.manual_seed(self.t.seed + 7_919 * (1 + acc.process_index))  # each process draws its own noise
        self.order = BatchOrder(np.arange(len(self.latents)), self.t.batch_size, seed=self.t.seed,
                                rank=acc.process_index, world=acc.num_processes)
        self.state = Stage2State()
        self.settings = sample_settings(cfg, kind)
        if resume_from is not None:
            self.load(resume_from)
        elif acc.is_main_process:
            save_config(cfg, self.run / "config.yaml")
            atomic_write_text(self.run / "autoencoder.json", json.dumps(self._autoencoder_record(), indent=1))
        acc.wait_for_everyone()

    def _autoencoder_record(self) -> dict[str, Any]:
        return {"path": str(self.pre.folder.resolve()), "identity": self.identity, "family": self.pre.meta["family"],
                "data_fingerprint": self.pre.data_fingerprint}

    @property
    def unwrapped(self) -> torch.nn.Module:
        return self.accelerator.unwrap_model(self.model)

    # ------------------------------------------------------------------ one step

    def _batch(self, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(self.order.batch(micro))
        dev = self.accelerator.device
        y = self.latents.labels[idx].to(dev)
        if self.kind == "prior":
            return self.latents.indices[idx].to(dev), y
        z = self.latents.latents[idx].to(dev)
        if self.latents.logvar is not None:  # kl: a fresh draw from the posterior
            z = z + torch.exp(0.5 * self.latents.logvar[idx].to(dev)) * torch.randn_like(z)
        return self.stats.normalise(z), y

    def train_step(self, step: int) -> dict[str, float]:
        acc, t = self.accelerator, self.t
        self.model.train()
        logs: dict[str, float] = {}
        for k in range(t.grad_accum):
            x, y = self._batch(step * t.grad_accum + k)
            with contextlib.nullcontext() if k == t.grad_accum - 1 else acc.no_sync(self.model):
                with acc.autocast():
                    loss, step_logs = self.unwrapped.training_loss(x, y, net=self.model)
                bad = torch.tensor([0.0 if torch.isfinite(loss) else 1.0], device=acc.device)
                if acc.reduce(bad, "sum").item() > 0:
                    self.opt.zero_grad(set_to_none=True)
                    return self._nan(step)
                acc.backward(loss / t.grad_accum)
            for key, v in step_logs.items():
                logs[key] = logs.get(key, 0.0) + v / t.grad_accum
        logs["loss"] = logs.get("mse", logs.get("ce", 0.0))
        if t.grad_clip:
            logs["grad_norm"] = float(acc.clip_grad_norm_(self.model.parameters(), t.grad_clip))
        self.opt.step()
        self.sched.step()
        self.opt.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.unwrapped.parameters())
        logs["lr"] = self.sched.get_last_lr()[0]
        return logs

    def _nan(self, step: int) -> dict[str, float]:
        if self.t.on_nan == "skip":
            self.state.skipped.append(step + 1)
            return {"skipped": 1.0}
        last = ckpt.latest_checkpoint(self.run / "checkpoints")
        where = f"the last good checkpoint is {last}" if last else "no checkpoint was written yet"
        raise MdaugError(f"the loss became NaN/inf at step {step + 1}; {where}. Lower {self.section}.lr, or set "
                         f"{self.section}.on_nan=skip to skip such batches")

    # ------------------------------------------------------------------ images, checkpoints, final

    @contextlib.contextmanager
    def ema_weights(self):
        model = self.unwrapped
        if self.ema is not None:
            self.ema.store(model.parameters())
            self.ema.copy_to(model.parameters())
        try:
            yield model
        finally:
            if self.ema is not None:
                self.ema.restore(model.parameters())

    @torch.no_grad()
    def write_images(self, step: int, per_class: int = 6, max_classes: int = 40) -> Path | None:
        """A grid with one row per class (a real spectrogram first, then samples from the EMA weights),
        always from the same seed so that grids of successive steps compare."""
        if not self.accelerator.is_main_process:
            return None
        n = min(len(self.class_names), max_classes)
        labels = np.repeat(np.arange(n), per_class)
        dev = self.accelerator.device
        with self.ema_weights() as model:
            was = model.training
            model.eval()
            g = torch.Generator(device=dev).manual_seed(self.cfg.seed)
            x = sample_images(model, self.kind, self.pre.model, self.stats, torch.from_numpy(labels).to(dev),
                              self.settings, g).cpu().numpy()
            model.train(was)
        ds = self.data.dataset
        rows = self.data.indices("train")
        return sample_grid(x, labels, self.class_names, self.run / "images" / f"samples-{step:07d}.png",
                           real=ds.x[rows], real_labels=ds.labels[rows], suptitle=f"{self.kind} step {step}")

    def save(self, step: int) -> Path | None:
        acc = self.accelerator
        tmp = ckpt.begin(self.run / "checkpoints", step) if acc.is_main_process else None
        acc.wait_for_everyone()
        tmp = tmp or ckpt.step_dir(self.run / "checkpoints", step).with_name(f"step-{step:07d}.tmp")
        ckpt.write_rng(tmp, acc.process_index)
        acc.wait_for_everyone()
        final = None
        if acc.is_main_process:
            tensors = {"model": self.unwrapped.state_dict()}
            if self.ema is not None:
                tensors["ema"] = ema_tensors(self.ema, self.unwrapped)
            objects: dict[str, Any] = {"opt": self.opt.state_dict(), "sched": self.sched.state_dict()}
            if acc.scaler is not None:
                objects["scaler"] = acc.scaler.state_dict()
            state = {"loop": asdict(self.state), "ema_step": self.ema.optimization_step if self.ema else None,
                     "kind": self.kind, "world_size": acc.num_processes}
            final = ckpt.finish(tmp, step, tensors=tensors, objects=objects, state=state, keep=self.t.keep_checkpoints)
        acc.wait_for_everyone()
        return final

    def load(self, path: Path) -> None:
        c = ckpt.load_checkpoint(path)
        if c.state.get("kind") != self.kind:
            raise MdaugError(f"checkpoint {path} is of a {c.state.get('kind')} model, not a {self.kind}")
        load_state_strict(self.unwrapped, c.tensors["model"], f"{self.kind} model")
        self.opt.load_state_dict(c.objects["opt"])
        self.sched.load_state_dict(c.objects["sched"])
        if self.ema is not None:
            ema_load(self.ema, self.unwrapped, c.tensors["ema"], int(c.state["ema_step"]))
        if self.accelerator.scaler is not None and "scaler" in c.objects:
            self.accelerator.scaler.load_state_dict(c.objects["scaler"])
        self.state = Stage2State(**c.state["loop"])
        rng = c.rng(self.accelerator.process_index) or c.rng(0)
        if rng is not None:
            ckpt.set_rng_state(rng)
        if self.console and self.accelerator.is_main_process:
            self.console.print(f"resumed from {path} (step {c.step})")

    def save_final(self) -> Path:
        tmp = self.run / "final.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        with self.ema_weights() as model:
            model.save_pretrained(tmp)
        ds = self.data.dataset
        rows = self.latents.rows.tolist()
        meta = {"kind": self.kind, "class_names": self.class_names, "autoencoder": self._autoencoder_record(),
                "latent_stats": self.stats.to_json(), "sampling": self.settings.as_dict(self.kind),
                "output_shape": list(ds.x.shape[1:]), "data_source": self.data.source, "data_info": ds.info,
                "data_fingerprint": ds.fingerprint(), "train_samples": len(rows),
                "train_files": sorted({ds.records[r].file for r in rows}), "steps": self.state.step,
                "weights": "ema" if self.ema is not None else "last",
                "config": yaml.safe_load((self.run / "config.yaml").read_text())}
        atomic_write_text(tmp / "mdaug.json", json.dumps(meta, indent=1, default=str))
        final = self.run / "final"
        if final.exists():
            final.rename(free_path(self.run / "final-replaced"))
        tmp.rename(final)
        return final

    # ------------------------------------------------------------------ the loop

    def train(self, stop_after: int | None = None) -> Path | None:
        """Train to <kind>_train.steps and write final/ (returned); `stop_after` stops after that step with a
        checkpoint, as a killed session would, returning None."""
        return self.run_loop(self.t, f"train-{self.kind}", ("loss", "masked_accuracy"), stop_after)


def train_stage2(cfg: Config, run: Path, kind: str, *, autoencoder: str | Path | None = None, resume: str | None = None,
                 console: Console | None = None, stop_after: int | None = None) -> Path | None:
    """Train (or resume) a stage-2 run in folder `run`; returns its final/ folder (None when stopped early)."""
    return Stage2Recipe(cfg, run, kind, autoencoder=autoencoder, resume=resume, console=console).train(stop_after)


__all__ = ["CODE_FAMILIES", "Stage2Recipe", "make_stage2_model", "sample_settings", "train_stage2"]
