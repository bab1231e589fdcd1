"""The utility study's statistics: per budget, each arm's mean test accuracy with its 95% interval over repeats,
the paired differences between arms (per repeat, so that what a repeat's draw does to every arm cancels), the
strategies chosen, one sentence that answers the question, and the figure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

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
    UtilityReport,
)
from mdaug.plotting import pyplot
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
                     f"{ARM_TITLES[best]} alone: {100 * base:.1f}% to {100 * generative:.1f}% ({_points(gain)}); "
                     f"{real}.")
    return " ".join(parts)


def utility_figure(report: UtilityReport, path: Path) -> Path:
    """utility_plot, saved."""
    plt = pyplot()

    fig = utility_plot(report)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def utility_plot(report: UtilityReport):
    """Test accuracy of every arm with its 95% interval over repeats (none drawn for one repeat): against the real
    budget when there are several, one bar per arm when there is one."""
    plt = pyplot()

    s = report.summary
    budgets = list(s)
    repeats = min(v.repeats for v in s.values()) if s else 0
    sure = f"95% intervals over {repeats} repeats" if repeats > 1 else "one repeat: no interval"

    def err(iv: list) -> np.ndarray:
        return np.array([[i.mean - (i.low if i.low is not None else i.mean),
                          (i.high if i.high is not None else i.mean) - i.mean] for i in iv]).T

    if len(budgets) == 1:  # one budget: one bar per arm, not a curve of one point spread sideways
        arms = [a for a in ARMS if a in s[budgets[0]].arms]
        iv = [s[budgets[0]].arms[a] for a in arms]
        fig, ax = plt.subplots(figsize=(6.5, 0.5 * len(arms) + 1.4))
        ys = np.arange(len(arms))[::-1]
        ax.barh(ys, [i.mean for i in iv], xerr=err(iv) if repeats > 1 else None, capsize=4, color="#8fb3d9")
        for y, i in zip(ys, iv):
            ax.text(i.mean + 0.01, y, f"{100 * i.mean:.1f}%", va="center", fontsize=10)
        ax.set_yticks(ys, [ARM_TITLES[a] for a in arms], fontsize=10)
        ax.set(xlabel="accuracy on the real test split", xlim=(0, 1),
               title=f"downstream utility at {budgets[0]} per class\n({sure})")  # two lines: it fits
        ax.grid(alpha=0.3, axis="x")
    else:
        xs = np.arange(len(budgets))
        fig, ax = plt.subplots(figsize=(6.5, 4))
        for k, (arm, style) in enumerate(zip(ARMS, ("o-", "s-", "v-", "D-", "^--"))):
            if not all(arm in s[b].arms for b in budgets):
                continue
            iv = [s[b].arms[arm] for b in budgets]
            ax.errorbar(xs + 0.04 * (k - 2), [i.mean for i in iv], yerr=err(iv), fmt=style, capsize=3,
                        label=ARM_TITLES[arm])
        ax.set_xticks(xs, [f"{b}" for b in budgets])
        ax.set(xlabel="real training data per class (samples; 'Ns': N sessions)",
               ylabel="accuracy on the real test split", title=f"downstream utility ({sure})", ylim=(0, 1))
        ax.grid(alpha=0.3)
        ax.legend(fontsize=9)
    fig.tight_layout()
    return fig


__all__ = ["interval", "summarise", "utility_figure", "utility_plot", "verdict"]
