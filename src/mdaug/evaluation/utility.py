"""Downstream utility (`mdaug utility`): does adding synthetic spectrograms raise a recogniser's accuracy on
held-out real data?

At every real-data budget (k training samples per class, or all) and repeat, with nothing leaking:
1. the stage-1 and stage-2 models are trained on those k real samples per class and nothing else;
2. they generate `synthetic_per_class` samples per class;
3. three recognisers are trained: (a) real only, (b) real + synthetic, (c) synthetic only (TSTR), each
   selected on a carve-out of the *real* samples (for (c), of the synthetic ones: it sees no real data);
4. all three are tested on the real test split, which no model ever saw.
The report lists, per model, how many and which real files it saw (a SHA-256 of their ids). Every step is
skipped when its output exists, and resumed from its last checkpoint when it was interrupted."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any, Callable

import numpy as np
from rich.console import Console

from mdaug.config import Config, config_dict, config_from_dict
from mdaug.data.canonical import Record, SpectrogramSet, sample_hash
from mdaug.data.splits import Split
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_bytes, atomic_write_text, copy_tree_atomic
from mdaug.training.data import RunData

MODES = ("real", "real+synthetic", "synthetic")


def budget_name(k: int | str) -> str:
    return "all" if k == "all" else f"{int(k)}"


def budget_config(cfg: Config, k: int | str, repeat: int) -> Config:
    """The config of one (budget, repeat): the budget on the split, and other seeds per repeat for the budget
    draw and every model."""
    d = config_dict(cfg)
    d["split"]["train_per_class"] = None if k == "all" else int(k)
    d["split"]["budget_seed"] = repeat
    for section in ("ae_train", "ldm_train", "prior_train", "recognizer_train"):
        d[section]["seed"] = int(d[section]["seed"]) + 101 * repeat
    return config_from_dict(d, f"utility budget {budget_name(k)}, repeat {repeat}")


def fit_batches(cfg: Config, counts: np.ndarray) -> Config:
    """Batch sizes no larger than what a small budget can fill: the real training samples for the
    generative models and, for the recognisers, what is left of them after the per-class carve-out."""
    from mdaug.training.recognizer import held_count

    n = int(counts.sum())
    held = sum(held_count(int(m), cfg.recognizer.val_fraction) for m in counts)
    d = config_dict(cfg)
    for section, limit in (("ae_train", n), ("ldm_train", n), ("prior_train", n), ("recognizer_train", n - held)):
        floor = 2 if section == "recognizer_train" else 1  # BatchNorm needs two samples
        d[section]["batch_size"] = max(floor, min(int(d[section]["batch_size"]), limit))
    return config_from_dict(d, "utility batch sizes")


def ids_digest(ids: list[str]) -> str:
    return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]


def with_synthetic(real: RunData, x: np.ndarray, labels: np.ndarray, mode: str) -> tuple[RunData, np.ndarray | None]:
    """The real data with synthetic samples appended: training split = the real training samples (mode
    'real'), both ('real+synthetic') or the synthetic ones only ('synthetic'); val and test stay real.
    Returns the data and the pool of indices the recogniser's carve-out may draw from (None: all)."""
    ds = real.dataset
    n = len(ds)
    names = ds.class_names
    recs = [Record(id=f"synthetic/{names[int(y)]}/{i:05d}", file="synthetic", index=i, class_name=names[int(y)],
                   session=f"synthetic/{names[int(y)]}", orig_shape=tuple(x.shape[1:]), file_sha256="",
                   sample_hash=sample_hash(x[i])) for i, y in enumerate(labels)]
    both = SpectrogramSet(x=np.concatenate([ds.x, x.astype(np.float32)]), labels=np.concatenate([ds.labels, labels]),
                          class_names=names, records=list(ds.records) + recs, info=dict(ds.info, synthetic=len(recs)))
    real_train = list(real.split.ids["train"])
    synth_ids = [r.id for r in recs]
    train = {"real": real_train, "real+synthetic": real_train + synth_ids, "synthetic": synth_ids}[mode]
    split = Split(ids=dict(real.split.ids, train=train), group_by=real.split.group_by, seed=real.split.seed,
                  fingerprint=both.fingerprint())
    pool = real.indices("train") if mode == "real+synthetic" else None  # real rows keep their positions
    return RunData(dataset=both, split=split, source=f"{real.source} + {len(recs)} synthetic"), pool


# What decides a recogniser's training, besides its data: two runs equal here and on the same samples train
# the same network (the recipe is deterministic on a given machine; the resume tests hold it bit-exact).
RECOGNISER_SECTIONS = ("seed", "data", "split", "augment", "recognizer", "recognizer_train")


def same_recogniser(done: Path, cfg: Config, fit_ids: list[str], held_ids: list[str]) -> bool:
    """Whether the finished recogniser run `done` was trained as `cfg` would train the real-only one:
    role 'eval', the same recipe and seed, and exactly these fit and carve-out samples."""
    import yaml

    from mdaug.training.recognizer import role_seed

    try:
        meta = json.loads((done / "final" / "mdaug.json").read_text())
        saved = yaml.safe_load((done / "config.yaml").read_text())
    except (OSError, ValueError, yaml.YAMLError):
        return False
    want = config_dict(cfg)
    return (meta.get("role") == "eval" and meta.get("seed") == role_seed(cfg, "eval")
            and meta.get("train_ids") == fit_ids and meta.get("carve_out_ids") == held_ids
            and isinstance(saved, dict) and all(saved.get(k) == want.get(k) for k in RECOGNISER_SECTIONS))


def _step(folder: Path, train: Callable[[str | None], Any], console: Console | None, what: str) -> None:
    """Skip a finished training step, resume an interrupted one from its last checkpoint, or start it afresh."""
    from mdaug.training.checkpoint import run_finished, train_or_resume

    if run_finished(folder):
        if console:
            console.print(f"  {what}: done, reusing {folder}")
        return
    if console:
        console.print(f"  {what}: training -> {folder}")
    train_or_resume(folder, train)


def exported_samples(augmented: Path, s2: Any, labels: np.ndarray, seed: int) -> np.ndarray | None:
    """The samples of the augmented dataset `augmented` (written by mdaug.augment.export_augmented) when they
    are exactly the ones this generation would draw: the same stage-2 model, sampler settings, seed and labels,
    stored as float arrays (format 'prepared'; images are quantised). None otherwise."""
    from mdaug.data import load_prepared

    try:
        meta = json.loads((augmented / "augment.json").read_text())
    except (OSError, ValueError):
        return None
    names = s2.class_names
    same = (isinstance(meta, dict) and meta.get("format") == "prepared" and meta.get("kind") == s2.kind
            and meta.get("model") == str(s2.folder.resolve()) and meta.get("seed") == seed
            and meta.get("sampling") == s2.default_settings().as_dict(s2.kind)
            and meta.get("classes") == list(names) and meta.get("samples") == len(labels))
    if not same:
        return None
    try:
        ds = load_prepared(augmented)
    except MdaugError:
        return None
    got = np.array([names.index(n) for n in ds.class_names])[ds.labels]
    return ds.x if np.array_equal(got, labels) else None


def run_budget(cfg: Config, folder: Path, k: int | str, repeat: int, *, console: Console | None = None,
               reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None,
               augmented: Path | None = None) -> dict[str, Any]:
    """One (budget, repeat): stage 1, stage 2, synthetic samples, three recognisers. Returns its record.
    `reuse`: finished (stage-1 run, stage-2 run) to use instead of training, when they saw exactly this
    budget's real training samples (checked). `real_recogniser`: a finished recogniser run copied in as the
    real-only one when it was trained exactly as that one would be (checked; e.g. the pipeline's evaluation
    recogniser at budget 'all', repeat 0), else ignored. `augmented`: an exported augmented dataset whose
    samples are taken as this repeat's synthetic ones when they are exactly those (see exported_samples), so
    the utility table measures the very dataset handed to the user and they are not drawn twice."""
    from mdaug.generation import generate, load_stage2
    from mdaug.models.pretrained import load_pretrained_autoencoder
    from mdaug.training.autoencoder import train_autoencoder
    from mdaug.training.latents import stage1_data
    from mdaug.training.checkpoint import run_finished
    from mdaug.training.recognizer import carve_out, load_recognizer, role_seed, train_recognizer
    from mdaug.training.stage2 import train_stage2

    from mdaug.training.data import load_run_data

    c = budget_config(cfg, k, repeat)
    budget_data = load_run_data(c)
    c = fit_batches(c, np.bincount(budget_data.dataset.labels[budget_data.indices("train")],
                                   minlength=len(budget_data.dataset.class_names)))
    kind = cfg.utility.generator
    if reuse is not None:
        ae, s2_dir = Path(reuse[0]), Path(reuse[1])
        pre = load_pretrained_autoencoder(ae)
        real = stage1_data(pre)
        if real.split.ids["train"] != budget_data.split.ids["train"]:
            raise MdaugError(f"{ae} was trained on other real samples than budget {budget_name(k)}; it cannot be reused")
        if load_stage2(s2_dir).kind != kind:
            raise MdaugError(f"{s2_dir} is not a {kind} model (utility.generator)")
        if console:
            console.print(f"  stage 1 and 2: reusing {ae} and {s2_dir} (trained on exactly these real samples)")
    else:
        ae, s2_dir = folder / "ae", folder / kind
        _step(ae, lambda r: train_autoencoder(c, ae, resume=r), console, f"stage 1 ({c.ae.family})")
        _step(s2_dir, lambda r: train_stage2(c, s2_dir, kind, autoencoder=ae / "final", resume=r), console,
              f"stage 2 ({kind})")
        pre = load_pretrained_autoencoder(ae)
        real = stage1_data(pre)
    folder.mkdir(parents=True, exist_ok=True)
    n_classes = len(real.dataset.class_names)
    synth_path = folder / "synthetic.npz"
    labels = np.repeat(np.arange(n_classes), cfg.utility.synthetic_per_class)
    x_syn = None
    if synth_path.exists():
        try:
            with np.load(synth_path) as z:
                x_syn, labels = z["x"], z["labels"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # damaged: it is derived, so make it again
            if console:
                console.print(f"  {synth_path} is unreadable; generating it again")
    if x_syn is None:
        s2 = load_stage2(s2_dir)
        seed = cfg.seed + 1000 * repeat
        x_syn = exported_samples(Path(augmented), s2, labels, seed) if augmented is not None else None
        if x_syn is not None and console:
            console.print(f"  synthetic samples: those of the augmented dataset {augmented} (the same model and seed)")
        if x_syn is None:
            x_syn = generate(s2, labels, s2.default_settings(), seed=seed, device="cpu")
        buf = io.BytesIO()
        np.savez(buf, x=x_syn, labels=labels)
        atomic_write_bytes(synth_path, buf.getvalue())
    record: dict[str, Any] = {"budget": budget_name(k), "repeat": repeat,
                              "real_train": len(real.split.ids["train"]),
                              "synthetic": int(len(labels)),
                              "real_files_seen": {"stage1": ids_digest(real.split.ids["train"]),
                                                  "stage2": ids_digest(real.split.ids["train"])},
                              "accuracy": {}}
    for mode in MODES:
        rec_dir = folder / f"recognizer-{mode.replace('+', '-')}"
        data, pool = with_synthetic(real, x_syn, labels, mode)
        fit, held = carve_out(data, c.recognizer.val_fraction, role_seed(c, "eval"), pool)  # what training draws
        # the plain recipe of a user's recogniser: no blur (that is for the evaluation recogniser, the judge)
        rc = c.model_copy(update={"recognizer_train": c.recognizer_train.model_copy(
            update={"batch_size": max(2, min(c.recognizer_train.batch_size, len(fit)))}),
            "recognizer": c.recognizer.model_copy(update={"blur_max": 0.0})})
        if mode == "real" and real_recogniser is not None and not run_finished(rec_dir):
            if same_recogniser(Path(real_recogniser), rc, [data.dataset.ids[i] for i in fit],
                               [data.dataset.ids[i] for i in held]):
                copy_tree_atomic(real_recogniser, rec_dir, skip=("checkpoints",))
                if console:
                    console.print(f"  recogniser on real: the same training as {real_recogniser}; copied, not redone")
        _step(rec_dir, lambda r: train_recognizer(rc, rec_dir, role="eval", resume=r, data=data, carve_pool=pool),
              console, f"recogniser on {mode}")
        _, meta = load_recognizer(rec_dir)
        seen = [i for i in meta["train_ids"] + meta["carve_out_ids"] if not i.startswith("synthetic/")]
        record["accuracy"][mode] = float(meta["test_accuracy"])
        record["real_files_seen"][f"recognizer {mode}"] = ids_digest(seen) if seen else None
    if console:
        acc = record["accuracy"]
        console.print(f"  budget {budget_name(k)}, repeat {repeat}: real {acc['real']:.3f}, real+synthetic "
                      f"{acc['real+synthetic']:.3f}, synthetic only {acc['synthetic']:.3f}")
    return record


def summarise(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and std per budget and mode, and the gain of real+synthetic over real (paired by repeat)."""
    out: dict[str, Any] = {}
    for b in dict.fromkeys(r["budget"] for r in records):
        rs = [r for r in records if r["budget"] == b]
        row: dict[str, Any] = {"repeats": len(rs), "real_train": rs[0]["real_train"]}
        for mode in MODES:
            v = np.array([r["accuracy"][mode] for r in rs])
            row[mode] = {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}
        gain = np.array([r["accuracy"]["real+synthetic"] - r["accuracy"]["real"] for r in rs])
        row["gain"] = {"mean": float(gain.mean()), "std": float(gain.std(ddof=1)) if len(gain) > 1 else 0.0}
        out[b] = row
    return out


def run_utility(cfg: Config, out: Path, *, console: Console | None = None,
                reuse: tuple[Path, Path] | None = None, real_recogniser: Path | None = None,
                augmented: Path | None = None) -> dict[str, Any]:
    """Every budget and repeat of cfg.utility into `out` (continuing what is there); writes utility.json
    and utility.png and returns the report. `reuse`: the finished stage-1 and stage-2 runs of the full
    training split, used for budget 'all' instead of training them there. `real_recogniser`: a finished
    evaluation recogniser of the full training split, taken as the real-only recogniser of budget 'all',
    repeat 0 when its recipe, seed and samples are that recogniser's (checked). `augmented`: the augmented
    dataset exported from reuse's stage-2 run, whose samples budget 'all', repeat 0 takes when they are exactly
    the ones it would draw (checked)."""
    out = Path(out)
    u = cfg.utility
    if not u.budgets:
        raise MdaugError("utility.budgets is empty; give at least one budget (e.g. [10, all])")
    out.mkdir(parents=True, exist_ok=True)
    plan = {"budgets": [budget_name(b) for b in u.budgets], "seeds": u.seeds, "family": cfg.ae.family,
            "generator": u.generator, "synthetic_per_class": u.synthetic_per_class}
    plan_path = out / "plan.json"
    if plan_path.exists() and json.loads(plan_path.read_text()) != plan:
        raise MdaugError(f"{out} holds a utility study with another plan ({plan_path}); use a new --out")
    atomic_write_text(plan_path, json.dumps(plan, indent=1))
    # At budget 'all' every repeat has the same real samples, so its repeats share one pair of generative
    # models (leak-free, and saving a stage-1 and stage-2 training per repeat); they differ in the synthetic
    # samples drawn and in the recognisers' seeds. Smaller budgets draw other real samples per repeat.
    first_all = out / "budget-all" / "repeat-0"
    shared = reuse or (first_all / "ae", first_all / u.generator)
    records = []
    for k in u.budgets:
        for repeat in range(u.seeds):
            if console:
                console.rule(f"budget {budget_name(k)} per class, repeat {repeat + 1}/{u.seeds}")
            share = k == "all" and (repeat > 0 or reuse is not None)
            records.append(run_budget(cfg, out / f"budget-{budget_name(k)}" / f"repeat-{repeat}", k, repeat,
                                      console=console, reuse=shared if share else None,
                                      real_recogniser=real_recogniser if k == "all" and repeat == 0 else None,
                                      augmented=augmented if share and repeat == 0 else None))
    report = {**plan, "records": records, "summary": summarise(records),
              "note": "test accuracy on the real test split, which no model saw; each budget's generative models "
                      "saw only that budget's real training samples (real_files_seen: SHA-256 of their ids)"}
    report["files"] = {"json": str(out / "utility.json"), "figure": str(utility_figure(report, out / "utility.png"))}
    atomic_write_text(out / "utility.json", json.dumps(report, indent=1))
    return report


def utility_figure(report: dict[str, Any], path: Path) -> Path:
    """Test accuracy against the real budget for the three training sets, with the std over repeats."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report["summary"]
    budgets = list(s)
    xs = np.arange(len(budgets))
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, style in zip(MODES, ("o-", "s-", "^--")):
        m = [s[b][mode]["mean"] for b in budgets]
        e = [s[b][mode]["std"] for b in budgets]
        ax.errorbar(xs, m, yerr=e, fmt=style, capsize=3, label=mode)
    ax.set_xticks(xs, [f"{b}" for b in budgets])
    ax.set(xlabel="real training samples per class", ylabel="accuracy on the real test split",
           title="downstream utility of the synthetic data", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["MODES", "budget_config", "fit_batches", "run_budget", "run_utility", "summarise", "utility_figure", "with_synthetic"]
