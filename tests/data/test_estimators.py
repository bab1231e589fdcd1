"""The condition estimators: exact on constructed spectrograms, and within their stated errors on simulated walkers
whose truth the simulator knows."""

from __future__ import annotations

import numpy as np
import pytest

from mdaug.config import load_config
from mdaug.data import estimators as est
from mdaug.data.axes import Axes, axes_of
from mdaug.simulate.dataset import simulate_dataset

DR = 40.0


def _to_x(p: np.ndarray) -> np.ndarray:
    """Linear power (n, d, t) -> the canonical display (n, 1, d, t) in [-1, 1] of DR dB below each peak."""
    db = np.clip(10 * np.log10(p / p.max(axis=(1, 2), keepdims=True)), -DR, 0)
    return (db / DR * 2 + 1)[:, None].astype(np.float32)


def test_the_axes_put_zero_doppler_where_an_area_resize_puts_it():
    # 409 native bins from -1593.75 to +1593.75 Hz, resized to 64 rows: the rows' centres span the native edges
    ax = Axes(rows=64, cols=64, doppler_hz=(-1593.75, 1593.75), native_rows=409)
    hz = ax.row_hz()
    step = 3187.5 / 408
    assert hz[0] == pytest.approx(-1593.75 - step / 2 + 409 * step / 64 / 2)
    assert hz[-1] == pytest.approx(-hz[0]) and ax.zero_row == pytest.approx(31.5)
    assert ax.band_fraction is None  # no PRF known
    assert Axes(rows=64, cols=64, doppler_hz=(-1000.0, 1000.0), native_rows=64, prf_hz=4000.0).band_fraction == \
        pytest.approx(2000 / 63 * 64 / 4000)


def test_the_torso_line_is_read_to_a_fraction_of_a_row():
    rows = np.arange(64)[:, None]
    centre = 40.3 + 0.2 * np.sin(np.arange(64) / 5)[None, :]  # (1, time): a line that wobbles
    p = np.exp(-0.5 * ((rows - centre) / 0.8) ** 2) + 1e-4
    ax = Axes(rows=64, cols=64, doppler_hz=(-630.0, 630.0), carrier_hz=24e9)
    hz = ax.row_hz()
    truth = hz[0] + centre.mean() * (hz[1] - hz[0])
    assert est.torso_doppler(p[None], ax)[0] == pytest.approx(truth, abs=0.05 * (hz[1] - hz[0]))
    speed, unit = est.radial_speed(p[None], ax)
    assert unit == "m/s" and speed[0] == pytest.approx(truth * 299_792_458.0 / 24e9 / 2, rel=0.01)
    # without axes the answer is in rows from the middle, and its sign is the direction
    rows_speed, unit = est.radial_speed(p[None], Axes(rows=64, cols=64))
    assert unit == "rows" and rows_speed[0] == pytest.approx(centre.mean() - 31.5, abs=0.05)


def test_the_gait_cycle_is_twice_the_step_even_when_the_stride_correlates_more():
    t = np.arange(64) * 0.047  # seconds
    step = 0.36  # a fast walker: the stride (0.72 s) lies inside the range searched for a step
    # limb bursts above the torso line (row 40) once per step, every other one a little stronger (asymmetry): the
    # stride then correlates a little more than the step
    bursts = 2 + np.cos(2 * np.pi * t / step) + 0.3 * np.cos(np.pi * t / step)
    p = np.full((1, 64, 64), 1e-3)
    p[0, 40] = 1.0
    p[0, 44:52] = 1e-3 + 0.05 * bursts[None, :]
    ax = Axes(rows=64, cols=64, doppler_hz=(-1000.0, 1000.0), time_s=(0.0, float(t[-1])))
    cycle, unit = est.gait_cycle(p, ax)
    assert unit == "s" and cycle[0] == pytest.approx(2 * step, rel=0.03)


def _floor_and_body(snr_db: float, n: int = 6, k: float = 6.0, seed: int = 0) -> tuple[np.ndarray, float]:
    """Gamma noise of mean 1 per bin and a body block whose power over the band gives `snr_db`."""
    rng = np.random.default_rng(seed)
    noise = rng.gamma(k, 1 / k, (n, 64, 64))
    body = np.zeros((64, 64))
    body[36:44] = 1.0
    body *= 10 ** (snr_db / 10) * 64 * 64 / body.sum()  # band fraction 1: SNR = mean(body) / N
    return noise + body, 1.0


def test_the_snr_is_the_body_over_the_noise_across_the_band():
    ax = Axes(rows=64, cols=64)
    for snr in (0.0, 10.0, 20.0):
        p, _ = _floor_and_body(snr)
        x = _to_x(p)  # on the display: peak-normalised, 40 dB range (not clipped at these levels)
        got, bounded = est.snr(est.power(x, DR), ax, DR)
        assert not bounded.any()
        assert np.median(got) == pytest.approx(snr, abs=0.3)


def test_a_floor_the_display_partly_clips_is_read_from_what_shows_and_one_it_hides_is_a_bound():
    ax = Axes(rows=64, cols=64)
    p, _ = _floor_and_body(31.0, n=8)
    x = _to_x(p)
    q = est.power(x, DR)
    rows = est.noise_rows(q)
    clipped = (rows[np.isfinite(rows)] <= 10 ** (-DR / 10) * (1 + 1e-6)).mean()
    assert 0.05 < clipped < 0.95  # the case this test is about
    got, bounded = est.snr(q, ax, DR)
    assert not bounded.any() and np.median(got) == pytest.approx(31.0, abs=1.0)
    deep, _ = _floor_and_body(45.0, n=4)
    got, bounded = est.snr(est.power(_to_x(deep), DR), ax, DR)
    assert bounded.all() and (got < 45.0).all()  # a lower bound, and a true one


@pytest.fixture(scope="module")
def walkers():
    """Simulated recordings of the gait-sessions kind (speeds, aspects, arms and SNRs vary), with their truth."""
    base = load_config("tiny").gait_sessions
    cfg = base.model_copy(update={"people": 4, "per_person": 12, "sessions": 12, "duration_s": 3.0})
    sim = simulate_dataset(cfg, (64, 64), workers=1, progress=False)
    return sim


def test_estimates_on_simulated_walkers_are_within_the_stated_errors(walkers):
    ds = walkers.dataset
    p = est.power(ds.x, ds.info.dynamic_range_db)
    ax = axes_of(ds.x.shape, ds.info)
    truth = {k: np.array([getattr(m, k) for m in walkers.samples]) for k in ("radial_speed_mps", "snr_db", "cycle_s")}
    speed, unit = est.radial_speed(p, ax)
    assert unit == "m/s"
    assert np.median(np.abs(speed / truth["radial_speed_mps"] - 1)) < 0.05
    assert (np.sign(speed) == np.sign(truth["radial_speed_mps"])).mean() > 0.95
    snr, bounded = est.snr(p, ax, ds.info.dynamic_range_db)
    assert np.median(np.abs(snr - truth["snr_db"])[~bounded]) < 2.0
    assert (snr[bounded] <= truth["snr_db"][bounded] + 2.0).all()  # bounds are bounds
    cycle, unit = est.gait_cycle(p, ax)
    assert unit == "s" and np.nanmedian(np.abs(cycle / truth["cycle_s"] - 1)) < 0.05


def test_static_clutter_at_zero_doppler_is_not_taken_for_the_torso():
    rows = np.arange(64)[:, None]
    t = np.arange(64)[None, :]
    torso = 0.3 * (1 + 0.5 * np.sin(t / 3.0)) * np.exp(-0.5 * ((rows - 40.0) / 0.8) ** 2)  # swings over the cycle
    clutter = np.where(np.abs(rows - 31.5) < 1, 1.0, 0.0) * np.ones((1, 64))  # steady, and stronger
    p = (torso + clutter + 1e-4)[None]
    ax = Axes(rows=64, cols=64)
    assert est.torso_doppler(p, ax)[0] == pytest.approx(40.0 - 31.5, abs=0.2)
    # a walker whose torso is at zero Doppler (crossing the beam) swings, so it is kept
    crossing = (0.3 * (1 + 0.5 * np.sin(t / 3.0)) * np.exp(-0.5 * ((rows - 31.5) / 0.8) ** 2) + 1e-4)[None]
    assert abs(est.torso_doppler(crossing, ax)[0]) < 0.3
