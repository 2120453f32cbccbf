"""Shifted, cluttered digits: shapes, determinism, the digit is intact at its offset, bad input."""

import numpy as np
import pytest

from spikecore.data.digits import load_digits
from spikecore.data.shifted_digits import load_shifted_digits, shift_and_clutter


def test_shapes_range_and_determinism():
    a = load_shifted_digits(size=12, clutter=0.1, seed=3)
    b = load_shifted_digits(size=12, clutter=0.1, seed=3)
    d = load_digits(seed=3)
    assert a.x_train.shape == (1347, 144) and a.x_test.shape == (450, 144)
    assert a.x_train.dtype == np.float32 and a.shape == (12, 12) and a.n_classes == 10
    assert np.array_equal(a.x_train, b.x_train) and np.array_equal(a.x_test, b.x_test)
    assert np.array_equal(a.y_train, d.y_train) and np.array_equal(a.y_test, d.y_test)
    assert a.x_train.min() >= 0.0 and a.x_train.max() <= 1.0
    assert not np.array_equal(a.x_train, load_shifted_digits(seed=4).x_train)


def test_digit_pasted_at_an_offset_and_clutter_rate():
    x = load_digits(seed=0).x_train[:200]
    clean = shift_and_clutter(x, size=11, clutter=0.0, seed=1).reshape(-1, 11, 11)
    for i in range(len(x)):  # the digit appears unchanged at one of the 4 x 4 offsets
        hits = [
            np.array_equal(clean[i, oy : oy + 8, ox : ox + 8], x[i].reshape(8, 8))
            for oy in range(4)
            for ox in range(4)
        ]
        assert any(hits)
        assert np.isclose(clean[i].sum(), x[i].sum(), rtol=1e-5)
    assert np.array_equal(shift_and_clutter(x, size=8, clutter=0.0), x)
    noisy = shift_and_clutter(np.zeros((500, 64), np.float32), size=10, clutter=0.2, seed=2)
    assert 0.18 < float((noisy > 0).mean()) < 0.22


@pytest.mark.parametrize(
    "kw,name,exc",
    [
        (dict(size=7), "size", ValueError),
        (dict(size=12.0), "size", TypeError),  # spikecore._guards.integer: no float for an int
        (dict(clutter=-0.1), "clutter", ValueError),
        (dict(clutter=1.5), "clutter", ValueError),
    ],
)
def test_bad_input(kw, name, exc):
    with pytest.raises(exc, match=f"^{name}: "):
        shift_and_clutter(np.zeros((2, 64), np.float32), **kw)
    with pytest.raises(ValueError, match="x"):
        shift_and_clutter(np.zeros((2, 63), np.float32))
