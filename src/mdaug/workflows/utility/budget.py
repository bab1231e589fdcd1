"""One (budget, repeat) of the utility study: its config, its generative models (trained on the budget's real
samples only, or reused when they saw exactly those), and its recognisers, one per arm, every one picked on the
validation split and tested on the test split:

- real: the plain recipe on the real training samples (also the filter of the strategies' pools);
- real+classical: with the classical augmentation, one recogniser per lower-SNR dose of utility.snr_drop_db, the best
  on validation (a generative arm has to beat it);
- pretrained+classical: the same with the shipped pretrained recogniser fine-tuned (the outside knowledge a
  pretrained generator has, used directly; a generative arm has to beat it too);
- real+classical+synthetic: with a strategy's pool too, for every strategy; the one best on validation is the arm;
- synthetic: as many samples from noise as real ones, alone (train synthetic, test real: the generator's own
  knowledge of each class, whatever strategy was chosen), at each guidance of utility.tstr_guidance, the best on
  validation.

Then every arm on the subsets of the test split by condition: the recordings in conditions that their class's
training recordings lack, and the others (reported only: the test split never trains or chooses)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from mdaug import seeds
from mdaug.config import Config, StrategyConfig, config_dict, config_from_dict, tstr_strategies
from mdaug.data.coverage import UNSEEN_CONDITIONS, coverage, unseen_conditions
from mdaug.data.summary import coverage_figure
from mdaug.data.transforms import zero_row_of
from mdaug.errors import MdaugError
from mdaug.evaluation.conditions_control import Reader
from mdaug.evaluation.records import (
    ARM_TITLES,
    ARMS,
    CLASSICAL,
    PRETRAINED,
    REAL,
    SYNTHETIC_ONLY,
    WITH_SYNTHETIC,
    Candidate,
    UtilityRecord,
)
from mdaug.files import atomic_write_text, copy_tree_atomic
from mdaug.inference import in_batches
from mdaug.models import Recognizer
from mdaug.runs.layout import CHECKPOINTS, final_dir, run_finished
from mdaug.runs.loading import Stage2Model, load_pretrained_autoencoder, load_recognizer, load_stage2, stage1_data
from mdaug.runs.pretrained import fitting_shipped_recognizer
from mdaug.runs.run_data import RunData, ids_digest, load_run_data
from mdaug.training.autoencoder import train_autoencoder
from mdaug.training.recognizer import role_seed, selection_rows, train_recognizer
from mdaug.training.stage2 import train_stage2
from mdaug.workflows.pools import draw_pool
from mdaug.workflows.steps import train_once
from mdaug.workflows.utility.choice import best_on_validation
from mdaug.workflows.utility.recognisers import RecogniserStore, same_recogniser, shared_training, user_recipe
from mdaug.workflows.utility.synthetic import cached_pool, with_synthetic


def budget_name(budget: int | str) -> str:
    return str(budget)


TRAINED = ("ae_train", "ldm_train", "prior_train", "recognizer_train")
"""The training sections a study re-seeds per repeat and fits to its budget."""


def _checked(cfg: Config, what: str) -> Config:
    """A config built with model_copy, validated as one read from a file."""
    return config_from_dict(config_dict(cfg), what)


def budget_config(cfg: Config, budget: int | str, repeat: int) -> Config:
    """The config of one (budget, repeat): the budget on the training and validation splits (k samples, or 'Ns': the
    samples of N sessions, per class in each), and other seeds per repeat for the budget draw and every model (seed +
    seeds.UTILITY_REPEAT x repeat)."""
    sessions = int(str(budget)[:-1]) if str(budget).endswith("s") else None
    samples = None if budget == "all" or sessions is not None else int(budget)
    split = cfg.split.model_copy(update={"train_per_class": samples, "val_per_class": samples, "budget_seed": repeat,
                                         "train_sessions_per_class": sessions, "val_sessions_per_class": sessions})
    sections = {name: getattr(cfg, name).model_copy(update={"seed": getattr(cfg, name).seed + seeds.UTILITY_REPEAT
                                                              * repeat}) for name in TRAINED}
    return _checked(cfg.model_copy(update={"split": split, **sections}),
                    f"utility budget {budget_name(budget)}, repeat {repeat}")


def fit_batches(cfg: Config, counts: np.ndarray) -> Config:
    """Batch sizes no larger than what a small budget can fill (the real training samples); a recogniser's at least
    two, as BatchNorm needs."""
    n = int(counts.sum())
    fitted = {name: getattr(cfg, name).model_copy(update={"batch_size": max(
        2 if name == "recognizer_train" else 1, min(int(getattr(cfg, name).batch_size), n))}) for name in TRAINED}
    return _checked(cfg.model_copy(update=fitted), "utility batch sizes")


def generative_models(cfg: Config, folder: Path, budget_data: RunData, budget: int | str, *,
                      reuse: tuple[Path, Path] | None, console: Console | None) -> tuple[Path, Path, RunData]:
    """(stage-1 run, stage-2 run, the real data they saw) of a budget: `reuse` when it saw exactly the budget's
    real training samples (checked), else trained here on them."""
    kind = cfg.utility.generator
    if reuse is not None:
        ae, s2_dir = Path(reuse[0]), Path(reuse[1])
        real = stage1_data(load_pretrained_autoencoder(ae))
        if real.split.train != budget_data.split.train:
            raise MdaugError(f"{ae} was trained on other real samples than budget {budget_name(budget)}; it cannot be "
                             "reused")
        if load_stage2(s2_dir).kind.name != kind:
            raise MdaugError(f"{s2_dir} is not a {kind} model (utility.generator)")
        if console:
            console.print(f"  stage 1 and 2: reusing {ae} and {s2_dir} (trained on exactly these real samples)")
        return ae, s2_dir, real
    ae, s2_dir = folder / "ae", folder / kind
    train_once(ae, lambda r: train_autoencoder(cfg, ae, resume=r), console, f"stage 1 ({cfg.ae.family})")
    train_once(s2_dir, lambda r: train_stage2(cfg, s2_dir, kind, autoencoder=final_dir(ae), resume=r), console,
               f"stage 2 ({kind})")
    return ae, s2_dir, stage1_data(load_pretrained_autoencoder(ae))


UNMIRRORED = "-unmirrored"


def strategies_to_run(cfg: Config) -> tuple[tuple[StrategyConfig, ...], str | None]:
    """The utility strategies the labels allow, and a note when it is not utility.strategies as given. The Doppler
    mirror swaps approaching and receding, which keeps the label only when the labels are direction-free (people,
    not activities). When they are not known to be, the mirroring strategies are left out; when that would leave
    none (the quick preset's only strategy mirrors), each runs without its mirror, as NAME-unmirrored, so a user's
    folder goes through every preset with no option beyond --data."""
    strategies = tuple(cfg.utility.strategies)
    if cfg.data.labels_direction_free():
        return strategies, None
    skip = [s.name for s in strategies if s.mirror > 0]
    if not skip:
        return strategies, None
    kept = tuple(s for s in strategies if s.mirror == 0)
    why = "the labels are not known to be direction-free (data.direction_free; true when the classes are people)"
    if kept:
        return kept, f"left out, their Doppler mirror could change what the labels mean, as {why}: {', '.join(skip)}"
    kept = tuple(s.model_copy(update={"mirror": 0.0, "name": s.name + UNMIRRORED}) for s in strategies)
    return kept, (f"{', '.join(s.name for s in kept)}: without the Doppler mirror, as {why}; add "
                  "data.direction_free=true to the command to mirror")


def check_strategies(cfg: Config) -> None:
    """Refuse, before the first step, a plan whose every strategy will be left out: all that remain fill conditions
    and stage 2 takes none."""
    if not cfg.utility.generative:
        return
    strategies, _ = strategies_to_run(cfg)
    if cfg.ldm.conditions == [] and all(s.conditions == "fill" for s in strategies):
        raise MdaugError("every utility strategy that can run fills recording conditions, and stage 2 takes none "
                         "(ldm.conditions=[]): add ldm.conditions=auto to the command, or give utility.strategies "
                         "one without conditions: fill")


def _recogniser(rc: Config, rec_dir: Path, data: RunData, console: Console | None, what: str,
                store: RecogniserStore | None = None) -> tuple[float, float]:
    """Train (or reuse) a recogniser; its (validation, test) accuracy. `store`: recognisers of the real data shared
    with other studies: one trained exactly as this one is copied from it instead of trained, and one trained here is
    filed in it (only arms without synthetic data may pass one)."""
    shared_training(store, rc, rec_dir, data, lambda: train_once(
        rec_dir, lambda r: train_recognizer(rc, rec_dir, role="eval", resume=r, data=data), console, what), console)
    _, card = load_recognizer(rec_dir)
    if card.test_accuracy is None:
        raise MdaugError(f"{rec_dir}: no test accuracy (the test split is empty); the utility study needs held-out "
                         "recordings: more sessions per class, or split.test_fraction above 0")
    return float(card.selection_accuracy or 0.0), float(card.test_accuracy)


def classical_folder(dose: float) -> str:
    """The folder of the real + classical recogniser at a lower-SNR dose (dose 0: the name it always had)."""
    return "recognizer-real-classical" + (f"-snr{dose:g}" if dose > 0 else "")


class Budget:
    """The recognisers of one (budget, repeat), on its real data and its generative models."""

    def __init__(self, cfg: Config, folder: Path, real: RunData, s2_dir: Path | None, repeat: int,
                 console: Console | None, store: RecogniserStore | None = None) -> None:
        self.cfg, self.folder, self.real, self.s2_dir, self.repeat = cfg, folder, real, s2_dir, repeat
        self.con = console
        self.fit, self.val, _ = selection_rows(real, cfg, role_seed(cfg, "eval"))
        # the arms without synthetic data depend on nothing generative: shared with other studies through `store`
        self.store = store
        self.record = UtilityRecord(budget="", repeat=repeat, real_train=len(real.split.train),
                                    real_val=len(self.val), synthetic=0, strategy="", accuracy={}, val_accuracy={},
                                    candidates=[], real_files_seen={})
        self.arm_dirs: dict[str, Path] = {}
        self.dose_dirs: dict[str, Path] = {}
        self.dose = 0.0

    def real_arms(self, real_recogniser: Path | None) -> None:
        """The real arm; the real + classical arm, one recogniser per lower-SNR dose, the best on validation; and the
        pretrained recogniser's arm with that dose."""
        rec_dir, rc = self.folder / "recognizer-real", user_recipe(self.cfg, len(self.fit))
        if real_recogniser is not None and not run_finished(rec_dir):
            if same_recogniser(Path(real_recogniser), rc, *RecogniserStore.samples(rc, self.real)):
                copy_tree_atomic(real_recogniser, rec_dir, skip=(CHECKPOINTS,))
                if self.con:
                    self.con.print(f"  recogniser on real: the same training as {real_recogniser}; copied")
        self._arm(REAL, rc, self.real, rec_dir, self.store)
        tried, doses = [], self.cfg.utility.snr_drop_db
        if any(d > 0 for d in doses) and (self.real.channels != 1 or self.real.dataset.info.dynamic_range_db_mixed):
            doses = (0.0,)
            self._note("the lower SNR needs single-channel spectrograms of one dB display range: real + classical "
                       "without it")
        for dose in doses:
            self.dose_dirs[f"{dose:g}"] = self.folder / classical_folder(dose)
            rc = user_recipe(self.cfg, len(self.fit), classical=True, snr_drop_db=dose)
            what = "recogniser on real+classical" + (f" (SNR lowered by up to {dose:g} dB)" if dose > 0 else "")
            val, test = _recogniser(rc, self.folder / classical_folder(dose), self.real, self.con, what, self.store)
            self._note_copy(self.folder / classical_folder(dose))
            tried.append((val, test, dose))
        val, test, self.dose = best_on_validation(tried, lambda t: t[0])
        self.record.snr_drop_db = self.dose
        self.record.classical_candidates = {f"{d:g}": {"val_accuracy": v, "test_accuracy": t} for v, t, d in tried}
        self._record_arm(CLASSICAL, val, test, self.folder / classical_folder(self.dose))
        if not self.cfg.utility.pretrained:
            return
        rc = user_recipe(self.cfg, len(self.fit), classical=True, snr_drop_db=self.dose, init="pretrained")
        model = Recognizer(in_channels=self.real.channels, num_classes=len(self.real.dataset.class_names),
                           channels=tuple(rc.recognizer.channels))
        if fitting_shipped_recognizer(model, list(self.real.dataset.x.shape[1:])) is None:
            self._note("no shipped pretrained recogniser fits this data's size and recognizer.channels: its arm is "
                       "left out")
            return
        self._arm(PRETRAINED, rc, self.real, self.folder / self._dosed("recognizer-pretrained-classical"), self.store)

    def _note(self, text: str) -> None:
        """Say what was left out, in the console and in the record."""
        self.record.notes = (self.record.notes or []) + [text]
        if self.con:
            self.con.print(f"  {text}", highlight=False)

    def _note_copy(self, rec_dir: Path) -> None:
        """Say in the record when a recogniser was copied from the shared store rather than trained by this study
        (the console said so when it was copied)."""
        source = RecogniserStore.copied_from(rec_dir)
        if source is not None:
            self.record.notes = (self.record.notes or []) + [
                f"{rec_dir.name}: not trained here; the same training (recipe, seed, samples) as {source}, copied"]

    def _arm(self, arm: str, rc: Config, data: RunData, rec_dir: Path,
             store: RecogniserStore | None = None) -> tuple[float, float]:
        val, test = _recogniser(rc, rec_dir, data, self.con, f"recogniser on {arm}", store)
        self._note_copy(rec_dir)
        self._record_arm(arm, val, test, rec_dir)
        return val, test

    def _record_arm(self, arm: str, val: float, test: float, rec_dir: Path) -> None:
        """The arm's accuracies, and which real samples its recogniser saw."""
        self.record.accuracy[arm], self.record.val_accuracy[arm] = test, val
        self.arm_dirs[arm] = rec_dir
        _, card = load_recognizer(rec_dir)
        seen = [i for i in card.train_ids + card.selection_ids if not i.startswith("synthetic/")]
        self.record.real_files_seen[f"recognizer {arm}"] = ids_digest(seen) if seen else None

    def candidates(self, cap: int) -> None:
        """Every strategy's pool and recogniser; the best on validation becomes the generative arm. Then the
        synthetic-only arm."""
        stage2 = load_stage2(self.s2_dir)
        filt, _ = load_recognizer(self.folder / "recognizer-real")
        train = self.real.indices("train")
        x_train, y_train = self.real.dataset.x[train], self.real.dataset.labels[train]
        zero_row = zero_row_of(self.real.dataset)
        pools = {}
        strategies, note = strategies_to_run(self.cfg)
        if note:
            self._note(note)
        unfilled = set() if stage2.conditions else {s.name for s in strategies if s.conditions == "fill"}
        if unfilled:
            self._note(f"left out, stage 2 takes no recording conditions: {', '.join(sorted(unfilled))}")
            if len(unfilled) == len(strategies):
                raise MdaugError("every utility strategy fills conditions, and stage 2 was trained without them "
                                 "(ldm.conditions); add a strategy without conditions=fill")
        fill = any(strategy.conditions == "fill" for strategy in strategies) and bool(stage2.conditions)
        cond = self.real.conditions.subset(train) if fill else None  # the training recordings' only
        reader = Reader.of(self.real, train) if fill else None
        for i, strategy in enumerate(strategies):
            if strategy.name in unfilled:
                continue
            seed = self.cfg.seed + seeds.UTILITY_SYNTHETIC * self.repeat + i
            pool = cached_pool(self.folder / f"pool-{strategy.name}.npz", lambda strategy=strategy, seed=seed:
                draw_pool(stage2, strategy, x_train, y_train, cap=cap, seed=seed, recognizer=filt, zero_row=zero_row,
                conditions=cond, reader=reader))
            pools[strategy.name] = pool
            data = with_synthetic(self.real, pool.x, pool.labels, "real+synthetic")
            rc = user_recipe(self.cfg, len(self.fit), classical=True, strategy=strategy, snr_drop_db=self.dose)
            val, test = _recogniser(rc, self.folder / self._dosed(f"recognizer-{strategy.name}"), data, self.con,
                                    f"recogniser on real+classical+synthetic ({strategy.name}, {len(pool.x)} samples)")
            self.record.candidates.append(Candidate(name=strategy.name, val_accuracy=val, test_accuracy=test,
                                                    pool=pool.counts))
        best = best_on_validation(self.record.candidates, lambda cand: cand.val_accuracy)
        self.record.strategy, pool = best.name, pools[best.name]
        self.record.synthetic = int(len(pool.x))
        self._record_arm(WITH_SYNTHETIC, best.val_accuracy, best.test_accuracy,
                         self.folder / self._dosed(f"recognizer-{best.name}"))
        self.synthetic_only(stage2, x_train, y_train, cap)

    def _dosed(self, folder: str) -> str:
        """The folder of a recogniser with the classical augmentation at the chosen lower-SNR dose (none: the name it
        always had), so that a study continued with other doses never takes one trained at another."""
        return folder + (f"-snr{self.dose:g}" if self.dose > 0 else "")

    def synthetic_only(self, stage2: Stage2Model, x_train: np.ndarray, y_train: np.ndarray, cap: int) -> None:
        """Train synthetic, test real (TSTR): what the generator alone knows of each class. As many samples per
        class as the class has real training samples (at most `cap`), from noise and unsifted, so that the figure
        measures the generator at the real arm's size, not a strategy's anchors, filter or pool size. One pool and
        recogniser per guidance of utility.tstr_guidance (the same seed, so they differ by the guidance only); the
        best on validation is the arm."""
        seed = self.cfg.seed + seeds.UTILITY_SYNTHETIC * self.repeat + seeds.UTILITY_TSTR
        tried = []
        for strategy in tstr_strategies(self.cfg.utility.tstr_guidance, stage2.default_settings().guidance_scale):
            pool = cached_pool(self.folder / f"{strategy.name}-pool.npz", lambda strategy=strategy: draw_pool(
                stage2, strategy, x_train, y_train, cap=cap, seed=seed))
            data = with_synthetic(self.real, pool.x, pool.labels, "synthetic")
            guidance = _guidance(stage2, strategy)
            val, test = _recogniser(user_recipe(self.cfg, len(pool.x)), self.folder / f"recognizer-{strategy.name}",
                                    data, self.con, f"recogniser on synthetic (guidance {guidance:g}, {len(pool.x)} "
                                                    "samples)")
            tried.append((val, test, strategy, len(pool.x)))
        val, test, strategy, n = best_on_validation(tried, lambda t: t[0])
        self.record.tstr_samples, self.record.tstr_guidance = n, _guidance(stage2, strategy)
        self.record.tstr_floor_noise_db = stage2.autoencoder.texture_db(strategy.texture)
        self.record.tstr_candidates = {f"{_guidance(stage2, t[2]):g}": {"val_accuracy": t[0], "test_accuracy": t[1]}
                                       for t in tried}
        self._record_arm(SYNTHETIC_ONLY, val, test, self.folder / f"recognizer-{strategy.name}")


    def by_condition(self) -> None:
        """Every arm's accuracy on the subsets of the test split by condition (mdaug.data.coverage): the test
        recordings whose conditions their class's real training recordings of this budget lack, and the others."""
        data, test, train = self.real, self.real.indices("test"), self.real.indices("train")
        labels, n = data.dataset.labels[test], len(data.dataset.class_names)
        right = {name: test_correct(rec_dir, data) for name, rec_dir in self.arm_dirs.items()}
        self.record.by_class = {name: [float(r[labels == c].mean()) if (labels == c).any() else float("nan")
                                       for c in range(n)] for name, r in right.items()}
        if not data.conditions.compared():
            self._note("no conditions known or estimated for this data: no utility by condition")
            return
        cov = coverage(data.conditions, data.dataset.labels, data.dataset.class_names, train)
        coverage_figure(cov, self.folder / "coverage.png", "the budget's real training recordings per class and "
                        "condition")
        atomic_write_text(self.folder / "coverage.json", json.dumps(
            {"source": data.conditions.source, "bins": cov.bins, "counts": {n: c.tolist() for n, c in
                                                                            cov.counts.items()},
             "class_names": cov.class_names}, indent=1))
        unseen = unseen_conditions(data.conditions, data.dataset.labels, train, test)
        subsets = unseen.subsets()
        self.record.subsets = {k: int(v.sum()) for k, v in subsets.items()}
        self.record.by_condition, self.record.classical_by_condition = {}, {}
        for table, dirs in ((self.record.by_condition, self.arm_dirs),
                            (self.record.classical_by_condition, self.dose_dirs)):
            for name, rec_dir in dirs.items():
                correct = right[name] if table is self.record.by_condition else test_correct(rec_dir, data)
                table[name] = {k: float(correct[m].mean()) for k, m in subsets.items()}


@torch.no_grad()
def test_correct(rec_dir: Path, data: RunData, batch_size: int = 256) -> np.ndarray:
    """(test,) whether the recogniser of `rec_dir` names the class of each test spectrogram of `data`."""
    model, _ = load_recognizer(rec_dir)
    test = data.indices("test")
    pred = in_batches(lambda xb: model(xb).argmax(1), data.dataset.x[test], batch_size=batch_size).numpy()
    return pred == data.dataset.labels[test]


def _guidance(stage2: Stage2Model, strategy: StrategyConfig) -> float:
    own = strategy.guidance_scale
    return float(stage2.default_settings().guidance_scale if own is None else own)


def run_budget(cfg: Config, folder: Path, budget: int | str, repeat: int, *, console: Console | None = None,
               reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None,
               store: RecogniserStore | None = None) -> UtilityRecord:
    """One (budget, repeat): stage 1, stage 2, the arms' recognisers. Returns its record. `reuse`: finished
    (stage-1 run, stage-2 run) to use instead of training, when they saw exactly this budget's real training
    samples (checked). `real_recogniser`: a finished recogniser run copied in as the real-only one when it was
    trained exactly as that one would be (checked; e.g. the pipeline's evaluation recogniser), else ignored.
    `store`: recognisers shared with other studies, for the arms without synthetic data."""
    budget_cfg = budget_config(cfg, budget, repeat)
    budget_data = load_run_data(budget_cfg)
    notes = budget_data.conditions.notes  # read now: a conditions file that does not fit fails before any training
    budget_cfg = fit_batches(budget_cfg, np.bincount(budget_data.dataset.labels[budget_data.indices("train")],
                                   minlength=len(budget_data.dataset.class_names)))
    generative = cfg.utility.generative
    ae, s2_dir, real = (generative_models(budget_cfg, folder, budget_data, budget, reuse=reuse, console=console)
                        if generative else (None, None, budget_data))
    folder.mkdir(parents=True, exist_ok=True)
    trial = Budget(budget_cfg, folder, real, s2_dir, repeat, console, store)
    trial.record.budget = budget_name(budget)
    for note in notes:
        trial._note(f"conditions: {note}")
    if generative:
        seen = ids_digest(real.split.train)
        trial.record.real_files_seen |= {"stage1": seen, "stage2": seen}
    trial.real_arms(real_recogniser)
    if generative:
        trial.candidates(cfg.utility.max_synthetic_per_class)
    trial.by_condition()
    if console:
        acc, arms = trial.record.accuracy, trial.record.by_condition or {}
        unseen = (trial.record.subsets or {}).get(UNSEEN_CONDITIONS, 0)
        console.print(f"  budget {budget_name(budget)}, repeat {repeat}: " + ", ".join(
            f"{ARM_TITLES[a]} {acc[a]:.3f}" + (f" ({arms[a][UNSEEN_CONDITIONS]:.3f} on the {unseen} in unseen "
                                                f"conditions)" if unseen and a in arms else "")
            for a in ARMS if a in acc))
    return trial.record


__all__ = ["budget_config", "budget_name", "check_strategies", "classical_folder", "fit_batches",
           "run_budget", "strategies_to_run",
           "test_correct"]
