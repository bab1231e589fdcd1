"""The recogniser's training recipe: setup -> train -> save.

Two recognisers are trained on the same training split: role 'loss' supplies the features of the perceptual
loss, role 'eval' judges the generated data later. They use different seeds (eval: recognizer_train.seed,
loss: seed + 1000) and each holds back its own carve-out of the training split to pick its best step, so the
network that shapes the autoencoder never judges it. The dataset's val and test splits are never trained or
selected on; the test accuracy is only reported in final/mdaug.json.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.utils import set_seed
from rich.console import Console
from torch.utils.tensorboard import SummaryWriter
from tqdm.auto import tqdm

from mdaug.config import Config, config_dict, save_config
from mdaug.data.augment import TimeAugment, random_blur
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text, ensure_empty_dir, free_path
from mdaug.models import Recognizer, load_model
from mdaug.training import checkpoint as ckpts
from mdaug.training.batches import BatchOrder
from mdaug.training.common import (LossLog, check_resumable, ema_load, ema_tensors, load_state_strict, make_accelerator,
                                   make_ema,
                                   make_optimizer, make_schedule)
from mdaug.training.data import RunData, check_run_data, load_run_data, write_run_data

ROLE_SEED_OFFSET = {"eval": 0, "loss": 1000}


def role_seed(cfg: Config, role: str) -> int:
    """The seed of a role: recognizer_train.seed for 'eval', + 1000 for 'loss'."""
    if role not in ROLE_SEED_OFFSET:
        raise MdaugError(f"unknown recogniser role '{role}'; use 'eval' or 'loss'")
    return cfg.recognizer_train.seed + ROLE_SEED_OFFSET[role]


def held_count(members: int, fraction: float) -> int:
    """How many of a class's `members` training samples the carve-out holds back: round(fraction * members),
    at least one when fraction > 0, never the class's last one."""
    return max(min(max(round(fraction * members), 1 if fraction > 0 else 0), members - 1), 0)


def carve_out(data: RunData, fraction: float, seed: int, pool: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    correct = 0
    for start in range(0, len(idx), batch_size):
        sel = torch.from_numpy(idx[start:start + batch_size])
        with accelerator.autocast():
            logits = model(x[sel].to(accelerator.device))
        correct += int((logits.argmax(1).cpu() == labels[sel]).sum())
    model.train(was_training)
    return correct / len(idx)


def _hash_ids(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()


def train_recognizer(cfg: Config, out: Path, *, role: str = "eval", resume: str | None = None,
                     console: Console | None = None, data: RunData | None = None,
                     carve_pool: np.ndarray | None = None) -> Path:
    """Train the `role` recogniser on the training split (minus its carve-out) and return `out/final`.

    `resume` is None (a fresh run into an empty `out`), 'latest' or a checkpoint folder; a resumed run
    continues exactly as the uninterrupted one would have (same batches, augmentations, dropout and losses).
    """
    # ------------------------------------------------------------------ setup
    out, tc = Path(out), cfg.recognizer_train
    seed = role_seed(cfg, role)
    if tc.mixed_precision == "fp16" and not torch.cuda.is_available():
        raise MdaugError("recognizer_train.mixed_precision=fp16 needs a GPU; use 'no' or 'bf16' on the CPU")
    accelerator = make_accelerator(tc.mixed_precision)
    main, rank = accelerator.is_main_process, accelerator.process_index
    ckpt_path = ckpts.resolve_resume(out, resume)
    ckpt = ckpts.load_checkpoint(ckpt_path) if ckpt_path is not None else None
    if ckpt is None:
        ensure_empty_dir(out, create=False)  # before the data, which may take minutes to simulate
    data = data or load_run_data(cfg, console)
    if ckpt is None:
        accelerator.wait_for_everyone()  # every process checked before the main one writes anything
        if main:
            out.mkdir(parents=True, exist_ok=True)
            save_config(cfg, out / "config.yaml")
            write_run_data(data, out)
    else:
        if "role" not in ckpt.state:
            raise MdaugError(f"{ckpt.path} is not a recogniser checkpoint; resume a train-recognizer run")
        if ckpt.state["role"] != role:
            raise MdaugError(f"{ckpt.path} belongs to the '{ckpt.state['role']}' recogniser, not '{role}'; "
                             "resume with the same --role")
        check_resumable(ckpt.state.get("config", {}), cfg, "recognizer_train", out)
        check_run_data(data, out)

    ds = data.dataset
    fit, held = carve_out(data, cfg.recognizer.val_fraction, seed, carve_pool)
    try:
        order = BatchOrder(fit, tc.batch_size, seed=seed, rank=rank, world=accelerator.num_processes)
    except ValueError as e:
        raise MdaugError(f"recogniser: {e} (recognizer_train.batch_size)") from None
    blur = cfg.recognizer.blur_max if role == "eval" else 0.0  # the perceptual loss must see blur as a change
    x = torch.from_numpy(ds.x)  # (n, channels, doppler, time), kept on the CPU: batches move to the device
    labels = torch.from_numpy(ds.labels)

    smallest = min(ds.x.shape[2:])
    if smallest < 2 ** len(cfg.recognizer.channels):
        raise MdaugError(f"recognizer.channels has {len(cfg.recognizer.channels)} stages, each halving both axes, but "
                         f"the spectrograms are {ds.x.shape[2]}x{ds.x.shape[3]}: use at most "
                         f"{max(int(np.log2(smallest)), 1)} stages or a larger data.size")
    set_seed(seed)
    model = Recognizer(in_channels=data.channels, num_classes=len(ds.class_names),
                       channels=tuple(cfg.recognizer.channels), dropout=cfg.recognizer.dropout, role=role)
    optimizer = make_optimizer(model.parameters(), tc)
    scheduler = make_schedule(optimizer, tc)
    ema = make_ema(model, tc.ema_decay, accelerator.device)
    start, best_acc, best_step, best_state = 0, -1.0, 0, None
    if ckpt is not None:
        load_state_strict(model, ckpt.tensors["model"], "recogniser")
        best_state = ckpt.tensors["best"]
        best_acc, best_step = float(ckpt.state["best_accuracy"]), int(ckpt.state["best_step"])
        start = ckpt.step
        if ema is not None:
            ema_load(ema, model, ckpt.tensors["ema"], start)
    model, optimizer = accelerator.prepare(model, optimizer)
    if ckpt is not None:
        optimizer.load_state_dict(ckpt.objects["optimizer"])
        scheduler.load_state_dict(ckpt.objects["scheduler"])
        if accelerator.scaler is not None and ckpt.objects.get("scaler"):
            accelerator.scaler.load_state_dict(ckpt.objects["scaler"])
        rng = ckpt.rng(rank)
        if rng is None:
            raise MdaugError(f"{ckpt.path} has no RNG state for process {rank}; resume with as many processes as "
                             "it was saved with")
        ckpts.set_rng_state(rng)
    net: Recognizer = accelerator.unwrap_model(model)

    def evaluate() -> float | None:
        """Carve-out accuracy of the weights that would be kept (the EMA ones when EMA is on)."""
        if ema is None:
            return accuracy(net, x, labels, held, accelerator)
        ema.store(net.parameters())
        ema.copy_to(net.parameters())
        try:
            return accuracy(net, x, labels, held, accelerator)
        finally:
            ema.restore(net.parameters())

    def kept_state() -> dict[str, torch.Tensor]:
        state = {k: v.detach().cpu().clone() for k, v in net.state_dict().items()}
        if ema is not None:
            state |= {k: v.detach().cpu().clone() for k, v in ema_tensors(ema, net).items()}
        return state

    def save_checkpoint(step: int) -> None:
        root = out / "checkpoints"
        tmp = ckpts.begin(root, step) if main else None
        accelerator.wait_for_everyone()
        tmp = tmp or ckpts.step_dir(root, step).with_name(f"{ckpts.step_dir(root, step).name}.tmp")
        ckpts.write_rng(tmp, rank)
        accelerator.wait_for_everyone()
        if main:
            tensors = {"model": net.state_dict(), "best": best_state}
            if ema is not None:
                tensors["ema"] = ema_tensors(ema, net)
            objects = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                       "scaler": accelerator.scaler.state_dict() if accelerator.scaler is not None else None}
            state = {"role": role, "seed": seed, "best_accuracy": best_acc, "best_step": best_step,
                     "config": config_dict(cfg)}
            ckpts.finish(tmp, step, tensors=tensors, objects=objects, state=state, keep=tc.keep_checkpoints)
        accelerator.wait_for_everyone()

    # ------------------------------------------------------------------ train
    log = LossLog(out / "losses.jsonl", start if ckpt is not None else None) if main else None
    writer = SummaryWriter(str(out / "logs"), purge_step=start + 1 if ckpt is not None else None) if main else None
    bar = tqdm(total=tc.steps, initial=start, desc=f"recogniser ({role})", disable=console is None or not main,
               dynamic_ncols=True)
    last_acc = best_acc if best_acc >= 0 else None

    def close_logs() -> None:
        bar.close()
        if log:
            log.close()
            writer.close()

    model.train()
    for step in range(start, tc.steps):
        done = step + 1
        lr = scheduler.get_last_lr()[0]
        total, bad = 0.0, False
        for micro in range(tc.grad_accum):
            m = step * tc.grad_accum + micro
            sel = torch.from_numpy(order.batch(m))
            gen = order.generator(m)
            xb = TimeAugment(cfg.augment, generator=gen)(x[sel])
            xb = random_blur(xb, blur, generator=gen).to(accelerator.device)
            loss = F.cross_entropy(model(xb).float(), labels[sel].to(accelerator.device),
                                   label_smoothing=tc.label_smoothing) / tc.grad_accum
            # every process takes the same decision, so none waits in a gradient all-reduce alone
            flag = torch.tensor([not torch.isfinite(loss).item()], device=accelerator.device)
            bad = bool(accelerator.gather(flag).any())
            if bad:
                break
            with accelerator.no_sync(model) if micro < tc.grad_accum - 1 else nullcontext():
                accelerator.backward(loss)
            total += loss.item()
        if bad and tc.on_nan == "stop":
            close_logs()
            last = ckpts.latest_checkpoint(out / "checkpoints")
            raise MdaugError(f"recogniser loss is NaN/inf at step {done}; the last good checkpoint is "
                             f"{last or 'none (no checkpoint yet)'}: resume from it with a lower lr, or set "
                             "recognizer_train.on_nan=skip")
        if not bad:
            if tc.grad_clip is not None:
                accelerator.clip_grad_norm_(model.parameters(), tc.grad_clip)
            optimizer.step()
            if ema is not None:
                ema.step(net.parameters())
        optimizer.zero_grad(set_to_none=True)
        scheduler.step()  # the schedule follows the step count, skipped batches included
        if log:
            log.write({"step": done, "loss": None, "lr": lr, "skipped": True} if bad else
                      {"step": done, "loss": total, "lr": lr})
            if not bad:
                writer.add_scalar("loss", total, done)
            writer.add_scalar("lr", lr, done)
        if done % tc.checkpoint_every == 0 or done == tc.steps:
            last_acc = evaluate()
            # without a carve-out, the latest weights are the best ones
            if last_acc is None or last_acc >= best_acc:  # ties go to the later step
                best_acc, best_step, best_state = (last_acc if last_acc is not None else -1.0), done, kept_state()
            if writer and last_acc is not None:
                writer.add_scalar("carve_out_accuracy", last_acc, done)
            save_checkpoint(done)
        bar.set_postfix(loss="skipped" if bad else f"{total:.3f}", acc="-" if last_acc is None else f"{last_acc:.2f}")
        bar.update(1)
    close_logs()

    # ------------------------------------------------------------------ save
    assert best_state is not None, "the last step always evaluates, and every checkpoint holds a best state"
    net.load_state_dict(best_state)
    test_acc = accuracy(net, x, labels, data.indices("test"), accelerator)
    final = out / "final"
    if main:
        fit_ids = [ds.ids[i] for i in fit]
        meta = {"kind": "recognizer", "role": role, "seed": seed, "class_names": list(ds.class_names),
                "data_fingerprint": ds.fingerprint(), "data_source": data.source, "input_shape": list(ds.x.shape[1:]),
                "steps": tc.steps, "best_step": best_step,
                "carve_out_accuracy": best_acc if best_acc >= 0 else None,
                "carve_out_fraction": cfg.recognizer.val_fraction,
                "carve_out_ids": [ds.ids[i] for i in held],
                "train_count": len(fit_ids), "train_ids_sha256": _hash_ids(fit_ids), "train_ids": fit_ids,
                "test_accuracy": test_acc,
                "test_accuracy_note": "on the dataset's test split: reported only, never used to train or select"}
        tmp = out / "final.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        net.save_pretrained(tmp, safe_serialization=True)
        atomic_write_text(tmp / "mdaug.json", json.dumps(meta, indent=1))
        if final.exists():  # a resumed run re-saved: keep the earlier result under another name
            final.rename(free_path(out / "final-replaced"))
        tmp.rename(final)
        if console is not None:
            acc = "-" if meta["carve_out_accuracy"] is None else f"{meta['carve_out_accuracy']:.3f}"
            tst = "-" if test_acc is None else f"{test_acc:.3f}"
            console.print(f"recogniser ({role}): carve-out accuracy {acc} at step {best_step}, test {tst} -> {final}")
    accelerator.wait_for_everyone()
    return final


def load_recognizer(folder: str | Path) -> tuple[Recognizer, dict[str, Any]]:
    """A trained recogniser (in eval mode) and its mdaug.json, from its final/ folder or its run folder."""
    folder = Path(folder)
    if not (folder / "config.json").exists() and (folder / "final" / "config.json").exists():
        folder = folder / "final"
    model = load_model(folder)
    if not isinstance(model, Recognizer):
        raise MdaugError(f"{folder} holds a {type(model).__name__}, not a recogniser; pass a train-recognizer output")
    try:
        meta = json.loads((folder / "mdaug.json").read_text())
    except OSError:
        raise MdaugError(f"{folder} has no readable mdaug.json; was it saved by train-recognizer?") from None
    except ValueError:
        raise MdaugError(f"{folder}/mdaug.json is corrupt; retrain the recogniser") from None
    if not isinstance(meta, dict) or "class_names" not in meta:
        raise MdaugError(f"{folder}/mdaug.json is not a recogniser record (no class_names); retrain the recogniser")
    model.eval()
    return model, meta
