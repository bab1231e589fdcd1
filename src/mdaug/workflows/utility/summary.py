"""The utility study's statistics: per budget, each arm's mean test accuracy with its 95% interval over repeats,
the paired differences between arms (per repeat, so that what a repeat's draw does to every arm cancels), the
strategies chosen, one sentence that answers the question, and the figure."""

from __future__ import annotations

from collections import Counter

import numpy as np
from scipy import stats

from mdaug.evaluation.records import (
    ARM_TITLES,
    ARMS,
    BEST,
    CLASSICAL,
    GAINS,
    NON_GENERATIVE,
    REAL,
    WITH_SYNTHETIC,
    BudgetSummary,
    Interval,
    UtilityRecord,
)
from mdaug.workflows.utility.choice import best_on_validation, budget_order


def interval(values: list[float] | np.ndarray) -> Interval:
    """Mean, standard deviation and the 95% confidence interval of the mean (Student's t) of `values`."""
    sample = np.asarray(values, dtype=np.float64)
    mean = float(sample.mean())
    if len(sample) < 2:
        return Interval(mean=mean, std=0.0, n=len(sample))
    sd = float(sample.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(sample) - 1)) * sd / np.sqrt(len(sample))
    return Interval(mean=mean, std=sd, n=len(sample), low=mean - half, high=mean + half)


def _accuracy(record: UtilityRecord, arm: str, best: str | None) -> float:
    return record.accuracy[best if arm == BEST else arm]


def summarise(records: list[UtilityRecord]) -> dict[str, BudgetSummary]:
    """Per budget: every arm's interval (of the arms every repeat has), the paired gains (GAINS, where both arms
    are there; 'best non-generative' is the better of NON_GENERATIVE by mean validation accuracy), how often each
    strategy and dose was chosen, and the arms on the subsets by condition."""
    out: dict[str, BudgetSummary] = {}
    for budget in dict.fromkeys(r.budget for r in records):
        repeats = [r for r in records if r.budget == budget]
        arms = {a: interval([r.accuracy[a] for r in repeats]) for a in ARMS if all(a in r.accuracy for r in repeats)}
        # an arm is a candidate only with a validation accuracy in every repeat: nothing is chosen without one
        present = [a for a in NON_GENERATIVE if a in arms and all(a in r.val_accuracy for r in repeats)]
        # the better on validation (mean over repeats), chosen like everything else, never on test
        best = (best_on_validation(present, lambda arm, rs=repeats: np.mean([r.val_accuracy[arm] for r in rs]))
                if present else None)
        gains = {name: interval([_accuracy(r, arm, best) - _accuracy(r, base, best) for r in repeats])
                 for name, (arm, base) in GAINS.items()
                 if arm in arms and (base in arms or (base == BEST and best is not None))}
        out[budget] = BudgetSummary(
            repeats=len(repeats), real_train=repeats[0].real_train,
            synthetic=round(float(np.mean([r.synthetic for r in repeats]))), arms=arms, gains=gains,
            tstr_samples=None if any(r.tstr_samples is None for r in repeats)
            else round(float(np.mean([r.tstr_samples for r in repeats]))),
            strategies=dict(Counter(r.strategy for r in repeats if r.strategy)),
            tstr_guidance=None if any(r.tstr_guidance is None for r in repeats)
            else dict(Counter(f"{r.tstr_guidance:g}" for r in repeats)),
            best_non_generative=best,
            snr_drop_db=None if any(r.snr_drop_db is None for r in repeats)
            else dict(Counter(f"{r.snr_drop_db:g}" for r in repeats)),
            **_by_condition(repeats))
    return out


def _by_condition(repeats: list[UtilityRecord]) -> dict:
    """subsets (mean sizes) and by_condition (per arm and subset, over the repeats that have the subset)."""
    if any(r.by_condition is None or r.subsets is None for r in repeats):
        return {}
    names = list(dict.fromkeys(k for r in repeats for k in r.subsets))
    sizes = {k: float(np.mean([r.subsets[k] for r in repeats if k in r.subsets])) for k in names}
    arms = [a for a in ARMS if all(a in r.by_condition for r in repeats)]
    table = {a: {k: interval([r.by_condition[a][k] for r in repeats if k in r.by_condition[a]]) for k in names}
             for a in arms}
    return {"subsets": sizes, "by_condition": table}


def _points(gain: Interval) -> str:
    if gain.low is None:
        return f"{100 * gain.mean:+.1f} points, one repeat, so no interval"
    return (f"{100 * gain.mean:+.1f} points, 95% interval {100 * gain.low:+.1f} to {100 * gain.high:+.1f} points, "
            f"{gain.n} repeats")


def _who(budget: str, real_train: int) -> str:
    if budget == "all":
        return f"all {real_train} real training spectrograms"
    if budget.endswith("s"):
        return f"{budget[:-1]} recording session(s) per class ({real_train} spectrograms)"
    return f"{budget} real spectrograms per class"


def verdict(summary: dict[str, BudgetSummary]) -> str:
    """One sentence per budget (the smallest first): did the synthetic samples raise held-out accuracy over the best
    non-generative arm (real + classical, or the pretrained recogniser's when it is better)? Without generative
    arms: what the best non-generative arm reached."""
    parts = []
    for budget, at in sorted(summary.items(), key=lambda item: budget_order(item[0])):
        who = _who(budget, at.real_train)
        real = f"real only {100 * at.arms[REAL].mean:.1f}%" if REAL in at.arms else ""
        best = at.best_non_generative or CLASSICAL
        gain = at.gains.get(f"synthetic over {BEST}") or at.gains.get("synthetic over classical")
        if gain is None or WITH_SYNTHETIC not in at.arms:
            if best in at.arms:
                parts.append(f"With {who}, the best arm without synthetic data is {ARM_TITLES[best]}: "
                             f"{100 * at.arms[best].mean:.1f}%{'; ' + real if real else ''}.")
            continue
        base, generative = at.arms[best].mean, at.arms[WITH_SYNTHETIC].mean
        strategies = ", ".join(at.strategies)
        raised = gain.mean > 0 and (gain.low is None or gain.low > 0)
        how = ("raised" if raised else "did not raise" if gain.mean <= 0 else "raised, but not significantly,")
        parts.append(f"With {who}, adding {at.synthetic} synthetic ones ({strategies}) {how} held-out accuracy over "
                     f"{ARM_TITLES[best]} alone: {100 * base:.1f}% to {100 * generative:.1f}% ({_points(gain)})"
                     f"{'; ' + real if real else ''}.")
    return " ".join(parts)


__all__ = ["interval", "summarise", "verdict"]
