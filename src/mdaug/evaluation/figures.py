"""Spectrogram grids written during training and evaluation, and the axes they are drawn on.

With SpectrogramAxes from the data's metadata (`spectrogram_axes(ds.info)`), a grid is drawn as the simulator's
preview is: Doppler in Hz against time in seconds, with a colour bar in dB below each spectrogram's peak. Data
without that metadata (a folder of user images) is drawn against Doppler bins and time frames, and says so."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mdaug.data.info import DataInfo
from mdaug.plotting import pyplot


@dataclass(frozen=True)
class SpectrogramAxes:
    """What a spectrogram's rows, columns and values mean. Without `doppler_hz` and `time_s` (both (first,
    last)), rows are Doppler bins and columns time frames."""

    doppler_hz: tuple[float, float] | None = None
    time_s: tuple[float, float] | None = None
    dynamic_range_db: float = 40.0

    @property
    def physical(self) -> bool:
        return self.doppler_hz is not None and self.time_s is not None

    @property
    def labels(self) -> tuple[str, str]:
        """(x label, y label)."""
        return ("time (s)", "Doppler (Hz)") if self.physical else ("time frame", "Doppler bin")

    def extent(self, rows: int, cols: int) -> list[float]:
        if self.physical:
            return [self.time_s[0], self.time_s[1], self.doppler_hz[0], self.doppler_hz[1]]
        return [-0.5, cols - 0.5, -0.5, rows - 0.5]

    def db(self, x: np.ndarray) -> np.ndarray:
        """Values in [-1, 1] as dB below the peak: -1 is -dynamic_range_db, +1 the peak (0 dB)."""
        return (np.clip(x, -1, 1) - 1) / 2 * self.dynamic_range_db

    @property
    def note(self) -> str:
        """One line for a caption: what the axes are."""
        if self.physical:
            return f"Doppler in Hz against time in s; colour: dB below each spectrogram's peak " \
                   f"({self.dynamic_range_db:g} dB range)"
        return ("the data carries no physical axes (no Doppler or time metadata), so rows are Doppler bins and "
                f"columns time frames; colour: dB below each spectrogram's peak ({self.dynamic_range_db:g} dB range)")


def spectrogram_axes(info: DataInfo, dynamic_range_db: float | None = None) -> SpectrogramAxes:
    """The axes of a dataset from its metadata (SpectrogramSet.info, as data.json stores it)."""
    dr = float(dynamic_range_db or info.dynamic_range_db or 40.0)

    def pair(first_last: list[float] | None) -> tuple[float, float] | None:
        ok = first_last is not None and len(first_last) >= 2 and first_last[0] != first_last[-1]
        return (float(first_last[0]), float(first_last[-1])) if ok else None

    doppler, time = pair(info.doppler_hz), pair(info.time_s)
    return SpectrogramAxes(doppler, time, dr) if doppler and time else SpectrogramAxes(None, None, dr)


def _save(fig, path: Path, suptitle: str) -> Path:
    """Title, lay out, write and close a grid figure."""
    plt = pyplot()
    if suptitle:
        fig.suptitle(suptitle, fontsize=10)
    # keep a third of an inch on top for the title: in a tall grid tight_layout would put the first row under it
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_size_inches()[1] if suptitle else 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


AXES_KEY = "mdaug-axes"
"""The PNG text key under which a figure drawn on SpectrogramAxes records them (its caption reads it back)."""


def figure_axes_note(path: str | Path) -> str | None:
    """The axes note a PNG written by save_figure carries, or None (a bare grid, or not a PNG of ours)."""
    try:
        from PIL import Image

        with Image.open(path) as im:
            return getattr(im, "text", {}).get(AXES_KEY)
    except (OSError, ValueError):
        return None


def save_figure(fig, target: Path | None = None, dpi: int = 90, axes: SpectrogramAxes | None = None) -> Path | bytes:
    """Write and close a figure drawn with a constrained layout: to `target`, or as PNG bytes when None. With
    `axes`, the PNG records their note (figure_axes_note)."""
    plt = pyplot()
    buf: Any = io.BytesIO() if target is None else target
    if target is not None:
        target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(buf, dpi=dpi, format="png", metadata={AXES_KEY: axes.note} if axes else None)
    plt.close(fig)
    return buf.getvalue() if target is None else target


def draw_spectrogram(ax, img: np.ndarray, axes: SpectrogramAxes, *, cmap: str = "jet", left: bool = True,
                     bottom: bool = True):
    """One spectrogram (doppler, time) in dB on its axes; tick labels on the left column and bottom row only."""
    im = ax.imshow(axes.db(img), origin="lower", aspect="auto", interpolation="nearest", cmap=cmap,
                   vmin=-axes.dynamic_range_db, vmax=0, extent=axes.extent(*img.shape))
    ax.tick_params(labelsize=9, labelleft=left, labelbottom=bottom)
    if left:
        ax.set_ylabel(axes.labels[1], fontsize=9)
    if bottom:
        ax.set_xlabel(axes.labels[0], fontsize=9)
    return im


def db_colorbar(fig, im, ax, label: str = "dB below peak"):
    bar = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    bar.set_label(label, fontsize=9)
    bar.ax.tick_params(labelsize=9)
    return bar


def reconstruction_figure(x: np.ndarray, x_hat: np.ndarray, titles: list[str], axes: SpectrogramAxes, *,
                          cmap: str = "jet", suptitle: str = ""):
    """Rows: input, reconstruction, |error| (in dB), one column per sample, physical axes and colour bars."""
    plt = pyplot()
    n = len(x)
    fig, grid = plt.subplots(3, n, figsize=(1.7 * n + 1.6, 5.6), squeeze=False, sharex=True, sharey=True,
                             layout="constrained")
    names = ["input", "reconstruction", "|error|"]
    for j in range(n):
        err = np.abs(np.clip(x_hat[j, 0], -1, 1) - np.clip(x[j, 0], -1, 1)) / 2 * axes.dynamic_range_db
        for i, img in enumerate([x[j, 0], x_hat[j, 0]]):
            im = draw_spectrogram(grid[i, j], img, axes, cmap=cmap, left=j == 0, bottom=False)
        ime = grid[2, j].imshow(err, origin="lower", aspect="auto", interpolation="nearest", cmap="gray_r", vmin=0,
                                vmax=axes.dynamic_range_db / 2, extent=axes.extent(*err.shape))
        grid[2, j].tick_params(labelsize=9, labelleft=j == 0)
        grid[2, j].set_xlabel(axes.labels[0], fontsize=9)
        grid[0, j].set_title(titles[j], fontsize=9)
    for i, name in enumerate(names):
        grid[i, 0].set_ylabel(f"{name}\n{axes.labels[1]}", fontsize=9)
    db_colorbar(fig, im, grid[:2, :].ravel().tolist())
    db_colorbar(fig, ime, grid[2, :].ravel().tolist(), "|error| (dB)")
    if suptitle:
        fig.suptitle(suptitle, fontsize=9)
    return fig


def reconstruction_grid(x: np.ndarray, x_hat: np.ndarray, path: Path, titles: list[str], *, cmap: str = "jet",
                        suptitle: str = "", axes: SpectrogramAxes | None = None) -> Path:
    """Rows: input, reconstruction, |error|; one column per sample. x, x_hat: (n, c, doppler, time) in [-1, 1].
    With `axes`, drawn on them with colour bars (evaluation); without, as small bare thumbnails (training)."""
    if axes is not None:
        return save_figure(reconstruction_figure(x, x_hat, titles, axes, cmap=cmap, suptitle=suptitle), path,
                           axes=axes)
    plt = pyplot()
    n = len(x)
    fig, axs = plt.subplots(3, n, figsize=(1.3 * n + 0.6, 4.2), squeeze=False)
    for j in range(n):
        err = np.abs(x_hat[j, 0] - x[j, 0])
        for i, (img, kw) in enumerate([(x[j, 0], dict(cmap=cmap, vmin=-1, vmax=1)),
                                       (np.clip(x_hat[j, 0], -1, 1), dict(cmap=cmap, vmin=-1, vmax=1)),
                                       (err, dict(cmap="gray_r", vmin=0, vmax=1))]):
            ax = axs[i, j]
            ax.imshow(img, origin="lower", aspect="auto", interpolation="nearest", **kw)
            ax.set_xticks([])
            ax.set_yticks([])
        axs[0, j].set_title(titles[j], fontsize=9)
    for i, name in enumerate(["input", "reconstruction", "|error|"]):
        axs[i, 0].set_ylabel(name, fontsize=9)
    return _save(fig, path, suptitle)


def sample_row_figure(real: np.ndarray | None, fake: np.ndarray, axes: SpectrogramAxes, *, title: str = "",
                      cmap: str = "jet"):
    """One class: its real spectrograms (if any) then its generated ones, side by side on physical axes with a
    dB colour bar. real, fake: (n, c, doppler, time)."""
    plt = pyplot()
    items = [("real", r) for r in (real if real is not None else [])] + [("generated", f) for f in fake]
    cols = max(len(items), 1)
    fig, grid = plt.subplots(1, cols, figsize=(2.3 * cols + 1.2, 2.9), squeeze=False, sharey=True,
                             layout="constrained")
    im = None
    for j, (kind, img) in enumerate(items):
        im = draw_spectrogram(grid[0, j], img[0], axes, cmap=cmap, left=j == 0)
        grid[0, j].set_title(kind, fontsize=9, color="#000" if kind == "real" else "#036")
    if im is None:
        grid[0, 0].axis("off")
    else:
        db_colorbar(fig, im, grid[0, :].ravel().tolist())
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def sample_grid(x: np.ndarray, labels: np.ndarray, class_names: list[str], path: Path, *, cmap: str = "jet",
                suptitle: str = "", real: np.ndarray | None = None, real_labels: np.ndarray | None = None,
                max_rows: int = 40, axes: SpectrogramAxes | None = None) -> Path:
    """One row per class present in `labels` (at most `max_rows`), its samples side by side; with `real`, the
    first column of each row is a real spectrogram of that class, for comparison. x: (n, c, doppler, time).
    With `axes`, the left column and bottom row carry the physical axes and a dB colour bar is added."""
    plt = pyplot()
    classes = [c for c in dict.fromkeys(int(v) for v in labels)][:max_rows]
    cols = max(int((labels == c).sum()) for c in classes) + (1 if real is not None else 0)
    size = (1.1, 0.9) if axes is not None else (0.9, 0.9)
    fig, grid = plt.subplots(len(classes), cols, figsize=(size[0] * cols + 2.0, size[1] * len(classes) + 1.0),
                             squeeze=False, layout="constrained" if axes is not None else None)
    im = None
    for i, c in enumerate(classes):
        row = list(x[labels == c])
        if real is not None:
            have = real[real_labels == c]
            row = [have[0] if len(have) else np.full_like(x[0], -1)] + row
        for j in range(cols):
            ax = grid[i, j]
            if j >= len(row):
                ax.axis("off")
            elif axes is not None:
                im = draw_spectrogram(ax, row[j][0], axes, cmap=cmap, left=j == 0, bottom=i == len(classes) - 1)
                ax.set_ylabel(class_names[c] if j == 0 else "", fontsize=9, rotation=0, ha="right", va="center")
            else:
                ax.imshow(row[j][0], origin="lower", aspect="auto", interpolation="nearest", cmap=cmap, vmin=-1, vmax=1)
            if axes is None:
                ax.set_xticks([])
                ax.set_yticks([])
        if axes is None:
            grid[i, 0].set_ylabel(class_names[c], fontsize=9, rotation=0, ha="right", va="center")
    if real is not None:
        grid[0, 0].set_title("real", fontsize=9)
        if cols > 1:
            grid[0, 1].set_title("generated", fontsize=9, loc="left")
    if axes is None:
        return _save(fig, path, suptitle)
    if im is not None:
        db_colorbar(fig, im, grid.ravel().tolist())
    fig.suptitle(f"{suptitle}\n{axes.labels[1]} against {axes.labels[0]}" if suptitle else "", fontsize=10)
    return save_figure(fig, path, dpi=80, axes=axes)
