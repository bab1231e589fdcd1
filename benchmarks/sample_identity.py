"""How often a utility budget's real-only recogniser names the person of synthetic samples drawn for the
validation split's labels: from noise at several guidance scales, and anchored on the validation spectrograms
(SDEdit) at several strengths, beside the same recogniser on the real and reconstructed validation spectrograms.

    .venv/bin/python benchmarks/sample_identity.py runs/explore-k10/budget-10/repeat-0 [LDM_RUN]

LDM_RUN defaults to the folder's own ldm/; pass another stage-2 run trained on the same stage 1 (for instance one
trained with another `ldm_train.class_lr`) to compare.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer, load_stage2, stage1_data
from mdaug.sampling.generate import generate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", type=Path, help="a utility study's budget-K/repeat-R folder")
    ap.add_argument("ldm", type=Path, nargs="?")
    a = ap.parse_args()
    s2 = load_stage2(a.ldm or a.folder / "ldm")
    rec, _ = load_recognizer(a.folder / "recognizer-real")
    rec.eval()
    real = stage1_data(load_pretrained_autoencoder(a.folder / "ae"))
    val = real.indices("val")
    x, y = real.dataset.x[val], real.dataset.labels[val]

    def identified(samples: np.ndarray) -> float:
        with torch.no_grad():
            pred = torch.cat([rec(torch.from_numpy(samples[i:i + 256])) for i in range(0, len(samples), 256)])
        return float((pred.argmax(1).numpy() == y).mean())

    ae = s2.autoencoder.model
    with torch.no_grad():
        recon = np.concatenate([ae.decode(ae.encode(torch.from_numpy(x[i:i + 64]), mode=True).latents)
                                .clamp(-1, 1).numpy() for i in range(0, len(x), 64)])
    print(f"real validation {identified(x):.3f}, reconstructions {identified(recon):.3f}")
    base = s2.default_settings()
    for g in (1.0, 2.0, 4.0):
        print(f"from noise, guidance {g}: {identified(generate(s2, y, replace(base, guidance_scale=g), seed=5)):.3f}")
    for st in (0.3, 0.5, 0.7):
        anchored = generate(s2, y, replace(base, strength=st), seed=5, anchors=x)
        print(f"anchored, strength {st}: {identified(anchored):.3f}")


if __name__ == "__main__":
    main()
