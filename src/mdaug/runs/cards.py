"""What a saved model is: the typed card (final/mdaug.json) written beside the weights of every finished run, and
read back by every later stage through `read_card`. A card says what the model is (kind, family, shapes,
normalisation), what data made it (fingerprint, source, which samples) and how (the resolved config).

Cards are written and read here only; a card of another kind, or one written by another mdaug version (a key
missing or unknown), is refused with one line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any, Callable, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mdaug.config.loading import error_where
from mdaug.data.info import DataInfoJson
from mdaug.data.texture import FloorTexture
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text, free_path
from mdaug.runs.layout import CARD, FINAL


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Normalisation(Card):
    """How the spectrogram values of a model's input and output map to dB."""

    range: list[int]
    dynamic_range_db: int | float
    meaning: str
    doppler_axis: str


class CorpusSummary(Card):
    """The simulated pretraining corpus a shipped model saw (mdaug.workflows.pretrain.corpus_summary): none of its
    walkers is in a built-in dataset."""

    spectrograms: int
    trained_on: int
    """Spectrograms in its training split."""
    people: int
    parts: int
    seeds: list[int]
    """The first and last people seed."""
    radars: list[str]
    displays: list[str]
    size: list[int]
    table: str
    """Its table of parts (corpus.csv)."""


class InitRecord(Card):
    """Where a run started (ae.init, ldm.init, prior.init, recognizer.init)."""

    source: Literal["scratch", "pretrained", "run"]
    """Random weights, a shipped model (mdaug/pretrained/) or another finished run."""
    path: str | None = None
    """The shipped model's name, or the run's final/ folder."""
    weights_sha256: str | None = None
    corpus: CorpusSummary | None = None
    """For a shipped model: the pretraining corpus it saw, none of it in the user's data."""
    conditions: list[dict[str, Any]] | None = None
    """A stage-2 start's recording conditions (ConditionSpec.to_json() each): those this run takes too keep the
    start's encoders and scaling (mdaug.models.conditioning.carried)."""


class AutoencoderCard(Card):
    """A stage-1 autoencoder (`mdaug train-ae`)."""

    kind: Literal["autoencoder"] = "autoencoder"
    family: str
    class_names: list[str]
    input_shape: list[int]
    """(channels, doppler, time)."""
    latent_shape: list[int]
    """(channels, h, w)."""
    normalisation: Normalisation
    data_fingerprint: str
    data_source: str
    train_samples: int
    steps: int
    weights: Literal["ema", "last"]
    gan_generator_start: int | None
    """vqgan: the step at which the adversarial loss first reached the generator."""
    init: InitRecord
    config: dict[str, Any]
    texture: FloorTexture | None = None
    """The noise-floor texture its decoded samples get back (data/texture.py); None in runs made before it was
    fitted, whose samples stay as decoded."""


class AutoencoderRef(Card):
    """The stage-1 model a stage-2 model was trained on: where it was, and its weights' SHA-256."""

    path: str
    identity: str
    family: str
    data_fingerprint: str


class Stage2Card(Card):
    """A stage-2 model (`mdaug train-ldm`, `mdaug train-prior`)."""

    kind: Literal["ldm", "prior"]
    class_names: list[str]
    autoencoder: AutoencoderRef
    latent_stats: dict[str, Any]
    """mdaug.models.latents.LatentStats.to_json(): the normalisation of the latents it models."""
    sampling: dict[str, Any]
    """The default sampling settings (Stage2Kind.settings_dict)."""
    output_shape: list[int]
    data_source: str
    data_info: DataInfoJson
    data_fingerprint: str
    train_samples: int
    train_files: list[str]
    steps: int
    weights: Literal["ema", "last"]
    config: dict[str, Any]
    init: InitRecord | None = None
    """Where stage 2 started (ldm.init, prior.init)."""
    conditions: list[dict[str, Any]] = Field(default_factory=list)
    """The recording conditions it takes besides the class (ConditionSpec.to_json() each: range or categories)."""
    condition_sources: dict[str, str] = Field(default_factory=dict)
    """Where each condition's training values came from: 'given (FILE)', 'estimated', ..."""
    identity: str | None = None
    """ldm.person=recordings: the shipped recogniser whose embeddings of each person's training recordings it takes."""


class RecognizerCard(Card):
    """A recogniser (`mdaug train-recognizer`): the perceptual loss's (role 'loss') or a judge (role 'eval')."""

    kind: Literal["recognizer"] = "recognizer"
    role: Literal["eval", "loss"]
    seed: int
    class_names: list[str]
    data_fingerprint: str
    data_source: str
    input_shape: list[int]
    steps: int
    best_step: int
    selection: Literal["val", "carve_out"]
    """What picked the best step: the validation split, or a carve-out of the training split."""
    selection_accuracy: float | None
    selection_ids: list[str]
    train_count: int
    train_ids_sha256: str
    train_ids: list[str]
    test_accuracy: float | None
    test_accuracy_note: str
    init: InitRecord | None = None
    """Where its weights started (recognizer.init; None in runs made before it could start elsewhere: scratch)."""


class CardKind(BaseModel):
    """What kind of model a card describes, read before the card itself."""

    model_config = ConfigDict(extra="ignore")
    kind: str | None = None


CARDS: dict[str, type[Card]] = {"autoencoder": AutoencoderCard, "ldm": Stage2Card, "prior": Stage2Card,
                                "recognizer": RecognizerCard}
C = TypeVar("C", bound=Card)


def write_card(folder: Path, card: Card) -> Path:
    """folder/mdaug.json, written atomically."""
    return atomic_write_text(Path(folder) / CARD, json.dumps(card.model_dump(), indent=1, default=str))


def read_card(folder: Path, expect: type[C], *, missing: str, wrong_kind: str) -> C:
    """The card in `folder`, which must be an `expect`. `missing` finishes the message for a folder without a card
    ("{folder} is not {missing}"), `wrong_kind` the one for a card of another kind ("{folder} holds a {kind},
    {wrong_kind}")."""
    path = Path(folder) / CARD
    try:
        raw = json.loads(path.read_text())
    except FileNotFoundError:
        raise MdaugError(f"{folder} is not {missing}") from None
    except (OSError, ValueError):
        raise MdaugError(f"{path} is unreadable") from None
    kind = CardKind.model_validate(raw).kind if isinstance(raw, dict) else None
    if CARDS.get(kind) is not expect:
        raise MdaugError(f"{folder} holds a {kind}, {wrong_kind}")
    try:
        return expect.model_validate(raw)
    except ValidationError as e:
        where = error_where(e)
        raise MdaugError(f"{path} was written by another mdaug version ('{where}' does not fit); retrain the "
                         "model with this version") from None


def read_any_card(folder: Path) -> AutoencoderCard | Stage2Card | RecognizerCard | None:
    """The card in `folder` whatever its kind; None where there is none, or one that does not fit this version."""
    try:
        raw = json.loads((Path(folder) / CARD).read_text())
        return CARDS[CardKind.model_validate(raw).kind].model_validate(raw)
    except (OSError, ValueError, KeyError, ValidationError):
        return None


def write_final(run: Path, save_weights: Callable[[Path], None], card: Card) -> Path:
    """RUN/final/: the weights (`save_weights(folder)`, e.g. save_pretrained) and the card, written into final.tmp
    and renamed into place, so a kill never leaves a final/ that looks finished. An earlier final/ (a resumed run
    that re-saved) is kept as final-replaced."""
    run = Path(run)
    tmp = run / f"{FINAL}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    save_weights(tmp)
    write_card(tmp, card)
    final = run / FINAL
    if final.exists():
        final.rename(free_path(run / f"{FINAL}-replaced"))
    tmp.rename(final)
    return final


__all__ = ["AutoencoderCard", "AutoencoderRef", "Card", "CardKind", "CorpusSummary", "InitRecord", "Normalisation",
           "RecognizerCard", "Stage2Card", "read_any_card", "read_card", "write_card", "write_final"]
