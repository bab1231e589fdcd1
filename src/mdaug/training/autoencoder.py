"""Stage 1 recipe: train any autoencoder family (kl, vq, vqgan, rq, fsq) with one loop.

setup (data, model, discriminator, optimizers, EMA, Accelerate) -> train (reconstruction + spectral +
perceptual + KL/commitment, adversarial for vqgan) -> save_checkpoint / load_checkpoint -> final/.

The discriminator learns from `gan.disc_start` but its loss reaches the generator only from `gan.gen_start`
(or, with 'auto', once the reconstruction has plateaued): a discriminator switched on at the same moment as
its loss is random and damages reconstructions (a known pitfall of VQ-GAN reference implementations)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from mdaug.config import Config, save_config, saved_config
from mdaug.data.prepare import check_output_outside
from mdaug.data.texture import FloorTexture, fit_model_texture
from mdaug.data.transforms import TimeAugment, diff_augment
from mdaug.errors import MdaugError
from mdaug.evaluation.figures import reconstruction_grid
from mdaug.evaluation.health import HealthAccumulator
from mdaug.files import atomic_write_text
from mdaug.losses import (
    adaptive_weight,
    d_hinge,
    d_non_saturating,
    g_hinge,
    g_non_saturating,
    kl_weight_at,
    lecam_penalty,
    perceptual_loss,
    r1_penalty,
    reconstruction_loss,
    spectral_loss,
)
from mdaug.models import PatchDiscriminator, load_model, make_autoencoder
from mdaug.runs.cards import AutoencoderCard, InitRecord, Normalisation, write_final
from mdaug.runs.layout import CONFIG_FILE, HEALTH, IMAGES, INIT_RECORD, final_dir
from mdaug.runs.pretrained import initial_weights
from mdaug.runs.run_data import RunData, check_run_data, load_run_data, write_run_data
from mdaug.training import checkpoint as ckpt
from mdaug.training.batches import BatchOrder
from mdaug.training.common import (
    check_resumable,
    load_state_strict,
    make_accelerator,
    make_ema,
    make_optimizer,
    make_schedule,
)
from mdaug.training.recipe import CheckpointContents, LoopState, Recipe


@dataclass
class AutoencoderState(LoopState):
    """Everything about the loop that is not a tensor: saved in every checkpoint's state.json."""

    gen_started: int | None = None
    """Step at which the adversarial loss first reached the generator (vqgan)."""
    rec_history: list[float] = field(default_factory=list)
    lecam_real: float = 0.0
    lecam_fake: float = 0.0
    health: list[dict[str, Any]] = field(default_factory=list)


def plateaued(history: list[float], window: int, tolerance: float) -> bool:
    """True when the mean of the last `window` values improved on the window before by less than `tolerance`
    (relative)."""
    if len(history) < 2 * window:
        return False
    before, last = float(np.mean(history[-2 * window:-window])), float(np.mean(history[-window:]))
    return (before - last) / max(abs(before), 1e-12) < tolerance


class AutoencoderRecipe(Recipe):
    def __init__(self, cfg: Config, run: Path, *, resume: str | None = None, console: Console | None = None,
                 data: RunData | None = None) -> None:
        self.cfg, self.run, self.console = cfg, Path(run), console
        self.train_cfg, self.section = cfg.ae_train, "ae_train"
        resume_from = ckpt.resolve_resume(self.run, resume)
        if resume_from is not None:
            self.run = resume_from.parent.parent
            check_resumable(self.run, cfg, self.section)
        self.accelerator = make_accelerator(cfg.ae_train.mixed_precision)
        acc = self.accelerator
        if cfg.data.path is not None:
            check_output_outside(cfg.data.path, self.run)
        if resume_from is None and acc.is_main_process and ckpt.start_fresh(self.run) and console:
            console.print(f"started {self.run} over: the stopped run there left no checkpoint")
        acc.wait_for_everyone()
        t = cfg.ae_train
        torch.manual_seed(t.seed)  # the same initial weights on every process
        self.data = data or load_run_data(cfg, console if acc.is_main_process else None)
        f = cfg.ae.downsampling
        if self.data.size[0] % f or self.data.size[1] % f:
            raise MdaugError(f"spectrogram size {self.data.size} is not divisible by the autoencoder's downsampling "
                             f"{f} (2^(len(ae.block_out_channels) - 1)); set data.size")
        self.model = make_autoencoder(cfg.ae, self.data.channels)
        self.init = self._start(resumed=resume_from is not None)
        self.gan = cfg.ae.family == "vqgan"
        self.disc = PatchDiscriminator(in_channels=self.data.channels, channels=cfg.gan.channels,
                                       layers=cfg.gan.layers) if self.gan else None
        self.perceptual = self._perceptual_net()
        self.trainable = any(True for _ in self.model.parameters())  # the pixel-space control has no weights
        self.ema = None
        lr = t.finetune_lr if self.init.source != "scratch" and t.finetune_lr else t.lr
        if self.trainable:
            self.optimizer = make_optimizer(self.model.parameters(), t, lr)
            self.scheduler = make_schedule(self.optimizer, t)
            self.ema = make_ema(self.model, t.ema_decay, acc.device)
            self.model, self.optimizer = acc.prepare(self.model, self.optimizer)
        if self.gan:
            # the generator's own lr (finetune_lr when it starts from trained weights) unless gan.lr is set
            self.opt_d = make_optimizer(self.disc.parameters(), t, cfg.gan.lr or lr)
            self.sched_d = make_schedule(self.opt_d, t)
            self.disc, self.opt_d = acc.prepare(self.disc, self.opt_d)
        if self.perceptual is not None:
            self.perceptual.to(acc.device)
        self.order = BatchOrder(self.data.indices("train"), t.batch_size, seed=t.seed, rank=acc.process_index,
                                world=acc.num_processes)
        latent_hw = (self.data.size[0] // f, self.data.size[1] // f)
        self.health = HealthAccumulator(self.unwrapped, len(self.data.dataset.class_names), latent_hw)
        self.state = AutoencoderState()
        self.x_all = torch.from_numpy(self.data.dataset.x)
        self.y_all = torch.from_numpy(self.data.dataset.labels)
        if resume_from is not None:
            check_run_data(self.data, self.run)
            self.load(resume_from)
        elif acc.is_main_process:
            save_config(cfg, self.run / CONFIG_FILE)
            write_run_data(self.data, self.run)
            atomic_write_text(self.run / INIT_RECORD, self.init.model_dump_json(indent=1))
        acc.wait_for_everyone()

    # ------------------------------------------------------------------ setup helpers

    def _start(self, resumed: bool) -> InitRecord:
        """Load the weights ae.init names into the fresh model (a resumed run: read where it started)."""
        if resumed:
            path = self.run / INIT_RECORD
            return InitRecord.model_validate_json(path.read_text()) if path.exists() else InitRecord(source="scratch")
        weights, record = initial_weights(self.cfg, self.model, list(self.data.dataset.x.shape[1:]))
        if weights is not None:
            load_state_strict(self.model, weights, "starting stage-1 model")
        if self.console and self.accelerator.is_main_process:
            where = {"scratch": "random weights", "pretrained": f"the shipped pretrained model {record.path}",
                     "run": f"the stage-1 run {record.path}"}[record.source]
            fits = " (no shipped model fits this family and architecture)" if (
                self.cfg.ae.init == "auto" and record.source == "scratch") else ""
            self.console.print(f"stage 1 starts from {where}{fits}")
        return record

    def _perceptual_net(self) -> torch.nn.Module | None:
        lc = self.cfg.ae_loss
        if lc.perceptual_weight == 0:
            return None
        if not lc.perceptual_net:
            raise MdaugError("ae_loss.perceptual_weight > 0 needs ae_loss.perceptual_net: train one with "
                             "`mdaug train-recognizer --role loss` and give its final/ folder")
        net = load_model(lc.perceptual_net)
        if not hasattr(net, "features"):
            raise MdaugError(f"{lc.perceptual_net} holds a {type(net).__name__}, which has no features(x) method")
        if getattr(net.config, "role", "loss") == "eval":
            raise MdaugError(f"{lc.perceptual_net} is an evaluation recogniser; the perceptual loss must use another "
                             "network (`mdaug train-recognizer --role loss`)")
        net.eval().requires_grad_(False)
        return net

    # ------------------------------------------------------------------ one step

    def _batch(self, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(self.order.batch(micro))
        x = TimeAugment(self.cfg.augment, self.order.generator(micro))(self.x_all[idx])
        return x.to(self.accelerator.device), self.y_all[idx].to(self.accelerator.device)

    def _seen_by_disc(self, x: torch.Tensor, micro: int, stream: int) -> torch.Tensor:
        """What the discriminator sees of x: x, or its differentiable augmentation (gan.augment)."""
        g = self.cfg.gan
        return diff_augment(x, self.order.generator(micro, stream), mask=g.augment_cutout) if g.augment else x

    def _generator_loss(self, x: torch.Tensor, step: int, micro: int
                        ) -> tuple[torch.Tensor, torch.Tensor, dict[str, float], Any]:
        """Returns (total generator loss, nll for the plateau test, logs, model output)."""
        cfg, lc = self.cfg, self.cfg.ae_loss
        with self.accelerator.autocast():
            out = self.model(x)
        x_hat = out.sample.float()
        nll, logs = reconstruction_loss(x_hat, x, lc.reconstruction)
        if lc.spectral_weight > 0:
            spec, spec_logs = spectral_loss(x_hat, x)
            nll = nll + lc.spectral_weight * spec
            logs |= spec_logs
        if self.perceptual is not None:
            perc, perc_logs = perceptual_loss(self.perceptual.features(x_hat), self.perceptual.features(x))
            nll = nll + lc.perceptual_weight * perc
            logs |= perc_logs
        loss = nll
        if "kl" in out.reg_losses:
            w = kl_weight_at(step, lc.kl_weight, lc.kl_anneal_steps)
            loss = loss + w * out.reg_losses["kl"]
            logs |= {"kl": out.reg_losses["kl"].item(), "kl_weight": w}
        if "commitment" in out.reg_losses:
            loss = loss + out.reg_losses["commitment"]
            logs["commitment"] = out.reg_losses["commitment"].item()
        if self.gan and self.state.gen_started is not None:
            with self.accelerator.autocast():
                logits_fake = self.disc(self._seen_by_disc(out.sample, micro, 1))
            g_adv, g_logs = (g_hinge if cfg.gan.loss == "hinge" else g_non_saturating)(logits_fake.float())
            w = adaptive_weight(nll, g_adv, self.unwrapped.last_layer) if cfg.gan.adaptive_weight else torch.tensor(1.0)
            loss = loss + cfg.gan.weight * w * g_adv
            logs |= g_logs | {"adaptive_weight": w.item()}
        logs["loss"] = loss.item()
        return loss, nll.detach(), logs, out

    def _discriminator_loss(self, x: torch.Tensor, x_hat: torch.Tensor, micro: int
                            ) -> tuple[torch.Tensor, dict[str, float]]:
        g = self.cfg.gan
        real = x.detach().requires_grad_(g.r1_weight > 0)
        both = self._seen_by_disc(torch.cat([real, x_hat.detach()]), micro, 2)
        with self.accelerator.autocast():  # one forward for both halves: DDP expects one forward per backward
            logits = self.disc(both).float()
        logits_real, logits_fake = logits.chunk(2)
        loss, logs = (d_hinge if g.loss == "hinge" else d_non_saturating)(logits_real, logits_fake)
        if g.r1_weight > 0:
            r1 = r1_penalty(logits_real, real)
            loss = loss + g.r1_weight * r1
            logs["r1"] = r1.item()
        if g.lecam_weight > 0:
            lc = lecam_penalty(logits_real, logits_fake, self.state.lecam_real, self.state.lecam_fake)
            loss = loss + g.lecam_weight * lc
            d = g.lecam_decay
            self.state.lecam_real = d * self.state.lecam_real + (1 - d) * logits_real.mean().item()
            self.state.lecam_fake = d * self.state.lecam_fake + (1 - d) * logits_fake.mean().item()
            logs["lecam"] = lc.item()
        return loss, logs

    def train_step(self, step: int) -> dict[str, float]:
        """One optimizer step over grad_accum micro-batches: the generator's updates first, then the
        discriminator's on the same (detached) reconstructions, so neither sees the other's gradients."""
        acc, t, g = self.accelerator, self.cfg.ae_train, self.cfg.gan
        self.model.train()
        logs: dict[str, float] = {}
        nll_sum = 0.0
        pairs = []
        for k in range(t.grad_accum):
            x, y = self._batch(step * t.grad_accum + k)
            sync = k == t.grad_accum - 1
            with (contextlib.nullcontext() if sync else acc.no_sync(self.model)):
                loss, nll, step_logs, out = self._generator_loss(x, step, step * t.grad_accum + k)
                if not self.all_finite(loss):
                    return self.non_finite(step)
                acc.backward(loss / t.grad_accum)
            self.health.update(out.encoded, y)
            nll_sum += nll.item() / t.grad_accum
            pairs.append((x, out.sample.detach()))
            for key, v in step_logs.items():
                logs[key] = logs.get(key, 0.0) + v / t.grad_accum
        if t.grad_clip:
            logs["grad_norm"] = float(acc.clip_grad_norm_(self.model.parameters(), t.grad_clip))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.gan:
            self.opt_d.zero_grad(set_to_none=True)  # the generator pass reached the discriminator's weights too
            if step >= g.disc_start:
                for k, (x, x_hat) in enumerate(pairs):
                    with (contextlib.nullcontext() if k == len(pairs) - 1 else acc.no_sync(self.disc)):
                        d_loss, d_logs = self._discriminator_loss(x, x_hat, step * t.grad_accum + k)
                        acc.backward(d_loss / t.grad_accum)
                    for key, v in d_logs.items():
                        logs[key] = logs.get(key, 0.0) + v / t.grad_accum
                if t.grad_clip:
                    acc.clip_grad_norm_(self.disc.parameters(), t.grad_clip)
                self.opt_d.step()
                self.sched_d.step()  # the discriminator's schedule counts its own steps, from disc_start
                self.opt_d.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.unwrapped.parameters())
        self._update_gan_schedule(step, nll_sum)
        logs["lr"] = self.scheduler.get_last_lr()[0]
        return logs

    def _update_gan_schedule(self, step: int, nll: float) -> None:
        if not self.gan or self.state.gen_started is not None:
            return
        g = self.cfg.gan
        mean_nll = self.accelerator.reduce(torch.tensor([nll], device=self.accelerator.device), "mean").item()
        self.state.rec_history = (self.state.rec_history + [mean_nll])[-2 * g.plateau_window:]
        if g.gen_start == "auto":
            latest = max(g.disc_start + g.warmup_steps, round(g.latest_start * self.cfg.ae_train.steps))
            ready = step + 1 >= latest or (step + 1 >= g.disc_start + g.warmup_steps and plateaued(
                self.state.rec_history, g.plateau_window, g.plateau_tolerance))
        else:
            ready = step + 1 >= g.gen_start
        if ready:
            self.state.gen_started = step + 1

    # ------------------------------------------------------------------ epochs, images, checkpoints

    def _end_of_epoch(self, step: int) -> dict[str, Any] | None:
        t = self.cfg.ae_train
        first, nxt = step * t.grad_accum, (step + 1) * t.grad_accum
        if self.order.epoch_of(nxt) == self.order.epoch_of(first) and step + 1 < t.steps:
            return None
        for name, buf in self.health.buffers.items():  # whole-epoch statistics over every process's samples
            self.health.buffers[name] = self.accelerator.reduce(buf.to(self.accelerator.device), "sum").cpu()
        summary = {"step": step + 1, "epoch": self.order.epoch_of(first)} | self.health.summary()
        if self.accelerator.is_main_process:
            folder = self.run / HEALTH
            folder.mkdir(exist_ok=True)
            np.savez(folder / f"epoch-{summary['epoch']:04d}.npz",
                     **{k: v.numpy() for k, v in self.health.buffers.items()})
        self.state.health.append(summary)
        self.health.reset()
        return summary

    @torch.no_grad()
    def write_images(self, step: int) -> Path | None:
        if not self.accelerator.is_main_process:
            return None
        ds = self.data.dataset
        pool = self.data.indices("val")
        pool = pool if len(pool) else self.data.indices("train")
        picks = [int(pool[ds.labels[pool] == c][0]) for c in range(len(ds.class_names))
                 if (ds.labels[pool] == c).any()][:8]
        model = self.unwrapped
        was_training = model.training
        model.eval()
        x = torch.from_numpy(ds.x[picks]).to(self.accelerator.device)
        x_hat = model(x, sample_posterior=False).sample.float().cpu().numpy()
        model.train(was_training)
        return reconstruction_grid(ds.x[picks], x_hat, self.run / IMAGES / f"recon-{step:07d}.png",
                                   [ds.class_names[ds.labels[i]] for i in picks], suptitle=f"step {step}")

    def checkpoint_contents(self) -> CheckpointContents:
        own = CheckpointContents(tensors={"health": self.health.buffers}, identity={"family": self.cfg.ae.family})
        if self.gan:
            own.tensors["disc"] = self.accelerator.unwrap_model(self.disc).state_dict()
            own.objects = {"disc_optimizer": self.opt_d.state_dict(), "disc_scheduler": self.sched_d.state_dict()}
        return own

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        if checkpoint.state.get("family") != self.cfg.ae.family:
            raise MdaugError(f"checkpoint {checkpoint.path} is of family {checkpoint.state.get('family')}, the config "
                             f"says {self.cfg.ae.family}")
        if self.gan:
            load_state_strict(self.accelerator.unwrap_model(self.disc), checkpoint.tensors["disc"], "discriminator")
            self.opt_d.load_state_dict(checkpoint.objects["disc_optimizer"])
            self.sched_d.load_state_dict(checkpoint.objects["disc_scheduler"])
        for name, buf in checkpoint.tensors["health"].items():
            self.health.buffers[name] = buf.clone()

    def _fit_texture(self) -> FloorTexture:
        """The noise-floor texture the decoder smooths away, fitted on the saved (EMA) model's reconstructions of
        training spectrograms."""
        ds = self.data.dataset
        dr = ds.info.dynamic_range_or(self.cfg.data.dynamic_range_db)
        with self.ema_weights() as model:
            return fit_model_texture(model, ds.x, self.data.indices("train"), dr, seed=self.cfg.ae_train.seed,
                                     device=self.accelerator.device)

    def write_final(self) -> Path:
        """final/: the EMA (else current) weights with save_pretrained, plus the card (labels, normalisation,
        data identity, training summary)."""
        ds = self.data.dataset
        card = AutoencoderCard(
            family=self.cfg.ae.family, class_names=ds.class_names, input_shape=list(ds.x.shape[1:]),
            latent_shape=list(self.unwrapped.latent_shape(self.data.size)),
            normalisation=Normalisation(
                range=[-1, 1], dynamic_range_db=ds.info.dynamic_range_or(self.cfg.data.dynamic_range_db),
                meaning="-1 = dynamic_range_db below each spectrogram's peak, +1 = the peak (dB, linear in between)",
                doppler_axis="row 0 = lowest Doppler"),
            data_fingerprint=ds.fingerprint(), data_source=self.data.source,
            train_samples=int(len(self.data.indices("train"))), steps=self.state.step,
            weights="ema" if self.ema is not None else "last", gan_generator_start=self.state.gen_started,
            init=self.init,
            config=saved_config(self.run), texture=self._fit_texture())

        def save(folder: Path) -> None:
            with self.ema_weights() as model:
                model.save_pretrained(folder)

        return write_final(self.run, save, card)

    # ------------------------------------------------------------------ the loop

    def after_step(self, step: int) -> dict[str, Any]:
        return self._end_of_epoch(step) or {}

    def train(self, stop_after: int | None = None) -> Path | None:
        """Train to ae_train.steps and write final/ (returned). `stop_after`: stop after that step, as a
        killed or time-limited session would (checkpoint at the stop), returning None."""
        if not self.trainable:  # nothing to learn: final/ at once
            final = self.write_final() if self.accelerator.is_main_process else final_dir(self.run)
            self.accelerator.wait_for_everyone()
            return final
        keys = ("loss", f"rec_{self.cfg.ae_loss.reconstruction}", "kl", "commitment", "d_loss")
        return self.run_loop(f"train-ae {self.cfg.ae.family}", keys, stop_after)


def train_autoencoder(cfg: Config, run: Path, *, resume: str | None = None, console: Console | None = None,
                      data: RunData | None = None, stop_after: int | None = None) -> Path | None:
    """Train (or resume) a stage-1 run in folder `run`; returns its final/ folder (None when stopped early
    by `stop_after`)."""
    return AutoencoderRecipe(cfg, run, resume=resume, console=console, data=data).train(stop_after)


__all__ = ["AutoencoderRecipe", "AutoencoderState", "plateaued", "train_autoencoder"]
