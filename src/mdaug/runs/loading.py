"""Load a finished run's model with everything needed to use it: one call on a run folder or its final/.

- `load_pretrained_autoencoder`: a stage-1 model, its card, and (through `stage1_data`) the very data and split
  it was trained on;
- `load_stage2`: a stage-2 model with the stage-1 model it was trained on, checked by the weights' SHA-256;
- `load_recognizer`: a recogniser and its card."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from mdaug.config import Config, config_from_dict
from mdaug.data import load_split
from mdaug.errors import MdaugError
from mdaug.files import sha256_file
from mdaug.models import Autoencoder, Recognizer, load_autoencoder, load_model, load_strict
from mdaug.models.conditioning import ConditionSpec
from mdaug.models.latents import LatentStats
from mdaug.models.stage2 import SampleSettings, Stage2Kind, stage2_kind
from mdaug.runs.cards import AutoencoderCard, RecognizerCard, Stage2Card, read_card
from mdaug.runs.layout import CARD, FINAL, SPLIT
from mdaug.runs.run_data import RunData, load_run_data


def autoencoder_identity(final: Path) -> str:
    """SHA-256 of a stage-1 model's weights: what a stage-2 model records and checks."""
    weights = sorted(Path(final).glob("*.safetensors"))
    if not weights:
        raise MdaugError(f"{final} holds no model weights (*.safetensors)")
    return sha256_file(weights[0])


def _final(folder: str | Path, marker: str = CARD) -> Path:
    """`folder`, or its final/ when `folder` is a run folder."""
    folder = Path(folder)
    return folder / FINAL if (folder / FINAL / marker).exists() else folder


@dataclass
class PretrainedAutoencoder:
    model: Autoencoder
    card: AutoencoderCard
    """family, input and latent shapes, normalisation, data fingerprint, training summary, config."""
    folder: Path
    """The final/ folder it was loaded from."""

    @property
    def class_names(self) -> list[str]:
        """The label map: class index -> name."""
        return list(self.card.class_names)

    @property
    def family(self) -> str:
        return self.card.family

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.card.input_shape)  # (channels, doppler, time)

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        return tuple(self.card.latent_shape)  # (channels, h, w)

    @property
    def data_fingerprint(self) -> str:
        return self.card.data_fingerprint

    def texture_db(self, on: bool = True) -> float:
        """The noise-floor texture its samples get (dB std): the card's when `on`, else 0 (also 0 for a run made
        before the texture was fitted)."""
        t = self.card.texture
        return float(t.sigma_db) if on and t is not None else 0.0

    @property
    def floor_noise(self) -> float:
        """The std of the noise its decoded samples get back, in its [-1, 1] units (0 for a run made before the
        texture was fitted)."""
        t = self.card.texture
        return 0.0 if t is None else t.sigma_units(float(self.card.normalisation.dynamic_range_db))

    @property
    def config(self) -> Config:
        return config_from_dict(self.card.config, f"{self.folder}/{CARD}")


def load_pretrained_autoencoder(folder: str | Path) -> PretrainedAutoencoder:
    """`run/final` (or a run folder, whose final/ is used) -> the model in eval mode, its label map and card."""
    folder = _final(folder, "config.json")
    card = read_card(folder, AutoencoderCard, wrong_kind="not a stage-1 autoencoder",
                     missing=f"a finished stage-1 model (no {CARD}); train it to the end or point to its final/ folder")
    model = load_autoencoder(folder).eval()
    return PretrainedAutoencoder(model=model, card=card, folder=folder)


def stage1_data(pre: PretrainedAutoencoder) -> RunData:
    """The dataset and split the stage-1 model was trained on (its saved config), checked by fingerprint."""
    data = load_run_data(pre.config)
    if data.dataset.fingerprint() != pre.data_fingerprint:
        raise MdaugError(f"the data at {data.source} is not the data the stage-1 model was trained on "
                         "(fingerprint differs); stage 2 must see the same data")
    run = pre.folder.parent
    if (run / SPLIT).exists():  # the exact split stage 1 used, not a re-derivation
        data.split = load_split(run / SPLIT)
    return data


def load_recognizer(folder: str | Path) -> tuple[Recognizer, RecognizerCard]:
    """A trained recogniser (in eval mode) and its card, from its final/ folder or its run folder."""
    folder = _final(folder, "config.json")
    model = load_model(folder)
    if not isinstance(model, Recognizer):
        raise MdaugError(f"{folder} holds a {type(model).__name__}, not a recogniser; pass a train-recognizer output")
    card = read_card(folder, RecognizerCard, missing=f"a recogniser (no {CARD}); was it saved by train-recognizer?",
                     wrong_kind="not a recogniser; retrain the recogniser")
    return model.eval(), card


@dataclass
class Stage2Model:
    model: torch.nn.Module
    kind: Stage2Kind
    autoencoder: PretrainedAutoencoder
    stats: LatentStats
    card: Stage2Card
    folder: Path

    @property
    def class_names(self) -> list[str]:
        return list(self.card.class_names)

    def default_settings(self) -> SampleSettings:
        return self.kind.settings_from_dict(self.card.sampling)

    @property
    def max_steps(self) -> int:
        return self.kind.max_steps(self.model)

    @property
    def conditions(self) -> list[ConditionSpec]:
        """The recording conditions it takes besides the class (none for a model trained without them)."""
        return self.kind.condition_specs(self.model)


def load_stage2(folder: str | Path, autoencoder: str | Path | None = None) -> Stage2Model:
    """A stage-2 run (or its final/ folder) with the stage-1 model it was trained on: the recorded path, or
    `autoencoder` when the run was moved. The stage-1 weights must be the very ones (SHA-256)."""
    folder = _final(folder)
    card = read_card(folder, Stage2Card, wrong_kind="not a stage-2 model (ldm or prior)",
                     missing=f"a finished stage-2 model (no {CARD}); train it with `mdaug train-ldm` or `mdaug "
                             "train-prior`")
    ae_path = Path(autoencoder or card.autoencoder.path)
    if not ae_path.exists():
        raise MdaugError(f"the stage-1 model {ae_path} is gone; point to it with --ae PATH")
    pre = load_pretrained_autoencoder(ae_path)
    found = autoencoder_identity(pre.folder)
    if found != card.autoencoder.identity:
        raise MdaugError(f"{pre.folder} is not the stage-1 model this {card.kind} was trained on (weights "
                         f"{found[:12]}, expected {card.autoencoder.identity[:12]}); use the stage-1 run it was "
                         "trained with")
    kind = stage2_kind(card.kind)
    model = load_strict(kind.model_class, folder)
    return Stage2Model(model=model.eval(), kind=kind, autoencoder=pre, stats=LatentStats.from_json(card.latent_stats),
                       card=card, folder=folder)


__all__ = ["PretrainedAutoencoder", "Stage2Model", "autoencoder_identity", "load_pretrained_autoencoder",
           "load_recognizer", "load_stage2", "stage1_data"]
