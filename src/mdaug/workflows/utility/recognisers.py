"""The utility study's recognisers stand for a user's recogniser: the plain recipe (no blur: blur is for the
evaluation recogniser, the judge), with or without the classical augmentation, and synthetic samples entering as a
strategy says. The pipeline's evaluation recogniser is taken as the real-only arm when it was trained exactly so."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

from rich.console import Console

from mdaug.config import Config, StrategyConfig, config_dict, saved_config
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text, copy_tree_atomic
from mdaug.runs.cards import RecognizerCard, read_card
from mdaug.runs.layout import CHECKPOINTS, final_dir, run_finished
from mdaug.runs.run_data import RunData
from mdaug.training.recognizer import role_seed, selection_rows

# What decides a recogniser's training, besides its data: two runs equal here and on the same samples train
# the same network (the recipe is deterministic on a given machine; the resume tests hold it bit-exact).
RECOGNISER_SECTIONS = ("seed", "data", "split", "augment", "classical", "recognizer", "recognizer_train")

COPIED_FROM = "copied-from.json"
"""Written into a recogniser run copied from a RecogniserStore: which stored run it is (so a study can say that an
arm was not trained by it, and the copy says so on every later reading)."""


def user_recipe(cfg: Config, fit_samples: int, *, classical: bool = False,
                strategy: StrategyConfig | None = None, snr_drop_db: float | None = None,
                init: str = "scratch") -> Config:
    """The recipe of a utility recogniser: `cfg`'s, without blur, with or without classical augmentation (with a
    lower-SNR dose of `snr_drop_db` when given), starting from `init` (recognizer.init), with a batch no larger than
    its `fit_samples`, and the synthetic mixing of `strategy`."""
    tc = {"batch_size": max(2, min(cfg.recognizer_train.batch_size, fit_samples))}
    if strategy is not None:
        tc |= {"synthetic_weight": strategy.weight, "synthetic_share": strategy.share,
               "synthetic_pretrain_steps": strategy.pretrain_steps}
    update = {"recognizer_train": cfg.recognizer_train.model_copy(update=tc),
              "recognizer": cfg.recognizer.model_copy(update={"blur_max": 0.0, "classical": classical, "init": init})}
    if snr_drop_db is not None:
        update["classical"] = cfg.classical.model_copy(update={"snr_drop_db": float(snr_drop_db)})
    return cfg.model_copy(update=update)


def evaluation_recogniser_reusable(cfg: Config) -> bool:
    """Whether the pipeline's evaluation recogniser can be the real-only recogniser at budget 'all', repeat 0: only
    when the utility recipe leaves its recogniser section as it is (it does not blur)."""
    return user_recipe(cfg, cfg.recognizer_train.batch_size).recognizer == cfg.recognizer


def same_recogniser(done: Path, cfg: Config, fit_ids: list[str], selection_ids: list[str]) -> bool:
    """Whether the finished recogniser run `done` was trained as `cfg` would train the real-only one:
    role 'eval', the same recipe and seed, and exactly these fit and selection samples."""
    try:
        card = read_card(final_dir(done), RecognizerCard, missing="a recogniser", wrong_kind="not a recogniser")
        saved = saved_config(done)
    except MdaugError:
        return False
    want = config_dict(cfg)
    return (card.role == "eval" and card.seed == role_seed(cfg, "eval") and card.train_ids == fit_ids
            and card.selection_ids == selection_ids and all(saved.get(k) == want.get(k) for k in RECOGNISER_SECTIONS))


class RecogniserStore:
    """A folder of finished recogniser runs of the real data, shared by studies that would train them again: the
    real, real + classical and pretrained arms of a utility study, and the evaluation recogniser, depend only on the
    real samples and the recipe, not on the generative model, so a benchmark of several families (or a later call
    of one) trains each once. Each run is filed under a digest of its recipe, seed and samples, and taken only when
    `same_recogniser` confirms it was trained exactly so; a store that holds nothing fitting costs nothing. Runs are
    kept without their checkpoints."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    @staticmethod
    def key(cfg: Config, fit_ids: list[str], selection_ids: list[str]) -> str:
        want = config_dict(cfg)
        spec = {"sections": {k: want.get(k) for k in RECOGNISER_SECTIONS}, "seed": role_seed(cfg, "eval"),
                "fit": fit_ids, "selection": selection_ids}
        return hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:24]

    def fetch(self, cfg: Config, fit_ids: list[str], selection_ids: list[str], target: Path,
              console: Console | None = None) -> bool:
        """Copy the stored run trained as `cfg` on these samples into `target` (not yet finished); whether it
        did."""
        found = self.folder / self.key(cfg, fit_ids, selection_ids)
        if run_finished(target) or not run_finished(found) or not same_recogniser(found, cfg, fit_ids, selection_ids):
            return False
        copy_tree_atomic(found, target, skip=(CHECKPOINTS,))
        atomic_write_text(target / COPIED_FROM, json.dumps({"store": str(self.folder), "run": found.name}) + "\n")
        if console:
            console.print(f"  the same training as {found} (shared recognisers): copied to {target}", highlight=False)
        return True

    @staticmethod
    def copied_from(run: Path) -> str | None:
        """The stored run `run` was copied from ('STORE/KEY'), or None when it was trained where it is."""
        path = Path(run) / COPIED_FROM
        if not path.exists():
            return None
        mark = json.loads(path.read_text())
        return f"{mark['store']}/{mark['run']}"

    def keep(self, cfg: Config, fit_ids: list[str], selection_ids: list[str], done: Path) -> None:
        """File the finished run `done` (trained as `cfg` on these samples) in the store, unless one is there."""
        into = self.folder / self.key(cfg, fit_ids, selection_ids)
        if run_finished(done) and not run_finished(into) and same_recogniser(done, cfg, fit_ids, selection_ids):
            self.folder.mkdir(parents=True, exist_ok=True)
            copy_tree_atomic(done, into, skip=(CHECKPOINTS,))

    @staticmethod
    def samples(cfg: Config, data: RunData) -> tuple[list[str], list[str]]:
        """The ids of the (fit, selection) samples a real-only recogniser of `cfg` trains on, as train_recognizer
        picks them for role 'eval' without a carve-out pool."""
        fit, selection, _ = selection_rows(data, cfg, role_seed(cfg, "eval"))
        ids = data.dataset.ids
        return [ids[i] for i in fit], [ids[i] for i in selection]


def shared_training(store: RecogniserStore | None, cfg: Config, target: Path, data: RunData,
                    train: Callable[[], None], console: Console | None = None) -> None:
    """Run `train` (which trains, resumes or skips the real-only recogniser of `cfg` on `data` into `target`),
    unless `store` has that training finished: then it is copied into `target` (and `train` finds it done). A run
    trained here is filed in `store`. Without a store, just `train`."""
    if store is None:
        train()
        return
    fit, selection = store.samples(cfg, data)
    store.fetch(cfg, fit, selection, target, console)
    train()
    store.keep(cfg, fit, selection, target)


__all__ = ["COPIED_FROM", "RECOGNISER_SECTIONS", "RecogniserStore", "evaluation_recogniser_reusable", "same_recogniser",
           "shared_training", "user_recipe"]
