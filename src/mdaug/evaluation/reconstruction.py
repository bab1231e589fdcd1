"""Reconstruction quality of a stage-1 model on the held-out split: PSNR, SSIM, spectral error and the
latent statistics of the same samples (`mdaug eval-ae RUN`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from mdaug.config import run_config
from mdaug.errors import MdaugError
from mdaug.evaluation.figures import reconstruction_grid
from mdaug.evaluation.health import HealthAccumulator
from mdaug.evaluation.records import ReconstructionReport
from mdaug.files import free_path
from mdaug.losses import spectral_loss
from mdaug.runs.layout import EVAL, final_dir
from mdaug.runs.loading import load_pretrained_autoencoder
from mdaug.runs.run_data import check_run_data, load_run_data

DATA_RANGE = 2.0  # spectrograms live in [-1, 1]


@torch.no_grad()
def reconstruction_metrics(x: torch.Tensor, x_hat: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-sample metrics of x, x_hat (n, c, doppler, time) in [-1, 1]; x_hat is clipped to that range first.
    PSNR with a data range of 2, SSIM (Wang et al. 2004, 11x11 Gaussian window, or smaller for small inputs),
    spectral error = the spectral loss (L1 of log FFT magnitudes, Doppler and 2-D), L1."""
    x_hat = x_hat.clamp(-1, 1)
    psnr = peak_signal_noise_ratio(x_hat, x, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))
    k = min(11, (min(x.shape[-2:]) // 2) * 2 - 1)
    ssim = structural_similarity_index_measure(x_hat, x, data_range=DATA_RANGE, reduction="none", kernel_size=k)
    spec = torch.stack([spectral_loss(a[None], b[None])[0] for a, b in zip(x_hat, x)])
    l1 = (x_hat - x).abs().flatten(1).mean(1)
    return {"psnr_db": psnr, "ssim": ssim, "spectral_error": spec, "l1": l1}


def evaluate_reconstruction(run: Path, *, split: str = "test", batch_size: int = 64, examples: int = 8,
                            out: Path | None = None) -> ReconstructionReport:
    """Evaluate run/final on `split` of the run's data; writes eval/reconstruction-<split>.json and .png (never
    overwriting: a second evaluation gets -2, -3 ...). Returns the report."""
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
    per: dict[str, list[torch.Tensor]] = {}
    for i in range(0, len(idx), batch_size):
        b = idx[i:i + batch_size]
        x = torch.from_numpy(ds.x[b])
        out_ = model(x, sample_posterior=False)
        health.update(out_.encoded, torch.from_numpy(ds.labels[b]))
        for k, v in reconstruction_metrics(x, out_.sample.float()).items():
            per.setdefault(k, []).append(v)
    metrics = {k: torch.cat(v).numpy() for k, v in per.items()}
    labels = ds.labels[idx]
    report = ReconstructionReport(
        run=str(run), family=pre.family, split=split, samples=int(len(idx)),
        **{k: float(v.mean()) for k, v in metrics.items()},
        **{f"{k}_std": float(v.std()) for k, v in metrics.items()},
        psnr_db_per_class={ds.class_names[c]: float(metrics["psnr_db"][labels == c].mean()) for c in np.unique(labels)},
        latent=health.summary(), latent_shape=pre.card.latent_shape)
    folder = Path(out) if out else run / EVAL
    folder.mkdir(parents=True, exist_ok=True)
    json_path = free_path(folder / f"reconstruction-{split}.json")
    report.write(json_path)
    picks = [int(idx[labels == c][0]) for c in np.unique(labels)][:examples]
    with torch.no_grad():
        x_hat = model(torch.from_numpy(ds.x[picks]), sample_posterior=False).sample.float().numpy()
    png = json_path.with_suffix(".png")
    reconstruction_grid(ds.x[picks], x_hat, png, [ds.class_names[ds.labels[i]] for i in picks],
                        suptitle=f"{pre.family} on {split}: PSNR {report.psnr_db:.2f} dB, "
                                 f"SSIM {report.ssim:.3f}, spectral error {report.spectral_error:.4f}")
    report.files = {"json": str(json_path), "figure": str(png)}
    return report
