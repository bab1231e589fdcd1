"""Which neighbourhood makes precision/recall say something: on the gait benchmark, sets whose quality is known by
construction, measured against the real test split at each k of metrics.NEIGHBOURS, in the features of an
evaluation recogniser trained on the benchmark and in those of the shipped pretrained recogniser (trained on other
people). The sets: real training spectrograms (the floor, and a second disjoint draw), the shipped kl-64x64's
reconstructions of the floor (good), a 4x average-pool-and-upsample of it (texture gone), each person's mean
spectrogram repeated (mode collapse within a class), three people's spectrograms only (collapse across classes), and
noise. Writes benchmarks/results/precision-recall.json; its table is in benchmarks/README.md.

    .venv/bin/python benchmarks/precision_recall.py runs/pretrain-vq/recognizer-gait
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from mdaug.config import load_config
from mdaug.evaluation.features import embed
from mdaug.evaluation.metrics import NEIGHBOURS, calibrated_neighbours, precision_recall
from mdaug.inference import reconstruct
from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer
from mdaug.runs.pretrained import SHIPPED
from mdaug.runs.run_data import load_run_data
from mdaug.workflows.pretrain import target_config
from mdaug.workflows.provenance import provenance

PER_CLASS = 30


def sets(x: np.ndarray, labels: np.ndarray, second: np.ndarray, n_classes: int) -> dict[str, np.ndarray]:
    """The sets of known quality, each as many spectrograms as the floor `x`."""
    t = torch.as_tensor(x)
    pre = load_pretrained_autoencoder(SHIPPED / "kl-64x64")
    means = torch.stack([t[torch.as_tensor(labels == c)].mean(0) for c in range(n_classes)])
    few = t[torch.as_tensor(labels < 3)]
    return {"real training (floor)": x, "real training, another draw": second,
            "kl-64x64 reconstructions": np.asarray(reconstruct(pre.model, x, batch_size=128)),
            "4x pooled (texture gone)": F.interpolate(F.avg_pool2d(t, 4), scale_factor=4).numpy(),
            "each person's mean (collapse)": means[torch.as_tensor(labels)].numpy(),
            "three people only": few.repeat(len(x) // len(few) + 1, 1, 1, 1)[:len(x)].numpy(),
            "noise": torch.clamp(torch.randn(t.shape, generator=torch.Generator().manual_seed(0)) * 0.5 - 0.5,
                                 -1, 1).numpy()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("recognizer", help="an eval recogniser trained on the gait benchmark (as pretrain-ae makes)")
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/precision-recall.json"))
    args = ap.parse_args()
    data = load_run_data(target_config(load_config("pretrain"), "gait"))
    ds = data.dataset
    rec, card = load_recognizer(args.recognizer)
    if card.data_fingerprint != ds.fingerprint():
        sys.exit("error: the recogniser was not trained on the gait benchmark")
    train, test = data.indices("train"), data.indices("test")
    rng = np.random.default_rng(0)
    n_classes = len(ds.class_names)
    first = np.concatenate([rng.choice(train[ds.labels[train] == c], PER_CLASS, replace=False)
                            for c in range(n_classes)])
    rest = np.setdiff1d(train, first)
    second = np.concatenate([rng.choice(rest[ds.labels[rest] == c], PER_CLASS, replace=False)
                             for c in range(n_classes)])
    spaces = {"evaluation recogniser": rec, "shipped pretrained recogniser": load_recognizer(SHIPPED /
                                                                                            "recognizer-64x64")[0]}
    rows, known = [], sets(ds.x[first], ds.labels[first], ds.x[second], n_classes)  # once for both spaces
    for space, model in spaces.items():
        f_test = embed(model, ds.x[test])[0]
        feats = {name: embed(model, s)[0] for name, s in known.items()}
        chosen = calibrated_neighbours(f_test, feats["real training (floor)"])
        for name, f in feats.items():
            rows.append({"space": space, "set": name, "calibrated_k": chosen,
                         "by_k": {str(k): precision_recall(f_test, f, k=k) for k in NEIGHBOURS}})
            print(space, name, {k: tuple(round(v, 2) for v in pr.values()) for k, pr in rows[-1]["by_k"].items()})
    record = {**provenance(" ".join(["python", *sys.argv])), "test_samples": int(len(test)),
              "per_set": int(len(first)), "rows": rows}
    args.results.write_text(json.dumps(record, indent=1) + "\n")


if __name__ == "__main__":
    main()
