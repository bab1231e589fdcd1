"""Reconstruction grids written during training and evaluation."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def _save(fig, path: Path, suptitle: str) -> Path:
    """Title, lay out, write and close a grid figure."""
    import matplotlib.pyplot as plt

    if suptitle:
        fig.suptitle(suptitle, fontsize=8)
    # keep a third of an inch on top for the title: in a tall grid tight_layout would put the first row under it
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1] if suptitle else 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


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
    return _save(fig, path, suptitle)


def sample_grid(x: np.ndarray, labels: np.ndarray, class_names: list[str], path: Path, *, cmap: str = "jet",
                suptitle: str = "", real: np.ndarray | None = None, real_labels: np.ndarray | None = None,
                max_rows: int = 40) -> Path:
    """One row per class present in `labels` (at most `max_rows`), its samples side by side; with `real`, the
    first column of each row is a real spectrogram of that class, for comparison. x: (n, c, doppler, time)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    classes = [c for c in dict.fromkeys(int(v) for v in labels)][:max_rows]
    cols = max(int((labels == c).sum()) for c in classes) + (1 if real is not None else 0)
    fig, axes = plt.subplots(len(classes), cols, figsize=(0.9 * cols + 1.2, 0.9 * len(classes) + 0.5), squeeze=False)
    for i, c in enumerate(classes):
        row = list(x[labels == c])
        if real is not None:
            have = real[real_labels == c]
            row = [have[0] if len(have) else np.full_like(x[0], -1)] + row
        for j in range(cols):
            ax = axes[i, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j < len(row):
                ax.imshow(row[j][0], origin="lower", aspect="auto", interpolation="nearest", cmap=cmap, vmin=-1, vmax=1)
            else:
                ax.axis("off")
        axes[i, 0].set_ylabel(class_names[c], fontsize=6, rotation=0, ha="right", va="center")
    if real is not None:
        axes[0, 0].set_title("real", fontsize=7)
        if cols > 1:
            axes[0, 1].set_title("generated", fontsize=7, loc="left")
    return _save(fig, path, suptitle)
