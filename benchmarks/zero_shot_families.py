"""Every shipped first stage and its shipped second stages, zero-shot on the corpus they were trained on: which family
generates best before any fine-tuning. The judge is the shipped recogniser (recognizer-64x64), whose corpus holds the
same simulated walkers (its seeds include the generators' seeds); the test recordings it trained on are left out.

Per family: the real corpus test recordings the recogniser identifies (the real rate), the stage-1 reconstructions of
them, the latent diffusion's samples and, for the families with codes, the code prior's samples (as many per walker,
the model's own sampling settings), each as identity (with a 95% bootstrap interval over walkers), its ratio to the
real rate, and the Fréchet distance to the real test recordings in the recogniser's features (floor: as many real
training recordings). Writes benchmarks/results/zero-shot-families.json; its table is in benchmarks/README.md.

    .venv/bin/python benchmarks/zero_shot_families.py
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.evaluation.features import embed, frechet_distance
from mdaug.inference import reconstruct
from mdaug.runs.loading import load_pretrained_autoencoder, load_recognizer, load_stage2
from mdaug.runs.pretrained import SHIPPED
from mdaug.runs.run_data import load_run_data
from mdaug.sampling.generate import generate
from mdaug.workflows.pretrain import corpus_config
from mdaug.workflows.provenance import provenance

FAMILIES = ("kl", "vq", "vqgan", "rq", "fsq")
RECOGNIZER = SHIPPED / "recognizer-64x64"


def judged(names_true: list[str], logits: np.ndarray, judge_names: list[str], walkers: list[str],
           rng: np.random.Generator, boots: int = 1000) -> dict[str, float]:
    """Identity (share named as their walker, out of every class the judge knows) with a 95% bootstrap interval
    that resamples walkers (samples of one walker are not independent)."""
    index = {n: k for k, n in enumerate(judge_names)}
    hit = logits.argmax(1) == np.array([index[n] for n in names_true])
    per = {w: [] for w in walkers}
    for n, h in zip(names_true, hit):
        per[n].append(h)
    sums = np.array([sum(v) for v in per.values()], float)
    counts = np.array([len(v) for v in per.values()], float)
    draws = rng.integers(0, len(sums), (boots, len(sums)))
    boot = sums[draws].sum(1) / counts[draws].sum(1)
    return {"identity": float(hit.mean()), "low": float(np.quantile(boot, 0.025)),
            "high": float(np.quantile(boot, 0.975)), "n": int(len(hit))}


class Judge:
    """The shipped recogniser and the corpus test recordings it never trained on: what every zero-shot figure is
    measured against."""

    def __init__(self) -> None:
        data = load_run_data(corpus_config(load_config("pretrain")))
        self.recognizer, card = load_recognizer(RECOGNIZER)
        seen = set(card.train_ids or [])
        ids = data.dataset.ids
        test = np.array([i for i in data.indices("test") if ids[i] not in seen])
        if len(test) < 100:
            raise MdaugError(f"only {len(test)} corpus test recordings are new to {RECOGNIZER.name}; is this its "
                             "corpus?")
        self.walkers = list(data.dataset.class_names)
        unknown = sorted(set(self.walkers) - set(card.class_names))
        if unknown:
            raise MdaugError(f"{RECOGNIZER.name} does not know the corpus walkers {unknown[:3]}...")
        self.judge_names = list(card.class_names)
        self.rng = np.random.default_rng(0)
        train = self.rng.choice(data.indices("train"), len(test), replace=False)
        self.x_test = data.dataset.x[test]
        self.names_test = [self.walkers[c] for c in data.dataset.labels[test]]
        self.f_test, logits = embed(self.recognizer, self.x_test)
        self.fid_floor = frechet_distance(embed(self.recognizer, data.dataset.x[train])[0], self.f_test)
        self.real = judged(self.names_test, logits, self.judge_names, self.walkers, self.rng)
        self.left_out = int(len(data.indices("test")) - len(test))

    def about(self) -> dict:
        return {"recognizer": RECOGNIZER.name, "recognizer_sha256": card_sha(RECOGNIZER),
                "judge_classes": len(self.judge_names), "test": len(self.x_test), "left_out_seen": self.left_out,
                "walkers": len(self.walkers), "real": self.real, "fid_floor": self.fid_floor}

    def judge(self, x: np.ndarray, names: list[str]) -> dict[str, float]:
        """Identity of spectrograms `x` meant as the walkers `names`, with its interval, and their FID."""
        f, logits = embed(self.recognizer, x)
        return judged(names, logits, self.judge_names, self.walkers, self.rng) | {
            "fid": frechet_distance(f, self.f_test)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-class", type=int, default=4, help="samples per walker from each second stage")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--results", type=Path, default=Path("benchmarks/results/zero-shot-families.json"))
    args = ap.parse_args()
    started = time.monotonic()
    try:
        judge = Judge()
    except MdaugError as e:
        sys.exit(f"error: {e}")
    record = {**provenance(" ".join(["python", *sys.argv])), **judge.about(), "per_class": args.per_class,
              "families": {}}
    for family in args.families.split(","):
        name = f"{family}-64x64"
        if not (SHIPPED / name).is_dir():
            print(f"{name}: not shipped, skipped")
            continue
        pre = load_pretrained_autoencoder(SHIPPED / name)
        row = {"stage1": name, "reconstructions": judge.judge(reconstruct(pre.model, judge.x_test), judge.names_test)}
        for kind in ("ldm", "prior"):
            folder = SHIPPED / f"{name}-{kind}"
            if not folder.is_dir():
                continue
            s2 = load_stage2(folder, autoencoder=SHIPPED / name)
            labels = np.repeat(np.arange(len(s2.class_names)), args.per_class)
            t = time.monotonic()
            x = generate(s2, labels, s2.default_settings(), seed=0)
            row[kind] = judge.judge(x, [s2.class_names[c] for c in labels]) | {
                "model": folder.name, "sampling": s2.card.sampling, "seconds": round(time.monotonic() - t, 1)}
        record["families"][family] = row
        real = judge.real["identity"]
        print(family, {k: round(v["identity"] / real, 2) for k, v in row.items() if isinstance(v, dict)})
    record["wall_s"] = round(time.monotonic() - started, 1)
    args.results.write_text(json.dumps(record, indent=1) + "\n")
    print(f"real {judge.real['identity']:.3f}; wrote {args.results}")


def card_sha(folder: Path) -> str:
    return json.loads((folder / "pretraining.json").read_text())["weights_sha256"]


if __name__ == "__main__":
    main()
