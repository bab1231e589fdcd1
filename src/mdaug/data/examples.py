"""Small labelled example spectrograms for tests and the demo, in every input format.

The signal is a compact point-scatterer return, not the full simulator (mdaug.simulate): a torso at a
constant radial speed plus four limbs whose speed swings sinusoidally around it at the gait cadence,
with arms and the left limbs half a cycle apart. Each class has its own speed, cadence and limb swing,
each session its own phase, speed jitter and noise, so the classes differ the way gaits do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.signal import ShortTimeFFT
from scipy.signal.windows import hamming

from mdaug.data import arrays
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.images import write_image
from mdaug.data.info import DataInfo
from mdaug.data.scaling import normalise

PRF_HZ = 2000.0
WAVELENGTH_M = 3e8 / 24e9


def example_magnitudes(n_classes: int = 4, per_session: int = 4, sessions: int = 3, shape: tuple[int, int] = (64, 64),
                       seed: int = 0) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Linear STFT magnitudes (n, doppler, time), Doppler ascending, with labels and session ids."""
    rng = np.random.default_rng(seed)
    d, t_bins = shape
    hop = 32
    p0 = -(-d // (2 * hop))  # first frame whose window lies wholly inside the signal
    n_samples = hop * (p0 + t_bins) + d
    t = np.arange(n_samples) / PRF_HZ
    stft = ShortTimeFFT(hamming(d, sym=False), hop=hop, fs=PRF_HZ, fft_mode="centered", mfft=d)
    mags, labels, sess = [], [], []
    for c in range(n_classes):
        speed, cadence, swing = rng.uniform(0.8, 1.5), rng.uniform(0.75, 1.1), rng.uniform(1.0, 1.6)
        for s in range(sessions):
            phase0 = rng.uniform(0, 2 * np.pi)
            for _ in range(per_session):
                v0 = speed * rng.uniform(0.95, 1.05)
                phase = phase0 + rng.uniform(0, 2 * np.pi)
                limbs = [(swing, 0.0, 0.35), (swing, np.pi, 0.35), (0.5 * swing, np.pi, 0.2), (0.5 * swing, 0.0, 0.2)]
                sig = np.exp(4j * np.pi / WAVELENGTH_M * v0 * t)  # approaching: positive Doppler
                for gain, offset, amp in limbs:
                    w = 2 * np.pi * cadence
                    # distance closed by a scatterer whose speed is v0 * (1 + gain * sin(w t + phase + offset))
                    r = v0 * t - v0 * gain / w * np.cos(w * t + phase + offset)
                    sig += amp * np.exp(4j * np.pi / WAVELENGTH_M * r)
                sig += (rng.standard_normal(n_samples) + 1j * rng.standard_normal(n_samples)) * 0.05
                spec = np.abs(stft.stft(sig, p0=p0, p1=p0 + t_bins))  # (doppler, time), ascending frequency
                mags.append(spec.astype(np.float32))
                labels.append(c)
                sess.append(f"s{s + 1}")
    return np.stack(mags), np.array(labels, dtype=np.int64), sess


def example_set(**kwargs) -> SpectrogramSet:
    """The example magnitudes in canonical form (40 dB range), as the readers should return them."""
    mags, labels, sessions = example_magnitudes(**kwargs)
    x = np.stack([normalise(m, "linear", 40.0) for m in mags])[:, None]
    names = [f"person{c + 1}" for c in range(labels.max() + 1)]
    records = [Record(id=f"example#{i}", file="example", index=i, class_name=names[lab], session=f"{names[lab]}/{s}",
                      orig_shape=x.shape[1:], file_sha256="", sample_hash=sample_hash(x[i]))
               for i, (lab, s) in enumerate(zip(labels, sessions))]
    return SpectrogramSet(x=x, labels=labels, class_names=names, records=records, info=DataInfo(source="examples"))


def write_examples(out: Path, fmt: str, colormap: str = "jet", **kwargs) -> Path:
    """Write the example set as radar people store data: `images` -> out/<person>/<session>/*.png
    rendered with `colormap`; `npz`, `mat`, `mat73`, `hdf5` -> one file of raw linear magnitudes with
    labels, class names and session ids. Returns the path to read."""
    mags, labels, sessions = example_magnitudes(**kwargs)
    names = [f"person{c + 1}" for c in range(labels.max() + 1)]
    out.mkdir(parents=True, exist_ok=True)
    if fmt == "images":
        for i, (m, lab, s) in enumerate(zip(mags, labels, sessions)):
            write_image(out / names[lab] / s / f"{i:04d}.png", normalise(m, "linear", 40.0)[None], colormap)
        return out
    sess = np.array([f"{names[lab]}/{s}" for lab, s in zip(labels, sessions)])
    content = {"spectrograms": mags, "labels": labels, "class_names": np.array(names), "sessions": sess}
    if fmt in ("mat", "mat73"):
        content |= {"spectrograms": np.moveaxis(mags, 0, -1), "labels": (labels + 1).astype(np.float64)[:, None]}
        path = out / "examples.mat"
        arrays.save_mat(path, content, v73=fmt == "mat73")
    elif fmt == "npz":
        path = out / "examples.npz"
        arrays.save_npz(path, content)
    elif fmt == "hdf5":
        path = out / "examples.h5"
        arrays.save_hdf5(path, content)
    else:
        raise ValueError(f"unknown example format {fmt!r}")
    return path
