"""Stage-1 autoencoders (one family per file), the discriminator and the recogniser; all diffusers
ModelMixin/ConfigMixin, so `save_pretrained` / `from_pretrained` with safetensors work for each."""

from __future__ import annotations

import re
from pathlib import Path

from mdaug.config import AutoencoderConfig
from mdaug.errors import MdaugError
from mdaug.models.autoencoder import Autoencoder, AutoencoderOutput, Encoded, saved_class_name
from mdaug.models.discriminator import PatchDiscriminator
from mdaug.models.fsq import FSQAutoencoder
from mdaug.models.kl import KLAutoencoder
from mdaug.models.pixels import PixelAutoencoder
from mdaug.models.recognizer import Recognizer
from mdaug.models.rq import RQAutoencoder
from mdaug.models.vq import VQAutoencoder

AUTOENCODERS: dict[str, type[Autoencoder]] = {
    "kl": KLAutoencoder, "vq": VQAutoencoder, "vqgan": VQAutoencoder, "rq": RQAutoencoder, "fsq": FSQAutoencoder,
    "pixels": PixelAutoencoder,
}
_BY_CLASS = {cls.__name__: cls for cls in AUTOENCODERS.values()} | {"Recognizer": Recognizer,
                                                                    "PatchDiscriminator": PatchDiscriminator}


def make_autoencoder(cfg: AutoencoderConfig, in_channels: int = 1) -> Autoencoder:
    """The model of `cfg.family` with the config's sizes (unknown families raise ValueError)."""
    if cfg.family not in AUTOENCODERS:
        raise ValueError(f"unknown autoencoder family '{cfg.family}' (choose from {', '.join(AUTOENCODERS)})")
    cls = AUTOENCODERS[cfg.family]
    if cls is PixelAutoencoder:
        return cls(in_channels=in_channels)
    common = dict(in_channels=in_channels, block_out_channels=tuple(cfg.block_out_channels),
                  layers_per_block=cfg.layers_per_block, norm_num_groups=cfg.norm_num_groups, attention=cfg.attention,
                  latent_channels=cfg.latent_channels)
    if cls is KLAutoencoder:
        return cls(**common)
    if cls is FSQAutoencoder:
        return cls(**common, fsq_levels=tuple(cfg.fsq_levels))
    quant = dict(codebook_size=cfg.codebook_size, codebook_dim=cfg.codebook_dim,
                 codebook_ema_decay=cfg.codebook_ema_decay, kmeans_init=cfg.kmeans_init,
                 dead_code_threshold=cfg.dead_code_threshold, commitment_weight=cfg.commitment_weight)
    if cls is RQAutoencoder:
        return cls(**common, **quant, num_quantizers=cfg.num_quantizers, shared_codebook=cfg.shared_codebook)
    return cls(**common, **quant, cosine_codes=cfg.cosine_codes)


def load_strict(cls: type, folder: str | Path):
    """`cls.from_pretrained(folder)`, refusing weights that do not fit: diffusers loads a checkpoint of another
    architecture (an older version of the class, other sizes) with the unmatched layers randomly initialised and
    only a log warning, which would silently evaluate or sample with a random network."""
    from diffusers.utils import logging as dlogging

    level = dlogging.get_verbosity()
    dlogging.set_verbosity_error()  # the warnings are replaced by the error below
    try:
        model, info = cls.from_pretrained(folder, output_loading_info=True)
    except (OSError, ValueError, RuntimeError) as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        shape = re.search(r"because (\S+) expected shape (.+?), but got (.+?\))", msg)
        if shape:  # diffusers' message goes on to suggest loading with random weights
            raise MdaugError(f"{folder} holds a {cls.__name__} of another architecture or mdaug version ("
                             f"'{shape[1]}' is {shape[3]}, the model needs {shape[2]}); retrain it with this "
                             "version") from None
        raise MdaugError(f"cannot load the model in {folder}: {msg[:200]}") from None
    finally:
        dlogging.set_verbosity(level)
    bad = list(info["missing_keys"]) + list(info["unexpected_keys"]) + [m[0] for m in info["mismatched_keys"]]
    if bad:
        raise MdaugError(f"{folder} holds a {cls.__name__} of another architecture or mdaug version "
                         f"({len(bad)} weights do not fit, e.g. '{sorted(bad)[0]}'); retrain it with this version")
    return model.float()  # every mdaug model computes in fp32 (autocast does the rest); shipped weights are fp16


def load_model(folder: str | Path):
    """Any mdaug model saved with save_pretrained, by the class named in its config.json."""
    name = saved_class_name(folder)
    if name not in _BY_CLASS:
        raise MdaugError(f"{folder} holds a {name}, which is not an mdaug model")
    return load_strict(_BY_CLASS[name], folder)


def load_autoencoder(folder: str | Path) -> Autoencoder:
    model = load_model(folder)
    if not isinstance(model, Autoencoder):
        raise MdaugError(f"{folder} holds a {type(model).__name__}, not an autoencoder")
    return model


__all__ = ["AUTOENCODERS", "Autoencoder", "AutoencoderOutput", "Encoded", "FSQAutoencoder", "KLAutoencoder",
           "PatchDiscriminator", "PixelAutoencoder", "Recognizer", "RQAutoencoder", "VQAutoencoder", "load_autoencoder",
           "load_model", "load_strict", "make_autoencoder"]
