"""Choosing on the validation split: the one rule by which the utility study picks the classical augmentation's
lower-SNR dose, the strategy of the generative arm, the guidance of the synthetic-only arm and the better
non-generative baseline, and by which `mdaug run` picks the strategy it exports. Test accuracy never chooses."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TypeVar

from mdaug.errors import MdaugError
from mdaug.evaluation.records import UtilityReport

T = TypeVar("T")


def best_on_validation(options: Iterable[T], score: Callable[[T], float]) -> T:
    """The option with the highest score on validation. A tie goes to the option listed first: the options come in
    the order the configuration lists them (a dose of 0 before the others, the user's strategies in their order), so
    that the simplest or preferred option wins unless another is better, and the same study always chooses the
    same."""
    rest = iter(options)
    for best in rest:  # the first option, then each later one only if it scores higher
        best_score = score(best)
        for option in rest:
            value = score(option)
            if value > best_score:
                best, best_score = option, value
        return best
    raise ValueError("nothing to choose from")


def budget_order(budget: str) -> tuple[int, int]:
    """Sample budgets by size, then session budgets ('2s') by size, then all."""
    if budget == "all":
        return (2, 0)
    return (1, int(budget[:-1])) if budget.endswith("s") else (0, int(budget))


def largest_budget(report: UtilityReport) -> str:
    """The budget a finished study's choice is read at: 'all' when the study ran it, else its largest."""
    if not report.summary:
        raise MdaugError("the utility study has no finished budget to choose a strategy at; run `mdaug utility` again")
    return max(report.summary, key=budget_order)


def most_chosen(chosen: Mapping[str, int], listed: Sequence[str]) -> str:
    """The strategy chosen on validation in the most repeats (`chosen`: strategy -> repeats), among those still
    `listed` in the configuration; a tie by the same rule as every choice: the one listed first."""
    names = [name for name in listed if chosen.get(name, 0) > 0]
    if not names:
        raise MdaugError(f"the utility study chose {', '.join(sorted(chosen)) or 'no strategy'}, and the "
                         f"configuration lists {', '.join(listed) or 'none'}; run `mdaug utility` again with this "
                         "configuration")
    return best_on_validation(names, lambda name: chosen[name])


__all__ = ["best_on_validation", "budget_order", "largest_budget", "most_chosen"]
