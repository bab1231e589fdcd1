"""The latent dataset of stage 2: the training split encoded once by the frozen stage-1 model and cached in the
stage-1 run's latents/ folder (for a model folder that is no run's final/, such as a shipped pretrained model, in the
user's cache instead). A cache is tied to the stage-1 weights (their SHA-256) and the data fingerprint, and encoded
again when either differs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from mdaug.files import free_path
from mdaug.inference import in_batches
from mdaug.models.latents import LatentSet
from mdaug.runs.builtin import cache_root
from mdaug.runs.layout import FINAL, LATENTS
from mdaug.runs.loading import PretrainedAutoencoder, autoencoder_identity
from mdaug.runs.run_data import RunData


@torch.no_grad()
def encode_rows(pre: PretrainedAutoencoder, x: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                device: torch.device | str = "cpu", batch_size: int = 64) -> LatentSet:
    """Encode images (n, c, H, W) in [-1, 1] with the frozen stage-1 model (deterministic: posterior mode)."""
    model = pre.model.to(device).eval()

    def encode(xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor | None]:
        enc = model.encode(xb, mode=True)
        return (enc.latents.float(), None if enc.logvar is None else enc.logvar.float(),
                None if enc.indices is None else enc.indices.long())

    lat, logv, idx = in_batches(encode, x, batch_size=batch_size, device=device)
    return LatentSet(latents=lat, labels=torch.from_numpy(np.asarray(labels, dtype=np.int64)),
                     rows=torch.from_numpy(np.asarray(rows, dtype=np.int64)), logvar=logv, indices=idx)


def latents_folder(final: Path) -> Path:
    """Where the latents of the stage-1 model at `final` are cached: its run's latents/ folder when `final` is a
    run's final/ folder, else cache_root()/latents. A shipped model's folder lies in the installed package, which
    may be read-only and is no place for data (the corpus latents of one model are tens of MB)."""
    return final.parent / LATENTS if final.name == FINAL else cache_root() / LATENTS


def cached_latents(pre: PretrainedAutoencoder, data: RunData, split: str = "train", *,
                   device: torch.device | str = "cpu", console=None) -> LatentSet:
    """The `split` of `data` encoded by `pre`, from the cache (latents_folder) when it matches these weights and this
    data, else encoded now and cached (written beside, then renamed)."""
    final = pre.folder
    identity = autoencoder_identity(final)
    key = {"autoencoder": identity, "data": data.dataset.fingerprint(), "split": split,
           "rows": int(len(data.indices(split)))}
    folder = latents_folder(Path(final))
    path = folder / f"{split}-{identity[:12]}-{key['data'][:12]}.safetensors"
    if path.exists():
        try:
            with safe_open(str(path), "pt") as f:
                meta = f.metadata() or {}
            if json.loads(meta.get("key", "{}")) == key:
                t = load_file(str(path))
                return LatentSet(latents=t["latents"], labels=t["labels"], rows=t["rows"], logvar=t.get("logvar"),
                                 indices=t.get("indices"))
        except (SafetensorError, OSError, ValueError):
            pass  # unreadable or stale: encode again
    rows = data.indices(split)
    if console:
        console.print(f"encoding {len(rows)} {split} spectrograms with the stage-1 model -> {path}")
    ls = encode_rows(pre, data.dataset.x[rows], data.dataset.labels[rows], rows, device=device)
    tensors = {"latents": ls.latents.contiguous(), "labels": ls.labels, "rows": ls.rows}
    if ls.logvar is not None:
        tensors["logvar"] = ls.logvar.contiguous()
    if ls.indices is not None:
        tensors["indices"] = ls.indices.contiguous()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = free_path(path.with_suffix(".partial"))
        save_file(tensors, str(tmp), metadata={"key": json.dumps(key)})
        tmp.replace(path)
    except OSError:
        pass  # a read-only stage-1 folder: the latents are used, just not cached
    return ls


__all__ = ["cached_latents", "encode_rows", "latents_folder"]
