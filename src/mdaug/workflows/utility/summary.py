"""The utility study's statistics: per budget, each arm's mean test accuracy with its 95% interval over repeats,
the paired differences between arms (per repeat, so that what a repeat's draw does to every arm cancels), the
strategies chosen, one sentence that answers the question, and the figure."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
from scipy import stats

from mdaug.evaluation.records import ARMS, GAINS, BudgetSummary, Interval, UtilityRecord, UtilityReport


def interval(values: list[float] | np.ndarray) -> Interval:
    """Mean, standard deviation and the 95% confidence interval of the mean (Student's t) of `values`."""
    v = np.asarray(values, dtype=np.float64)
    if len(v) < 2:
        return Interval(mean=float(v.mean()), std=0.0, n=len(v))
    sd = float(v.std(ddof=1))
    half = float(stats.t.ppf(0.975, len(v) - 1)) * sd / np.sqrt(len(v))
    return Interval(mean=float(v.mean()), std=sd, n=len(v), low=float(v.mean() - half), high=float(v.mean() + half))


def summarise(records: list[UtilityRecord]) -> dict[str, BudgetSummary]:
    """Per budget: every arm's interval, the paired gains (GAINS) and how often each strategy was chosen."""
    out: dict[str, BudgetSummary] = {}
    for b in dict.fromkeys(r.budget for r in records):
        rs = [r for r in records if r.budget == b]
        arms = {a: interval([r.accuracy[a] for r in rs]) for a in ARMS}
        gains = {g: interval([r.accuracy[a] - r.accuracy[base] for r in rs]) for g, (a, base) in GAINS.items()}
        out[b] = BudgetSummary(repeats=len(rs), real_train=rs[0].real_train,
                               synthetic=round(float(np.mean([r.synthetic for r in rs]))), arms=arms, gains=gains,
                               tstr_samples=None if any(r.tstr_samples is None for r in rs)
                               else round(float(np.mean([r.tstr_samples for r in rs]))),
                               strategies=dict(Counter(r.strategy for r in rs)),
                               tstr_guidance=None if any(r.tstr_guidance is None for r in rs)
                               else dict(Counter(f"{r.tstr_guidance:g}" for r in rs)))
    return out


def _points(i: Interval) -> str:
    if i.low is None:
        return f"{100 * i.mean:+.1f} points, one repeat, so no interval"
    return f"{100 * i.mean:+.1f} points, 95% interval {100 * i.low:+.1f} to {100 * i.high:+.1f} points, {i.n} repeats"


def verdict(summary: dict[str, BudgetSummary]) -> str:
    """One sentence per budget (the smallest first): did the synthetic samples raise held-out accuracy over
    classical augmentation alone?"""
    parts = []
    for b, s in sorted(summary.items(), key=lambda kv: (kv[0] == "all", int(kv[0]) if kv[0] != "all" else 0)):
        g = s.gains["synthetic over classical"]
        base, gen = s.arms["real+classical"].mean, s.arms["real+classical+synthetic"].mean
        who = f"{b} real spectrograms per class" if b != "all" else f"all {s.real_train} real training spectrograms"
        strategy = ", ".join(f"{k}" for k in s.strategies)
        raised = g.mean > 0 and (g.low is None or g.low > 0)
        how = ("raised" if raised else "did not raise" if g.mean <= 0 else "raised, but not significantly,")
        parts.append(f"With {who}, adding {s.synthetic} synthetic ones ({strategy}) {how} held-out accuracy over "
                     f"classical augmentation alone: {100 * base:.1f}% to {100 * gen:.1f}% ({_points(g)}); real only "
                     f"{100 * s.arms['real'].mean:.1f}%.")
    return " ".join(parts)


def utility_figure(report: UtilityReport, path: Path) -> Path:
    """Test accuracy against the real budget for every arm, with the 95% interval over repeats."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.summary
    budgets = list(s)
    xs = np.arange(len(budgets))
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for k, (arm, style) in enumerate(zip(ARMS, ("o-", "s-", "D-", "^--"))):
        iv = [s[b].arms[arm] for b in budgets]
        err = np.array([[i.mean - (i.low if i.low is not None else i.mean),
                         (i.high if i.high is not None else i.mean) - i.mean] for i in iv]).T
        ax.errorbar(xs + 0.04 * (k - 1.5), [i.mean for i in iv], yerr=err, fmt=style, capsize=3, label=arm)
    ax.set_xticks(xs, [f"{b}" for b in budgets])
    ax.set(xlabel="real training samples per class", ylabel="accuracy on the real test split",
           title="downstream utility (95% intervals over repeats)", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["interval", "summarise", "utility_figure", "verdict"]
