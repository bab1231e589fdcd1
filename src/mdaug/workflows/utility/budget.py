"""One (budget, repeat) of the utility study: its config, its generative models (trained on the budget's real
samples only, or reused when they saw exactly those), and its recognisers, one per arm, every one picked on the
validation split and tested on the test split:

- real: the plain recipe on the real training samples (also the filter of the strategies' pools);
- real+classical: with the classical augmentation (the baseline a generative arm has to beat);
- real+classical+synthetic: with a strategy's pool too, for every strategy; the one best on validation is the arm;
- synthetic: as many samples from noise as real ones, alone (train synthetic, test real: the generator's own
  knowledge of each class, whatever strategy was chosen), at each guidance of utility.tstr_guidance, the best on
  validation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from rich.console import Console

from mdaug import seeds
from mdaug.config import Config, StrategyConfig, config_dict, config_from_dict, tstr_strategies
from mdaug.data.transforms import zero_row_of
from mdaug.errors import MdaugError
from mdaug.evaluation.records import Candidate, UtilityRecord
from mdaug.files import copy_tree_atomic
from mdaug.runs.layout import CHECKPOINTS, final_dir, run_finished
from mdaug.runs.loading import Stage2Model, load_pretrained_autoencoder, load_recognizer, load_stage2, stage1_data
from mdaug.runs.run_data import RunData, ids_digest, load_run_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import role_seed, selection_rows, train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.pools import draw_pool
from mdaug.workflows.steps import train_once
from mdaug.workflows.utility.recognisers import same_recogniser, user_recipe
from mdaug.workflows.utility.synthetic import cached_pool, with_synthetic


def budget_name(k: int | str) -> str:
    return "all" if k == "all" else f"{int(k)}"


def budget_config(cfg: Config, k: int | str, repeat: int) -> Config:
    """The config of one (budget, repeat): the budget on the training and validation splits, and other seeds per
    repeat for the budget draw and every model (seed + seeds.UTILITY_REPEAT x repeat)."""
    d = config_dict(cfg)
    d["split"]["train_per_class"] = None if k == "all" else int(k)
    d["split"]["val_per_class"] = None if k == "all" else int(k)
    d["split"]["budget_seed"] = repeat
    for section in ("ae_train", "ldm_train", "prior_train", "recognizer_train"):
        d[section]["seed"] = int(d[section]["seed"]) + seeds.UTILITY_REPEAT * repeat
    return config_from_dict(d, f"utility budget {budget_name(k)}, repeat {repeat}")


def fit_batches(cfg: Config, counts: np.ndarray) -> Config:
    """Batch sizes no larger than what a small budget can fill (the real training samples)."""
    n = int(counts.sum())
    d = config_dict(cfg)
    for section in ("ae_train", "ldm_train", "prior_train", "recognizer_train"):
        floor = 2 if section == "recognizer_train" else 1  # BatchNorm needs two samples
        d[section]["batch_size"] = max(floor, min(int(d[section]["batch_size"]), n))
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


def mirror_not_allowed(c: Config, strategies: tuple[StrategyConfig, ...]) -> set[str]:
    """The strategies to leave out because they mirror the Doppler axis and the labels are not direction-free (the
    mirror swaps approaching and receding); an error when that leaves none."""
    if c.data.labels_direction_free():
        return set()
    skip = {s.name for s in strategies if s.mirror > 0}
    if skip and len(skip) == len(strategies):
        raise MdaugError("every utility strategy mirrors the Doppler axis, but the labels are not direction-free "
                         "(data.direction_free); set it for identity labels, or add a strategy without mirror")
    return skip


def _recogniser(rc: Config, rec_dir: Path, data: RunData, console: Console | None, what: str) -> tuple[float, float]:
    """Train (or reuse) a recogniser; its (validation, test) accuracy."""
    train_once(rec_dir, lambda r: train_recognizer(rc, rec_dir, role="eval", resume=r, data=data), console, what)
    _, card = load_recognizer(rec_dir)
    return float(card.selection_accuracy or 0.0), float(card.test_accuracy)


class Budget:
    """The recognisers of one (budget, repeat), on its real data and its generative models."""

    def __init__(self, c: Config, folder: Path, real: RunData, s2_dir: Path, repeat: int,
                 console: Console | None) -> None:
        self.c, self.folder, self.real, self.s2_dir, self.repeat, self.con = c, folder, real, s2_dir, repeat, console
        self.fit, self.val, _ = selection_rows(real, c, role_seed(c, "eval"))
        self.record = UtilityRecord(budget="", repeat=repeat, real_train=len(real.split.ids["train"]),
                                    real_val=len(self.val), synthetic=0, strategy="", accuracy={}, val_accuracy={},
                                    candidates=[], real_files_seen={})

    def real_arms(self, real_recogniser: Path | None) -> None:
        """The real and real+classical arms."""
        for arm, classical in (("real", False), ("real+classical", True)):
            rec_dir = self.folder / f"recognizer-{arm.replace('+', '-')}"
            rc = user_recipe(self.c, len(self.fit), classical=classical)
            if arm == "real" and real_recogniser is not None and not run_finished(rec_dir):
                ids = self.real.dataset.ids
                if same_recogniser(Path(real_recogniser), rc, [ids[i] for i in self.fit], [ids[i] for i in self.val]):
                    copy_tree_atomic(real_recogniser, rec_dir, skip=(CHECKPOINTS,))
                    if self.con:
                        self.con.print(f"  recogniser on real: the same training as {real_recogniser}; copied")
            self._arm(arm, rc, self.real, rec_dir)

    def _arm(self, arm: str, rc: Config, data: RunData, rec_dir: Path) -> tuple[float, float]:
        val, test = _recogniser(rc, rec_dir, data, self.con, f"recogniser on {arm}")
        self._record_arm(arm, val, test, rec_dir)
        return val, test

    def _record_arm(self, arm: str, val: float, test: float, rec_dir: Path) -> None:
        """The arm's accuracies, and which real samples its recogniser saw."""
        self.record.accuracy[arm], self.record.val_accuracy[arm] = test, val
        _, card = load_recognizer(rec_dir)
        seen = [i for i in card.train_ids + card.selection_ids if not i.startswith("synthetic/")]
        self.record.real_files_seen[f"recognizer {arm}"] = ids_digest(seen) if seen else None

    def candidates(self, strategies: tuple[StrategyConfig, ...], cap: int) -> None:
        """Every strategy's pool and recogniser; the best on validation becomes the generative arm. Then the
        synthetic-only arm."""
        s2 = load_stage2(self.s2_dir)
        filt, _ = load_recognizer(self.folder / "recognizer-real")
        train = self.real.indices("train")
        x_train, y_train = self.real.dataset.x[train], self.real.dataset.labels[train]
        zero_row = zero_row_of(self.real.dataset)
        pools = {}
        skip = mirror_not_allowed(self.c, strategies)
        if skip and self.con:
            self.con.print(f"  skipped, their Doppler mirror would change what the labels mean (data.direction_free "
                           f"is off): {', '.join(sorted(skip))}")
        for i, s in enumerate(strategies):
            if s.name in skip:
                continue
            seed = self.c.seed + seeds.UTILITY_SYNTHETIC * self.repeat + i
            pool = cached_pool(self.folder / f"pool-{s.name}.npz", lambda s=s, seed=seed: draw_pool(
                s2, s, x_train, y_train, cap=cap, seed=seed, recognizer=filt, zero_row=zero_row))
            pools[s.name] = pool
            data = with_synthetic(self.real, pool.x, pool.labels, "real+synthetic")
            rc = user_recipe(self.c, len(self.fit), classical=True, strategy=s)
            val, test = _recogniser(rc, self.folder / f"recognizer-{s.name}", data, self.con,
                                    f"recogniser on real+classical+synthetic ({s.name}, {len(pool.x)} samples)")
            self.record.candidates.append(Candidate(name=s.name, val_accuracy=val, test_accuracy=test,
                                                    pool=pool.counts))
        best = max(self.record.candidates, key=lambda cand: cand.val_accuracy)  # ties: the first listed
        self.record.strategy, pool = best.name, pools[best.name]
        self.record.synthetic = int(len(pool.x))
        self.record.accuracy["real+classical+synthetic"] = best.test_accuracy
        self.record.val_accuracy["real+classical+synthetic"] = best.val_accuracy
        self.synthetic_only(s2, x_train, y_train, cap)

    def synthetic_only(self, s2: Stage2Model, x_train: np.ndarray, y_train: np.ndarray, cap: int) -> None:
        """Train synthetic, test real (TSTR): what the generator alone knows of each class. As many samples per
        class as the class has real training samples (at most `cap`), from noise and unsifted, so that the figure
        measures the generator at the real arm's size, not a strategy's anchors, filter or pool size. One pool and
        recogniser per guidance of utility.tstr_guidance (the same seed, so they differ by the guidance only); the
        best on validation is the arm."""
        seed = self.c.seed + seeds.UTILITY_SYNTHETIC * self.repeat + seeds.UTILITY_TSTR
        tried = []
        for s in tstr_strategies(self.c.utility.tstr_guidance, s2.default_settings().guidance_scale):
            pool = cached_pool(self.folder / f"{s.name}-pool.npz", lambda s=s: draw_pool(
                s2, s, x_train, y_train, cap=cap, seed=seed))
            data = with_synthetic(self.real, pool.x, pool.labels, "synthetic")
            val, test = _recogniser(user_recipe(self.c, len(pool.x)), self.folder / f"recognizer-{s.name}", data,
                                    self.con, f"recogniser on synthetic (guidance {_guidance(s2, s):g}, "
                                              f"{len(pool.x)} samples)")
            tried.append((val, test, s, len(pool.x)))
        val, test, s, n = max(tried, key=lambda t: t[0])  # ties: the first listed
        self.record.tstr_samples, self.record.tstr_guidance = n, _guidance(s2, s)
        self.record.tstr_floor_noise_db = s2.autoencoder.texture_db(s.texture)
        self.record.tstr_candidates = {f"{_guidance(s2, t[2]):g}": {"val_accuracy": t[0], "test_accuracy": t[1]}
                                       for t in tried}
        self._record_arm("synthetic", val, test, self.folder / f"recognizer-{s.name}")


def _guidance(s2: Stage2Model, s: StrategyConfig) -> float:
    return float(s2.default_settings().guidance_scale if s.guidance_scale is None else s.guidance_scale)


def run_budget(cfg: Config, folder: Path, k: int | str, repeat: int, *, console: Console | None = None,
               reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None) -> UtilityRecord:
    """One (budget, repeat): stage 1, stage 2, the arms' recognisers. Returns its record. `reuse`: finished
    (stage-1 run, stage-2 run) to use instead of training, when they saw exactly this budget's real training
    samples (checked). `real_recogniser`: a finished recogniser run copied in as the real-only one when it was
    trained exactly as that one would be (checked; e.g. the pipeline's evaluation recogniser), else ignored."""
    c = budget_config(cfg, k, repeat)
    budget_data = load_run_data(c)
    c = fit_batches(c, np.bincount(budget_data.dataset.labels[budget_data.indices("train")],
                                   minlength=len(budget_data.dataset.class_names)))
    ae, s2_dir, real = generative_models(c, folder, budget_data, k, reuse=reuse, console=console)
    folder.mkdir(parents=True, exist_ok=True)
    b = Budget(c, folder, real, s2_dir, repeat, console)
    b.record.budget = budget_name(k)
    seen = ids_digest(real.split.ids["train"])
    b.record.real_files_seen |= {"stage1": seen, "stage2": seen}
    b.real_arms(real_recogniser)
    b.candidates(cfg.utility.strategies, cfg.utility.max_synthetic_per_class)
    if console:
        acc = b.record.accuracy
        console.print(f"  budget {budget_name(k)}, repeat {repeat}: real {acc['real']:.3f}, +classical "
                      f"{acc['real+classical']:.3f}, +synthetic ({b.record.strategy}) "
                      f"{acc['real+classical+synthetic']:.3f}, synthetic only {acc['synthetic']:.3f}")
    return b.record


__all__ = ["budget_config", "budget_name", "fit_batches", "mirror_not_allowed", "run_budget"]
