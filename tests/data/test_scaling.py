import numpy as np
import pytest

from mdaug.data.scaling import denormalise_db, guess_scale, normalise, to_db
from mdaug.errors import MdaugError


def test_linear_magnitude_maps_db_onto_minus_one_to_one():
    a = np.array([[1.0, 0.1, 0.01, 0.001]])  # 0, -20, -40, -60 dB
    np.testing.assert_allclose(normalise(a, "linear", 40.0), [[1.0, 0.0, -1.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(normalise(a * 37.0, "linear", 40.0), [[1.0, 0.0, -1.0, -1.0]],
                               atol=1e-6)  # per-sample max
    np.testing.assert_allclose(normalise(a, "linear", 60.0), [[1.0, 1 / 3, -1 / 3, -1.0]], atol=1e-6)


def test_power_and_complex_and_db():
    p = np.array([[1.0, 0.01]])  # power: 0, -20 dB
    np.testing.assert_allclose(normalise(p, "power", 40.0), [[1.0, 0.0]], atol=1e-6)
    c = np.array([[3 + 4j, 0.5j]])  # |.| = 5, 0.5 -> -20 dB
    np.testing.assert_allclose(normalise(c, "linear", 40.0), [[1.0, 0.0]], atol=1e-6)
    d = np.array([[10.0, -10.0, -50.0]])
    np.testing.assert_allclose(normalise(d, "db", 40.0), [[1.0, 0.0, -1.0]], atol=1e-6)
    np.testing.assert_allclose(denormalise_db(normalise(d, "db", 40.0)), [[0.0, -20.0, -40.0]], atol=1e-5)


def test_guess_scale():
    assert guess_scale(np.array([1 + 1j])) == "linear"
    assert guess_scale(np.array([0.0, 5.0])) == "linear"
    assert guess_scale(np.array([-60.0, 0.0])) == "db"
    assert guess_scale(np.array([-1.0, 0.5])) == "normalized"


def test_scale_errors():
    with pytest.raises(MdaugError, match="all zeros"):
        to_db(np.zeros((2, 2)), "linear")
    with pytest.raises(MdaugError, match="negative"):
        normalise(np.array([[-1.0, 2.0]]), "linear")
    with pytest.raises(MdaugError, match=r"\[0, 1\]"):
        normalise(np.array([[0.0, 2.0]]), "unit")
