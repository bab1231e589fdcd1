"""One (budget, repeat) of the utility study: its config, its generative models (trained on the budget's real
samples only, or reused when they saw exactly those), its synthetic samples and its three recognisers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from mdaug import seeds
from mdaug.config import Config, config_dict, config_from_dict
from mdaug.errors import MdaugError
from mdaug.evaluation.records import UtilityRecord
from mdaug.files import copy_tree_atomic
from mdaug.runs.layout import CHECKPOINTS, final_dir, run_finished
from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer, load_stage2, stage1_data
from mdaug.runs.run_data import RunData, ids_digest, load_run_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import carve_out, held_count, role_seed, train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.steps import train_once
from mdaug.workflows.utility.recognisers import same_recogniser, user_recipe
from mdaug.workflows.utility.synthetic import MODES, synthetic_samples, with_synthetic


def budget_name(k: int | str) -> str:
    return "all" if k == "all" else f"{int(k)}"


def budget_config(cfg: Config, k: int | str, repeat: int) -> Config:
    """The config of one (budget, repeat): the budget on the split, and other seeds per repeat for the budget
    draw and every model (seed + seeds.UTILITY_REPEAT x repeat)."""
    d = config_dict(cfg)
    d["split"]["train_per_class"] = None if k == "all" else int(k)
    d["split"]["budget_seed"] = repeat
    for section in ("ae_train", "ldm_train", "prior_train", "recognizer_train"):
        d[section]["seed"] = int(d[section]["seed"]) + seeds.UTILITY_REPEAT * repeat
    return config_from_dict(d, f"utility budget {budget_name(k)}, repeat {repeat}")


def fit_batches(cfg: Config, counts: np.ndarray) -> Config:
    """Batch sizes no larger than what a small budget can fill: the real training samples for the
    generative models and, for the recognisers, what is left of them after the per-class carve-out."""
    n = int(counts.sum())
    held = sum(held_count(int(m), cfg.recognizer.val_fraction) for m in counts)
    d = config_dict(cfg)
    for section, limit in (("ae_train", n), ("ldm_train", n), ("prior_train", n), ("recognizer_train", n - held)):
        floor = 2 if section == "recognizer_train" else 1  # BatchNorm needs two samples
        d[section]["batch_size"] = max(floor, min(int(d[section]["batch_size"]), limit))
    return config_from_dict(d, "utility batch sizes")


def generative_models(c: Config, folder: Path, budget_data: RunData, k: int | str, *, reuse: tuple[Path, Path] | None,
                      console: Console | None) -> tuple[Path, Path, RunData]:
    """(stage-1 run, stage-2 run, the real data they saw) of a budget: `reuse` when it saw exactly the budget's
    real training samples (checked), else trained here on them."""
    kind = c.utility.generator
    if reuse is not None:
        ae, s2_dir = Path(reuse[0]), Path(reuse[1])
        real = stage1_data(load_pretrained_autoencoder(ae))
        if real.split.ids["train"] != budget_data.split.ids["train"]:
            raise MdaugError(f"{ae} was trained on other real samples than budget {budget_name(k)}; it cannot be "
                             "reused")
        if load_stage2(s2_dir).kind.name != kind:
            raise MdaugError(f"{s2_dir} is not a {kind} model (utility.generator)")
        if console:
            console.print(f"  stage 1 and 2: reusing {ae} and {s2_dir} (trained on exactly these real samples)")
        return ae, s2_dir, real
    ae, s2_dir = folder / "ae", folder / kind
    train_once(ae, lambda r: train_autoencoder(c, ae, resume=r), console, f"stage 1 ({c.ae.family})")
    train_once(s2_dir, lambda r: train_stage2(c, s2_dir, kind, autoencoder=final_dir(ae), resume=r), console,
               f"stage 2 ({kind})")
    return ae, s2_dir, stage1_data(load_pretrained_autoencoder(ae))


def _train_recogniser(rc: Config, rec_dir: Path, data: RunData, pool: np.ndarray | None, console: Console | None,
                      what: str) -> None:
    train_once(rec_dir, lambda r: train_recognizer(rc, rec_dir, role="eval", resume=r, data=data, carve_pool=pool),
               console, what)


def train_recognisers(c: Config, folder: Path, real: RunData, x_syn: np.ndarray, labels: np.ndarray,
                      record: UtilityRecord, *, real_recogniser: Path | None, console: Console | None) -> None:
    """A recogniser per training set (MODES), each tested on the real test split; their accuracies and the real
    samples each saw go into `record`."""
    for mode in MODES:
        rec_dir = folder / f"recognizer-{mode.replace('+', '-')}"
        data, pool = with_synthetic(real, x_syn, labels, mode)
        fit, held = carve_out(data, c.recognizer.val_fraction, role_seed(c, "eval"), pool)  # what training draws
        rc = user_recipe(c, len(fit))
        if mode == "real" and real_recogniser is not None and not run_finished(rec_dir):
            if same_recogniser(Path(real_recogniser), rc, [data.dataset.ids[i] for i in fit],
                               [data.dataset.ids[i] for i in held]):
                copy_tree_atomic(real_recogniser, rec_dir, skip=(CHECKPOINTS,))
                if console:
                    console.print(f"  recogniser on real: the same training as {real_recogniser}; copied, not redone")
        _train_recogniser(rc, rec_dir, data, pool, console, f"recogniser on {mode}")
        _, card = load_recognizer(rec_dir)
        seen = [i for i in card.train_ids + card.carve_out_ids if not i.startswith("synthetic/")]
        record.accuracy[mode] = float(card.test_accuracy)
        record.real_files_seen[f"recognizer {mode}"] = ids_digest(seen) if seen else None


def run_budget(cfg: Config, folder: Path, k: int | str, repeat: int, *, console: Console | None = None,
               reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None,
               augmented: Path | None = None) -> UtilityRecord:
    """One (budget, repeat): stage 1, stage 2, synthetic samples, three recognisers. Returns its record.
    `reuse`: finished (stage-1 run, stage-2 run) to use instead of training, when they saw exactly this
    budget's real training samples (checked). `real_recogniser`: a finished recogniser run copied in as the
    real-only one when it was trained exactly as that one would be (checked; e.g. the pipeline's evaluation
    recogniser at budget 'all', repeat 0), else ignored. `augmented`: an exported augmented dataset whose
    samples are taken as this repeat's synthetic ones when they are exactly those (see exported_samples), so
    the utility table measures the very dataset handed to the user and they are not drawn twice."""
    c = budget_config(cfg, k, repeat)
    budget_data = load_run_data(c)
    c = fit_batches(c, np.bincount(budget_data.dataset.labels[budget_data.indices("train")],
                                   minlength=len(budget_data.dataset.class_names)))
    ae, s2_dir, real = generative_models(c, folder, budget_data, k, reuse=reuse, console=console)
    folder.mkdir(parents=True, exist_ok=True)
    x_syn, labels = synthetic_samples(folder, s2_dir, len(real.dataset.class_names), cfg.utility.synthetic_per_class,
                                      cfg.seed, repeat, augmented=augmented, console=console)
    seen = ids_digest(real.split.ids["train"])
    record = UtilityRecord(budget=budget_name(k), repeat=repeat, real_train=len(real.split.ids["train"]),
                           synthetic=int(len(labels)), real_files_seen={"stage1": seen, "stage2": seen}, accuracy={})
    train_recognisers(c, folder, real, x_syn, labels, record, real_recogniser=real_recogniser, console=console)
    if console:
        acc = record.accuracy
        console.print(f"  budget {budget_name(k)}, repeat {repeat}: real {acc['real']:.3f}, real+synthetic "
                      f"{acc['real+synthetic']:.3f}, synthetic only {acc['synthetic']:.3f}")
    return record


__all__ = ["budget_config", "budget_name", "fit_batches", "run_budget"]
