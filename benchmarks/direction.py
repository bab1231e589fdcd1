"""Walking direction at a low budget: how much of a utility study's test error comes from people whose held-out
sessions walk the way none of their training sessions did, and what the Doppler mirror does about it, classical
(the real spectrogram mirrored) and generative (mirrored anchors redrawn by the budget's stage 2 under their class).

Runs on a finished utility study, reusing every (budget, repeat)'s stage 1, stage 2 and recognisers; the new arms
train with the recipe the study trained its arms with (the folder's saved configs), and are written beside them.

    .venv/bin/python benchmarks/direction.py runs/study-k10/budget-10 direction-k10

A test spectrogram is "unseen direction" when every training spectrogram of its person has the other sign of the
energy-weighted mean Doppler (walking towards the radar is positive). Results: benchmarks/results/NAME.json,
written after every recogniser, so that an interrupted run keeps what it measured; run it again to continue.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mdaug.config import StrategyConfig, config_from_dict, saved_config
from mdaug.data.direction import walking_direction
from mdaug.data.transforms import zero_row_of
from mdaug.runs.loading import load_recognizer, load_stage2
from mdaug.runs.run_data import RunData, load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.pools import draw_pool
from mdaug.workflows.provenance import provenance
from mdaug.workflows.utility.summary import interval
from mdaug.workflows.utility.synthetic import cached_pool, with_synthetic

RESULTS = Path(__file__).parent / "results"
STUDY_ARMS = ("real", "real-classical", "noise-filter")
"""The study's own recognisers, evaluated again here by direction."""
MIRROR = {"classical.doppler_mirror": 0.5}
NEW_ARMS: dict[str, tuple[str, StrategyConfig | None, dict[str, float]]] = {
    # name: (the study arm whose recipe it takes, the pool's strategy or None, config overrides)
    "classical-mirror": ("real-classical", None, MIRROR),
    "gen-mirror": ("noise-filter",
                   StrategyConfig(name="gen-mirror", strength=0.5, mirror=1.0, per_real=2.0, filter_confidence=0.0),
                   {}),
    "classical-mirror+gen-mirror": ("noise-filter",
                                    StrategyConfig(name="gen-mirror", strength=0.5, mirror=1.0, per_real=2.0,
                                                   filter_confidence=0.0), MIRROR),
    # the redrawn mirrors judged mirrored back by the recogniser of the real samples (the study's real arm)
    "classical-mirror+gen-mirror-filter": ("noise-filter",
                                           StrategyConfig(name="gen-mirror-filter", strength=0.5, mirror=1.0,
                                                          per_real=2.0, filter_confidence=0.5), MIRROR),
    "classical-mirror+gen-mirror-filter-w0.3": ("noise-filter",
                                                StrategyConfig(name="gen-mirror-filter", strength=0.5, mirror=1.0,
                                                               per_real=2.0, filter_confidence=0.5),
                                                MIRROR | {"recognizer_train.synthetic_weight": 0.3}),
    "classical-mirror+gen-mirror-filter-x0.5": ("noise-filter",
                                                StrategyConfig(name="gen-mirror-filter-x0.5", strength=0.5,
                                                               mirror=1.0, per_real=0.5, filter_confidence=0.5),
                                                MIRROR),
    "classical-mirror+gen-mirror-0.3": ("noise-filter",
                                        StrategyConfig(name="gen-mirror-0.3", strength=0.3, mirror=1.0, per_real=2.0,
                                                       filter_confidence=0.0), MIRROR),
}


def unseen_direction(data: RunData) -> np.ndarray:
    """Per test spectrogram: True when its person has no training spectrogram walking its way."""
    ds = data.dataset
    sign = walking_direction(ds.x, zero_row_of(ds))
    train, test = data.indices("train"), data.indices("test")
    seen = {(int(y), int(s)) for y, s in zip(ds.labels[train], sign[train])}
    return np.array([(int(ds.labels[i]), int(sign[i])) not in seen for i in test])


@torch.no_grad()
def test_correct(run: Path, data: RunData) -> np.ndarray:
    model, _ = load_recognizer(run)
    model.eval()
    test = data.indices("test")
    x = torch.from_numpy(data.dataset.x[test])
    pred = torch.cat([model(x[i:i + 256]).argmax(1) for i in range(0, len(x), 256)]).numpy()
    return pred == data.dataset.labels[test]


def pool(folder: Path, strategy: StrategyConfig, real: RunData, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(x, labels) of the strategy's pool for this repeat, drawn by its stage 2 (kept in the folder)."""
    train = real.indices("train")
    x_train, y_train = real.dataset.x[train], real.dataset.labels[train]
    seed += 7919 * (int(folder.name.split("-")[-1]) + 1)
    filt = load_recognizer(folder / "recognizer-real")[0] if strategy.filter_confidence > 0 else None
    p = cached_pool(folder / f"pool-{strategy.name}.npz", lambda: draw_pool(
        load_stage2(folder / "ldm"), strategy, x_train, y_train, cap=10 ** 6, seed=seed,
        zero_row=zero_row_of(real.dataset), recognizer=filt))
    return p.x, p.labels


def arm_config(folder: Path, base: str, overrides: dict[str, float]):
    d = saved_config(folder / f"recognizer-{base}")
    for key, v in overrides.items():
        section, field = key.split(".")
        d[section][field] = v
    return config_from_dict(d, f"{folder.name} {base} {overrides}")


def measure_repeat(folder: Path, arms: list[str]) -> dict[str, Any]:
    real = load_run_data(arm_config(folder, "real", {}))
    unseen = unseen_direction(real)
    out: dict[str, Any] = {"repeat": folder.name, "test": int(len(unseen)), "unseen_share": float(unseen.mean()),
                           "arms": {}}
    for arm in arms:
        if arm in STUDY_ARMS:
            run = folder / f"recognizer-{arm}"
        else:
            base, strategy, overrides = NEW_ARMS[arm]
            cfg = arm_config(folder, base, overrides)
            data = real if strategy is None else with_synthetic(real, *pool(folder, strategy, real, int(cfg.seed)),
                                                                "real+synthetic")
            run = folder / f"recognizer-{arm}"
            if not (run / "final").exists():
                train_recognizer(cfg, run, role="eval", data=data)
        _, card = load_recognizer(run)
        ok = test_correct(run, real)
        out["arms"][arm] = {"validation": float(card.selection_accuracy or 0.0), "test": float(ok.mean()),
                            "test_seen_direction": float(ok[~unseen].mean()),
                            "test_unseen_direction": float(ok[unseen].mean()) if unseen.any() else None}
        print(f"{folder.name} {arm}: validation {out['arms'][arm]['validation']:.3f}, test {ok.mean():.3f} "
              f"(seen direction {ok[~unseen].mean():.3f}, unseen {out['arms'][arm]['test_unseen_direction']})",
              flush=True)
    return out


def summary(repeats: list[dict[str, Any]], arms: list[str]) -> dict[str, Any]:
    """Per arm, the mean test accuracy over repeats with its 95% interval, and its paired gain over real +
    classical (without the mirror), over real only and over real + classical with the mirror, over the repeats
    that have it."""
    out = {}
    for arm in arms:
        rs = [r for r in repeats if arm in r["arms"]]
        if not rs:
            continue
        mirrored = [r for r in rs if "classical-mirror" in r["arms"]]
        out[arm] = {"n": len(rs), "test": interval([r["arms"][arm]["test"] for r in rs]).model_dump(),
                    "over_mirror": interval([r["arms"][arm]["test"] - r["arms"]["classical-mirror"]["test"]
                                             for r in mirrored]).model_dump() if mirrored else None,
                    "over_classical": interval([r["arms"][arm]["test"] - r["arms"]["real-classical"]["test"]
                                                for r in rs]).model_dump(),
                    "over_real": interval([r["arms"][arm]["test"] - r["arms"]["real"]["test"]
                                           for r in rs]).model_dump()}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("budget", type=Path, help="a finished utility study's budget-K folder (its repeat-R folders)")
    ap.add_argument("name", help="the results file: benchmarks/results/NAME.json")
    ap.add_argument("--arms", nargs="+", default=[*STUDY_ARMS, *list(NEW_ARMS)[:3]], choices=[*STUDY_ARMS, *NEW_ARMS])
    ap.add_argument("--repeats", type=int, nargs="+", help="which repeats (default: every repeat-R folder)")
    a = ap.parse_args()
    folders = sorted(a.budget.glob("repeat-*"))
    if a.repeats is not None:
        folders = [f for f in folders if int(f.name.split("-")[-1]) in a.repeats]
    if not folders:
        sys.exit(f"error: no repeat-R folder in {a.budget}")
    path = RESULTS / f"{a.name}.json"
    old = json.loads(path.read_text()) if path.exists() else {}
    repeats = {r["repeat"]: r for r in old.get("repeats", [])}  # earlier invocations' arms are kept
    commands = old.get("commands") or ([old["command"]] if "command" in old else [])
    commands.append("benchmarks/direction.py " + " ".join(shlex.quote(x) for x in sys.argv[1:]))
    for f in folders:
        new = measure_repeat(f, a.arms)
        if f.name in repeats:
            new["arms"] = repeats[f.name]["arms"] | new["arms"]
        repeats[f.name] = new
        done = [repeats[k] for k in sorted(repeats)]
        arms = list(dict.fromkeys(arm for r in done for arm in r["arms"]))
        result = provenance(commands[0]) | {"commands": commands, "budget": a.budget.name, "repeats": done,
                                            "summary": summary(done, arms)}
        RESULTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
