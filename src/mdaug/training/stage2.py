"""Stage 2 recipe: train a class-conditional generator in the latent space of a frozen stage-1 model, one loop
for both kinds (mdaug.models.stage2):

- 'ldm': latent diffusion on the normalised latents (kl: z drawn from the cached posterior every step);
- 'prior': a masked code prior on the code indices (vq, vqgan, rq, fsq).

setup (stage-1 model and its data, cached latents and their statistics, model, optimizer, EMA, Accelerate)
-> train (the model's own training_loss) -> checkpoints (complete, atomic, exact resume) -> final/ with its
card: the stage-1 identity (SHA-256 of its weights), latent statistics, label map, rows seen."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from mdaug import seeds
from mdaug.config import Config, save_config, saved_config
from mdaug.data.conditions import PERSON_TRAITS
from mdaug.data.coverage import person_traits
from mdaug.errors import MdaugError
from mdaug.evaluation.figures import sample_grid
from mdaug.files import atomic_write_text
from mdaug.models.conditioning import ConditionSpec, carried, choose_specs, encode_table
from mdaug.models.latents import LatentSet, latent_stats
from mdaug.models.stage2 import CODE_FAMILIES, ENCODERS, Stage2Kind, stage2_kind
from mdaug.runs.cards import AutoencoderRef, InitRecord, Stage2Card, write_final
from mdaug.runs.latent_cache import cached_latents
from mdaug.runs.layout import AUTOENCODER_RECORD, CONFIG_FILE, IMAGES, INIT_RECORD
from mdaug.runs.loading import autoencoder_identity, load_pretrained_autoencoder, stage1_data
from mdaug.runs.pretrained import initial_stage2_weights
from mdaug.sampling.generate import sample_images, with_texture
from mdaug.training import checkpoint as ckpt
from mdaug.training.batches import BatchOrder
from mdaug.training.common import check_resumable, make_accelerator, make_ema, make_optimizer, make_schedule
from mdaug.training.recipe import CheckpointContents, LoopState, Recipe


@dataclass
class Stage2State(LoopState):
    pass


class Stage2Recipe(Recipe):
    def __init__(self, cfg: Config, run: Path, kind: str, *, autoencoder: str | Path | None = None,
                 resume: str | None = None, console: Console | None = None) -> None:
        self.kind: Stage2Kind = stage2_kind(kind)
        self.cfg, self.console, self.run = cfg, console, Path(run)
        self.section, self.train_cfg = f"{self.kind.name}_train", self.kind.train_config(cfg)
        resume_from = ckpt.resolve_resume(self.run, resume)
        self.resumed = resume_from is not None
        record = None
        if resume_from is not None:
            self.run = resume_from.parent.parent
            check_resumable(self.run, cfg, self.section)
            record = AutoencoderRef.model_validate_json((self.run / AUTOENCODER_RECORD).read_text())
            autoencoder = autoencoder or record.path
        if autoencoder is None:
            raise MdaugError("stage 2 needs a trained stage-1 model: --ae RUN (a `mdaug train-ae` run or its final/)")
        self.pre = load_pretrained_autoencoder(autoencoder)
        if self.kind.needs_codes and self.pre.family not in CODE_FAMILIES:
            raise MdaugError(f"the code prior needs a stage-1 model with codes ({', '.join(CODE_FAMILIES)}); "
                             f"{self.pre.family} has none: use `mdaug train-ldm`")
        self.identity = autoencoder_identity(self.pre.folder)
        if record is not None and record.identity != self.identity:
            raise MdaugError(f"{self.pre.folder} is not the stage-1 model {self.run} was trained on; resume with "
                             "that one")
        acc = self.accelerator = make_accelerator(self.train_cfg.mixed_precision)
        if resume_from is None and acc.is_main_process and ckpt.start_fresh(self.run) and self.console:
            self.console.print(f"started {self.run} over: the stopped run there left no checkpoint")
        acc.wait_for_everyone()
        self._setup_latents()
        self._setup_model()
        if resume_from is not None:
            self.load(resume_from)
        elif acc.is_main_process:
            save_config(cfg, self.run / CONFIG_FILE)
            atomic_write_text(self.run / AUTOENCODER_RECORD, json.dumps(self.autoencoder_ref.model_dump(), indent=1))
            atomic_write_text(self.run / INIT_RECORD, self.init.model_dump_json(indent=1))
        acc.wait_for_everyone()

    def _setup_latents(self) -> None:
        acc = self.accelerator
        self.data = stage1_data(self.pre)
        self.class_names = self.data.dataset.class_names
        self.latents: LatentSet = cached_latents(self.pre, self.data, "train", device=acc.device,
                                                 console=self.console if acc.is_main_process else None)
        if self.kind.needs_codes and self.latents.indices is None:
            raise MdaugError(f"the stage-1 model at {self.pre.folder} gave no code indices")
        self.stats = latent_stats(self.latents.latents, self.latents.logvar)
        self.pre.model.to(acc.device).eval().requires_grad_(False)
        self._setup_conditions()

    def _setup_conditions(self) -> None:
        """The recording conditions the model takes (ldm.conditions) and their values for every training row."""
        wanted = self.cfg.ldm.conditions if self.kind.name == "ldm" else []
        self.specs: list[ConditionSpec] = []
        self.condition_sources: dict[str, str] = {}
        rows = self.latents.rows
        self.condition_table = np.zeros((len(rows), 0), dtype=np.float32)
        if not wanted:
            return
        found = self.data.conditions
        sub = found.subset(rows)
        if wanted == "auto":
            # not the person's own traits (the gait cycle; and what does not vary within a person in this data, like
            # the speed on gait31): given as a condition, the model leaves them to it and forgets them with the
            # person, who is then rendered with anybody's (benchmarks/README.md, condition_identity.py)
            traits = set(PERSON_TRAITS) | set(person_traits(found, self.data.dataset.labels, rows))
            names = [n for n in found.compared() if sub.known(n).mean() >= 0.5 and n not in traits]
            self.specs = choose_specs({n: sub.values[n] for n in names}, names, strict=False)
        else:
            self.specs = choose_specs(sub.values, list(wanted), strict=True)
        self.condition_sources = {s.name: found.source[s.name] for s in self.specs}
        self.condition_table = encode_table(self.specs, sub.values, len(rows))
        if self.console and self.accelerator.is_main_process and self.specs:
            self.console.print("stage 2 conditions: " + ", ".join(s.describe() for s in self.specs))

    def _setup_model(self) -> None:
        acc, t = self.accelerator, self.train_cfg
        torch.manual_seed(t.seed)  # the same initial weights on every process
        identity = self._identity()
        extra = {} if identity is None else {"person_features": identity.shape[1]}
        self.model = self.kind.build(self.cfg, self.pre.latent_shape, self.pre.model, len(self.class_names),
                                     self.specs, **extra)
        weights, self.init = self._start()
        # the conditions the start knows keep its encoders, which read values as the start scales them
        start_specs = [ConditionSpec.from_json(d) for d in self.init.conditions or []]
        specs, self.carried = carried(self.specs, start_specs)
        if specs != self.specs:
            self.specs = specs
            torch.manual_seed(t.seed)
            self.model = self.kind.build(self.cfg, self.pre.latent_shape, self.pre.model, len(self.class_names),
                                         self.specs, **extra)
        if weights is not None:
            self.kind.load_start(self.model, weights, self.carried)
        if self.console and acc.is_main_process and self.carried:
            self.console.print("stage 2 conditions from the start: " + ", ".join(self.specs[k].name
                                                                                 for k in self.carried))
        if identity is not None:
            self.model.set_person_features(identity)
        self.optimizer = make_optimizer(self._param_groups(), t)
        self.scheduler = make_schedule(self.optimizer, t)
        self.ema = make_ema(self.model, t.ema_decay, acc.device)
        self.model, self.optimizer = acc.prepare(self.model, self.optimizer)
        torch.manual_seed(t.seed + seeds.PROCESS_NOISE * (1 + acc.process_index))  # each process its own noise
        self.order = BatchOrder(np.arange(len(self.latents)), t.batch_size, seed=t.seed, rank=acc.process_index,
                                world=acc.num_processes)
        self.state = Stage2State()
        self.settings = self.kind.default_settings(self.cfg)

    def _identity(self) -> torch.Tensor | None:
        """ldm.person=recordings: each person's identity features from their training recordings (the same on every
        process; a resumed run gets them from its checkpoint too, and they are computed the same way)."""
        if self.kind.name != "ldm" or self.cfg.ldm.person != "recordings":
            return None
        from mdaug.runs.identity import identity_features, shipped_identity_recognizer

        rec, self.identity_source = shipped_identity_recognizer(tuple(self.data.dataset.x.shape[1:]))
        rows = self.latents.rows.numpy()
        ds = self.data.dataset
        return identity_features(rec, ds.x[rows], ds.labels[rows], len(self.class_names))

    def _param_groups(self) -> list[dict[str, Any]]:
        """From scratch: one learning rate. From trained weights: finetune_lr for what the start knows, and class_lr
        for the class-embedding table, whose rows for these classes start from 'no class' and have everything to
        learn (at finetune_lr they barely move from it in a short fine-tune, and samples ignore their class)."""
        t = self.train_cfg
        if self.init.source == "scratch":
            return [{"params": list(self.model.parameters()), "lr": t.lr}]
        table = self.kind.class_embedding.removesuffix(".weight")
        known = tuple(f"{ENCODERS}{k}." for k in self.carried)  # condition encoders the start trained
        mine = lambda n: n.startswith(table) and not n.startswith(known)  # noqa: E731
        own = [p for n, p in self.model.named_parameters() if mine(n)]
        rest = [p for n, p in self.model.named_parameters() if not mine(n)]
        return [{"params": rest, "lr": t.finetune_lr or t.lr},
                {"params": own, "lr": t.class_lr or t.finetune_lr or t.lr}]

    def _start(self) -> tuple[dict[str, torch.Tensor] | None, InitRecord]:
        """The weights the kind's init (ldm.init, prior.init) names for the fresh model, and their record (a resumed
        run: no weights, and the record of where it started)."""
        path = self.run / INIT_RECORD
        if self.resumed:
            record = InitRecord.model_validate_json(path.read_text()) if path.exists() else InitRecord(source="scratch")
            return None, record
        init = getattr(self.cfg, self.kind.name).init  # the kind's name is its config section's
        weights, record = initial_stage2_weights(init, self.kind.name, self.model, self.pre.card.init, self.identity)
        if self.console and self.accelerator.is_main_process and record.source != "scratch":
            self.console.print(f"stage 2 starts from {record.path}, the classes from its 'no class' embedding")
        return weights, record

    @property
    def autoencoder_ref(self) -> AutoencoderRef:
        return AutoencoderRef(path=str(self.pre.folder.resolve()), identity=self.identity, family=self.pre.family,
                              data_fingerprint=self.pre.data_fingerprint)

    # ------------------------------------------------------------------ one step

    def batch(self, micro: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """(input, labels, conditions or None) of micro-batch `micro`, on the device: the kind's training input of
        its rows."""
        rows = self.order.batch(micro)
        idx = torch.from_numpy(rows)
        dev = self.accelerator.device
        x = self.kind.training_input(self.latents, idx, self.stats, dev)
        cond = torch.from_numpy(self.condition_table[rows]).to(dev) if self.specs else None
        return x, self.latents.labels[idx].to(dev), cond

    def train_step(self, step: int) -> dict[str, float]:
        acc, t = self.accelerator, self.train_cfg
        self.model.train()
        logs: dict[str, float] = {}
        for k in range(t.grad_accum):
            x, y, c = self.batch(step * t.grad_accum + k)
            with contextlib.nullcontext() if k == t.grad_accum - 1 else acc.no_sync(self.model):
                with acc.autocast():
                    extra = {} if c is None else {"conditions": c}
                    loss, step_logs = self.unwrapped.training_loss(x, y, net=self.model, **extra)
                if not self.all_finite(loss):
                    return self.non_finite(step)
                acc.backward(loss / t.grad_accum)
            for key, v in step_logs.items():
                logs[key] = logs.get(key, 0.0) + v / t.grad_accum
        logs["loss"] = logs.get("mse", logs.get("ce", 0.0))
        if t.grad_clip:
            logs["grad_norm"] = float(acc.clip_grad_norm_(self.model.parameters(), t.grad_clip))
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        if self.ema is not None:
            self.ema.step(self.unwrapped.parameters())
        logs["lr"] = self.scheduler.get_last_lr()[0]
        return logs

    # ------------------------------------------------------------------ images, checkpoints, final

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
                              self.settings, g)
            x = with_texture(x, self.settings, self.pre.floor_noise, g).cpu().numpy()
            model.train(was)
        ds = self.data.dataset
        rows = self.data.indices("train")
        return sample_grid(x, labels, self.class_names, self.run / IMAGES / f"samples-{step:07d}.png",
                           real=ds.x[rows], real_labels=ds.labels[rows], suptitle=f"{self.kind.name} step {step}")

    def checkpoint_contents(self) -> CheckpointContents:
        return CheckpointContents(identity={"kind": self.kind.name})

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        if checkpoint.state.get("kind") != self.kind.name:
            raise MdaugError(f"checkpoint {checkpoint.path} is of a {checkpoint.state.get('kind')} model, not a "
                             f"{self.kind.name}")

    def write_final(self) -> Path:
        ds = self.data.dataset
        rows = self.latents.rows.tolist()
        card = Stage2Card(kind=self.kind.name, class_names=self.class_names, autoencoder=self.autoencoder_ref,
                          latent_stats=self.stats.to_json(), sampling=self.kind.settings_dict(self.settings),
                          output_shape=list(ds.x.shape[1:]), data_source=self.data.source, data_info=ds.info,
                          data_fingerprint=ds.fingerprint(), train_samples=len(rows),
                          train_files=sorted({ds.records[r].file for r in rows}), steps=self.state.step,
                          weights="ema" if self.ema is not None else "last", config=saved_config(self.run),
                          init=self.init, conditions=[s.to_json() for s in self.specs],
                          condition_sources=self.condition_sources, identity=getattr(self, "identity_source", None))

        def save(folder: Path) -> None:
            with self.ema_weights() as model:
                model.save_pretrained(folder)

        return write_final(self.run, save, card)

    # ------------------------------------------------------------------ the loop

    def train(self, stop_after: int | None = None) -> Path | None:
        """Train to <kind>_train.steps and write final/ (returned); `stop_after` stops after that step with a
        checkpoint, as a killed session would, returning None."""
        return self.run_loop(f"train-{self.kind.name}", self.kind.log_keys, stop_after)


def train_stage2(cfg: Config, run: Path, kind: str, *, autoencoder: str | Path | None = None, resume: str | None = None,
                 console: Console | None = None, stop_after: int | None = None) -> Path | None:
    """Train (or resume) a stage-2 run in folder `run`; returns its final/ folder (None when stopped early)."""
    return Stage2Recipe(cfg, run, kind, autoencoder=autoencoder, resume=resume, console=console).train(stop_after)


__all__ = ["Stage2Recipe", "Stage2State", "train_stage2"]
