"""Reconstruction grids written during training and evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def reconstruction_grid(x: np.ndarray, x_hat: np.ndarray, path: Path, titles: list[str], *, cmap: str = "jet",
                        suptitle: str = "") -> Path:
    """Rows: input, reconstruction, |error|; one column per sample. x, x_hat: (n, c, doppler, time) in [-1, 1]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = len(x)
    fig, axes = plt.subplots(3, n, figsize=(1.3 * n + 0.6, 4.2), squeeze=False)
    for j in range(n):
        err = np.abs(x_hat[j, 0] - x[j, 0])
        for i, (img, kw) in enumerate([(x[j, 0], dict(cmap=cmap, vmin=-1, vmax=1)),
                                       (np.clip(x_hat[j, 0], -1, 1), dict(cmap=cmap, vmin=-1, vmax=1)),
                                       (err, dict(cmap="gray_r", vmin=0, vmax=1))]):
            ax = axes[i, j]
            ax.imshow(img, origin="lower", aspect="auto", interpolation="nearest", **kw)
            ax.set_xticks([])
            ax.set_yticks([])
        axes[0, j].set_title(titles[j], fontsize=6)
    for i, name in enumerate(["input", "reconstruction", "|error|"]):
        axes[i, 0].set_ylabel(name, fontsize=7)
    if suptitle:
        fig.suptitle(suptitle, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
