"""The utility study's recognisers stand for a user's recogniser: the plain recipe (no blur: blur is for the
evaluation recogniser, the judge), with or without the classical augmentation, and synthetic samples entering as a
strategy says. The pipeline's evaluation recogniser is taken as the real-only arm when it was trained exactly so."""

from __future__ import annotations

from pathlib import Path

from mdaug.config import Config, StrategyConfig, config_dict, saved_config
from mdaug.errors import MdaugError
from mdaug.runs.cards import RecognizerCard, read_card
from mdaug.runs.layout import final_dir
from mdaug.training.recognizer import role_seed

# What decides a recogniser's training, besides its data: two runs equal here and on the same samples train
# the same network (the recipe is deterministic on a given machine; the resume tests hold it bit-exact).
RECOGNISER_SECTIONS = ("seed", "data", "split", "augment", "classical", "recognizer", "recognizer_train")


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


__all__ = ["RECOGNISER_SECTIONS", "evaluation_recogniser_reusable", "same_recogniser", "user_recipe"]
