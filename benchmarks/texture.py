"""The noise floor's texture: what giving generated samples back the speckle their stage-1 decoder smooths away
(data/texture.py) changes for a recogniser trained on them alone.

Runs on a finished utility study's budget folder, reusing each repeat's stage 1, stage 2 and real-only recogniser.
For each repeat and each guidance of the synthetic-only arm (the study's utility.tstr_guidance, or --guidance) it
draws the synthetic-only (TSTR) pool twice with the study's seed, without and with the texture
(the same latents; the texture is drawn after decoding), and trains the synthetic-only recogniser on each with the
study's recipe. The texture level is the stage-1 card's; a stage 1 trained before it was fitted gets it fitted now,
the same way (on its reconstructions of training spectrograms). Reported per repeat: the level, the noise floor of
real training spectrograms and of each pool, how often the budget's real-only recogniser names each pool's
samples, and each synthetic-only recogniser's test accuracy against the real-only one.

    .venv/bin/python benchmarks/texture.py runs/demo/utility/budget-10 texture-quick-k10
    .venv/bin/python benchmarks/texture.py runs/quick-all/budget-all texture-quick-all --ldm runs/demo/ldm

Results: benchmarks/results/NAME.json, written after every repeat; run it alone (2 cores).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from pathlib import Path
from typing import Any

import numpy as np

from mdaug import seeds
from mdaug.config import load_config, tstr_strategy
from mdaug.data.texture import fit_model_texture, noise_floor
from mdaug.data.transforms import zero_row_of
from mdaug.errors import MdaugError
from mdaug.evaluation.features import embed
from mdaug.runs.loading import Stage2Model, load_recognizer, load_stage2
from mdaug.runs.run_data import load_run_data
from mdaug.training.recognizer import train_recognizer
from mdaug.workflows.pools import draw_pool
from mdaug.workflows.provenance import provenance
from mdaug.workflows.utility import UTILITY_JSON
from mdaug.workflows.utility.summary import interval
from mdaug.workflows.utility.synthetic import with_synthetic

RESULTS = Path(__file__).parent / "results"


def _texture(s2: Stage2Model, real) -> tuple[float, str]:
    """The stage-1 model's texture level (dB), and where it came from."""
    card = s2.autoencoder.card
    if card.texture is not None:
        return card.texture.sigma_db, "the stage-1 card's (fitted when stage 1 was trained)"
    dr = float(card.normalisation.dynamic_range_db)
    t = fit_model_texture(s2.autoencoder.model, real.dataset.x, real.indices("train"), dr,
                          seed=int(card.config.get("ae_train", {}).get("seed", 0)))
    card.texture = t  # this process only: the saved card is left as it is
    return t.sigma_db, "fitted by the benchmark (a stage 1 made before the fit), the same way"


def _tstr_seed(seed: int, folder: Path) -> int:
    """The study's seed of the synthetic-only pool of repeat-R (workflows/utility/budget.py)."""
    return seed + seeds.UTILITY_SYNTHETIC * int(folder.name.split("-")[-1]) + seeds.UTILITY_TSTR


def strategy_arm(folder: Path, out: Path, ldm: Path | None) -> dict[str, Any]:
    """The study's chosen strategy (the real + classical + synthetic arm) drawn again without and with the texture,
    with the study's seed, filter and recipe: what the texture does to the gain over classical augmentation."""
    record = next(r for r in json.loads((folder.parent.parent / UTILITY_JSON).read_text())["records"]
                  if f"repeat-{r['repeat']}" == folder.name)
    rc = load_config(str(folder / f"recognizer-{record['strategy']}" / "config.yaml"))
    real = load_run_data(rc)
    train = real.indices("train")
    names = [x.name for x in rc.utility.strategies]
    i = names.index(record["strategy"])
    s2 = load_stage2(ldm or folder / "ldm")
    _texture(s2, real)
    filt = load_recognizer(folder / "recognizer-real")[0]
    row = {"strategy": record["strategy"], "real+classical": record["accuracy"]["real+classical"]}
    for texture in (False, True):
        name = "with texture" if texture else "without texture"
        pool = draw_pool(s2, rc.utility.strategies[i].model_copy(update={"texture": texture}), real.dataset.x[train],
                         real.dataset.labels[train], cap=rc.utility.max_synthetic_per_class,
                         seed=rc.seed + seeds.UTILITY_SYNTHETIC * record["repeat"] + i, recognizer=filt,
                         zero_row=zero_row_of(real.dataset))
        run = out / folder.name / f"{record['strategy']}-{name.replace(' ', '-')}"
        train_recognizer(rc, run, role="eval", data=with_synthetic(real, pool.x, pool.labels, "real+synthetic"))
        row[name] = {"samples": int(len(pool.x)), "test": float(load_recognizer(run)[1].test_accuracy)}
        print(f"{folder.name} {record['strategy']} {name}: {len(pool.x)} samples, real + classical + synthetic "
              f"{row[name]['test']:.3f} (real + classical {row['real+classical']:.3f})", flush=True)
    return row


def measure_repeat(folder: Path, out: Path, ldm: Path | None, guidance: float | None) -> dict[str, Any]:
    rc = load_config(str(folder / "recognizer-tstr" / "config.yaml"))
    real = load_run_data(rc)
    train = real.indices("train")
    s2 = load_stage2(ldm or folder / "ldm")
    sigma, source = _texture(s2, real)
    dr = float(s2.autoencoder.card.normalisation.dynamic_range_db)
    judge = load_recognizer(folder / "recognizer-real")[0]
    row: dict[str, Any] = {"repeat": folder.name, "sigma_db": sigma, "sigma_source": source,
                           "guidance": s2.default_settings().guidance_scale if guidance is None else guidance,
                           "real_only": float(load_recognizer(folder / "recognizer-real")[1].test_accuracy),
                           "floor": {"real train": noise_floor(real.dataset.x[train], dr)}, "arms": {}}
    for texture in (False, True):
        name = "with texture" if texture else "without texture"
        pool = draw_pool(s2, tstr_strategy(guidance).model_copy(update={"texture": texture}), real.dataset.x[train],
                         real.dataset.labels[train], cap=rc.utility.max_synthetic_per_class,
                         seed=_tstr_seed(rc.seed, folder))
        run = out / folder.name / f"g{row['guidance']:g}-{name.replace(' ', '-')}"
        train_recognizer(rc, run, role="eval", data=with_synthetic(real, pool.x, pool.labels, "synthetic"))
        acc = float(load_recognizer(run)[1].test_accuracy)
        row["floor"][name] = noise_floor(pool.x, dr)
        named = float((embed(judge, pool.x)[1].argmax(1) == pool.labels).mean())
        row["arms"][name] = {"samples": int(len(pool.x)), "named_by_real_recogniser": named,
                             "synthetic_only": acc, "ratio": acc / row["real_only"]}
        print(f"{folder.name} {name} ({sigma:g} dB): {len(pool.x)} samples, named {named:.3f} by the real "
              f"recogniser; synthetic only {acc:.3f} vs real only {row['real_only']:.3f}", flush=True)
    return row


def summary(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Per guidance: the means over repeats, and the paired gain of the texture."""
    out: dict[str, Any] = {}
    for g in dict.fromkeys(r["guidance"] for r in rows):
        rs = [r for r in rows if r["guidance"] == g]
        s: dict[str, Any] = {"repeats": len(rs), "real_only": float(np.mean([r["real_only"] for r in rs]))}
        for name in ("without texture", "with texture"):
            acc = [r["arms"][name]["synthetic_only"] for r in rs]
            s[name] = {"synthetic_only": float(np.mean(acc)), "ratio": float(np.mean(acc) / s["real_only"]),
                       "named_by_real_recogniser": float(np.mean([r["arms"][name]["named_by_real_recogniser"]
                                                                  for r in rs]))}
        s["gain"] = interval([r["arms"]["with texture"]["synthetic_only"]
                              - r["arms"]["without texture"]["synthetic_only"] for r in rs]).model_dump()
        out[f"{g:g}"] = s
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("budget", type=Path, help="a finished utility study's budget-K folder (its repeat-R folders)")
    ap.add_argument("name", help="the results file: benchmarks/results/NAME.json")
    ap.add_argument("--ldm", type=Path, help="the stage 2 the study was given (mdaug utility --stage2), if any")
    ap.add_argument("--guidance", type=float, nargs="+", help="of the synthetic-only samples (default: the study's "
                    "utility.tstr_guidance)")
    ap.add_argument("--repeats", type=int, nargs="+", help="which repeats (default: every repeat-R folder)")
    ap.add_argument("--strategy", action="store_true", help="also the study's chosen strategy (real + classical + "
                    "synthetic) without and with the texture")
    ap.add_argument("--work", type=Path, help="where the new recognisers go (default: BUDGET/../NAME)")
    a = ap.parse_args()
    folders = sorted(f for f in a.budget.glob("repeat-*") if (f / "recognizer-tstr").is_dir()
                     and (a.repeats is None or int(f.name.split("-")[-1]) in a.repeats))
    if not folders:
        sys.exit(f"error: no repeat-R folder with a synthetic-only arm in {a.budget}")
    work = a.work or a.budget.parent / a.name
    if work.exists() and any(work.iterdir()):
        sys.exit(f"error: {work} is not empty; give another --work")
    command = "benchmarks/texture.py " + " ".join(shlex.quote(x) for x in sys.argv[1:])
    rows = []
    try:
        guidance = a.guidance or load_config(str(folders[0] / "recognizer-tstr" / "config.yaml")).utility.tstr_guidance
        strategy_rows = []
        for f in folders:
            rows += [measure_repeat(f, work, a.ldm, g) for g in guidance]
            if a.strategy:
                strategy_rows.append(strategy_arm(f, work, a.ldm) | {"repeat": f.name})
            result = provenance(command) | {"budget": a.budget.name, "repeats": rows, "summary": summary(rows)}
            if strategy_rows:
                gain = [r["with texture"]["test"] - r["without texture"]["test"] for r in strategy_rows]
                result["strategy"] = {"repeats": strategy_rows, "gain": interval(gain).model_dump()}
            RESULTS.mkdir(exist_ok=True)
            (RESULTS / f"{a.name}.json").write_text(json.dumps(result, indent=1) + "\n")
    except MdaugError as e:
        sys.exit(f"error: {e}")
    print(json.dumps(result["summary"], indent=1))


if __name__ == "__main__":
    main()
