"""Reconstruction quality of a stage-1 model on the held-out split: PSNR, SSIM, spectral error and the
latent statistics of the same samples (`mdaug eval-ae RUN`)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from mdaug.config import run_config
from mdaug.data.texture import FloorTexture, add_floor_noise, noise_floor
from mdaug.errors import MdaugError
from mdaug.evaluation.figures import reconstruction_grid, spectrogram_axes
from mdaug.evaluation.health import HealthAccumulator
from mdaug.evaluation.record_parts import Files, FloorStats, IdentityCeiling, NoiseFloors
from mdaug.evaluation.records import ReconstructionReport
from mdaug.files import free_path
from mdaug.inference import in_batches, reconstruct
from mdaug.losses import spectral_loss
from mdaug.runs.layout import EVAL, final_dir
from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer
from mdaug.runs.run_data import check_run_data, load_run_data

DATA_RANGE = 2.0  # spectrograms live in [-1, 1]


@dataclass(frozen=True)
class SampleMetrics:
    """Per-sample reconstruction metrics (tensors of a batch, or arrays of a whole set)."""

    psnr_db: Any
    ssim: Any
    spectral_error: Any
    l1: Any

    def by_name(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@torch.no_grad()
def psnr_db(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    """Per-sample PSNR (dB) of x_hat against x, both (n, c, doppler, time) in [-1, 1]: a data range of 2."""
    return peak_signal_noise_ratio(x_hat, x, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))


@torch.no_grad()
def reconstruction_metrics(x: torch.Tensor, x_hat: torch.Tensor) -> SampleMetrics:
    """Per-sample metrics of x, x_hat (n, c, doppler, time) in [-1, 1]; x_hat is clipped to that range first.
    PSNR with a data range of 2, SSIM (Wang et al. 2004, 11x11 Gaussian window, or smaller for small inputs),
    spectral error = the spectral loss (L1 of log FFT magnitudes, Doppler and 2-D), L1."""
    x_hat = x_hat.clamp(-1, 1)
    psnr = psnr_db(x, x_hat)
    k = min(11, (min(x.shape[-2:]) // 2) * 2 - 1)
    ssim = structural_similarity_index_measure(x_hat, x, data_range=DATA_RANGE, reduction="none", kernel_size=k)
    spec = torch.stack([spectral_loss(a[None], b[None])[0] for a, b in zip(x_hat, x)])
    l1 = (x_hat - x).abs().flatten(1).mean(1)
    return SampleMetrics(psnr_db=psnr, ssim=ssim, spectral_error=spec, l1=l1)


def reconstruct_with_metrics(model: torch.nn.Module, x: np.ndarray, labels: np.ndarray,
                             health: HealthAccumulator | None = None,
                             batch_size: int = 64) -> tuple[np.ndarray, SampleMetrics]:
    """x (n, c, doppler, time) through the model (posterior mode), clipped to [-1, 1]; and per-sample metrics (of
    the unclipped output). `health` accumulates the latent statistics of the same samples."""
    per: dict[str, list[torch.Tensor]] = {}

    def each(out: Any, rows: slice) -> None:
        if health is not None:
            health.update(out.encoded, torch.from_numpy(labels[rows]))
        for k, v in reconstruction_metrics(torch.from_numpy(x[rows]), out.sample.float()).by_name().items():
            per.setdefault(k, []).append(v)

    x_hat = reconstruct(model, x, batch_size=batch_size, each=each)
    return x_hat, SampleMetrics(**{k: torch.cat(v).numpy() for k, v in per.items()})


def floor_stats(x: np.ndarray, x_hat: np.ndarray, dr: float, texture: FloorTexture | None = None) -> NoiseFloors:
    """The noise floor of real spectrograms and their reconstructions, and of the reconstructions with the texture
    generated samples get back (fitted on training spectrograms, so this is its held-out check)."""
    textured = None if texture is None else FloorStats(**noise_floor(
        add_floor_noise(x_hat, texture.sigma_units(dr), np.random.default_rng(0)), dr))
    return NoiseFloors(real=FloorStats(**noise_floor(x, dr)), reconstructed=FloorStats(**noise_floor(x_hat, dr)),
                       texture_db=None if texture is None else texture.sigma_db, textured=textured)


@torch.no_grad()
def identity_ceiling(recognizer: torch.nn.Module, x: np.ndarray, x_hat: np.ndarray, labels: np.ndarray,
                     batch_size: int = 256) -> IdentityCeiling:
    """How often the evaluation recogniser names the right class for real spectrograms and for their stage-1
    reconstructions: a generated sample cannot carry more of a class than stage 1 reconstructs."""
    def acc(a: np.ndarray) -> float:
        pred = in_batches(lambda xb: recognizer(xb).argmax(1), a, batch_size=batch_size).numpy()
        return float((pred == labels).mean())

    real, rec = acc(x), acc(x_hat)
    return IdentityCeiling(real=real, reconstructions=rec, ratio=rec / real if real > 0 else float("nan"))


def evaluate_reconstruction(run: Path, *, split: str = "test", batch_size: int = 64, examples: int = 8,
                            out: Path | None = None, recognizer: Path | None = None) -> ReconstructionReport:
    """Evaluate run/final on `split` of the run's data; writes eval/reconstruction-<split>.json and .png (never
    overwriting: a second evaluation gets -2, -3 ...). With `recognizer` (an evaluation recogniser of the same
    data), also the identity ceiling. Returns the report."""
    run = Path(run)
    cfg = run_config(run)
    pre = load_pretrained_autoencoder(final_dir(run))
    data = load_run_data(cfg)
    check_run_data(data, run)
    if split not in data.split.ids:
        raise MdaugError(f"unknown split '{split}' (train, val or test)")
    idx = data.indices(split)
    if len(idx) == 0:
        raise MdaugError(f"the {split} split of {run} is empty; evaluate another split with --split")
    ds, model = data.dataset, pre.model
    f = model.downsampling
    health = HealthAccumulator(model, len(ds.class_names), (data.size[0] // f, data.size[1] // f))
    x, labels = ds.x[idx], ds.labels[idx]
    x_hat, metrics = reconstruct_with_metrics(model, x, labels, health, batch_size)
    dr = float(pre.card.normalisation.dynamic_range_db)
    report = ReconstructionReport(
        run=str(run), family=pre.family, split=split, samples=int(len(idx)),
        **{k: float(v.mean()) for k, v in metrics.by_name().items()},
        **{f"{k}_std": float(v.std()) for k, v in metrics.by_name().items()},
        psnr_db_per_class={ds.class_names[c]: float(metrics.psnr_db[labels == c].mean()) for c in np.unique(labels)},
        latent=health.stats(), latent_shape=pre.card.latent_shape,
        noise_floor=floor_stats(x, x_hat, dr, pre.card.texture),
        identity=_identity(recognizer, pre, ds.fingerprint(), x, x_hat, labels) if recognizer else None)
    folder = Path(out) if out else run / EVAL
    folder.mkdir(parents=True, exist_ok=True)
    json_path = free_path(folder / f"reconstruction-{split}.json")
    report.write(json_path)
    picks = [int(np.flatnonzero(labels == c)[0]) for c in np.unique(labels)][:examples]
    png = json_path.with_suffix(".png")
    reconstruction_grid(x[picks], x_hat[picks], png, [ds.class_names[labels[i]] for i in picks],
                        suptitle=f"{pre.family} on {split}: PSNR {report.psnr_db:.2f} dB, "
                                 f"SSIM {report.ssim:.3f}, spectral error {report.spectral_error:.4f}",
                        axes=spectrogram_axes(ds.info, dr))
    report.files = Files(json=str(json_path), figure=str(png))
    return report


def _identity(recognizer: Path, pre, fingerprint: str, x: np.ndarray, x_hat: np.ndarray,
              labels: np.ndarray) -> IdentityCeiling:
    model, card = load_recognizer(recognizer)
    if card.role != "eval" or card.class_names != pre.class_names or card.data_fingerprint != fingerprint:
        raise MdaugError(f"{recognizer} is not an evaluation recogniser of this stage-1 model's data (train one with "
                         "`mdaug train-recognizer --role eval` on the same data)")
    return identity_ceiling(model, x, x_hat, labels)
