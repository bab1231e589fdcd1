"""Which recogniser design learns gait identity on held-out sessions? Same data, steps and optimiser for each.

    .venv/bin/python benchmarks/recognizer_designs.py bn:600:64 gn:600:64 bn_doppler:600:64 bn:1500:64

Each argument is DESIGN:STEPS:BATCH. Designs (each stage halves both axes, then global average pooling):
- bn:          mdaug's recogniser, conv 3x3 -> BatchNorm -> ReLU -> max-pool, channels (16, 32, 64, 96);
- gn:          the same with GroupNorm instead of BatchNorm;
- bn_doppler:  BatchNorm, with the last features pooled over time into 4 Doppler bands and projected;
- previous:    the design mdaug used before (two GroupNorm convs per stage, (32, 64, 128), pooling between
               stages, 8 Doppler bands).
Trained on the quick preset's training split (AdamW, OneCycle to 3e-3, label smoothing 0.1, time shift
+-50%) and tested on its test split, whose recording sessions no training sample comes from.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F
from torch import nn

from mdaug.config import load_config
from mdaug.data.transforms import random_time_shift
from mdaug.runs.run_data import load_run_data


class DopplerBands(nn.Module):
    def __init__(self, c: int, bins: int) -> None:
        super().__init__()
        self.bins = bins
        self.proj = nn.Sequential(nn.Flatten(), nn.Linear(c * bins, c), nn.ReLU())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.proj(F.adaptive_avg_pool2d(x, (self.bins, 1)))


def pooled_net(n_cls: int, chs=(16, 32, 64, 96), norm: str = "bn", pool: str = "global") -> nn.Module:
    layers, c = [], 1
    for o in chs:
        nrm = nn.BatchNorm2d(o) if norm == "bn" else nn.GroupNorm(min(8, o), o)
        layers.append(nn.Sequential(nn.Conv2d(c, o, 3, padding=1), nrm, nn.ReLU(), nn.MaxPool2d(2)))
        c = o
    head = [nn.AdaptiveAvgPool2d(1), nn.Flatten()] if pool == "global" else [DopplerBands(c, 4)]
    return nn.Sequential(*layers, *head, nn.Dropout(0.3), nn.Linear(c, n_cls))


def previous_net(n_cls: int) -> nn.Module:
    def stage(i: int, o: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.GroupNorm(8, o), nn.SiLU(),
                             nn.Conv2d(o, o, 3, padding=1), nn.GroupNorm(8, o), nn.SiLU())

    return nn.Sequential(stage(1, 32), nn.MaxPool2d(2), stage(32, 64), nn.MaxPool2d(2), stage(64, 128),
                         DopplerBands(128, 8), nn.Dropout(0.2), nn.Linear(128, n_cls))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs", nargs="+", help="DESIGN:STEPS:BATCH")
    args = ap.parse_args()
    torch.set_num_threads(2)
    data = load_run_data(load_config("quick"))
    ds = data.dataset
    tr, te = torch.from_numpy(data.indices("train")), torch.from_numpy(data.indices("test"))
    x, y = torch.from_numpy(ds.x), torch.from_numpy(ds.labels)
    n_cls = len(ds.class_names)
    print(f"train {len(tr)}, test {len(te)} (held-out sessions), {n_cls} classes, chance {1 / n_cls:.3f}")
    designs = {"bn": lambda: pooled_net(n_cls), "gn": lambda: pooled_net(n_cls, norm="gn"),
               "bn_doppler": lambda: pooled_net(n_cls, pool="doppler"), "previous": lambda: previous_net(n_cls)}
    for spec in args.runs:
        name, steps, bs = spec.split(":")
        steps, bs = int(steps), int(bs)
        torch.manual_seed(0)
        g = torch.Generator().manual_seed(0)
        net = designs[name]()
        opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        xt, yt = x[tr], y[tr]
        t = time.perf_counter()
        net.train()
        for _ in range(steps):
            idx = torch.randint(0, len(xt), (bs,), generator=g)
            loss = F.cross_entropy(net(random_time_shift(xt[idx], 0.5, g)), yt[idx], label_smoothing=0.1)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
        dt = time.perf_counter() - t
        net.eval()
        with torch.no_grad():
            pred = torch.cat([net(x[te[i:i + 256]]).argmax(1) for i in range(0, len(te), 256)])
        acc = (pred == y[te]).float().mean().item()
        print(f"{name}: {steps} x {bs}, held-out-session accuracy {acc:.3f}, {dt:.0f} s", flush=True)


if __name__ == "__main__":
    main()
