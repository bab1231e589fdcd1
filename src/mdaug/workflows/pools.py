"""A pool of synthetic training samples drawn with a strategy (config: StrategyConfig): how many per class, from
noise or as variations of the real training samples, without near-copies of them, and sifted by a recogniser
trained on the same real samples (Erol et al. 2020: kinematic sifting added 9 points). The pool is what a
recogniser (mdaug utility) or a user (mdaug augment) gets."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from pydantic import BaseModel, ConfigDict

from mdaug.config import StrategyConfig
from mdaug.data.conditions import TOLERANCE, Conditions
from mdaug.data.coverage import lacking
from mdaug.data.transforms import mirror_doppler, zero_row_of
from mdaug.errors import MdaugError
from mdaug.evaluation.conditions_control import READ, Reader, asked_conditions, readable
from mdaug.evaluation.metrics import MEMORISATION_THRESHOLD, memorisation
from mdaug.files import atomic_write_text, ensure_empty_dir
from mdaug.inference import in_batches
from mdaug.models.stage2 import SampleSettings
from mdaug.runs.loading import Stage2Model, load_recognizer, stage1_data
from mdaug.sampling.export import AugmentRecord, check_export_size, export_augmented
from mdaug.sampling.generate import class_indices, generate, with_texture

STRATEGY_FILE = "strategy.json"
"""Beside a stage-2 run's final/: the strategy chosen for it (StrategyChoice)."""
OVERSAMPLE = 2
"""With a filter, this many samples are drawn per sample wanted, so that enough pass."""
MAX_DRAWN_PER_SAMPLE = 8
"""An export (mdaug augment, the pipeline's synthetic/) draws again for the classes short of the number asked, until
each has it or has had this many draws per sample asked; a class the strategy's checks pass too rarely then gets
fewer, named in augment.json and the log."""


@dataclass
class Pool:
    x: np.ndarray
    """(n, channels, doppler, time) in [-1, 1]."""
    labels: np.ndarray
    counts: dict[str, int] = field(default_factory=dict)
    """drawn, near_copies, filtered_out, kept."""


def pool_sizes(train_labels: np.ndarray, n_classes: int, s: StrategyConfig, cap: int) -> np.ndarray:
    """Synthetic samples wanted per class: per_real times its real training samples, at most `cap`."""
    counts = np.bincount(train_labels, minlength=n_classes)
    return np.minimum(np.round(counts * s.per_real).astype(int), cap)


def strategy_settings(s2: Stage2Model, s: StrategyConfig) -> SampleSettings:
    base = s2.default_settings()
    return replace(base, guidance_scale=base.guidance_scale if s.guidance_scale is None else s.guidance_scale,
                   strength=s.strength, texture=s.texture)


def _anchors(x_train: np.ndarray, y_train: np.ndarray, labels: np.ndarray, rng: np.random.Generator, *,
             mirror: float = 0.0, zero_row: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """For each wanted label, a real training spectrogram of that class: each class's samples in turn, shuffled;
    a share `mirror` of them (spread evenly, so each class gets its share) mirrored about zero Doppler (row
    `zero_row`). Returns (anchors, which were mirrored)."""
    out = np.empty((len(labels), *x_train.shape[1:]), np.float32)
    mirrored = np.zeros(len(labels), dtype=bool)
    for c in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(y_train == c))
        want = np.flatnonzero(labels == c)
        out[want] = x_train[rows[np.arange(len(want)) % len(rows)]]
        if mirror > 0:  # the k-th anchor of a class is mirrored when the running share crosses a whole number
            k = np.arange(len(want))
            mirrored[want[np.floor((k + 1) * mirror) > np.floor(k * mirror)]] = True
    out[mirrored] = mirror_doppler(out[mirrored], zero_row)
    return out, mirrored


def class_probabilities(recognizer: torch.nn.Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """(n, classes) the recogniser's probabilities."""
    recognizer.eval()
    return in_batches(lambda xb: recognizer(xb).softmax(1), x, batch_size=batch_size).numpy()


def class_probability(recognizer: torch.nn.Module, x: np.ndarray, labels: np.ndarray,
                      batch_size: int = 256) -> np.ndarray:
    """The recogniser's probability of each sample's own class."""
    return class_probabilities(recognizer, x, batch_size)[np.arange(len(x)), labels]


@dataclass
class FillPlan:
    """What the fill strategy asks of each sample: (n, K) encoded conditions (NaN: left to the model) and, per
    sample, whether a condition its person lacks was found to ask for."""

    conditions: np.ndarray
    filled: np.ndarray


def fill_plan(s2: Stage2Model, labels: np.ndarray, y_train: np.ndarray, conditions: Conditions,
              rng: np.random.Generator) -> FillPlan:
    """For each wanted label (a person), the session conditions of a training recording of another person that the
    person's training recordings lack (mdaug.data.coverage.lacking), each such recording in turn; a person who lacks
    none is asked for nothing (more of their own)."""
    specs = s2.conditions
    if not specs:
        raise MdaugError("the fill strategy needs a stage 2 trained with recording conditions (ldm.conditions)")
    wanted = np.unique(labels)
    per_class = int(np.bincount(labels).max()) if len(labels) else 0
    persons, rows = lacking(conditions, y_train, np.arange(len(y_train)), rng, per_class, classes=wanted)
    table = np.full((len(labels), len(specs)), np.nan, np.float32)
    filled = np.zeros(len(labels), dtype=bool)
    asked = asked_conditions(specs, conditions.values, rows)
    for c in wanted:
        mine = np.flatnonzero(persons == c)
        at = np.flatnonzero(labels == c)
        if len(mine):
            table[at] = asked[mine[np.arange(len(at)) % len(mine)]]
            filled[at] = True
    return FillPlan(conditions=table, filled=filled)


def read_back_ok(s2: Stage2Model, x: np.ndarray, asked: np.ndarray, reader: Reader, factor: float) -> np.ndarray:
    """(n,) True where every condition asked that the estimators read is read back within `factor` tolerances."""
    ok = np.ones(len(x), dtype=bool)
    specs = s2.conditions
    read = reader.read(x)
    for spec in readable(specs, reader):
        k = specs.index(spec)
        tol = TOLERANCE.get(spec.name) or spec.scale / 5
        got = read[READ[spec.name]][0]
        a = asked[:, k]
        ok &= ~np.isfinite(a) | (np.abs(got - a) <= factor * tol)
    return ok


def draw_pool(s2: Stage2Model, s: StrategyConfig, x_train: np.ndarray, y_train: np.ndarray, *, cap: int,
              seed: int, recognizer: torch.nn.Module | None = None, device: str = "cpu",
              sizes: np.ndarray | None = None, zero_row: float | None = None, conditions: Conditions | None = None,
              reader: Reader | None = None) -> Pool:
    """Draw the pool of strategy `s` for the real training samples (x_train, y_train) the models were trained on:
    per class, s.per_real times its real samples (at most `cap`), or `sizes` when given. Filtering needs
    `recognizer` (trained on the same real samples only, never the judge). `zero_row`: the row of zero Doppler for
    mirrored anchors (transforms.zero_row_of; the middle if None). The fill strategy needs the conditions of the
    training samples (`conditions`, aligned with x_train) and `reader` to read them back from its samples."""
    sifted = s.filter_confidence > 0 or s.filter_named
    if sifted and recognizer is None:
        raise MdaugError("a filtering strategy needs a recogniser trained on the same real samples")
    fill = s.conditions == "fill"
    if fill and (conditions is None or reader is None):
        raise MdaugError("the fill strategy needs the conditions of the real training samples and their estimators")
    want = pool_sizes(y_train, len(s2.class_names), s, cap) if sizes is None else np.asarray(sizes)
    factor = OVERSAMPLE if sifted or fill else 1
    labels = np.repeat(np.arange(len(want)), want * factor)
    rng = np.random.default_rng(seed)
    anchors, mirrored = (_anchors(x_train, y_train, labels, rng, mirror=s.mirror, zero_row=zero_row)
                         if s.strength < 1 else (None, np.zeros(len(labels), dtype=bool)))
    plan = fill_plan(s2, labels, y_train, conditions, rng) if fill else None
    plain: list[np.ndarray] = []
    x = generate(s2, labels, strategy_settings(s2, s), seed=seed, device=device, anchors=anchors, plain=plain,
                 conditions=None if plan is None else plan.conditions)
    keep = np.ones(len(x), dtype=bool)
    counts = {"drawn": int(len(x))}
    if plan is not None:
        counts["nothing_lacking"] = int((~plan.filled).sum())
        # read back from the samples as a recording shows them: with the noise floor's texture
        seen = x if s.texture else with_texture(torch.from_numpy(plain[0]), replace(strategy_settings(s2, s),
                                                texture=True), s2.autoencoder.floor_noise,
                                                torch.Generator().manual_seed(seed)).numpy()
        ok = read_back_ok(s2, seen, plan.conditions, reader, s.readback_tolerance)
        counts["off_condition"] = int((~ok).sum())
        keep &= ok
    copies = np.zeros(len(x), dtype=bool)
    if s.remove_copies and len(y_train) >= 3:  # on the decoder's output: the texture's noise would hide a copy
        copies = memorisation(plain[0], labels, x_train, y_train)["ratio"] < MEMORISATION_THRESHOLD
    counts["near_copies"] = int((keep & copies).sum())  # of those still kept (fill: that read back)
    keep &= ~copies
    if sifted:
        judged = x
        if mirrored.any():  # a mirrored sample is judged mirrored back: the way its class's recordings go, which is
            judged = x.copy()  # the only way the real recogniser knows the class
            judged[mirrored] = mirror_doppler(x[mirrored], zero_row)
        probs = class_probabilities(recognizer, judged)
        p = probs[np.arange(len(x)), labels]
        passed = keep & (p >= s.filter_confidence)
        if s.filter_named:
            passed &= probs.argmax(1) == labels
        counts["filtered_out"] = int((keep & ~passed).sum())
        keep = np.zeros(len(x), dtype=bool)
        for c, n in enumerate(want):  # the most confident passing samples of each class, as many as wanted
            rows = np.flatnonzero(passed & (labels == c))
            keep[rows[np.argsort(-p[rows], kind="stable")[:n]]] = True
    if fill and not sifted:  # the read-back check drew twice as many: keep as many as wanted
        for c, n in enumerate(want):
            rows = np.flatnonzero(keep & (labels == c))
            keep[rows[n:]] = False
    counts["kept"] = int(keep.sum())
    return Pool(x=x[keep], labels=labels[keep], counts=counts)


def export_with_strategy(s2: Stage2Model, out: Path, per_class: int, choice: StrategyChoice | None, *,
                         classes: list[str] | None = None, seed: int = 0, fmt: str = "auto",
                         progress: bool = False, texture: bool | None = None) -> AugmentRecord:
    """An augmented dataset in `out`: drawn with the chosen strategy (its pool, `per_class` per class at most) when
    there is one, else plain samples with the model's own settings. `texture`: the noise floor's texture on the
    samples (None: the strategy's; off for plain samples, as for a strategy by default)."""
    if choice is None:
        return export_augmented(s2, out, per_class, classes=classes, seed=seed, fmt=fmt, progress=progress,
                                settings=replace(s2.default_settings(), texture=bool(texture)))
    s = choice.strategy if texture is None else choice.strategy.model_copy(update={"texture": texture})
    data = stage1_data(s2.autoencoder)
    train = data.indices("train")
    x_train, y_train = data.dataset.x[train], data.dataset.labels[train]
    wanted = class_indices(classes, s2.class_names)
    sizes = np.zeros(len(s2.class_names), dtype=int)
    sizes[wanted] = per_class
    recognizer = load_recognizer(choice.recognizer)[0] if s.filter_confidence > 0 or s.filter_named else None
    ensure_empty_dir(out, what="output folder", create=False)  # before the draw, which takes a while
    check_export_size(s2, int(sizes.sum()) * OVERSAMPLE)
    fill = s.conditions == "fill"
    pool, rounds = draw_until(s2, s, x_train, y_train, sizes, seed=seed, recognizer=recognizer,
                              zero_row=zero_row_of(data.dataset),
                              conditions=data.conditions.subset(train) if fill else None,
                              reader=Reader.of(data, train) if fill else None)
    return export_augmented(s2, out, per_class, classes=classes, settings=strategy_settings(s2, s), seed=seed,
                            fmt=fmt, pool=(pool.x, pool.labels), strategy=s, selected=choice.selected,
                            drawn=pool.counts, rounds=rounds, short_why=_short_why(s, pool.counts))


def draw_until(s2: Stage2Model, s: StrategyConfig, x_train: np.ndarray, y_train: np.ndarray, sizes: np.ndarray, *,
               seed: int, max_drawn: int = MAX_DRAWN_PER_SAMPLE, **pool_args) -> tuple[Pool, int]:
    """Draw the pool of `s` until each class has `sizes` samples or has had `max_drawn` draws per sample asked;
    each round after the first draws, for the classes still short, what their rate of passing so far says they
    need (a class nothing passed for gets the rest of its draws). Returns the pool (counts summed over the rounds)
    and the number of rounds."""
    sizes = np.asarray(sizes, dtype=int)
    n = len(sizes)
    have, drawn = np.zeros(n, dtype=int), np.zeros(n, dtype=int)
    xs, ys, counts = [], [], {}
    ask, rounds = sizes.copy(), 0
    factor = OVERSAMPLE if s.filter_confidence > 0 or s.filter_named or s.conditions == "fill" else 1
    while ask.any():
        pool = draw_pool(s2, s, x_train, y_train, cap=int(ask.max()), seed=seed + 7919 * rounds, sizes=ask,
                         **pool_args)
        rounds += 1
        for k, v in pool.counts.items():
            counts[k] = counts.get(k, 0) + v
        drawn += ask * factor
        for c in range(n):  # a round asked for more than a class lacks keeps only what it lacks
            rows = np.flatnonzero(pool.labels == c)[:max(sizes[c] - have[c], 0)]
            xs.append(pool.x[rows])
            ys.append(pool.labels[rows])
            have[c] += len(rows)
        short, left = sizes - have, sizes * max_drawn - drawn
        rate = have / np.maximum(drawn, 1)
        need = np.where(rate > 0, np.ceil(1.25 * short / np.maximum(rate, 1e-9)), left)
        ask = np.where((short > 0) & (left >= factor), np.ceil(np.minimum(need, left) / factor), 0).astype(int)
        ask = np.where(ask > 0, np.maximum(ask, np.minimum(short, left // factor)), 0)
    x = np.concatenate(xs) if xs else np.zeros((0, *x_train.shape[1:]), np.float32)
    labels = np.concatenate(ys) if ys else np.zeros(0, dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    counts["kept"] = int(len(x))
    return Pool(x=x[order], labels=labels[order], counts=counts), rounds


def _short_why(s: StrategyConfig, counts: dict[str, int]) -> str:
    """Why a strategy's export can give a class fewer than asked: its checks, with how many each removed."""
    parts = [f"{counts[k]} of {counts['drawn']} drawn {what}" for k, what in (
        ("off_condition", "did not read back the conditions asked"),
        ("near_copies", "were near-copies of a training recording"),
        ("filtered_out", f"were not named by the filter recogniser with confidence {s.filter_confidence:g}"))
        if counts.get(k)]
    return (f"the strategy {s.name} keeps only samples that pass its checks, and after {MAX_DRAWN_PER_SAMPLE} draws "
            f"per sample asked too few had: " + ("; ".join(parts) or "none removed"))


class StrategyChoice(BaseModel):
    """A stage-2 run's strategy.json: the strategy `mdaug augment` uses by default, and why."""

    model_config = ConfigDict(extra="forbid")
    strategy: StrategyConfig
    selected: str
    """How it was chosen (which utility study, budget and repeats, on the validation split)."""
    recognizer: str | None = None
    """The filter recogniser (trained on this model's real training samples only), when the strategy filters."""

    @classmethod
    def read(cls, run: Path) -> "StrategyChoice | None":
        path = Path(run) / STRATEGY_FILE
        if not path.exists():
            return None
        try:
            return cls.model_validate_json(path.read_text())
        except ValueError:
            raise MdaugError(f"{path} is unreadable or from another mdaug version; delete it to sample without a "
                             "strategy, or run the utility study again") from None

    def write(self, run: Path) -> Path:
        return atomic_write_text(Path(run) / STRATEGY_FILE, self.model_dump_json(indent=1))


__all__ = ["MAX_DRAWN_PER_SAMPLE", "OVERSAMPLE", "STRATEGY_FILE", "FillPlan", "Pool", "StrategyChoice",
           "class_probabilities", "class_probability", "draw_pool", "draw_until", "export_with_strategy", "fill_plan",
           "pool_sizes", "read_back_ok", "strategy_settings"]
