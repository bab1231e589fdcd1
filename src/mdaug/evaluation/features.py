"""Spectrograms in the evaluation recogniser's feature space: embeddings, class predictions and the
Fréchet distance between two sets of embeddings (FID computed on spectrogram features, since no
ImageNet Inception network exists here and none would know spectrograms)."""

from __future__ import annotations

import numpy as np
import scipy.linalg
import torch

from mdaug.inference import in_batches
from mdaug.models.recognizer import Recognizer


@torch.no_grad()
def embed(model: Recognizer, x: np.ndarray | torch.Tensor, *, batch_size: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """(embeddings (n, d) float64, logits (n, classes) float32) of spectrograms x (n, c, H, W) in [-1, 1]."""
    model.eval()
    dev = next(model.parameters()).device
    def features(xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        e = model.embed(xb)
        return e.double(), model.head(e).float()

    feats, logits = in_batches(features, torch.as_tensor(x, dtype=torch.float32), batch_size=batch_size, device=dev)
    return feats.numpy(), logits.numpy()


def frechet_distance(a: np.ndarray, b: np.ndarray) -> float:
    """||mu_a - mu_b||^2 + Tr(C_a + C_b - 2 (C_a C_b)^(1/2)) between two sets of feature vectors (n, d).

    Written out because the libraries that offer it (torchmetrics, torch-fidelity) bind it to Inception
    features of RGB images; the formula itself is four lines of scipy."""
    if len(a) < 2 or len(b) < 2:
        raise ValueError("the Fréchet distance needs at least two samples in each set")
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    root = scipy.linalg.sqrtm(ca @ cb)
    root = np.real(root)  # numerical noise can leave tiny imaginary parts
    return float(max(((mu_a - mu_b) ** 2).sum() + np.trace(ca + cb - 2 * root), 0.0))


__all__ = ["embed", "frechet_distance"]
