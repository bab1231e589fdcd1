"""Is the built-in 31-person dataset as hard as real radar gait identification?

    .venv/bin/python benchmarks/simulator_calibration.py [--seeds 2] [--epochs 15]

Simulates the default people with one extra session each (6 x 30 recordings per person), trains a
small CNN on the first five sessions (150, 20 or 10 recordings per person, spread over the sessions)
and tests it on the held-out sixth session. Published identification accuracies on real radar data
are 80-97%; the simulator should land in that range at 150 per person and clearly lower
with 10-20. The CNN is a stand-in until mdaug's own recogniser exists.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn as nn

from mdaug.config import load_config
from mdaug.data.transforms import random_time_shift
from mdaug.simulate.dataset import simulate_dataset


def cnn(n_classes: int) -> nn.Module:
    def block(i, o):
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(1, 16), block(16, 32), block(32, 64), block(64, 96), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Dropout(0.3), nn.Linear(96, n_classes))


def train_eval(x_tr, y_tr, x_te, y_te, n_classes, seed, steps) -> float:
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = cnn(n_classes)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    xt, yt = torch.from_numpy(x_tr), torch.from_numpy(y_tr)
    model.train()
    for _ in range(steps):
        idx = torch.randint(0, len(xt), (64,), generator=g)
        xb = random_time_shift(xt[idx], 0.5, g)
        loss = nn.functional.cross_entropy(model(xb), yt[idx], label_smoothing=0.1)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(torch.from_numpy(x_te[i:i + 256])).argmax(1) for i in range(0, len(x_te), 256)])
    return float((pred.numpy() == y_te).mean())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--steps", type=int, default=1500, help="training steps of batch 64 at 150 per person")
    ap.add_argument("overrides", nargs="*", help="simulate.* overrides, e.g. simulate.aspect_jitter_deg=20")
    args = ap.parse_args()
    base = load_config(None, [o if o.startswith("simulate.") else f"simulate.{o}" for o in args.overrides]).simulate
    cfg = base.model_copy(update={"per_person": base.per_person // base.sessions * (base.sessions + 1),
                                  "sessions": base.sessions + 1})
    t0 = time.perf_counter()
    sim = simulate_dataset(cfg, (64, 64), progress=False)
    print(f"simulated {len(sim.dataset)} spectrograms in {time.perf_counter() - t0:.0f} s")
    ds = sim.dataset
    session_no = np.array([int(r.session.rsplit("s", 1)[1]) for r in ds.records])
    test = session_no == cfg.sessions
    x_te, y_te = ds.x[test], ds.labels[test]
    rows = []
    for k in (base.per_person, 20, 10):
        accs = []
        for seed in range(args.seeds):
            rng = np.random.default_rng(seed)
            tr = []
            for c in range(len(ds.class_names)):
                pool = np.flatnonzero((ds.labels == c) & ~test)
                tr.extend(pool[np.sort(rng.choice(len(pool), size=min(k, len(pool)), replace=False))])
            tr = np.array(tr)
            steps = args.steps if k >= 100 else args.steps // 2
            t1 = time.perf_counter()
            accs.append(train_eval(ds.x[tr], ds.labels[tr], x_te, y_te, len(ds.class_names), seed, steps))
            print(f"  k={k} seed={seed}: {accs[-1]:.3f} ({time.perf_counter() - t1:.0f} s)", flush=True)
        rows.append((k, np.mean(accs), np.std(accs)))
    print("\n| real samples per person | held-out-session accuracy (mean +- std over seeds) |")
    print("|---|---|")
    for k, m, s in rows:
        print(f"| {k} | {100 * m:.1f}% +- {100 * s:.1f} |")
    print(f"(31 classes: chance is {100 / len(ds.class_names):.1f}%)")


if __name__ == "__main__":
    main()
