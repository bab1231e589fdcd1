"""Every choice of the study and of `mdaug run` is made on validation with one tie rule, and the verdict's
significance clause follows the interval."""

import pytest

from mdaug.config import load_config
from mdaug.errors import MdaugError
from mdaug.evaluation.records import BudgetSummary, Candidate, UtilityRecord, UtilityReport
from mdaug.workflows.utility import summarise, verdict
from mdaug.workflows.utility.choice import best_on_validation, budget_order, largest_budget, most_chosen


def test_the_choice_follows_validation_where_test_disagrees():
    tried = [Candidate(name="a", val_accuracy=0.60, test_accuracy=0.90, pool={}),
             Candidate(name="b", val_accuracy=0.70, test_accuracy=0.50, pool={}),
             Candidate(name="c", val_accuracy=0.65, test_accuracy=0.95, pool={})]
    assert best_on_validation(tried, lambda c: c.val_accuracy).name == "b"


def test_a_tie_goes_to_the_option_listed_first_whatever_follows():
    assert best_on_validation(["x", "y", "z"], {"x": 0.5, "y": 0.7, "z": 0.7}.get) == "y"
    assert best_on_validation(["z", "y", "x"], {"x": 0.5, "y": 0.7, "z": 0.7}.get) == "z"
    assert best_on_validation([3.0, 0.0], lambda dose: 0.4) == 3.0
    assert best_on_validation(["only"], lambda name: float("-inf")) == "only"
    with pytest.raises(ValueError, match="nothing to choose"):
        best_on_validation([], lambda x: 1.0)


def test_budgets_order_samples_then_sessions_then_all():
    assert sorted(["all", "10", "2s", "2", "10s"], key=budget_order) == ["2", "10", "2s", "10s", "all"]


def _summary(strategies: dict[str, int]) -> BudgetSummary:
    return BudgetSummary(repeats=sum(strategies.values()), real_train=10, synthetic=20, arms={}, gains={},
                         strategies=strategies)


def _report(summary: dict[str, BudgetSummary]) -> UtilityReport:
    return UtilityReport(budgets=list(summary), seeds=3, family="kl", generator="ldm", strategies=["a", "b", "c"],
                         records=[], summary=summary, verdict="", note="", files={})


def test_the_exported_strategy_is_the_most_chosen_at_the_largest_budget_ties_to_the_first_listed():
    report = _report({"2": _summary({"c": 3}), "all": _summary({"a": 1, "b": 2})})
    assert largest_budget(report) == "all"
    assert most_chosen(report.summary["all"].strategies, ["a", "b", "c"]) == "b"
    # a tie over repeats: the strategy the configuration lists first, not the one first in the study's file
    assert most_chosen({"b": 1, "a": 1, "c": 1}, ["c", "a", "b"]) == "c"
    assert most_chosen({"b": 2, "a": 2}, ["a", "b"]) == "a"


def test_without_budget_all_the_choice_is_read_at_the_largest_budget_the_study_ran():
    report = _report({"5": _summary({"a": 2, "b": 1}), "2s": _summary({"b": 3}), "10": _summary({"c": 3})})
    assert largest_budget(report) == "2s"
    assert most_chosen(report.summary[largest_budget(report)].strategies, ["a", "b", "c"]) == "b"
    with pytest.raises(MdaugError, match="no finished budget"):
        largest_budget(_report({}))


def test_a_strategy_no_longer_configured_is_not_exported():
    assert most_chosen({"gone": 3, "b": 1}, ["a", "b"]) == "b"
    with pytest.raises(MdaugError, match="chose gone.*lists a, b"):
        most_chosen({"gone": 3}, ["a", "b"])


def test_the_pipeline_exports_the_strategy_chosen_in_its_study(tmp_path):
    from rich.console import Console

    from mdaug.workflows.pipeline import Pipeline
    from mdaug.workflows.utility import UTILITY_JSON

    cfg = load_config("tiny", ["utility.strategies=[{name: plain, per_real: 1.0}, {name: noisy, per_real: 2.0}]"])
    pipe = Pipeline(cfg, tmp_path / "run", console=Console(quiet=True))
    pipe.folders.utility.mkdir(parents=True)
    _report({"2": _summary({"plain": 3}), "5": _summary({"noisy": 1, "plain": 1})}).write(
        pipe.folders.utility / UTILITY_JSON)
    choice = pipe._choice(data=None)
    assert choice.strategy.name == "plain" and choice.recognizer is None  # the tie at budget 5, listed first
    assert "best in 1 of 2 repeat(s) at budget 5" in choice.selected
    _report({"2": _summary({"plain": 3}), "5": _summary({"noisy": 2, "plain": 1})}).write(
        pipe.folders.utility / UTILITY_JSON)
    assert pipe._choice(data=None).strategy.per_real == 2.0


def _records(gains: list[float]) -> list[UtilityRecord]:
    """Three repeats whose synthetic arm beats real + classical by `gains` (real + classical wins validation)."""
    out = []
    for repeat, gain in enumerate(gains):
        test = {"real": 0.5, "real+classical": 0.6, "real+classical+synthetic": 0.6 + gain, "synthetic": 0.2}
        val = dict(test, **{"real+classical": 0.9})
        out.append(UtilityRecord(budget="10", repeat=repeat, real_train=10, real_val=10, synthetic=20, strategy="a",
                                 accuracy=test, val_accuracy=val, candidates=[], real_files_seen={}))
    return out


@pytest.mark.parametrize("gains, how", [
    ([0.05, 0.06, 0.04], "raised held-out"),
    ([0.10, -0.05, 0.01], "raised, but not significantly, held-out"),
    ([0.0, 0.0, 0.0], "did not raise held-out"),
    ([0.02, -0.04, -0.01], "did not raise held-out"),
])
def test_the_verdict_says_raised_only_when_the_whole_interval_is_above_zero(gains, how):
    summary = summarise(_records(gains))
    gain = summary["10"].gains["synthetic over best non-generative"]
    assert gain.mean == pytest.approx(sum(gains) / 3)
    assert f" {how} accuracy over real + classical alone: 60.0% to {60 + 100 * sum(gains) / 3:.1f}%" in verdict(
        summary)


def test_one_repeat_with_a_gain_is_raised_and_says_it_has_no_interval():
    text = verdict(summarise(_records([0.03])))
    assert " raised held-out accuracy" in text and "(+3.0 points, one repeat, so no interval)" in text


def test_a_budget_chooses_dose_strategy_and_guidance_on_validation_where_test_disagrees(monkeypatch):
    """Every recogniser of one (budget, repeat) replaced by a table of (validation, test) accuracies in which test
    would choose otherwise: the record must hold the validation choices and their test accuracies."""
    from types import SimpleNamespace

    import numpy as np

    from mdaug.runs.run_data import load_run_data
    from mdaug.workflows.pools import Pool
    from mdaug.workflows.utility import budget as study
    from mdaug.workflows.utility.budget import Budget, budget_config

    table = {"recognizer-real": (0.5, 0.5),
             "recognizer-real-classical": (0.60, 0.99), "recognizer-real-classical-snr3": (0.70, 0.10),
             "recognizer-real-classical-snr6": (0.70, 0.95),  # ties dose 3 on validation: the first listed wins
             "recognizer-plain-snr3": (0.80, 0.20), "recognizer-noisy-snr3": (0.75, 0.90),
             "recognizer-tstr": (0.30, 0.40), "recognizer-tstr-g1": (0.35, 0.05)}
    monkeypatch.setattr(study, "_recogniser", lambda rc, rec_dir, data, con, what, store=None: table[rec_dir.name])
    monkeypatch.setattr(study, "load_recognizer", lambda d: (None, SimpleNamespace(train_ids=[], selection_ids=[])))
    s2 = SimpleNamespace(conditions=[], default_settings=lambda: SimpleNamespace(guidance_scale=2.0),
                         autoencoder=SimpleNamespace(texture_db=lambda texture: 0.0))
    monkeypatch.setattr(study, "load_stage2", lambda d: s2)
    sizes = {"pool-plain.npz": 6, "pool-noisy.npz": 7, "tstr-pool.npz": 8, "tstr-g1-pool.npz": 9}
    monkeypatch.setattr(study, "cached_pool", lambda path, draw: Pool(
        x=np.zeros((sizes[path.name], 1, 2, 2), np.float32), labels=np.zeros(sizes[path.name], np.int64)))
    monkeypatch.setattr(study, "with_synthetic", lambda real, x, labels, mode: real)
    cfg = load_config("tiny", ["utility.snr_drop_db=[0, 3, 6]", "utility.pretrained=false", "data.direction_free=true",
                               "utility.tstr_guidance=[null, 1]",
                               "utility.strategies=[{name: plain, per_real: 1.0}, {name: noisy, per_real: 2.0}]"])
    budget = Budget(cfg, __import__("pathlib").Path("unused"), load_run_data(budget_config(cfg, 2, 0)), None, 0, None)
    budget.real_arms(None)
    budget.candidates(cap=10)
    record = budget.record
    assert record.snr_drop_db == 3.0 and record.accuracy["real+classical"] == 0.10
    assert record.strategy == "plain" and record.synthetic == 6 and record.accuracy["real+classical+synthetic"] == 0.20
    assert record.tstr_guidance == 1.0 and record.tstr_samples == 9 and record.accuracy["synthetic"] == 0.05
    assert record.val_accuracy == {"real": 0.5, "real+classical": 0.70, "real+classical+synthetic": 0.80,
                                   "synthetic": 0.35}


def test_every_refusal_of_the_choice_says_in_full_what_is_missing():
    with pytest.raises(ValueError, match=r"^nothing to choose from$"):
        best_on_validation(iter([]), lambda x: 1.0)
    with pytest.raises(MdaugError) as err:
        largest_budget(_report({}))
    assert str(err.value) == ("the utility study has no finished budget to choose a strategy at; run `mdaug utility` "
                              "again")
    with pytest.raises(MdaugError) as err:
        most_chosen({}, [])
    assert str(err.value) == ("the utility study chose no strategy, and the configuration lists none; run `mdaug "
                              "utility` again with this configuration")
    with pytest.raises(MdaugError) as err:
        most_chosen({"gone": 3, "also gone": 1, "never": 0}, ["b", "a"])
    assert str(err.value) == ("the utility study chose also gone, gone, never, and the configuration lists b, a; run "
                              "`mdaug utility` again with this configuration")


def test_the_first_option_is_scored_once_like_every_other_and_a_later_one_wins_only_by_scoring_higher():
    scored = []

    def score(option):
        scored.append(option)
        return {"a": 0.5, "b": 0.4, "c": 0.6, "d": 0.6, "e": 0.1}[option]

    assert best_on_validation(iter(["a", "b", "c", "d", "e"]), score) == "c"  # a one-pass iterable is enough
    assert scored == ["a", "b", "c", "d", "e"]
    assert best_on_validation([-1.0, -3.0, -2.0], lambda x: x) == -1.0  # scores below zero: the first is kept
    assert best_on_validation([-3.0, -1.0, -2.0], lambda x: x) == -1.0
