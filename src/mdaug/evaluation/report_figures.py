"""The figures the report draws itself, as PNG bytes to embed: the identity confusion with its colour bar and
per-class accuracy, the training loss curves of each run (from its losses.jsonl), and one row of real and
generated spectrograms per class for the page's class selector."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.evaluation.figures import SpectrogramAxes, sample_row_figure, save_figure
from mdaug.plotting import pyplot
from mdaug.runs.loss_log import STEP, loss_curves


def confusion_png(confusion: list[list[int]], per_class_accuracy: list[float], class_names: list[str]) -> bytes:
    return save_figure(confusion_figure(confusion, per_class_accuracy, class_names))


def confusion_figure(confusion: list[list[int]], per_class_accuracy: list[float], class_names: list[str]):
    """Left: the share of each class's samples (rows) the recogniser names as each class (columns), with a colour
    bar; right: per-class accuracy (the diagonal) against chance."""
    plt = pyplot()
    c = np.asarray(confusion, dtype=float)
    n = len(class_names)
    share = c / np.maximum(c.sum(1, keepdims=True), 1)
    side = min(3 + 0.16 * n, 8)
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(side + 3.4, side), width_ratios=[side, 2.6], layout="constrained")
    im = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    step = max(1, n // 32)
    ticks = list(range(0, n, step))
    ax.set_xticks(ticks, [class_names[i] for i in ticks], rotation=90, fontsize=9)
    ax.set_yticks(ticks, [class_names[i] for i in ticks], fontsize=9)
    ax.set(xlabel="recognised as", ylabel="generated for", title="identity of generated samples")
    bar = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.02)
    bar.set_label("share of the class's generated samples", fontsize=9)
    acc = 100 * np.asarray(per_class_accuracy, dtype=float)
    bx.barh(range(n), acc, color="#2a6fb0")
    bx.axvline(100 / max(n, 1), color="#a00", ls="--", lw=1, label=f"chance {100 / max(n, 1):.1f}%")
    bx.set_yticks(ticks, [class_names[i] for i in ticks], fontsize=9)
    bx.set_ylim(n - 0.5, -0.5)
    bx.set_xlim(0, 100)
    bx.set(xlabel="recognised as their class (%)", title="per-class accuracy")
    bx.legend(fontsize=9, loc="upper left", bbox_to_anchor=(0, -0.08), frameon=False)  # below: over no bar
    return fig


LOSS_KEYS = ("loss", "rec_l1", "spectral_doppler", "spectral_2d", "mse", "kl", "commitment", "g_adv", "d_loss")
"""Curves drawn when a run logs them (the total first); learning rate and gradient norm are left out."""


def _smooth(y: np.ndarray, n: int) -> np.ndarray:
    if len(y) < 3 * n or n < 2:
        return y
    k = np.ones(n) / n
    return np.convolve(np.pad(y, (n // 2, n - 1 - n // 2), mode="edge"), k, mode="valid")


def loss_png(runs: dict[str, Path]) -> bytes | None:
    fig = loss_figure(runs)
    return None if fig is None else save_figure(fig)


def loss_figure(runs: dict[str, Path]):
    """One panel per run (name -> its losses.jsonl) with its loss terms against the step (a moving average over
    about 2% of the steps, the raw total faintly behind); None when no run logged anything."""
    curves = {name: loss_curves(p) for name, p in runs.items() if p.is_file()}
    curves = {name: c for name, c in curves.items() if STEP in c and len(c[STEP]) > 1}
    if not curves:
        return None
    plt = pyplot()
    fig, axs = plt.subplots(1, len(curves), figsize=(4.2 * len(curves), 3.2), squeeze=False, layout="constrained")
    for ax, (name, c) in zip(axs[0], curves.items()):
        steps = c[STEP]
        n = max(1, len(steps) // 50)
        for k in [k for k in LOSS_KEYS if k in c]:
            if k == "loss":
                ax.plot(steps, c[k], color="#999", lw=0.5, alpha=0.6)
            ax.plot(steps, _smooth(c[k], n), lw=1.2, label=k)
        positive = all((c[k] > 0).all() for k in LOSS_KEYS if k in c)
        if positive:
            ax.set_yscale("log")
        ax.set(xlabel="step", ylabel="loss" + (" (log scale)" if positive else ""), title=name)
        ax.legend(fontsize=9)
        ax.tick_params(labelsize=9)
    return fig


def class_pngs(fake: np.ndarray, fake_labels: np.ndarray, class_names: list[str], axes: SpectrogramAxes, *,
               real: np.ndarray | None = None, real_labels: np.ndarray | None = None, per_class: int = 6,
               real_per_class: int = 1) -> dict[str, bytes]:
    """class name -> one row: `real_per_class` real spectrograms of the class, then up to `per_class` generated
    ones, for every class with a generated sample."""
    out = {}
    for c, name in enumerate(class_names):
        f = fake[fake_labels == c][:per_class]
        if not len(f):
            continue
        r = real[real_labels == c][:real_per_class] if real is not None and real_labels is not None else None
        out[name] = save_figure(sample_row_figure(r, f, axes, title=f"{name}: {len(r) if r is not None else 0} real, "
                                                  f"{len(f)} generated"), dpi=80)
    return out


__all__ = ["LOSS_KEYS", "class_pngs", "confusion_figure", "confusion_png", "loss_figure", "loss_png"]
