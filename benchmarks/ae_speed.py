"""Stage-1 training throughput: every mdaug family through its real training step, side by side with a
plain diffusers VQModel / AutoencoderKL loop of the same size, fp32 and bf16 autocast, in one run.

    .venv/bin/python benchmarks/ae_speed.py --steps 8 --rounds 3

Rounds interleave the contenders so that machine load hits all of them alike; each figure is the median
over rounds of (batch * steps / time). Baselines: diffusers' own models with an L1 loss and their own
regulariser (VQ commitment / KL), plain AdamW, nothing else; ours adds the spectral loss, weight EMA,
gradient clipping, the NaN check, time-shift augmentation and the epoch health statistics.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from mdaug.config import load_config
from mdaug.runs.run_data import load_run_data
from mdaug.training.autoencoder import AutoencoderRecipe


def ours(family: str, precision: str, data, tmp: Path):
    cfg = load_config(f"configs/{family}.yaml", [f"ae_train.mixed_precision={precision}", "ae_train.steps=100000"])
    recipe = AutoencoderRecipe(cfg, tmp / f"{family}-{precision}", data=data)
    state = {"step": 0}

    def step() -> None:
        recipe.train_step(state["step"])
        state["step"] += 1

    return step, cfg.ae_train.batch_size


def baseline(kind: str, precision: str, x: torch.Tensor):
    from diffusers import AutoencoderKL, VQModel

    a = load_config("quick").ae
    common = dict(in_channels=1, out_channels=1, down_block_types=("DownEncoderBlock2D",) * len(a.block_out_channels),
                  up_block_types=("UpDecoderBlock2D",) * len(a.block_out_channels),
                  block_out_channels=tuple(a.block_out_channels), layers_per_block=a.layers_per_block,
                  latent_channels=a.latent_channels, norm_num_groups=a.norm_num_groups,
                  mid_block_add_attention=a.attention)
    torch.manual_seed(0)
    model = VQModel(**common, num_vq_embeddings=512) if kind == "VQModel" else AutoencoderKL(**common)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    g = torch.Generator().manual_seed(0)
    bf16 = precision == "bf16"

    def step() -> None:
        b = x[torch.randint(0, len(x), (16,), generator=g)]
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if kind == "VQModel":
                out = model(b)
                loss = F.l1_loss(out.sample.float(), b) + out.commit_loss.float().mean()
            else:
                post = model.encode(b).latent_dist
                loss = F.l1_loss(model.decode(post.sample()).sample.float(), b) + 1e-6 * post.kl().float().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step, 16


def timed(step, steps: int) -> float:
    t = time.perf_counter()
    for _ in range(steps):
        step()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--families", default="kl,vq,vqgan,rq,fsq")
    ap.add_argument("--precisions", default="no,bf16")
    args = ap.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    data = load_run_data(load_config("quick"))
    x = torch.from_numpy(data.dataset.x[data.indices("train")])
    contenders = {}
    with tempfile.TemporaryDirectory() as tmp:
        for precision in args.precisions.split(","):
            for kind in ("VQModel", "AutoencoderKL"):
                contenders[(f"diffusers {kind}", precision)] = baseline(kind, precision, x)
            for family in args.families.split(","):
                contenders[(f"mdaug {family}", precision)] = ours(family, precision, data, Path(tmp))
        for step, _ in contenders.values():  # warm-up: k-means init, allocator, autocast caches
            timed(step, 2)
        rates: dict = {k: [] for k in contenders}
        for r in range(args.rounds):
            for key, (step, batch) in contenders.items():
                rates[key].append(batch * args.steps / timed(step, args.steps))
            print(f"round {r + 1}/{args.rounds} done", flush=True)
    print(f"\n64x64, batch 16, channels {tuple(load_config('quick').ae.block_out_channels)}, {args.steps} steps x "
          f"{args.rounds} rounds, {torch.get_num_threads()} threads\n")
    print("| model | fp32 img/s | bf16 img/s | fp32 vs diffusers VQModel |")
    print("|---|---|---|---|")
    ref = statistics.median(rates[("diffusers VQModel", "no")]) if ("diffusers VQModel", "no") in rates else None
    for name in dict.fromkeys(k[0] for k in contenders):
        fp32 = statistics.median(rates[(name, "no")]) if (name, "no") in rates else float("nan")
        bf16 = statistics.median(rates[(name, "bf16")]) if (name, "bf16") in rates else float("nan")
        ratio = f"{fp32 / ref:.2f}x" if ref else "-"
        print(f"| {name} | {fp32:.1f} | {bf16:.1f} | {ratio} |")


if __name__ == "__main__":
    main()
