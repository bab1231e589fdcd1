"""Stage 2: sampling throughput and quality per sampler and number of steps, and training throughput with
cached latents versus encoding every batch with the stage-1 model, side by side in one run.

    mdaug train-ae --config configs/vq.yaml --out runs/ae-vq
    mdaug train-ldm --ae runs/ae-vq --out runs/ldm-vq
    mdaug train-recognizer --role eval --config quick --out runs/rec-eval
    .venv/bin/python benchmarks/stage2_speed.py --ae runs/ae-vq --ldm runs/ldm-vq --recognizer runs/rec-eval

Quality is measured in the evaluation recogniser's feature space (trained on the real training split only):
the Fréchet distance (FD) of the samples to the real held-out split, and identity accuracy, the share of
samples that the recogniser assigns to the class they were generated for. The floor is the FD of as many
real training spectrograms to the same held-out split, and the recogniser's own accuracy on them.
Throughput rounds interleave the two training variants so that machine load hits both alike; figures are
medians over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from mdaug.config import load_config
from mdaug.evaluation.features import embed, frechet_distance
from mdaug.models.stage2 import SampleSettings
from mdaug.runs.loading import load_recognizer, load_stage2, stage1_data
from mdaug.sampling.generate import generate
from mdaug.training.stage2 import Stage2Recipe


class EncodeEveryStep(Stage2Recipe):
    """The same recipe, but each batch is encoded from the images by the frozen stage-1 model, as a
    latent-diffusion loop without a cache does."""

    @torch.no_grad()
    def batch(self, micro: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(self.order.batch(micro))
        dev = self.accelerator.device
        rows = self.latents.rows[idx].numpy()
        x = torch.from_numpy(self.data.dataset.x[rows]).to(dev)
        enc = self.pre.model.encode(x, mode=True)
        z = enc.latents.float()
        if enc.logvar is not None:
            z = z + torch.exp(0.5 * enc.logvar.float()) * torch.randn_like(z)
        return self.stats.normalise(z), self.latents.labels[idx].to(dev)


def training_speed(ae: str, config: str, steps: int, rounds: int) -> dict[str, float]:
    cfg = load_config(config, ["ldm_train.steps=100000"])
    out: dict[str, list[float]] = {"cached latents": [], "encode every step": []}
    with tempfile.TemporaryDirectory() as tmp:
        recipes = {"cached latents": Stage2Recipe(cfg, Path(tmp) / "cached", "ldm", autoencoder=ae),
                   "encode every step": EncodeEveryStep(cfg, Path(tmp) / "encode", "ldm", autoencoder=ae)}
        done = {k: 0 for k in recipes}
        for name, r in recipes.items():  # one warm-up step each
            r.train_step(done[name])
            done[name] += 1
        for _ in range(rounds):
            for name, r in recipes.items():
                t = time.perf_counter()
                for _ in range(steps):
                    r.train_step(done[name])
                    done[name] += 1
                out[name].append(steps * cfg.ldm_train.batch_size / (time.perf_counter() - t))
    return {k: statistics.median(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ae", required=True, help="stage-1 run")
    ap.add_argument("--ldm", required=True, help="latent-diffusion run trained on --ae")
    ap.add_argument("--recognizer", required=True, help="evaluation recogniser (train-recognizer --role eval)")
    ap.add_argument("--per-class", type=int, default=8, help="samples per class for each setting")
    ap.add_argument("--samplers", default="ddpm,ddim,dpm++")
    ap.add_argument("--steps", default="10,25,50,250")
    ap.add_argument("--guidance", type=float, default=None, help="default: the model's own")
    ap.add_argument("--config", default="quick", help="config for the training-throughput comparison")
    ap.add_argument("--train-steps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()

    rec, _ = load_recognizer(args.recognizer)
    s2 = load_stage2(args.ldm)
    data = stage1_data(s2.autoencoder)
    test = data.indices("test")
    f_test, _ = embed(rec, data.dataset.x[test])
    n_classes = len(s2.class_names)
    labels = np.repeat(np.arange(n_classes), args.per_class)
    rng = np.random.default_rng(0)
    train = data.indices("train")
    floor_rows = np.concatenate([rng.choice(train[data.dataset.labels[train] == c], args.per_class, replace=False)
                                 for c in range(n_classes)])
    f_floor, logit_floor = embed(rec, data.dataset.x[floor_rows])
    results = {"floor": {"fd": frechet_distance(f_floor, f_test),
                         "identity_accuracy": float((logit_floor.argmax(1) == data.dataset.labels[floor_rows]).mean())},
               "samples": labels.size, "sampling": []}
    print(f"real training spectrograms ({labels.size}): FD to test {results['floor']['fd']:.2f}, "
          f"recogniser accuracy {results['floor']['identity_accuracy']:.3f}")
    guidance = args.guidance if args.guidance is not None else s2.default_settings().guidance_scale
    for sampler in args.samplers.split(","):
        for steps in [int(s) for s in args.steps.split(",")]:
            settings = SampleSettings(steps=steps, guidance_scale=guidance, sampler=sampler)
            t = time.perf_counter()
            x = generate(s2, labels, settings, seed=0, batch_size=128, device="cpu")
            dt = time.perf_counter() - t
            f, logits = embed(rec, x)
            row = {"sampler": sampler, "steps": steps, "img_per_s": labels.size / dt, "fd": frechet_distance(f, f_test),
                   "identity_accuracy": float((logits.argmax(1) == labels).mean())}
            results["sampling"].append(row)
            print(f"{sampler:6s} {steps:4d} steps: {row['img_per_s']:7.1f} img/s  FD {row['fd']:7.2f}  "
                  f"identity {row['identity_accuracy']:.3f}", flush=True)
    results["training"] = training_speed(args.ae, args.config, args.train_steps, args.rounds)
    base = results["training"]["encode every step"]
    for k, v in results["training"].items():
        print(f"train {k:18s}: {v:7.1f} img/s  ({v / base:.2f}x)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
