import warnings

import numpy as np
import pytest

from mdaug.evaluation.metrics import (
    MEMORISATION_THRESHOLD,
    calibrated_neighbours,
    doppler_envelope,
    envelope_statistics,
    identity_accuracy,
    kernel_inception_distance,
    memorisation,
    physical_plausibility,
    precision_recall,
    torso_doppler,
)


def gauss(n: int, d: int, shift: float = 0.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)) + shift


# --- KID -------------------------------------------------------------------------------------------------

def test_kid_is_near_zero_for_equal_sets_and_large_for_separated_ones():
    a = gauss(300, 8)
    same, _ = kernel_inception_distance(a, a, subset_size=100)
    fresh, fresh_std = kernel_inception_distance(a, gauss(300, 8, seed=1), subset_size=100)
    far, _ = kernel_inception_distance(a, gauss(300, 8, 5.0, seed=1), subset_size=100)
    assert abs(same) < 0.1 and abs(fresh) < 3 * fresh_std + 0.01
    assert far > 100


def test_kid_grows_with_the_mean_shift():
    a, b = gauss(300, 8), gauss(300, 8, seed=1)
    kids = [kernel_inception_distance(a, b + m, subset_size=100)[0] for m in (0.0, 0.5, 1.0, 2.0)]
    assert np.all(np.diff(kids) > 0), kids


def test_kid_rejects_subsets_larger_than_a_set():
    with pytest.raises(ValueError):
        kernel_inception_distance(gauss(10, 2), gauss(50, 2), subset_size=20)


# --- precision / recall ----------------------------------------------------------------------------------

def test_precision_recall_of_equal_and_separated_sets():
    a = gauss(200, 4)
    assert precision_recall(a, a) == {"precision": 1.0, "recall": 1.0}
    assert precision_recall(a, gauss(200, 4, 10.0, seed=1)) == {"precision": 0.0, "recall": 0.0}


def test_precision_recall_known_answer_with_k_nn_radii():
    # k=1, own point excluded: every real point has radius 1; fakes 0.5 and 3.9 fall inside, 10 and 11 not.
    # Fake radii: 3.4 for 0.5 and 3.9 (each other), 1 for 10 and 11, so all real points are covered.
    real, fake = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[0.5], [3.9], [10.0], [11.0]])
    assert precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}


def test_precision_high_recall_low_when_fake_drops_a_mode():
    real = np.concatenate([gauss(150, 4, -5.0), gauss(150, 4, 5.0, seed=1)])
    pr = precision_recall(real, gauss(150, 4, -5.0, seed=2))
    assert pr["precision"] > 0.85 and 0.3 < pr["recall"] < 0.6


# --- identity --------------------------------------------------------------------------------------------

def test_identity_accuracy_and_confusion_on_hand_made_logits():
    logits = np.array([[3, 1, 0, -1], [2, 0, 1, -1], [0, 5, 1, -1], [4, 1, 0, -1], [0, 0, 1, -1.0]])  # class 3 unused
    labels = np.array([0, 0, 1, 1, 2])  # predictions 0 0 1 0 2
    out = identity_accuracy(logits, labels, 4)
    assert out["accuracy"] == pytest.approx(0.8)
    expected = np.zeros((4, 4), dtype=np.int64)
    expected[0, 0], expected[1, 1], expected[1, 0], expected[2, 2] = 2, 1, 1, 1
    np.testing.assert_array_equal(out["confusion"], expected)
    np.testing.assert_array_equal(out["per_class_accuracy"], [1.0, 0.5, 1.0, np.nan])
    assert out["balanced_accuracy"] == pytest.approx(2.5 / 3)
    with pytest.raises(ValueError):
        identity_accuracy(logits, np.array([0, 0, 1, 1, 4]), 4)


# --- memorisation ----------------------------------------------------------------------------------------

def test_copied_training_set_is_flagged_and_fresh_draws_are_not():
    train, labels = gauss(300, 16), np.repeat([0, 1, 2], 100)
    order = np.random.default_rng(3).permutation(300)[:90]
    copied = memorisation(train[order] + 1e-4, labels[order], train, labels)
    np.testing.assert_array_equal(copied["nearest_train"], order)
    for c in (0, 1, 2, "all"):
        assert copied[c]["share_below"] == 1.0 and copied[c]["median_ratio"] < 0.01
        assert copied[c]["nn_distance_ratio"] < 0.01
    fresh = memorisation(gauss(300, 16, seed=1), labels, train, labels)
    for c in (0, 1, 2, "all"):
        assert fresh[c]["share_below"] < 0.05 and fresh[c]["median_ratio"] > 0.8
        assert 0.8 < fresh[c]["nn_distance_ratio"] < 1.25
    assert fresh["threshold"] == MEMORISATION_THRESHOLD and fresh["ratio"].shape == (300,)


def test_memorisation_counts_duplicated_training_samples_as_copies():
    train = np.concatenate([gauss(20, 4), gauss(20, 4)[:1]])  # sample 0 twice: d1 = d2 = 0
    out = memorisation(train[:1], [0], train, np.zeros(21))
    assert out["ratio"][0] == 0.0 and out[0]["share_below"] == 1.0


# --- physical plausibility -------------------------------------------------------------------------------

def band(lo: int, hi: int, *, rows: int = 64, cols: int = 16, torso: int | None = None) -> np.ndarray:
    """(1, rows, cols) spectrogram: rows lo..hi at 0.5, the torso row (if any) at 1, the rest at the floor."""
    x = np.full((1, rows, cols), -1.0, dtype=np.float32)
    x[:, lo:hi + 1] = 0.5 if torso is not None else 1.0
    if torso is not None:
        x[:, torso] = 1.0
    return x


def test_envelope_and_torso_of_a_known_band():
    x = np.stack([band(20, 40, torso=33), band(5, 9)])  # (2, 1, 64, 16)
    x[1, 0, :, 3] = -1.0  # an empty column
    env, torso = doppler_envelope(x), torso_doppler(x)
    assert env.shape == (2, 2, 16) and torso.shape == (2, 16)
    assert np.all(env[0, 0] == 20) and np.all(env[0, 1] == 40) and np.all(torso[0] == 33)
    assert np.isnan(env[1, :, 3]).all() and np.isnan(torso[1, 3])
    assert np.all(env[1, 0, [0, 15]] == 5) and np.all(env[1, 1, [0, 15]] == 9)


def test_envelope_threshold_is_relative_to_the_column_peak():
    x = np.full((1, 32, 4), -1.0)
    x[0, 10] = 0.2  # the column peak: everything is relative to it
    x[0, 6], x[0, 14] = 0.2 - 0.9, 0.2 - 1.1  # 18 dB and 22 dB below it
    np.testing.assert_array_equal(doppler_envelope(x)[0], [[6] * 4, [10] * 4])
    np.testing.assert_array_equal(doppler_envelope(x, threshold_db=30)[0], [[6] * 4, [14] * 4])


def test_envelope_statistics_and_gait_period():
    x = band(20, 40, torso=30, cols=64)
    x[..., (np.arange(64) // 4) % 2 == 1] = band(25, 35, torso=30, cols=32)  # bandwidth alternates every 4 columns
    stats = envelope_statistics(x[None])
    assert stats["bandwidth_max"][0] == 21 and stats["bandwidth_mean"][0] == 16
    assert stats["upper_peak"][0] == 40 and stats["lower_peak"][0] == 20
    assert stats["torso_mean"][0] == 30 and stats["torso_std"][0] == 0
    assert stats["period"][0] == 8


def test_physical_plausibility_of_identical_and_shifted_sets():
    real = np.stack([band(20 + i, 40 + i, torso=30 + i) for i in range(5)])
    same = physical_plausibility(real, real.copy())
    assert set(same) == {"bandwidth_max", "bandwidth_mean", "upper_peak", "lower_peak", "torso_mean", "torso_std",
                         "period"}
    for name in ("bandwidth_max", "upper_peak", "torso_mean", "torso_std"):
        assert same[name]["wasserstein"] == 0.0 and same[name]["difference"] == 0.0
    assert same["torso_mean"]["real_mean"] == 32 and same["torso_mean"]["real_std"] == pytest.approx(np.sqrt(2))
    assert np.isnan(same["period"]["wasserstein"])  # constant bandwidth: no period
    shifted = physical_plausibility(real, np.stack([band(23 + i, 43 + i, torso=33 + i) for i in range(5)]))
    assert shifted["torso_mean"]["wasserstein"] == pytest.approx(3.0)
    assert shifted["torso_mean"]["difference"] == pytest.approx(3.0)
    assert shifted["bandwidth_max"]["wasserstein"] == 0.0
    assert shifted["torso_mean"]["real_median"] == 32 and shifted["torso_mean"]["fake_median"] == 35


def test_the_period_median_ignores_harmonic_mis_picks_that_drag_the_mean():
    t = np.arange(64)
    def walker(period, second=0.0):  # bandwidth oscillating at the step period, with some stride harmonic
        x = np.full((64, 64), -1.0)
        width = 10 + 6 * np.sin(2 * np.pi * t / period) + second * np.sin(np.pi * t / period)
        for c in range(64):
            x[32 - int(width[c]) // 2: 32 + int(width[c]) // 2, c] = 0.5
        return x
    real = np.stack([walker(10) for _ in range(8)])
    fake = np.stack([walker(10) for _ in range(6)] + [walker(10, second=12.0) for _ in range(2)])
    p = physical_plausibility(real, fake)["period"]
    assert p["real_median"] == p["fake_median"] == pytest.approx(10, abs=1)
    assert p["fake_mean"] > p["real_mean"] + 2  # the two stride-dominated estimates pull the mean up


# --- exact answers on hand-made inputs (issue 28: what mutation testing showed the tests above let through) --------

def test_feature_metrics_compute_in_float64_whatever_the_input_dtype():
    real, fake = np.array([[0], [1], [2], [3]]), np.array([[1], [4], [10], [11]])  # integer points
    assert precision_recall(real, fake, k=1) == {"precision": 0.5, "recall": 1.0}  # 1 and 4 inside; radii 3, 3, 1, 1
    a, b = gauss(20, 3).astype(np.float32), gauss(20, 3, 0.5, seed=1).astype(np.float32)
    assert kernel_inception_distance(a, b, subset_size=10) == kernel_inception_distance(
        a.astype(np.float64), b.astype(np.float64), subset_size=10)


def test_kid_known_answer_on_whole_sets_and_the_subset_size_bounds():
    # d = 1, k(x, y) = (xy + 1)^3: k(0, 1) = k(0, 2) = k(0, 0) = 1, k(1, 2) = 27; each subset is the whole set,
    # so MMD^2 = k(0, 1) + k(0, 2) - 2 (1 + 1 + 1 + 27) / 4 = -13 on every subset, drawn without replacement
    assert kernel_inception_distance(np.array([[0.0], [1.0]]), np.array([[0.0], [2.0]])) == (-13.0, 0.0)
    a, b = gauss(30, 2), gauss(20, 2, 1.0, seed=1)
    for subset_size in (1, 21):
        with pytest.raises(ValueError, match=fr"^KID needs 2 <= subset_size <= min\(len\(a\), len\(b\)\), "
                                             fr"got {subset_size} for 30, 20$"):
            kernel_inception_distance(a, b, subset_size=subset_size)


def test_kid_defaults_ten_subsets_of_up_to_1000_with_seed_0():
    a, b = gauss(30, 2), gauss(20, 2, 1.0, seed=1)
    kid = kernel_inception_distance(a, b)
    assert kid == kernel_inception_distance(a, b, subsets=10, subset_size=20, seed=0)  # the smaller set's size
    assert kid != kernel_inception_distance(a, b, subsets=11, subset_size=20, seed=0)
    assert kid != kernel_inception_distance(a, b, subset_size=20, seed=1)
    assert kernel_inception_distance(b, a) == kernel_inception_distance(b, a, subset_size=20)
    big_a, big_b = gauss(1001, 2), gauss(1001, 2, 0.2, seed=1)
    assert kernel_inception_distance(big_a, big_b, subsets=1) == kernel_inception_distance(
        big_a, big_b, subsets=1, subset_size=1000)


def test_precision_recall_counts_points_on_a_ball_s_boundary_and_defaults_to_k3():
    # k=1: every real radius is 1; the fake at 4 lies on the boundary of 3's ball (inside), -2 is 2 from 0 (outside)
    real, fake = np.array([[0.0], [1.0], [2.0], [3.0]]), np.array([[4.0], [-2.0], [10.0], [11.0]])
    assert precision_recall(real, fake, k=1) == {"precision": 0.25, "recall": 1.0}
    # k=3 radii of 0..4 are 3, 2, 2, 2, 3: the fake at 3.5 is inside, 7.5 (3.5 from 4) is not (k=4 radius 4 would be)
    real, fake = np.arange(5.0)[:, None], np.array([[3.5], [7.5], [20.0], [21.0], [22.0]])
    assert precision_recall(real, fake) == {"precision": 0.2, "recall": 1.0}
    assert precision_recall(real, fake, k=4)["precision"] == 0.4
    with pytest.raises(ValueError, match=r"^precision/recall with k=3 needs more than 3 samples in each set$"):
        precision_recall(real[:3], fake)


def test_identity_accuracy_checks_its_inputs_with_messages_and_takes_one_sample_and_float_labels():
    logits = np.array([[3, 1, 0, -1], [2, 0, 1, -1], [0, 5, 1, -1]])
    with pytest.raises(ValueError, match=r"^need logits \(n, 4\) for n > 0 labels, got \(3, 3\) and \(3,\)$"):
        identity_accuracy(logits[:, :3], np.array([0, 0, 1]), 4)
    with pytest.raises(ValueError, match=r"^labels must lie in \[0, 4\), found \[0, 4\]$"):
        identity_accuracy(logits, np.array([0, 4, 1]), 4)
    with pytest.raises(ValueError, match=r"^labels must lie in \[0, 4\), found \[-1, 1\]$"):
        identity_accuracy(logits, np.array([0, -1, 1]), 4)
    one = identity_accuracy(logits[2:], np.array([1]), 4)
    assert one["accuracy"] == 1.0 and one["confusion"][1, 1] == 1 and one["confusion"].sum() == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # classes without samples are NaN without a division warning
        out = identity_accuracy(logits, np.array([0.0, 1.0, 1.0]), 4)  # labels as floats (read from a table)
    np.testing.assert_array_equal(out["per_class_accuracy"], [1.0, 0.5, np.nan, np.nan])
    assert out["balanced_accuracy"] == 0.75


def test_memorisation_known_answer_on_hand_made_points():
    train, train_labels = np.array([[0.0], [1.0], [10.0], [13.0]]), np.array([0, 0, 1, 1])  # nn: 1, 1, 3, 3
    fake, fake_labels = np.array([[0.2], [12.0], [5.0]]), np.array([0, 1, 2])  # class 2 has no training samples
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a class without training samples: NaN, without an empty-median warning
        out = memorisation(fake, fake_labels, train, train_labels)
    # 0.2: d1 0.2 (to 0), d2 0.8; 12: d1 1 (to 13), d2 2, ratio exactly the threshold (not below); 5: 4 (to 1), 5
    np.testing.assert_allclose(out["ratio"], [0.25, 0.5, 0.8])
    np.testing.assert_array_equal(out["nearest_train"], [0, 3, 1])
    assert out[0] == pytest.approx({"n": 1, "median_ratio": 0.25, "share_below": 1.0, "nn_distance_ratio": 0.2})
    assert out[1] == pytest.approx({"n": 1, "median_ratio": 0.5, "share_below": 0.0, "nn_distance_ratio": 1 / 3})
    assert out[2] == pytest.approx({"n": 1, "median_ratio": 0.8, "share_below": 0.0, "nn_distance_ratio": np.nan},
                                   nan_ok=True)
    # all: median ratio 0.5; median d1 1 over the median nearest-training distance 2
    assert out["all"] == pytest.approx({"n": 3, "median_ratio": 0.5, "share_below": 1 / 3, "nn_distance_ratio": 0.5})


def test_memorisation_with_three_training_samples_and_a_class_of_duplicates():
    train, train_labels = np.array([[0.0], [0.0], [5.0]]), np.array([0, 0, 1])  # class 0's nearest distance is 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no division by that zero
        out = memorisation(np.array([[1.0]]), [0], train, train_labels)
    assert out[0]["median_ratio"] == 1.0 and np.isnan(out[0]["nn_distance_ratio"])
    with pytest.raises(ValueError, match="^memorisation needs at least three training samples$"):
        memorisation(np.array([[1.0]]), [0], train[:2], train_labels[:2])


def test_gait_period_starts_its_search_after_the_first_negative_lag():
    from mdaug.evaluation.metrics import _period

    # autocorrelation 12, 0, 3, -4, -4, -1, -1, 1: the zero at lag 1 is not negative; the highest after lag 3 is lag 7
    assert _period(np.array([1.0, 1, 1, 2, 4, 2, 4, 1])) == 7.0
    assert _period(0.01 * np.array([1.0, -1, 1, -1, 1, -1, 1, -1])) == 2.0  # a weak oscillation still has a period
    assert np.isnan(_period(np.array([1.0, -1.0])))  # autocorrelation 2, -1: nothing positive after the negative lag
    assert np.isnan(_period(np.array([1.0, 0.0, -1.0, 0.0])))  # 2, 0, -1, 0: the best after it is 0, not positive
    assert np.isnan(_period(np.full(5, np.nan)))


def _peaked(rows: int = 16, cols: int = 3) -> np.ndarray:
    """(1, 1, rows, cols): a column peak of 0.2 at row 10, row 6 19.8 dB below it and row 14 20.4 dB below it (in a
    40 dB display); column 1 peaks at -0.7 only (18 dB below the others), with row 6 4 dB below that: a weak column
    has its own envelope, relative to its own peak."""
    x = np.full((1, 1, rows, cols), -1.0)
    x[..., 10, :], x[..., 6, :], x[..., 14, :] = 0.2, 0.2 - 0.99, 0.2 - 1.02
    x[..., 10, 1], x[..., 6, 1], x[..., 14, 1] = -0.7, -0.9, -1.0
    return x


def test_the_envelope_threshold_defaults_to_20_db_of_40_and_is_passed_through():
    x = _peaked()
    np.testing.assert_array_equal(doppler_envelope(x)[0], [[6, 6, 6], [10, 10, 10]])
    np.testing.assert_array_equal(doppler_envelope(x, threshold_db=21)[0], [[6, 6, 6], [14, 10, 14]])
    np.testing.assert_array_equal(doppler_envelope(x, dynamic_range_db=41)[0], [[10, 6, 10], [10, 10, 10]])
    # the columns are 5, 5, 5 rows wide by default, 9, 5, 9 with 21 dB and 1, 5, 1 with a 41 dB display
    cases = (({}, 10, 5), ({"threshold_db": 21}, 14, 23 / 3), ({"dynamic_range_db": 41}, 10, 7 / 3))
    for kwargs, upper, width in cases:
        stats = envelope_statistics(x, **kwargs)
        assert stats["upper_peak"][0] == upper and stats["bandwidth_mean"][0] == pytest.approx(width), kwargs
        p = physical_plausibility(x, x, **kwargs)
        assert p["upper_peak"]["real_mean"] == p["upper_peak"]["fake_mean"] == upper, kwargs
        assert p["bandwidth_mean"]["real_mean"] == p["bandwidth_mean"]["fake_mean"] == pytest.approx(width), kwargs


def test_physical_plausibility_of_a_set_without_any_envelope_is_nan_without_warnings():
    real = np.stack([band(20 + i, 40 + i, torso=30 + i) for i in range(3)])
    empty = np.full_like(real, -1.0)
    stats = envelope_statistics(empty)
    assert all(np.isnan(v).all() for v in stats.values()), stats
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for out in (physical_plausibility(real, empty), physical_plausibility(empty, real)):
            assert np.isnan(out["torso_mean"]["wasserstein"]) and np.isnan(out["torso_mean"]["difference"])
    out = physical_plausibility(real, empty)["torso_mean"]
    assert out["real_mean"] == 31 and np.isnan([out["fake_mean"], out["fake_std"], out["fake_median"]]).all()
    out = physical_plausibility(empty, real)["torso_mean"]
    assert out["fake_mean"] == 31 and out["fake_std"] == pytest.approx(np.sqrt(2 / 3)) and out["fake_median"] == 31
    assert np.isnan([out["real_mean"], out["real_std"], out["real_median"]]).all()


# --- the neighbourhood at which real data counts as real ----------------------------------------------------------

def _line(n, offset):
    """n points one apart along x, at height `offset`: a point's k-th neighbour lies ceil(k/2) away (inside)."""
    return np.stack([np.arange(n, dtype=np.float64), np.full(n, float(offset))], 1)


def test_the_neighbourhood_widens_until_real_sets_four_apart_count_as_each_others():
    real, floor = _line(100, 0), _line(100, 4)  # each floor point 4 from the real line
    assert precision_recall(real, floor, k=5)["precision"] < 0.5  # radius 3: only the ends' wider balls reach
    assert precision_recall(real, floor, k=10) == {"precision": 1.0, "recall": 1.0}  # radius 5
    assert calibrated_neighbours(real, floor) == 10
    assert calibrated_neighbours(real, _line(100, 2)) == 3  # radius 2 at k=3 already
    assert calibrated_neighbours(real, floor, candidates=(3, 20)) == 20
    assert calibrated_neighbours(real, floor, target=0.02) == 5  # the ends' wider balls (radius 5 there) suffice


def test_without_a_neighbourhood_that_fits_the_largest_the_sets_allow_is_used():
    real, far = _line(40, 0), _line(40, 1000)
    assert calibrated_neighbours(real, far) == 30  # 50 and 100 need more than 40 points
    assert calibrated_neighbours(real, _line(12, 1000)) == 10
    with pytest.raises(ValueError, match="more than 3 samples"):
        calibrated_neighbours(real[:3], far)
