"""Write a simulated dataset: a prepared mdaug dataset plus the person-trait table, per-recording
metadata, a preview with physical axes and, optionally, a jet-coloured image folder."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.config import CONFIG_FILE, Config, save_config
from mdaug.data import SPLIT_FILE, make_split, save_prepared, save_split, write_dataset
from mdaug.files import atomic_write_text, csv_text
from mdaug.plotting import pyplot
from mdaug.simulate.dataset import Simulated


def person_preview(sim: Simulated, path: Path, cmap: str = "jet") -> Path:
    """One spectrogram per person (first session, first recording) with Doppler in Hz and time in s."""
    plt = pyplot()

    ds = sim.dataset
    n = len(ds.class_names)
    cols = min(8, n)
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.75 * rows + 0.4), squeeze=False, sharex=True,
                             sharey=True)
    extent = [float(sim.time_s[0]), float(sim.time_s[-1]), float(sim.doppler_hz[0]), float(sim.doppler_hz[-1])]
    for c in range(rows * cols):
        ax = axes[c // cols, c % cols]
        if c >= n:
            ax.axis("off")
            continue
        i = int(np.flatnonzero(ds.labels == c)[0])
        ax.imshow(ds.x[i, 0], origin="lower", aspect="auto", cmap=cmap, vmin=-1, vmax=1, extent=extent,
                  interpolation="nearest")
        m = sim.samples[i]
        ax.set_title(f"{ds.class_names[c]}  {m.speed_mps:.2f} m/s, {m.aspect_deg:.0f} deg", fontsize=6)
        ax.tick_params(labelsize=6)
        if c % cols == 0:
            ax.set_ylabel("Doppler (Hz)", fontsize=6)
        if c // cols == rows - 1:
            ax.set_xlabel("time (s)", fontsize=6)
    info = ds.info
    fig.suptitle(f"simulated walkers: {info.carrier_hz / 1e9:g} GHz, PRF {info.prf_hz:g} Hz, "
                 f"{info.dynamic_range_db:g} dB range (one recording per person)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def corpus_preview(sims: list[Simulated], parts: list, path: Path, cmap: str = "jet") -> Path:
    """One spectrogram per corpus part, with its radar, display and Doppler axis in Hz."""
    plt = pyplot()

    cols = min(8, len(sims))
    rows = -(-len(sims) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(1.9 * cols, 1.9 * rows + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= len(sims):
            ax.axis("off")
            continue
        sim, part = sims[k], parts[k]
        extent = [float(sim.time_s[0]), float(sim.time_s[-1]), float(sim.doppler_hz[0]), float(sim.doppler_hz[-1])]
        ax.imshow(sim.dataset.x[0, 0], origin="lower", aspect="auto", cmap=cmap, vmin=-1, vmax=1, extent=extent,
                  interpolation="nearest")
        ax.set_title(f"{part.radar}\n{part.display}, {part.simulate.path}", fontsize=6)
        ax.tick_params(labelsize=5)
    fig.suptitle("pretraining corpus: one recording per part (Doppler in Hz, time in s)", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path


def write_simulated(sim: Simulated, out: Path, cfg: Config, *, images: bool = False) -> Path:
    """Write everything under `out` (new or empty; the caller checks)."""
    ds = sim.dataset
    save_prepared(ds, out)
    save_split(make_split(ds, cfg.split), out / SPLIT_FILE)
    atomic_write_text(out / "people.csv", csv_text([p.row() for p in sim.people]))
    atomic_write_text(out / "recordings.csv",
                      csv_text([{"id": r.id} | m.row() for r, m in zip(ds.records, sim.samples)]))
    save_config(cfg, out / CONFIG_FILE)
    person_preview(sim, out / "preview.png")
    if images:
        write_dataset(ds, out / "images", "images", colormap="jet")
    return out
