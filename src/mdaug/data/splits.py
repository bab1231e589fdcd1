"""Leak-free, seeded, class-stratified train/val/test splits, saved so later stages reuse them exactly.

Samples are split by group: the recording session when the data has session ids, else the source file.
Overlapping STFT windows cut from one recording are near copies, so a group never straddles two splits.
Groups are assigned greedily, largest first (ties in seeded random order), each to the split whose
per-class shortfall against its target fraction it reduces most (ties: the split furthest below its
target, relatively); this keeps every class near the target fractions even when a group (a person in
activity data) spans several classes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from mdaug.config import SplitConfig
from mdaug.data.canonical import SpectrogramSet
from mdaug.errors import MdaugError
from mdaug.files import atomic_write_text

SPLITS = ("train", "val", "test")


@dataclass
class Split:
    ids: dict[str, list[str]]  # split name -> sample ids, in dataset order
    group_by: str
    seed: int
    fingerprint: str  # of the dataset it was made for
    warnings: list[str] = field(default_factory=list)

    @property
    def train(self) -> list[str]:
        return self.ids["train"]

    @property
    def val(self) -> list[str]:
        return self.ids["val"]

    @property
    def test(self) -> list[str]:
        return self.ids["test"]

    def indices(self, ds: SpectrogramSet, name: str) -> np.ndarray:
        if ds.fingerprint() != self.fingerprint:
            raise MdaugError("the saved split was made for a different dataset (fingerprint differs); make a new split")
        pos = {i: k for k, i in enumerate(ds.ids)}
        return np.array([pos[i] for i in self.ids[name]], dtype=np.int64)


def groups_of(ds: SpectrogramSet, group_by: str) -> tuple[list[str], str]:
    """Group key of every sample, and which kind of key was used."""
    sessions = ds.sessions
    if group_by == "auto":
        if all(s is not None for s in sessions):
            group_by = "session"
        else:  # one file holding everything is no recording: then every sample stands alone
            group_by = "file" if len({r.file for r in ds.records}) > 1 else "sample"
    if group_by == "session":
        if any(s is None for s in sessions):
            raise MdaugError("split.group_by=session but some samples have no session id; "
                             "set data.session_key or data.session_regex")
        return [f"session:{s}" for s in sessions], group_by
    if group_by == "file":
        return [f"file:{r.file}" for r in ds.records], group_by
    return [f"sample:{r.id}" for r in ds.records], group_by


def make_split(ds: SpectrogramSet, cfg: SplitConfig) -> Split:
    if cfg.val_fraction + cfg.test_fraction >= 1:
        raise MdaugError("split.val_fraction + split.test_fraction must be below 1, got "
                         f"{cfg.val_fraction + cfg.test_fraction:g}")
    groups, kind = groups_of(ds, cfg.group_by)
    groups = _merge_duplicates(groups, [r.sample_hash for r in ds.records])
    k = len(ds.class_names)
    uniq, inv = np.unique(np.array(groups), return_inverse=True)
    counts = np.zeros((len(uniq), k), dtype=np.int64)  # (groups, classes)
    np.add.at(counts, (inv, ds.labels), 1)
    frac = np.array([1 - cfg.val_fraction - cfg.test_fraction, cfg.val_fraction, cfg.test_fraction])
    target = frac[:, None] * counts.sum(0)[None, :]  # (splits, classes)
    have = np.zeros_like(target)
    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(uniq))
    order = order[np.argsort(-counts[order].sum(1), kind="stable")]
    assign = np.empty(len(uniq), dtype=np.int64)
    for g in order:
        c = counts[g]
        gain = ((np.minimum(target - have, c[None, :]) * (c > 0)[None, :]).clip(min=0)).sum(1)
        # ties go to the split furthest below its target relative to it (a requested val split is filled)
        short = (((target - have).clip(min=0) * (c > 0)[None, :]).sum(1)
                 / np.maximum((target * (c > 0)[None, :]).sum(1), 1e-9))
        gain = np.where(frac > 0, gain + 1e-6 * short, -1.0)
        s = int(np.argmax(gain)) if gain.max() > 0 else int(np.argmax(frac * (frac > 0)))
        assign[g] = s
        have[s] += c
    sample_split = assign[inv]
    ids = {name: [ds.ids[i] for i in np.flatnonzero(sample_split == s)] for s, name in enumerate(SPLITS)}
    warnings = []
    if kind == "sample" and cfg.group_by == "auto":
        warnings.append("no session ids and a single source file: split sample by sample; if the samples are "
                        "overlapping windows of longer recordings the test score will be optimistic "
                        "(set data.session_key)")
    groups_per_class = (counts > 0).sum(0)
    for s, name in ((1, "val"), (2, "test")):
        empty = [c for c in range(k) if frac[s] > 0 and have[s, c] == 0]
        if empty:
            few = int(groups_per_class[empty].min())
            names = ", ".join(ds.class_names[c] for c in empty[:3]) + (", ..." if len(empty) > 3 else "")
            warnings.append(f"{len(empty)} class(es) have no {name} samples ({names}): as few as {few} {kind} "
                            "group(s) per class")
    return Split(ids=ids, group_by=kind, seed=cfg.seed, fingerprint=ds.fingerprint(), warnings=warnings)


def limit_train(split: Split, ds: SpectrogramSet, per_class: int | None, seed: int | tuple[int, ...],
                name: str = "train") -> Split:
    """The split with at most `per_class` samples per class in split `name` (default: the training split), drawn at
    random with `seed`; the other splits are untouched, the dropped samples are in no split."""
    if per_class is None:
        return split
    rows_of = split.indices(ds, name)
    rng = np.random.default_rng(seed)
    keep = []
    for c in range(len(ds.class_names)):
        rows = rows_of[ds.labels[rows_of] == c]
        keep.extend(rows if len(rows) <= per_class else rng.choice(rows, per_class, replace=False))
    keep_ids = {ds.ids[i] for i in keep}
    ids = dict(split.ids, **{name: [i for i in split.ids[name] if i in keep_ids]})
    return Split(ids=ids, group_by=split.group_by, seed=split.seed, fingerprint=split.fingerprint,
                 warnings=list(split.warnings))


def limit_sessions(split: Split, ds: SpectrogramSet, per_class: int | None, seed: int | tuple[int, ...],
                   name: str = "train") -> Split:
    """The split with at most `per_class` of each class's groups (sessions, or what the split grouped by) in split
    `name`, drawn at random with `seed`, and all their samples; the other splits are untouched, the dropped samples
    are in no split."""
    if per_class is None:
        return split
    if split.group_by != "session":
        raise MdaugError(f"a budget in sessions ('{per_class}s') needs session ids, but this data is split by "
                         f"{split.group_by}; set data.session_key or data.session_regex, or give a budget in samples")
    rows_of = split.indices(ds, name)
    groups, _ = groups_of(ds, split.group_by)
    rng = np.random.default_rng(seed)
    keep: set[str] = set()
    for c in range(len(ds.class_names)):
        rows = rows_of[ds.labels[rows_of] == c]
        mine = sorted({groups[i] for i in rows})
        chosen = set(mine if len(mine) <= per_class else rng.choice(mine, per_class, replace=False))
        keep |= {ds.ids[i] for i in rows if groups[i] in chosen}
    ids = dict(split.ids, **{name: [i for i in split.ids[name] if i in keep]})
    return Split(ids=ids, group_by=split.group_by, seed=split.seed, fingerprint=split.fingerprint,
                 warnings=list(split.warnings))


def _merge_duplicates(groups: list[str], hashes: list[str]) -> list[str]:
    """Put groups that share an identical sample into one group (union-find), so copies cannot leak."""
    parent: dict[str, str] = {}

    def root(g: str) -> str:
        while parent.get(g, g) != g:
            g = parent[g]
        return g

    first: dict[str, str] = {}
    for g, h in zip(groups, hashes):
        other = first.setdefault(h, g)
        a, b = root(g), root(other)
        if a != b:
            parent[max(a, b)] = min(a, b)
    return [root(g) for g in groups]


def check_leak_free(split: Split, ds: SpectrogramSet) -> None:
    """Raise if a group or an identical sample sits in two splits."""
    groups, _ = groups_of(ds, split.group_by)
    where: dict[str, str] = {}
    hashes: dict[str, str] = {}
    for name in SPLITS:
        for i in split.indices(ds, name):
            for key, table in ((groups[i], where), (ds.records[i].sample_hash, hashes)):
                if table.setdefault(key, name) != name:
                    raise MdaugError(f"split leaks: {key} is in both {table[key]} and {name}")


def save_split(split: Split, path: Path) -> Path:
    data = {"seed": split.seed, "group_by": split.group_by, "fingerprint": split.fingerprint,
            "counts": {k: len(v) for k, v in split.ids.items()}, "warnings": split.warnings, "ids": split.ids}
    return atomic_write_text(path, json.dumps(data, indent=1))


def load_split(path: Path) -> Split:
    try:
        d = json.loads(Path(path).read_text())
        return Split(ids={k: list(d["ids"][k]) for k in SPLITS}, group_by=d["group_by"], seed=int(d["seed"]),
                     fingerprint=d["fingerprint"], warnings=list(d.get("warnings", [])))
    except (OSError, ValueError, KeyError, TypeError):
        raise MdaugError(f"{path} is not a readable mdaug split file") from None
