"""Where a stage-1 run starts (ae.init): the stage-1 models shipped with the package (mdaug/pretrained/, made by
`mdaug pretrain-ae` on simulated walkers who are in no built-in dataset), another finished stage-1 run, or random
weights. A start is recorded in the run's card (AutoencoderCard.init), so that every later table can say which
data shaped a model before the user's own."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from pydantic import BaseModel, ConfigDict
from safetensors.torch import load_file

from mdaug.config import Config
from mdaug.errors import MdaugError
from mdaug.models import Autoencoder
from mdaug.models.autoencoder import saved_config
from mdaug.models.conditioning import ConditionSpec
from mdaug.runs.cards import AutoencoderCard, CorpusSummary, InitRecord, RecognizerCard, Stage2Card, read_any_card
from mdaug.runs.layout import CARD

SHIPPED = Path(__file__).parents[1] / "pretrained"
"""The package's folder of shipped stage-1 models, one sub-folder each."""
PRETRAINING_RECORD = "pretraining.json"
"""Beside a shipped model: how it was made (command, corpus, steps, time, machine) and what it measured."""


class ShippedOrigin(BaseModel):
    """What every pretraining.json says of a shipped model: its name and, for the models trained on the corpus, the
    corpus (the rest of the record is its kind's: mdaug.workflows.pretrain and pretrain_recognizer)."""

    model_config = ConfigDict(extra="ignore")
    name: str
    corpus: CorpusSummary | None = None


def shipped_origin(folder: Path) -> ShippedOrigin | None:
    """The pretraining.json of a shipped model in `folder`, None where there is none."""
    path = Path(folder) / PRETRAINING_RECORD
    return ShippedOrigin.model_validate_json(path.read_text()) if path.is_file() else None


def _model_config(model: Autoencoder) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in model.config.items() if not k.startswith("_")}


def shipped_models() -> list[Path]:
    """The shipped stage-1 models (folders holding a card and weights)."""
    if not SHIPPED.is_dir():
        return []
    return sorted(p for p in SHIPPED.iterdir() if (p / CARD).is_file() and (p / "config.json").is_file())


def fitting_shipped_model(model: Autoencoder, family: str, input_shape: list[int]) -> Path | None:
    """The shipped model whose class, architecture, family and input shape are exactly those of `model`."""
    want = _model_config(model)
    for folder in shipped_models():
        card = read_any_card(folder)
        class_name, saved = saved_config(folder)
        same = {k: (list(v) if isinstance(v, tuple) else v) for k, v in saved.items()}
        if (class_name == type(model).__name__ and same == want and isinstance(card, AutoencoderCard)
                and card.family == family and card.input_shape == list(input_shape)):
            return folder
    return None


def _weights(folder: Path) -> tuple[dict[str, torch.Tensor], str]:
    from mdaug.runs.loading import autoencoder_identity

    files = sorted(folder.glob("*.safetensors"))
    if not files:
        raise MdaugError(f"{folder} holds no model weights (*.safetensors)")
    return load_file(str(files[0])), autoencoder_identity(folder)


def _corpus(folder: Path) -> CorpusSummary | None:
    origin = shipped_origin(folder)
    return origin.corpus if origin else None


def _conditions(folder: Path) -> list[dict[str, Any]] | None:
    """The recording conditions a stage-2 model in `folder` takes (its config), None when it takes none."""
    path = folder / "config.json"
    conditions = json.loads(path.read_text()).get("conditions") if path.is_file() else None
    return list(conditions) if conditions else None


def initial_weights(cfg: Config, model: Autoencoder, input_shape: list[int]
                    ) -> tuple[dict[str, torch.Tensor] | None, InitRecord]:
    """The weights a new stage-1 run of `cfg` starts from (None: the random ones `model` has) and their record."""
    init, family = cfg.ae.init, cfg.ae.family
    if init == "scratch":
        return None, InitRecord(source="scratch")
    if init in ("pretrained", "auto"):
        folder = fitting_shipped_model(model, family, input_shape)
        if folder is None:
            if init == "auto":
                return None, InitRecord(source="scratch")
            shape = "x".join(str(v) for v in input_shape[1:])
            raise MdaugError(f"no shipped pretrained {family} model fits {shape} spectrograms with "
                             f"ae.block_out_channels={list(cfg.ae.block_out_channels)} and ae.latent_channels="
                             f"{cfg.ae.latent_channels}; set ae.init=scratch, or make one with `mdaug pretrain-ae`")
        weights, sha = _weights(folder)
        return weights, InitRecord(source="pretrained", path=folder.name, weights_sha256=sha, corpus=_corpus(folder))
    from mdaug.runs.loading import load_pretrained_autoencoder

    pre = load_pretrained_autoencoder(init)
    if type(pre.model) is not type(model) or _model_config(pre.model) != _model_config(model):
        raise MdaugError(f"ae.init={init} is a {pre.family} model of another architecture than ae.* describes; "
                         "start from a run with the same family and sizes, or set ae.init=scratch")
    weights, sha = _weights(pre.folder)
    return weights, InitRecord(source="run", path=str(pre.folder.resolve()), weights_sha256=sha,
                               corpus=pre.card.init.corpus if pre.card.init else None)




USERS_OWN = ("num_classes", "conditions", "condition_drop_prob", "condition_drop_all", "person_features", "dropout",
             "cond_drop_prob")
"""Stage-2 settings that are the user's data's or training's, not the architecture's (the code prior's dropout and
label dropout shape training, not the weights): a shipped model fits whatever they are."""


def fitting_shipped_stage2(kind: str, model: torch.nn.Module, start: InitRecord | None,
                           identity: str) -> Path | None:
    """The shipped stage-2 model of `kind` for the stage-1 model it will model: one trained on a shipped stage-1
    model that this stage-1 model is (`identity`) or started from (`start`), with `model`'s architecture (the number
    of classes aside: those are the user's). Of several: the one that knows most of the conditions `model` takes,
    and of those the one taking fewest others (a model without conditions starts from the one without them)."""
    fits = _fitting_stage2(kind, model, start, identity)
    mine = {s.name for s in getattr(model, "specs", [])}
    names = {f: {ConditionSpec.from_json(c).name for c in _conditions(f) or []} for f in fits}
    return max(fits, key=lambda f: (len(names[f] & mine), -len(names[f] - mine)), default=None)


def _fitting_stage2(kind: str, model: torch.nn.Module, start: InitRecord | None, identity: str) -> list[Path]:
    origins = {identity} | ({start.weights_sha256} if start is not None and start.source == "pretrained" else set())
    want = {k: v for k, v in _model_config(model).items() if k not in USERS_OWN}
    fits = []
    for folder in shipped_models():
        card = read_any_card(folder)
        class_name, saved = saved_config(folder)
        same = {k: (list(v) if isinstance(v, tuple) else v) for k, v in saved.items() if k not in USERS_OWN}
        if (isinstance(card, Stage2Card) and card.kind == kind and class_name == type(model).__name__
                and same == want and card.autoencoder.identity in origins):
            fits.append(folder)
    return fits


def check_stage2_init(init: str, kind: str = "ldm") -> None:
    """A start of the stage 2 of `kind` (ldm.init, prior.init) that names nothing (not auto, pretrained, scratch, a
    shipped model or a folder): refused before any training, not when stage 2 starts."""
    if init in ("auto", "pretrained", "scratch") or ("/" not in init and (SHIPPED / init).is_dir()) \
            or Path(init).is_dir():
        return
    names = ", ".join(f.name for f in shipped_models() if _is_stage2(read_any_card(f), kind)) or "none shipped"
    raise MdaugError(f"{kind}.init={init} is neither auto, pretrained, scratch, a shipped stage 2 ({names}) nor a "
                     "folder")


def _is_stage2(card: object, kind: str) -> bool:
    return isinstance(card, Stage2Card) and card.kind == kind


def initial_stage2_weights(init: str, kind: str, model: torch.nn.Module, start: InitRecord | None,
                           identity: str) -> tuple[dict[str, torch.Tensor] | None, InitRecord]:
    """The weights a new stage-2 run of `kind` starts from (None: `model`'s random ones) and their record: `init` as
    ldm.init (or prior.init) says, for a stage-1 model of weights `identity` that started from `start`."""
    if init == "scratch":
        return None, InitRecord(source="scratch")
    if init in ("pretrained", "auto"):
        folder = fitting_shipped_stage2(kind, model, start, identity)
        if folder is None:
            if init == "auto":
                return None, InitRecord(source="scratch")
            raise MdaugError(f"no shipped pretrained {kind} fits this stage-1 model (it must start from a shipped "
                             f"stage-1 model, with the shipped architecture); set {kind}.init=scratch, or make one "
                             f"with `mdaug pretrain-{kind}`")
    elif (SHIPPED / init).is_dir() and "/" not in init:  # a shipped model by its name
        folder = SHIPPED / init
        if folder not in _fitting_stage2(kind, model, start, identity):
            raise MdaugError(f"{kind}.init={init} is not a shipped {kind} for this stage-1 model and architecture; "
                             f"set {kind}.init=auto")
    else:
        folder = None
    if folder is not None:
        weights, sha = _weights(folder)
        return weights, InitRecord(source="pretrained", path=folder.name, weights_sha256=sha, corpus=_corpus(folder),
                                   conditions=_conditions(folder))
    from mdaug.runs.loading import load_stage2

    s2 = load_stage2(init)
    if s2.kind.name != kind:
        raise MdaugError(f"{kind}.init={init} is a {s2.kind.name}, not a {kind}")
    weights, sha = _weights(s2.folder)
    return weights, InitRecord(source="run", path=str(s2.folder.resolve()), weights_sha256=sha,
                               conditions=_conditions(s2.folder))


def fitting_shipped_recognizer(model: torch.nn.Module, input_shape: list[int]) -> Path | None:
    """The shipped recogniser with `model`'s conv stages (class, in_channels, channels) for spectrograms of
    `input_shape` (its number of classes is the corpus's)."""
    want = {k: v for k, v in _model_config(model).items() if k in ("in_channels", "channels")}
    for folder in shipped_models():
        card = read_any_card(folder)
        class_name, saved = saved_config(folder)
        same = {k: (list(v) if isinstance(v, tuple) else v) for k, v in saved.items() if k in want}
        if (isinstance(card, RecognizerCard) and class_name == type(model).__name__ and same == want
                and card.input_shape == list(input_shape)):
            return folder
    return None


HEAD = "head."
"""The recogniser's classifier (its parameters' prefix): one row per class, so never carried to other classes."""


def initial_recognizer_weights(init: str, model: torch.nn.Module, input_shape: list[int]
                               ) -> tuple[dict[str, torch.Tensor] | None, InitRecord]:
    """The weights a new recogniser starts from (None: `model`'s random ones) and their record: recognizer.init
    'scratch', 'pretrained' (the shipped one fitting `model` and `input_shape`) or a finished recogniser run. Only
    the conv stages (and their BatchNorm statistics) are taken; the head stays new."""
    if init == "scratch":
        return None, InitRecord(source="scratch")
    if init == "pretrained":
        folder = fitting_shipped_recognizer(model, input_shape)
        if folder is None:
            shape = "x".join(str(v) for v in input_shape)
            raise MdaugError(f"no shipped pretrained recogniser fits {shape} spectrograms with recognizer.channels="
                             f"{list(_model_config(model)['channels'])}; set recognizer.init=scratch, or make one "
                             "with `mdaug pretrain-recognizer`")
        source, path = "pretrained", folder.name
    else:
        from mdaug.runs.loading import load_recognizer

        load_recognizer(init)  # a recogniser, or a clear error
        folder = Path(init) / "final" if (Path(init) / "final").is_dir() else Path(init)
        source, path = "run", str(folder.resolve())
    weights, sha = _weights(folder)
    ours = model.state_dict()
    kept = {k: v for k, v in weights.items() if not k.startswith(HEAD)}
    wrong = [k for k, v in kept.items() if k not in ours or ours[k].shape != v.shape]
    if wrong or set(ours) - set(kept) - {k for k in ours if k.startswith(HEAD)}:
        raise MdaugError(f"recognizer.init={init} has other conv stages than recognizer.* describes "
                         f"({(wrong or ['missing layers'])[0]}); use the same channels, or recognizer.init=scratch")
    return ({k: v.to(ours[k].dtype) for k, v in kept.items()},
            InitRecord(source=source, path=path, weights_sha256=sha, corpus=_corpus(folder)))


__all__ = [
    "HEAD", "PRETRAINING_RECORD", "SHIPPED", "ShippedOrigin", "check_stage2_init", "fitting_shipped_model",
    "fitting_shipped_recognizer", "fitting_shipped_stage2", "initial_recognizer_weights", "initial_stage2_weights",
    "initial_weights", "shipped_models", "shipped_origin",
]
