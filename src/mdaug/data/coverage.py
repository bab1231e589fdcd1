"""What each class's recordings cover of the conditions the dataset has, and which recordings are in a condition
their class's training recordings lack.

A query recording (a test one) is in an unseen condition when, for some compared condition (Conditions.compared),
no training recording of its class is within the condition's tolerance of it (a category: none has its value).
Only the facts of the recordings are used: nothing here trains or chooses, and the test recordings' conditions only
sort the test recordings into subsets that are reported."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mdaug.data.conditions import PERSON_TRAITS, Conditions

SEEN, BELOW, ABOVE, BETWEEN, UNKNOWN = 0, 1, 2, 3, -1
"""Codes of a query recording per condition: within tolerance of a training recording of its class; below (or
above) every one by more than the tolerance; between them, or a category none of them has; unknown (no value, or
no training recording of its class with one)."""


ALL, SEEN_CONDITIONS, UNSEEN_CONDITIONS, UNKNOWN_CONDITIONS = ("all", "seen conditions", "unseen conditions",
                                                              "unknown conditions")
"""The names of the test subsets by condition that every study has (Coverage.subsets)."""


@dataclass
class Unseen:
    """Per query recording and compared condition, how its class's training recordings lack that condition."""

    codes: dict[str, np.ndarray]
    """Condition -> (queries,) int codes (SEEN, BELOW, ABOVE, BETWEEN, UNKNOWN)."""

    @property
    def names(self) -> list[str]:
        return list(self.codes)

    def unseen(self, name: str | None = None) -> np.ndarray:
        """(queries,) True where the condition `name` (None: any condition) is unseen."""
        names = [name] if name else self.names
        out = np.zeros(len(next(iter(self.codes.values()))) if self.codes else 0, dtype=bool)
        for n in names:
            out |= self.codes[n] > SEEN
        return out

    def subsets(self) -> dict[str, np.ndarray]:
        """Named masks over the queries: 'all', 'seen conditions' (every condition seen), 'unseen conditions' (any
        unseen), 'unknown conditions' (none unseen, some not known: a missing value, or an SNR known only as a
        bound), and per condition 'unseen NAME' and, for numbers, 'NAME below' / 'NAME above' (below or above every
        training recording of the class), each only when it holds any query."""
        n = len(next(iter(self.codes.values()))) if self.codes else 0
        any_unseen = self.unseen()
        all_seen = np.ones(n, dtype=bool)
        for c in self.codes.values():
            all_seen &= c == SEEN
        out = {ALL: np.ones(n, dtype=bool), SEEN_CONDITIONS: all_seen, UNSEEN_CONDITIONS: any_unseen,
               UNKNOWN_CONDITIONS: ~all_seen & ~any_unseen}
        for name, c in self.codes.items():
            out[f"unseen {name}"] = c > SEEN
            for label, code in (("below", BELOW), ("above", ABOVE)):
                if (c == code).any():
                    out[f"{name} {label}"] = c == code
        return {k: v for k, v in out.items() if k == ALL or v.any()}


def _numeric_codes(values: np.ndarray, bounded: np.ndarray, tol: float, labels: np.ndarray,
                   train: np.ndarray, query: np.ndarray) -> np.ndarray:
    codes = np.full(len(query), UNKNOWN, dtype=np.int8)
    for c in np.unique(labels[query]):
        t = train[(labels[train] == c) & np.isfinite(values[train])]
        qs = np.flatnonzero((labels[query] == c) & np.isfinite(values[query]))
        if not len(t) or not len(qs):
            continue
        tv, tb = values[t], bounded[t]
        v, vb = values[query[qs]], bounded[query[qs]]
        # a bounded value is only a lower bound: its true value may be anywhere above it
        seen = ~vb & ((np.abs(tv[None, :] - v[:, None]) <= tol) & ~tb[None, :]).any(1)
        below = ~vb & (v + tol < tv.min())
        above = (v - tol > tv.max()) & (not tb.any())
        between = ~vb & (not tb.any())
        codes[qs] = np.select([seen, below, above, between], [SEEN, BELOW, ABOVE, BETWEEN], UNKNOWN)
    return codes


def unseen_conditions(cond: Conditions, labels: np.ndarray, train: np.ndarray, query: np.ndarray) -> Unseen:
    """Codes of every query row (indices into the dataset, e.g. the test split) against the training rows of its
    class, for every compared condition."""
    labels, train, query = np.asarray(labels), np.asarray(train), np.asarray(query)
    codes = {}
    for name in cond.compared():
        v = cond.values[name]
        if cond.numeric(name):
            bounded = cond.bounded.get(name, np.zeros(len(v), dtype=bool))
            codes[name] = _numeric_codes(v, bounded, float(cond.tolerance(name)), labels, train, query)
            continue
        c = np.full(len(query), UNKNOWN, dtype=np.int8)
        for k in np.unique(labels[query]):
            have = [s for s in set(v[train[labels[train] == k]]) if s != ""]
            qs = np.flatnonzero((labels[query] == k) & (v[query] != ""))
            if have and len(qs):
                c[qs] = np.where(np.isin(v[query[qs]], have), SEEN, BETWEEN)
        codes[name] = c
    return Unseen(codes=codes)


TRAIT_SHARE = 0.2
"""A numeric condition whose variance within a person is below this share of its variance over all recordings is a
trait of the person in this data (on gait31 the walking speed: 7%; on gait-sessions it is 48%), not of a session."""


def person_traits(cond: Conditions, labels: np.ndarray, rows: np.ndarray, share: float = TRAIT_SHARE) -> list[str]:
    """The compared conditions that, over recordings `rows`, are the person's rather than the session's: numbers that
    vary within a person by less than `share` of their variance overall, categories with one value per person."""
    labels, rows = np.asarray(labels), np.asarray(rows)
    out = []
    for n in cond.compared():
        v = cond.values[n][rows]
        ok = cond.known(n)[rows]
        people = [p for p in np.unique(labels[rows]) if (ok & (labels[rows] == p)).sum() > 1]
        if not people:
            continue
        if cond.numeric(n):
            total = float(np.var(v[ok]))
            within = float(np.mean([np.var(v[ok & (labels[rows] == p)]) for p in people]))
            if total > 0 and within < share * total:
                out.append(n)
        elif all(len(set(v[ok & (labels[rows] == p)])) == 1 for p in people):
            out.append(n)
    return out


def lacking(cond: Conditions, labels: np.ndarray, train: np.ndarray, rng: np.random.Generator, per_class: int, *,
            classes: np.ndarray | None = None, exclude: tuple[str, ...] = PERSON_TRAITS
            ) -> tuple[np.ndarray, np.ndarray]:
    """(classes, rows): for each class (of `classes`, default every class in `train`), up to `per_class` training
    recordings of other classes, drawn with `rng`, whose conditions the class's own training recordings lack (a
    compared condition unseen, leaving out `exclude`: what follows from the person, not the session)."""
    labels, train = np.asarray(labels), np.asarray(train)
    keep = [n for n in cond.compared() if n not in exclude]
    sub = Conditions(values={n: cond.values[n] for n in keep}, source={n: cond.source[n] for n in keep},
                     bounded={n: v for n, v in cond.bounded.items() if n in keep})
    out_c, out_r = [], []
    for c in (np.unique(labels[train]) if classes is None else classes):
        others = train[labels[train] != c]
        cand = rng.permutation(others)[:max(8 * per_class, 64)]
        if not keep or not len(cand):
            continue
        idx = np.concatenate([train, cand])
        fake = np.concatenate([labels[train], np.full(len(cand), c)])  # the candidates as if they were the class's
        u = unseen_conditions(sub.subset(idx), fake, np.arange(len(train)), np.arange(len(train), len(idx)))
        hit = cand[u.unseen()][:per_class]
        out_c += [int(c)] * len(hit)
        out_r += hit.tolist()
    return np.asarray(out_c, np.int64), np.asarray(out_r, np.int64)


@dataclass
class Coverage:
    """Per compared condition: its bins (numbers: equal-width bins over the recordings' range; categories: their
    values) and, per class, how many of its recordings fall in each."""

    bins: dict[str, list[str]]
    counts: dict[str, np.ndarray]
    """Condition -> (classes, bins) recordings."""
    class_names: list[str]

    def lacks(self, name: str) -> np.ndarray:
        """(classes, bins) True where the dataset has recordings in a bin and the class has none."""
        c = self.counts[name]
        return (c == 0) & (c.sum(0, keepdims=True) > 0)

    def summary(self) -> dict[str, dict[str, dict[str, list[str]]]]:
        """Class -> condition -> {'has': bins, 'lacks': bins}."""
        return {cls: {n: {"has": [b for b, k in zip(self.bins[n], self.counts[n][i]) if k > 0],
                          "lacks": [b for b, lack in zip(self.bins[n], self.lacks(n)[i]) if lack]}
                      for n in self.bins} for i, cls in enumerate(self.class_names)}


def _edges(v: np.ndarray, bins: int) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    if hi - lo < 1e-9:
        hi = lo + 1.0
    step = (hi - lo) / bins
    mag = 10 ** np.floor(np.log10(step))
    step = min(m * mag for m in (1, 2, 2.5, 3, 4, 5, 6, 7.5, 8, 10) if m * mag >= step)  # a round bin width
    start = np.floor(lo / step) * step
    n = int(np.ceil((hi - start) / step - 1e-9)) or 1
    return start + step * np.arange(n + 1)


def coverage(cond: Conditions, labels: np.ndarray, class_names: list[str], rows: np.ndarray | None = None,
             *, bins: int = 6) -> Coverage:
    """Coverage of the recordings `rows` (default: all) of every class."""
    labels = np.asarray(labels)
    rows = np.arange(len(labels)) if rows is None else np.asarray(rows)
    out_bins, counts = {}, {}
    for name in cond.compared():
        v = cond.values[name][rows]
        known = cond.known(name)[rows]
        if not known.any():
            continue
        if cond.numeric(name):
            edges = _edges(v[known], bins)
            idx = np.clip(np.searchsorted(edges, v[known], side="right") - 1, 0, len(edges) - 2)
            names = [f"{a:g}..{b:g}" for a, b in zip(edges[:-1], edges[1:])]
        else:
            names = sorted(set(v[known]))
            idx = np.array([names.index(s) for s in v[known]], dtype=np.int64)
        table = np.zeros((len(class_names), len(names)), dtype=np.int64)
        np.add.at(table, (labels[rows][known], idx), 1)
        out_bins[name], counts[name] = names, table
    return Coverage(bins=out_bins, counts=counts, class_names=list(class_names))


__all__ = ["ABOVE", "ALL", "BELOW", "BETWEEN", "SEEN", "SEEN_CONDITIONS", "TRAIT_SHARE", "UNKNOWN",
           "UNKNOWN_CONDITIONS", "UNSEEN_CONDITIONS", "Coverage", "Unseen", "coverage", "lacking", "person_traits",
           "unseen_conditions"]
