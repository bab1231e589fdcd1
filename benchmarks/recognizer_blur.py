"""How a trained recogniser copes with smooth spectrograms: its accuracy on the real test split after a
Gaussian blur of sigma bins on both axes (the data and split of the preset it was trained with), and with
--samples, how often it identifies the samples of an exported augmented dataset (`mdaug augment` or a
`mdaug run` folder's synthetic/, written as a prepared dataset).

    .venv/bin/python benchmarks/recognizer_blur.py runs/demo/recognizer-eval --sigmas 0,0.5,1,1.5
    .venv/bin/python benchmarks/recognizer_blur.py REC --sigmas 0,1 --samples runs/demo/synthetic
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy.ndimage import gaussian_filter

from mdaug.config import load_config
from mdaug.evaluation.features import embed
from mdaug.runs.loading import load_recognizer
from mdaug.runs.run_data import load_run_data


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("recognizer")
    ap.add_argument("--preset", default="quick")
    ap.add_argument("--sigmas", default="0,0.5,1,1.5")
    ap.add_argument("--samples", help="an exported augmented dataset (prepared format) to identify")
    args = ap.parse_args()
    rec, meta = load_recognizer(args.recognizer)
    data = load_run_data(load_config(args.preset))
    if data.dataset.fingerprint() != meta.data_fingerprint:
        raise SystemExit("the recogniser was trained on other data than this preset's")
    idx = data.indices("test")
    x, y = data.dataset.x[idx], data.dataset.labels[idx]
    print("| sigma (bins) | accuracy |\n|---|---|")
    for s in (float(v) for v in args.sigmas.split(",")):
        xb = np.stack([gaussian_filter(a, (0, s, s)) for a in x]).astype(np.float32) if s > 0 else x
        _, logits = embed(rec, xb)
        print(f"| {s:g} | {np.mean(logits.argmax(1) == y):.3f} |")
    if args.samples:
        from pathlib import Path

        from mdaug.data import load_prepared

        syn = load_prepared(Path(args.samples))
        names = list(meta.class_names)
        want = np.array([names.index(n) for n in syn.class_names])[syn.labels]
        _, logits = embed(rec, syn.x)
        print(f"\nsamples of {args.samples} identified as their class: {np.mean(logits.argmax(1) == want):.3f} "
              f"({len(want)} samples, chance {1 / len(names):.3f})")


if __name__ == "__main__":
    from mdaug.errors import MdaugError

    try:
        main()
    except MdaugError as e:
        raise SystemExit(f"error: {e}") from None
