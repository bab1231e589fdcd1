"""The latent dataset of stage 2: the training split encoded once by the frozen stage-1 model and cached
beside it, with the statistics that normalise it (per-channel mean and one scale, from the whole training
set). A cache is tied to the stage-1 weights (their SHA-256) and the data fingerprint, and re-encoded when
either differs."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from mdaug.config import config_from_dict
from mdaug.errors import MdaugError
from mdaug.files import free_path, sha256_file
from mdaug.models.pretrained import PretrainedAutoencoder
from mdaug.training.data import RunData, load_run_data


@dataclass
class LatentSet:
    latents: torch.Tensor
    """(n, channels, h, w) float32: the quantized vectors (code families) or the posterior mean (kl)."""
    labels: torch.Tensor
    """(n,) int64 class indices."""
    rows: torch.Tensor
    """(n,) int64: each latent's row in the dataset (which real files stage 2 saw)."""
    logvar: torch.Tensor | None = None
    """kl: the posterior log-variance, so that training draws z ~ q(z|x) rather than always the mean."""
    indices: torch.Tensor | None = None
    """Code families: (n, h, w) code indices, or (n, h, w, levels) for rq."""

    def __len__(self) -> int:
        return int(self.latents.shape[0])


@dataclass
class LatentStats:
    shift: torch.Tensor
    """(channels,) mean of each latent channel over the whole training set."""
    scale: float
    """1 / the standard deviation of the shifted latents: normalised = (z - shift) * scale has unit variance."""

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.shift.to(z.device).view(1, -1, 1, 1)) * self.scale

    def denormalise(self, z: torch.Tensor) -> torch.Tensor:
        return z / self.scale + self.shift.to(z.device).view(1, -1, 1, 1)

    def to_json(self) -> dict:
        return {"shift": [float(v) for v in self.shift], "scale": float(self.scale)}

    @classmethod
    def from_json(cls, d: dict) -> "LatentStats":
        return cls(shift=torch.tensor(d["shift"], dtype=torch.float32), scale=float(d["scale"]))


def latent_stats(latents: torch.Tensor, logvar: torch.Tensor | None = None) -> LatentStats:
    """Per-channel mean and the global scale over all of `latents` (n, c, h, w). With a posterior (kl) the
    variance is that of z ~ q(z|x): the spread of the means plus the mean posterior variance, exactly."""
    z = latents.double()
    shift = z.mean(dim=(0, 2, 3))
    var = ((z - shift.view(1, -1, 1, 1)) ** 2).mean()
    if logvar is not None:
        var = var + logvar.double().exp().mean()
    if not torch.isfinite(var) or var <= 0:
        raise MdaugError("the stage-1 latents have no variance (all equal): the autoencoder's latent space has "
                         "collapsed; run `mdaug eval-ae` on it")
    return LatentStats(shift=shift.float(), scale=float(var.rsqrt()))


def autoencoder_identity(final: Path) -> str:
    """SHA-256 of a stage-1 model's weights: what a stage-2 model records and checks."""
    weights = sorted(Path(final).glob("*.safetensors"))
    if not weights:
        raise MdaugError(f"{final} holds no model weights (*.safetensors)")
    return sha256_file(weights[0])


def stage1_final(pre: PretrainedAutoencoder) -> Path:
    return pre.folder


def stage1_data(pre: PretrainedAutoencoder) -> RunData:
    """The dataset and split the stage-1 model was trained on (its saved config), checked by fingerprint."""
    cfg = config_from_dict(pre.meta["config"], f"{stage1_final(pre)}/mdaug.json")
    data = load_run_data(cfg)
    if data.dataset.fingerprint() != pre.data_fingerprint:
        raise MdaugError(f"the data at {data.source} is not the data the stage-1 model was trained on "
                         "(fingerprint differs); stage 2 must see the same data")
    run = stage1_final(pre).parent
    if (run / "split.json").exists():  # the exact split stage 1 used, not a re-derivation
        from mdaug.data import load_split

        data.split = load_split(run / "split.json")
    return data


@torch.no_grad()
def encode_rows(pre: PretrainedAutoencoder, x: np.ndarray, labels: np.ndarray, rows: np.ndarray,
                device: torch.device | str = "cpu", batch_size: int = 64) -> LatentSet:
    """Encode images (n, c, H, W) in [-1, 1] with the frozen stage-1 model (deterministic: posterior mode)."""
    model = pre.model.to(device).eval()
    lat, logv, idx = [], [], []
    for i in range(0, len(x), batch_size):
        enc = model.encode(torch.from_numpy(x[i:i + batch_size]).to(device), mode=True)
        lat.append(enc.latents.float().cpu())
        if enc.logvar is not None:
            logv.append(enc.logvar.float().cpu())
        if enc.indices is not None:
            idx.append(enc.indices.long().cpu())
    return LatentSet(latents=torch.cat(lat), labels=torch.from_numpy(np.asarray(labels, dtype=np.int64)),
                     rows=torch.from_numpy(np.asarray(rows, dtype=np.int64)),
                     logvar=torch.cat(logv) if logv else None, indices=torch.cat(idx) if idx else None)


def cached_latents(pre: PretrainedAutoencoder, data: RunData, split: str = "train", *,
                   device: torch.device | str = "cpu", console=None) -> LatentSet:
    """The `split` of `data` encoded by `pre`, from the cache in the stage-1 run's latents/ folder when it
    matches these weights and this data, else encoded now and cached (written beside, then renamed)."""
    final = stage1_final(pre)
    identity = autoencoder_identity(final)
    key = {"autoencoder": identity, "data": data.dataset.fingerprint(), "split": split,
           "rows": int(len(data.indices(split)))}
    folder = final.parent / "latents"
    path = folder / f"{split}-{identity[:12]}.safetensors"
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


__all__ = ["LatentSet", "LatentStats", "autoencoder_identity", "cached_latents", "encode_rows", "latent_stats",
           "stage1_data", "stage1_final"]
