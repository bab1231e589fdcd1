import numpy as np
import pytest

from mdaug.evaluation.metrics import (
    MEMORISATION_THRESHOLD,
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
