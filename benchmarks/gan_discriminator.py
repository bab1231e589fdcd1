"""Can the PatchGAN discriminator tell a stage 1's reconstructions from real spectrograms, and what in its input
augmentation stops it? The shipped vq-64x64's reconstructions of corpus spectrograms (the fakes a VQ-GAN's
discriminator sees when vqgan-64x64 continues vq-64x64) against the spectrograms themselves: the discriminator of
`gan.*` trained alone, as mdaug trains it (hinge loss, AdamW, betas (0.5, 0.9), gradient clipping at 1), under each
augmentation, then scored on held-out pairs.

    .venv/bin/python benchmarks/gan_discriminator.py

Writes benchmarks/results/gan-discriminator.json; its table is in benchmarks/README.md. A few minutes per setting on
2 CPU cores.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

from mdaug.config import load_config
from mdaug.data.transforms import diff_augment
from mdaug.inference import reconstruct
from mdaug.losses.adversarial import d_hinge
from mdaug.models.discriminator import PatchDiscriminator
from mdaug.runs.loading import load_pretrained_autoencoder
from mdaug.runs.run_data import load_run_data
from mdaug.workflows.pretrain import corpus_config
from mdaug.workflows.provenance import provenance

SETTINGS = {
    "no augmentation": None,
    "shift, cutout 0.25, gain (the former default)": {"shift": 0.125, "mask": 0.25, "gain": 0.1},
    "shift and gain (the default now)": {"shift": 0.125, "mask": 0.0, "gain": 0.1},
}
"""diff_augment's arguments per setting (None: the discriminator sees the spectrograms as they are)."""


def pairs(n_train: int, n_test: int) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(real, reconstructed) corpus spectrograms of the training and test splits."""
    data = load_run_data(corpus_config(load_config("pretrain")))
    pre = load_pretrained_autoencoder(Path(__file__).resolve().parents[1] / "src/mdaug/pretrained/vq-64x64")
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        x = data.dataset.x[data.indices(split)[:n]].astype(np.float32)
        out[split] = (torch.from_numpy(x), torch.from_numpy(reconstruct(pre.model.float(), x)))
    return out


def train_and_score(data: dict, aug: dict | None, *, steps: int, lr: float, batch_size: int = 16,
                    seed: int = 0) -> dict[str, float]:
    torch.manual_seed(seed)
    disc = PatchDiscriminator(in_channels=1, channels=64, layers=3)
    opt = torch.optim.AdamW(disc.parameters(), lr=lr, betas=(0.5, 0.9))
    g = torch.Generator().manual_seed(seed)
    real, fake = data["train"]
    for _ in range(steps):
        i = torch.randint(0, len(real), (batch_size,), generator=g)
        both = torch.cat([real[i], fake[i]])
        loss, _ = d_hinge(*disc(diff_augment(both, g, **aug) if aug else both).chunk(2))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(disc.parameters(), 1.0)
        opt.step()
    disc.eval()
    with torch.no_grad():
        a, b = (disc(v).flatten(1).mean(1) for v in data["test"])
    return {"pair_accuracy": float((a > b).float().mean()), "logit_gap": float((a - b).mean()),
            "logit_gap_std": float((a - b).std())}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/gan-discriminator.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    data = pairs(2048, 512)
    rows = []
    for name, aug in SETTINGS.items():
        t0 = time.monotonic()
        rows.append({"setting": name, "augmentation": aug, **train_and_score(data, aug, steps=args.steps, lr=args.lr),
                     "seconds": round(time.monotonic() - t0, 1)})
        print(json.dumps(rows[-1]), flush=True)
    record = {**provenance(" ".join(["python", *sys.argv])), "steps": args.steps, "lr": args.lr, "batch_size": 16,
              "train_pairs": 2048, "test_pairs": 512, "settings": rows}
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
