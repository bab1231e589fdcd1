"""The utility study's statistics and its verdict on hand-made records (issue 28): every interval against Student's t,
every mean, counter and subset size, and every sentence of the verdict in full."""

import numpy as np
import pytest
from scipy import stats

from mdaug.evaluation.records import BudgetSummary, Interval, UtilityRecord
from mdaug.workflows.utility import interval, summarise, verdict

REAL, CLASSICAL, PRETRAINED, WITH, ONLY = "real", "real+classical", "pretrained+classical", \
    "real+classical+synthetic", "synthetic"
ACC = [{REAL: 0.50, CLASSICAL: 0.60, PRETRAINED: 0.58, WITH: 0.64, ONLY: 0.30},
       {REAL: 0.52, CLASSICAL: 0.62, PRETRAINED: 0.61, WITH: 0.66, ONLY: 0.31},
       {REAL: 0.47, CLASSICAL: 0.61, PRETRAINED: 0.60, WITH: 0.70, ONLY: 0.35}]
"""Test accuracy per repeat."""
VAL = [{REAL: 0.4, CLASSICAL: 0.6, PRETRAINED: 0.9, WITH: 0.7, ONLY: 0.2},
       {REAL: 0.4, CLASSICAL: 0.6, PRETRAINED: 0.3, WITH: 0.7, ONLY: 0.2},
       {REAL: 0.4, CLASSICAL: 0.6, PRETRAINED: 0.5, WITH: 0.7, ONLY: 0.2}]
"""Validation accuracy per repeat: real + classical wins on the mean (0.6 against 0.567), not on the best repeat."""


def _record(repeat: int, accuracy: dict, val: dict | None = None, budget: str = "10", **fields) -> UtilityRecord:
    return UtilityRecord(**{"budget": budget, "repeat": repeat, "real_train": 40, "real_val": 40, "synthetic": 80,
                            "strategy": "a", "accuracy": accuracy, "val_accuracy": accuracy if val is None else val,
                            "candidates": [], "real_files_seen": {}} | fields)


def _records(val: list[dict] = VAL, **per_repeat: list) -> list[UtilityRecord]:
    """Three repeats of budget 10 with ACC, `val` and each field of `per_repeat` (a value per repeat)."""
    return [_record(r, ACC[r], val[r], **{k: v[r] for k, v in per_repeat.items()}) for r in range(3)]


def test_an_interval_is_the_mean_the_sample_std_and_students_t_with_n_minus_1_degrees():
    iv = interval([0.1, 0.2, 0.4])
    mean, sd = 0.7 / 3, np.sqrt(((0.1 - 0.7 / 3) ** 2 + (0.2 - 0.7 / 3) ** 2 + (0.4 - 0.7 / 3) ** 2) / 2)
    half = stats.t.ppf(0.975, 2) * sd / np.sqrt(3)
    assert iv.n == 3 and iv.mean == pytest.approx(mean, abs=1e-15) and iv.std == pytest.approx(sd, abs=1e-15)
    assert iv.low == pytest.approx(mean - half, abs=1e-15) and iv.high == pytest.approx(mean + half, abs=1e-15)
    assert (iv.std, iv.low, iv.high) == pytest.approx((0.152753, -0.146125, 0.612792), abs=1e-6)  # t(2) = 4.303
    two = interval(np.array([0.1, 0.3]))  # two repeats are enough for an interval, with t(1) = 12.706
    assert (two.mean, two.std, two.n) == pytest.approx((0.2, np.sqrt(0.02), 2), abs=1e-15)
    assert (two.low, two.high) == pytest.approx((0.2 - 12.706205 * 0.1, 0.2 + 12.706205 * 0.1), abs=1e-6)
    assert interval([0.4]) == Interval(mean=0.4, std=0.0, n=1) and interval([0.4]).low is None
    assert interval([0.4]).high is None
    low = np.array([0.1, 0.2, 0.4], dtype=np.float32)  # averaged in float64, whatever the values' own type
    assert interval(low).mean == np.mean(low.astype(np.float64)) != float(np.mean(low))


def test_a_budget_summary_holds_each_arms_interval_the_paired_gains_and_the_choices_made():
    records = _records(real_train=[40, 41, 42], synthetic=[80, 81, 83], tstr_samples=[40, 41, 43],
                       strategy=["a", "b", "a"], tstr_guidance=[1.0, 2.5, 1.0], snr_drop_db=[0.0, 3.0, 3.0])
    s = summarise(records)
    assert list(s) == ["10"]
    at = s["10"]
    assert (at.repeats, at.real_train, at.synthetic, at.tstr_samples) == (3, 40, 81, 41)  # the first's, means
    assert at.strategies == {"a": 2, "b": 1} and at.tstr_guidance == {"1": 2, "2.5": 1}
    assert at.snr_drop_db == {"0": 1, "3": 2}
    assert at.arms == {REAL: interval([0.50, 0.52, 0.47]), CLASSICAL: interval([0.60, 0.62, 0.61]),
                       PRETRAINED: interval([0.58, 0.61, 0.60]), WITH: interval([0.64, 0.66, 0.70]),
                       ONLY: interval([0.30, 0.31, 0.35])}
    assert list(at.arms) == [REAL, CLASSICAL, PRETRAINED, WITH, ONLY]
    assert at.best_non_generative == CLASSICAL  # on the mean of validation, not on its best repeat
    assert at.gains == {
        "synthetic over classical": interval([0.64 - 0.60, 0.66 - 0.62, 0.70 - 0.61]),
        "synthetic over real": interval([0.64 - 0.50, 0.66 - 0.52, 0.70 - 0.47]),
        "classical over real": interval([0.60 - 0.50, 0.62 - 0.52, 0.61 - 0.47]),
        "pretrained over classical": interval([0.58 - 0.60, 0.61 - 0.62, 0.60 - 0.61]),
        "synthetic over best non-generative": interval([0.64 - 0.60, 0.66 - 0.62, 0.70 - 0.61])}
    assert at.subsets is None and at.by_condition is None
    assert summarise(records[:2])["10"].synthetic == 80  # 80.5 rounds to even


def test_the_gain_over_the_best_non_generative_arm_is_paired_against_the_one_better_on_validation():
    better = [dict(v, **{PRETRAINED: p}) for v, p in zip(VAL, (0.9, 0.7, 0.8), strict=True)]
    at = summarise(_records(better))["10"]
    assert at.best_non_generative == PRETRAINED
    assert at.gains["synthetic over best non-generative"] == interval([0.64 - 0.58, 0.66 - 0.61, 0.70 - 0.60])
    tie = [dict(v, **{PRETRAINED: 0.6}) for v in VAL]  # a tie on validation: real + classical, listed first
    assert summarise(_records(tie))["10"].best_non_generative == CLASSICAL
    # an arm is a candidate only with a validation accuracy in every repeat and a test accuracy in every repeat
    unvalidated = [better[0], {k: v for k, v in better[1].items() if k != PRETRAINED}, better[2]]
    assert summarise(_records(unvalidated))["10"].best_non_generative == CLASSICAL
    untested = [_record(r, ACC[r] if r else {k: v for k, v in ACC[r].items() if k != PRETRAINED}, better[r])
                for r in range(3)]
    at = summarise(untested)["10"]
    assert at.best_non_generative == CLASSICAL and PRETRAINED not in at.arms
    assert set(at.gains) == {"synthetic over classical", "synthetic over real", "classical over real",
                             "synthetic over best non-generative"}


def test_arms_and_gains_are_only_those_every_repeat_has():
    def drop(acc, *arms):
        return {k: v for k, v in acc.items() if k not in arms}

    at = summarise([_record(0, ACC[0]), _record(1, drop(ACC[1], ONLY, CLASSICAL)), _record(2, ACC[2])])["10"]
    assert list(at.arms) == [REAL, PRETRAINED, WITH]
    assert at.best_non_generative == PRETRAINED  # the only candidate left
    assert at.gains == {"synthetic over real": interval([0.64 - 0.50, 0.66 - 0.52, 0.70 - 0.47]),
                        "synthetic over best non-generative": interval([0.64 - 0.58, 0.66 - 0.61, 0.70 - 0.60])}
    # without a non-generative arm, nothing is the best one and no gain is over it
    bare = summarise([_record(r, drop(ACC[r], CLASSICAL, PRETRAINED)) for r in range(3)])["10"]
    assert bare.best_non_generative is None
    assert bare.gains == {"synthetic over real": interval([0.64 - 0.50, 0.66 - 0.52, 0.70 - 0.47])}
    # without the generative arm: the non-generative gains only
    plain = summarise([_record(r, drop(ACC[r], WITH, ONLY), strategy="") for r in range(3)])["10"]
    assert set(plain.gains) == {"classical over real", "pretrained over classical"} and plain.strategies == {}


def test_a_summary_field_a_repeat_lacks_is_none_and_budgets_keep_the_order_they_first_appear_in():
    records = _records(tstr_samples=[40, None, 43], tstr_guidance=[1.0, 1.0, None], snr_drop_db=[None, 3.0, 3.0])
    at = summarise(records)["10"]
    assert at.tstr_samples is None and at.tstr_guidance is None and at.snr_drop_db is None
    mixed = [_record(0, ACC[0], budget="all", real_train=120, synthetic=10, tstr_samples=5),
             _record(0, ACC[1], budget="2", real_train=8, synthetic=20),
             _record(1, ACC[2], budget="all", real_train=120, synthetic=11, tstr_samples=6)]
    s = summarise(mixed)
    assert list(s) == ["all", "2"]
    assert (s["all"].repeats, s["all"].real_train, s["all"].synthetic, s["all"].tstr_samples) == (2, 120, 10, 6)
    assert s["all"].arms[WITH] == interval([0.64, 0.70]) and s["all"].tstr_guidance is None
    assert (s["2"].repeats, s["2"].real_train, s["2"].synthetic, s["2"].tstr_samples) == (1, 8, 20, None)
    assert s["2"].arms[WITH] == Interval(mean=0.66, std=0.0, n=1)


def test_the_subsets_by_condition_are_averaged_over_the_repeats_that_have_them():
    subsets = [{"all": 10, "seen": 6}, {"all": 12, "unseen": 4, "seen": 8}, {"all": 11, "seen": 7}]
    by_condition = [{REAL: {"all": 0.5, "seen": 0.6}, WITH: {"all": 0.7, "seen": 0.8}, ONLY: {"all": 0.1}},
                    {REAL: {"all": 0.4, "unseen": 0.2, "seen": 0.5}, WITH: {"all": 0.6, "unseen": 0.3, "seen": 0.9}},
                    {REAL: {"all": 0.45, "seen": 0.55}, WITH: {"all": 0.65, "seen": 0.85}, ONLY: {"all": 0.2}}]
    at = summarise(_records(subsets=subsets, by_condition=by_condition))["10"]
    assert at.subsets == {"all": 11.0, "seen": 7.0, "unseen": 4.0} and list(at.subsets) == ["all", "seen", "unseen"]
    assert at.by_condition == {
        REAL: {"all": interval([0.5, 0.4, 0.45]), "seen": interval([0.6, 0.5, 0.55]), "unseen": interval([0.2])},
        WITH: {"all": interval([0.7, 0.6, 0.65]), "seen": interval([0.8, 0.9, 0.85]), "unseen": interval([0.3])}}
    assert list(at.by_condition) == [REAL, WITH] and list(at.by_condition[REAL]) == ["all", "seen", "unseen"]
    # a repeat without either (a record kept before there were conditions): no subsets at all
    for lacking in ({"subsets": None}, {"by_condition": None}):
        old = [r.model_copy(update=lacking) if r.repeat == 1 else r
               for r in _records(subsets=subsets, by_condition=by_condition)]
        at = summarise(old)["10"]
        assert at.subsets is None and at.by_condition is None


def _at(real_train: int, arms: dict[str, float], gain: Interval | None = None, *, name: str = "synthetic over "
        "best non-generative", best: str | None = CLASSICAL, strategies: dict | None = None) -> BudgetSummary:
    """A hand-made budget summary: arms at these means, `gain` (if any) under `name`."""
    return BudgetSummary(repeats=3, real_train=real_train, synthetic=30, best_non_generative=best,
                         arms={a: Interval(mean=m, std=0.0, n=3) for a, m in arms.items()},
                         gains={} if gain is None else {name: gain},
                         strategies={"a": 2, "b": 1} if strategies is None else strategies)


def test_the_verdict_is_one_exact_sentence_per_budget():
    s = summarise(_records(strategy=["a", "b", "a"]))
    assert verdict(s) == (
        "With 10 real spectrograms per class, adding 80 synthetic ones (a, b) raised, but not significantly, held-out "
        "accuracy over real + classical alone: 61.0% to 66.7% (+5.7 points, 95% interval -1.5 to +12.8 points, 3 "
        "repeats); real only 49.7%.")
    all_ = {REAL: 0.5, CLASSICAL: 0.6, WITH: 0.65}
    assert verdict({"all": _at(120, all_, Interval(mean=0.20, std=0.01, n=3, low=0.15, high=0.25))}) == (
        "With all 120 real training spectrograms, adding 30 synthetic ones (a, b) raised held-out accuracy over "
        "real + classical alone: 60.0% to 65.0% (+20.0 points, 95% interval +15.0 to +25.0 points, 3 repeats); "
        "real only 50.0%.")
    assert verdict({"12s": _at(24, all_, Interval(mean=-0.20, std=0.0, n=1), strategies={"a": 1})}) == (
        "With 12 recording session(s) per class (24 spectrograms), adding 30 synthetic ones (a) did not raise "
        "held-out accuracy over real + classical alone: 60.0% to 65.0% (-20.0 points, one repeat, so no interval); "
        "real only 50.0%.")


@pytest.mark.parametrize("mean, low, how", [
    (0.02, 0.0, "raised, but not significantly,"),  # an interval that reaches zero is not above it
    (0.02, 1e-9, "raised"),
    (0.02, None, "raised"),  # one repeat: no interval to reach zero
    (0.0, None, "did not raise"),
    (0.0, -0.01, "did not raise"),
    (-0.02, 0.01, "did not raise"),
])
def test_raised_only_when_the_mean_gain_and_the_whole_interval_are_above_zero(mean, low, how):
    gain = Interval(mean=mean, std=0.01, n=3 if low is not None else 1, low=low,
                    high=None if low is None else 2 * mean - low)
    text = verdict({"10": _at(40, {REAL: 0.5, CLASSICAL: 0.6, WITH: 0.62}, gain)})
    assert text.startswith(f"With 10 real spectrograms per class, adding 30 synthetic ones (a, b) {how} held-out "
                           "accuracy over real + classical alone: 60.0% to 62.0% (")


def test_several_budgets_are_told_smallest_first_and_a_budget_without_arms_says_nothing():
    gain = Interval(mean=0.02, std=0.0, n=1)
    summary = {"all": _at(120, {CLASSICAL: 0.7}), "2s": _at(24, {REAL: 0.4, CLASSICAL: 0.5}),
               "5": _at(20, {}, gain), "10": _at(40, {CLASSICAL: 0.55}),
               "2": _at(8, {REAL: 0.3, PRETRAINED: 0.35}, best=PRETRAINED)}
    assert verdict(summary) == (
        "With 2 real spectrograms per class, the best arm without synthetic data is real + classical, pretrained "
        "recogniser: 35.0%; real only 30.0%. "
        "With 10 real spectrograms per class, the best arm without synthetic data is real + classical: 55.0%. "
        "With 2 recording session(s) per class (24 spectrograms), the best arm without synthetic data is real + "
        "classical: 50.0%; real only 40.0%. "
        "With all 120 real training spectrograms, the best arm without synthetic data is real + classical: 70.0%.")
    assert verdict({"5": _at(20, {}, gain)}) == ""


def test_a_summary_from_an_older_study_is_judged_against_real_and_classical_with_the_gain_it_has():
    arms = {REAL: 0.5, CLASSICAL: 0.6, WITH: 0.63}
    old = _at(40, arms, Interval(mean=0.03, std=0.0, n=1), name="synthetic over classical", best=None)
    assert verdict({"10": old}) == (
        "With 10 real spectrograms per class, adding 30 synthetic ones (a, b) raised held-out accuracy over "
        "real + classical alone: 60.0% to 63.0% (+3.0 points, one repeat, so no interval); real only 50.0%.")
    # the gain over the best non-generative arm is read before the one over real + classical
    both = old.model_copy(update={"gains": old.gains | {"synthetic over best non-generative": Interval(
        mean=-0.03, std=0.0, n=1)}})
    assert " did not raise held-out accuracy over real + classical alone: 60.0% to 63.0% (-3.0 points" in verdict(
        {"10": both})
    # a gain without its generative arm: the best arm without synthetic data
    lost = _at(40, {REAL: 0.5, CLASSICAL: 0.6}, Interval(mean=0.03, std=0.0, n=1), best=None)
    assert verdict({"10": lost}) == ("With 10 real spectrograms per class, the best arm without synthetic data is "
                                     "real + classical: 60.0%; real only 50.0%.")


def test_a_verdict_without_the_real_only_arm_ends_its_sentence_cleanly():
    records = [UtilityRecord(budget="10", repeat=r, real_train=10, real_val=10, synthetic=20, strategy="a",
                             accuracy={"real+classical": 0.6, "real+classical+synthetic": 0.65},
                             val_accuracy={"real+classical": 0.6, "real+classical+synthetic": 0.65}, candidates=[],
                             real_files_seen={}) for r in range(2)]
    assert verdict(summarise(records)).endswith("60.0% to 65.0% (+5.0 points, 95% interval +5.0 to +5.0 points, "
                                                "2 repeats).")
