"""The utility study's figure: accuracy per arm, over budgets when the study has several, with 95% intervals over
repeats when it has them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.evaluation.records import ARM_TITLES, ARMS, UtilityReport
from mdaug.plotting import pyplot


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


__all__ = ["utility_figure", "utility_plot"]
