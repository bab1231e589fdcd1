"""Load a trained stage-1 model with everything needed to use it: one call on a run's final/ folder."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mdaug.errors import MdaugError
from mdaug.models import Autoencoder, load_autoencoder


@dataclass
class PretrainedAutoencoder:
    model: Autoencoder
    class_names: list[str]
    """The label map: class index -> name."""
    meta: dict[str, Any]
    """mdaug.json: family, input and latent shapes, normalisation, data fingerprint, training summary, config."""
    folder: Path
    """The final/ folder it was loaded from."""

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return tuple(self.meta["input_shape"])  # (channels, doppler, time)

    @property
    def data_fingerprint(self) -> str:
        return str(self.meta["data_fingerprint"])


def load_pretrained_autoencoder(folder: str | Path) -> PretrainedAutoencoder:
    """`run/final` (or a run folder, whose final/ is used) -> the model in eval mode, its label map and metadata."""
    folder = Path(folder)
    if (folder / "final" / "config.json").exists():
        folder = folder / "final"
    try:
        meta = json.loads((folder / "mdaug.json").read_text())
    except FileNotFoundError:
        raise MdaugError(f"{folder} is not a finished stage-1 model (no mdaug.json); train it to the end or "
                         "point to its final/ folder") from None
    except (OSError, ValueError):
        raise MdaugError(f"{folder}/mdaug.json is unreadable") from None
    if meta.get("kind") != "autoencoder":
        raise MdaugError(f"{folder} holds a {meta.get('kind')}, not a stage-1 autoencoder")
    model = load_autoencoder(folder).eval()
    return PretrainedAutoencoder(model=model, class_names=list(meta["class_names"]), meta=meta, folder=folder)
