"""The utility study's summary: mean and spread per budget and training set, the paired gain, and its figure."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mdaug.evaluation.records import BudgetSummary, MeanStd, UtilityRecord, UtilityReport
from mdaug.workflows.utility.synthetic import MODES


def _mean_std(v: np.ndarray) -> MeanStd:
    return MeanStd(mean=float(v.mean()), std=float(v.std(ddof=1)) if len(v) > 1 else 0.0)


def summarise(records: list[UtilityRecord]) -> dict[str, BudgetSummary]:
    """Mean and std per budget and mode, and the gain of real+synthetic over real (paired by repeat)."""
    out: dict[str, BudgetSummary] = {}
    for b in dict.fromkeys(r.budget for r in records):
        rs = [r for r in records if r.budget == b]
        modes = {mode: _mean_std(np.array([r.accuracy[mode] for r in rs])) for mode in MODES}
        gain = np.array([r.accuracy["real+synthetic"] - r.accuracy["real"] for r in rs])
        out[b] = BudgetSummary(repeats=len(rs), real_train=rs[0].real_train, real=modes["real"],
                               real_synthetic=modes["real+synthetic"], synthetic=modes["synthetic"],
                               gain=_mean_std(gain))
    return out


def utility_figure(report: UtilityReport, path: Path) -> Path:
    """Test accuracy against the real budget for the three training sets, with the std over repeats."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s = report.summary
    budgets = list(s)
    xs = np.arange(len(budgets))
    fig, ax = plt.subplots(figsize=(6, 4))
    for mode, style in zip(MODES, ("o-", "s-", "^--")):
        rows = [s[b].model_dump(by_alias=True)[mode] for b in budgets]
        ax.errorbar(xs, [r["mean"] for r in rows], yerr=[r["std"] for r in rows], fmt=style, capsize=3, label=mode)
    ax.set_xticks(xs, [f"{b}" for b in budgets])
    ax.set(xlabel="real training samples per class", ylabel="accuracy on the real test split",
           title="downstream utility of the synthetic data", ylim=(0, 1))
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


__all__ = ["summarise", "utility_figure"]
