"""The recogniser's training recipe: setup -> train -> save.

Recognisers of two roles are trained on the same training split: role 'loss' supplies the features of the
perceptual loss, role 'eval' judges the generated data later (and stands for a user's recogniser in the utility
study). They use different seeds (eval: recognizer_train.seed, loss: + seeds.LOSS_RECOGNIZER), so the network that
shapes the autoencoder never judges it. The best step is picked on the dataset's validation split (other recording
sessions than the training ones: what predicts new sessions) or on a carve-out of the training split
(recognizer.select_on); the test split is never trained or selected on, and its accuracy is only reported.
Synthetic training samples (ids synthetic/...) enter as recognizer_train.synthetic_* says (training/mixing.py).
"""

from __future__ import annotations

import hashlib
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import set_seed
from rich.console import Console

from mdaug import seeds
from mdaug.config import ClassicalAugmentConfig, Config, save_config
from mdaug.data.classical import ClassicalAugment
from mdaug.data.prepare import check_output_outside
from mdaug.data.snr import NoiseBank
from mdaug.data.transforms import TimeAugment, random_blur, zero_row_of
from mdaug.errors import MdaugError
from mdaug.inference import in_batches
from mdaug.models import Recognizer
from mdaug.runs.cards import RecognizerCard, write_final
from mdaug.runs.layout import CONFIG_FILE
from mdaug.runs.pretrained import initial_recognizer_weights
from mdaug.runs.run_data import RunData, check_run_data, load_run_data, write_run_data
from mdaug.training import checkpoint as ckpt
from mdaug.training.common import check_resumable, make_accelerator, make_ema, make_optimizer, make_schedule
from mdaug.training.mixing import MixedBatches, synthetic_rows
from mdaug.training.recipe import CheckpointContents, LoopState, Recipe

ROLE_SEED_OFFSET = {"eval": 0, "loss": seeds.LOSS_RECOGNIZER}


def role_seed(cfg: Config, role: str) -> int:
    """The seed of a role: recognizer_train.seed for 'eval', + seeds.LOSS_RECOGNIZER for 'loss'."""
    if role not in ROLE_SEED_OFFSET:
        raise MdaugError(f"unknown recogniser role '{role}'; use 'eval' or 'loss'")
    return cfg.recognizer_train.seed + ROLE_SEED_OFFSET[role]


def role_blur(cfg: Config, role: str) -> float:
    """The training blur of a role: the evaluation recogniser's recognizer.blur_max, none for the perceptual loss's,
    whose features must keep telling blur apart."""
    return cfg.recognizer.blur_max if role == "eval" else 0.0


def classical_augmentation(cfg: Config) -> ClassicalAugmentConfig:
    """cfg.classical as applied: without the Doppler mirror unless the labels are direction-free (the mirror swaps
    approaching and receding, which changes what an activity label means; a person stays the person)."""
    if cfg.data.labels_direction_free():
        return cfg.classical
    return cfg.classical.model_copy(update={"doppler_mirror": 0.0})


def check_snr_drop(ds) -> None:
    """Refuse classical.snr_drop_db on data it cannot lower the SNR of exactly: spectrograms of several display ranges
    (the simulated corpus) or of three channels (data.colormap=rgb), whose values are no dB display."""
    if ds.info.dynamic_range_db_mixed:
        raise MdaugError("classical.snr_drop_db needs one display range, but this dataset mixes several (the simulated "
                         "corpus): set classical.snr_drop_db=0")
    if ds.x.shape[1] != 1:
        raise MdaugError(f"classical.snr_drop_db needs single-channel dB spectrograms, these have {ds.x.shape[1]} "
                         "channels (data.colormap=rgb keeps colour): set classical.snr_drop_db=0")


def held_count(members: int, fraction: float) -> int:
    """How many of a class's `members` training samples the carve-out holds back: round(fraction * members),
    at least one when fraction > 0, never the class's last one."""
    return max(min(max(round(fraction * members), 1 if fraction > 0 else 0), members - 1), 0)


def carve_out(data: RunData, fraction: float, seed: int,
              pool: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(fit, held): the training split's indices, with round(fraction * n) samples of each class held back
    (at least one when fraction > 0, never the class's last one), drawn with `seed` from `pool` (default: the
    whole training split; the utility study passes the real samples so that synthetic ones never select the
    model). Both sorted."""
    rng = np.random.default_rng(seed)
    train = np.sort(data.indices("train"))
    source = train if pool is None else np.sort(pool)
    labels = data.dataset.labels[source]
    held = []
    for c in range(len(data.dataset.class_names)):
        members = source[labels == c]
        held.append(rng.choice(members, size=held_count(len(members), fraction), replace=False))
    held_idx = np.sort(np.concatenate(held)).astype(np.int64)
    return np.setdiff1d(train, held_idx), held_idx


@torch.no_grad()
def accuracy(model: Recognizer, x: torch.Tensor, labels: torch.Tensor, idx: np.ndarray, accelerator: Accelerator,
             batch_size: int = 256) -> float | None:
    """Top-1 accuracy of `model` (eval mode, no augmentation) on the samples `idx`; None when there are none."""
    if len(idx) == 0:
        return None
    was_training = model.training
    model.eval()
    def named(rows: torch.Tensor) -> torch.Tensor:
        with accelerator.autocast():
            return model(x[rows].to(accelerator.device)).argmax(1)

    pred = in_batches(named, idx, batch_size=batch_size)
    model.train(was_training)
    return int((pred == labels[torch.from_numpy(idx)]).sum()) / len(idx)


def _hash_ids(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def selection_rows(data: RunData, cfg: Config, seed: int, pool: np.ndarray | None = None
                   ) -> tuple[np.ndarray, np.ndarray, str]:
    """(fit, selection, how): the rows a recogniser trains on, the real rows that pick its best step, and which
    rule picked them: the validation split ('val'), or a carve-out of the training split (drawn from `pool`) when
    recognizer.select_on is 'carve_out' or the data has no validation split."""
    val = data.indices("val")
    if cfg.recognizer.select_on == "val" and len(val):
        return np.sort(data.indices("train")), np.sort(val), "val"
    fit, held = carve_out(data, cfg.recognizer.val_fraction, seed, pool)
    return fit, held, "carve_out"


@dataclass
class RecognizerState(LoopState):
    best_accuracy: float = -1.0
    """Selection accuracy of the best evaluation so far (-1: none yet, or nothing to select on)."""
    best_step: int = 0


class RecognizerRecipe(Recipe):
    monitor_tag = "selection"

    def __init__(self, cfg: Config, run: Path, *, role: str = "eval", resume: str | None = None,
                 console: Console | None = None, data: RunData | None = None,
                 carve_pool: np.ndarray | None = None) -> None:
        self.cfg, self.run, self.console, self.role = cfg, Path(run), console, role
        self.train_cfg, self.section = cfg.recognizer_train, "recognizer_train"
        self.seed = role_seed(cfg, role)
        self.accelerator = make_accelerator(self.train_cfg.mixed_precision)
        resume_from = ckpt.resolve_resume(self.run, resume)
        if cfg.data.path is not None:
            check_output_outside(cfg.data.path, self.run)
        if resume_from is None and ckpt.start_fresh(self.run, create=False) and console:  # before the data
            console.print(f"started {self.run} over: the stopped run there left no checkpoint")
        self.data = data or load_run_data(cfg, console)
        if resume_from is None:
            self.accelerator.wait_for_everyone()  # every process checked before the main one writes anything
            if self.accelerator.is_main_process:
                self.run.mkdir(parents=True, exist_ok=True)
                save_config(cfg, self.run / CONFIG_FILE)
                write_run_data(self.data, self.run)
        else:
            check_resumable(self.run, cfg, self.section)
            check_run_data(self.data, self.run)
        self._setup(carve_pool)
        self.best_state: dict[str, torch.Tensor] | None = None
        if resume_from is not None:
            self.load(resume_from)

    def _setup(self, carve_pool: np.ndarray | None) -> None:
        cfg, tc, acc, ds = self.cfg, self.train_cfg, self.accelerator, self.data.dataset
        self.fit, self.held, self.selection = selection_rows(self.data, cfg, self.seed, carve_pool)
        self.synthetic = synthetic_rows(ds)
        self.batches = MixedBatches(self.fit, self.synthetic, tc, seed=self.seed, rank=acc.process_index,
                                    world=acc.num_processes)
        self.order = self.batches.order
        self.blur = role_blur(cfg, self.role)
        self.x = torch.from_numpy(ds.x)  # (n, channels, doppler, time), kept on the CPU: batches move to the device
        self.labels = torch.from_numpy(ds.labels)
        self.zero_row = zero_row_of(ds)  # for classical.doppler_mirror
        self.classical = classical_augmentation(cfg)
        self.dynamic_range_db = ds.info.dynamic_range_or(cfg.data.dynamic_range_db)
        self.noise = None
        if cfg.recognizer.classical and self.classical.snr_drop_db > 0:
            check_snr_drop(ds)
            real_fit = self.fit[~self.synthetic[self.fit]]  # the real samples it trains on: never validation or test
            self.noise = NoiseBank.from_data(ds.x[real_fit], self.dynamic_range_db, seed=self.seed)
        smallest = min(ds.x.shape[2:])
        if smallest < 2 ** len(cfg.recognizer.channels):
            raise MdaugError(f"recognizer.channels has {len(cfg.recognizer.channels)} stages, each halving both axes, "
                             f"but the spectrograms are {ds.x.shape[2]}x{ds.x.shape[3]}: use at most "
                             f"{max(int(np.log2(smallest)), 1)} stages or a larger data.size")
        set_seed(self.seed)
        model = Recognizer(in_channels=self.data.channels, num_classes=len(ds.class_names),
                           channels=tuple(cfg.recognizer.channels), dropout=cfg.recognizer.dropout, role=self.role)
        start, self.init = initial_recognizer_weights(cfg.recognizer.init, model, list(ds.x.shape[1:]))
        if start is not None:
            model.load_state_dict(start, strict=False)  # the conv stages; the head stays new
        self.optimizer = make_optimizer(model.parameters(), tc)
        self.scheduler = make_schedule(self.optimizer, tc)
        self.ema = make_ema(model, tc.ema_decay, acc.device)
        self.model, self.optimizer = acc.prepare(model, self.optimizer)
        self.state = RecognizerState()

    # ------------------------------------------------------------------ one step

    def train_step(self, step: int) -> dict[str, float]:
        tc, acc = self.train_cfg, self.accelerator
        lr = self.scheduler.get_last_lr()[0]  # the rate this step trains with
        self.model.train()
        total = 0.0
        for micro in range(tc.grad_accum):
            m = step * tc.grad_accum + micro
            sel = torch.from_numpy(self.batches.batch(step, m))
            gen = self.order.generator(m)
            if self.cfg.recognizer.classical:
                xb = ClassicalAugment(self.classical, generator=gen, zero_row=self.zero_row, noise=self.noise,
                                      dynamic_range_db=self.dynamic_range_db)(self.x[sel], self.labels[sel])
            else:
                xb = TimeAugment(self.cfg.augment, generator=gen)(self.x[sel])
            xb = random_blur(xb, self.blur, generator=gen).to(acc.device)
            ce = F.cross_entropy(self.model(xb).float(), self.labels[sel].to(acc.device),
                                 label_smoothing=tc.label_smoothing, reduction="none")
            w = torch.where(torch.from_numpy(self.synthetic[sel.numpy()]), tc.synthetic_weight, 1.0).to(ce)
            loss = (w * ce).mean() / tc.grad_accum
            if not self.all_finite(loss):
                return self.non_finite(step)
            with acc.no_sync(self.model) if micro < tc.grad_accum - 1 else nullcontext():
                acc.backward(loss)
            total += loss.item()
        if tc.grad_clip is not None:
            acc.clip_grad_norm_(self.model.parameters(), tc.grad_clip)
        self.optimizer.step()
        if self.ema is not None:
            self.ema.step(self.unwrapped.parameters())
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return {"loss": total, "lr": lr}

    def after_step(self, step: int) -> dict[str, float]:
        """At every checkpoint step of the schedule (not at a stop): the selection accuracy of the weights that
        would be kept, and those weights when they are the best so far (ties go to the later step; with nothing to
        select on the latest weights are the best)."""
        done, tc = step + 1, self.train_cfg
        if done % tc.checkpoint_every and done != tc.steps:
            return {}
        with self.ema_weights() as net:
            acc = accuracy(net, self.x, self.labels, self.held, self.accelerator)
        if acc is None or acc >= self.state.best_accuracy:
            self.state.best_accuracy, self.state.best_step = (acc if acc is not None else -1.0), done
            self.best_state = self._kept_state()
        return {} if acc is None else {"accuracy": acc}

    def _kept_state(self) -> dict[str, torch.Tensor]:
        with self.ema_weights() as net:
            return {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}

    # ------------------------------------------------------------------ checkpoints, final

    def checkpoint_contents(self) -> CheckpointContents:
        tensors = {} if self.best_state is None else {"best": self.best_state}
        return CheckpointContents(tensors=tensors, identity={"role": self.role, "seed": self.seed})

    def restore(self, checkpoint: ckpt.Checkpoint) -> None:
        if "role" not in checkpoint.state:
            raise MdaugError(f"{checkpoint.path} is not a recogniser checkpoint; resume a train-recognizer run")
        if checkpoint.state["role"] != self.role:
            raise MdaugError(f"{checkpoint.path} belongs to the '{checkpoint.state['role']}' recogniser, not "
                             f"'{self.role}'; resume with the same --role")
        self.best_state = checkpoint.tensors.get("best")

    def write_final(self) -> Path:
        """final/: the best weights on the selection rows, and a card with the samples they were fitted and selected
        on and their accuracy on the test split (reported only)."""
        net, ds, st = self.unwrapped, self.data.dataset, self.state
        net.load_state_dict(self.best_state)
        test_acc = accuracy(net, self.x, self.labels, self.data.indices("test"), self.accelerator)
        fit_ids = [ds.ids[i] for i in self.fit]
        card = RecognizerCard(
            role=self.role, seed=self.seed, class_names=list(ds.class_names), data_fingerprint=ds.fingerprint(),
            data_source=self.data.source, input_shape=list(ds.x.shape[1:]), steps=self.train_cfg.steps,
            best_step=st.best_step, selection=self.selection,
            selection_accuracy=st.best_accuracy if st.best_accuracy >= 0 else None,
            selection_ids=[ds.ids[i] for i in self.held], train_count=len(fit_ids),
            train_ids_sha256=_hash_ids(fit_ids), train_ids=fit_ids, test_accuracy=test_acc, init=self.init,
            test_accuracy_note="on the dataset's test split: reported only, never used to train or select")
        final = write_final(self.run, lambda folder: net.save_pretrained(folder, safe_serialization=True), card)
        if self.console is not None:
            co = "-" if card.selection_accuracy is None else f"{card.selection_accuracy:.3f}"
            tst = "-" if test_acc is None else f"{test_acc:.3f}"
            self.console.print(f"recogniser ({self.role}): {self.selection} accuracy {co} at step {st.best_step}, "
                               f"test {tst} -> {final}")
        return final

    def train(self, stop_after: int | None = None) -> Path | None:
        return self.run_loop(f"recogniser ({self.role})", ("loss",), stop_after)


def train_recognizer(cfg: Config, out: Path, *, role: str = "eval", resume: str | None = None,
                     console: Console | None = None, data: RunData | None = None,
                     carve_pool: np.ndarray | None = None, stop_after: int | None = None) -> Path | None:
    """Train the `role` recogniser on the training split (minus its carve-out) and return `out/final` (None when
    stopped early by `stop_after`).

    `resume` is None (a fresh run into an empty `out`), 'latest' or a checkpoint folder; a resumed run
    continues exactly as the uninterrupted one would have (same batches, augmentations, dropout and losses).
    """
    return RecognizerRecipe(cfg, out, role=role, resume=resume, console=console, data=data,
                            carve_pool=carve_pool).train(stop_after)


__all__ = ["RecognizerRecipe", "accuracy", "carve_out", "classical_augmentation", "held_count", "role_blur",
           "role_seed", "selection_rows", "train_recognizer"]
