import numpy as np
import pytest

from spikecore.data.digits import load_digits


def test_split_shapes_range_and_stratified():
    d = load_digits(test_size=0.2, seed=1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert d.x_train.shape[1] == d.n_features == 64 and d.shape == (8, 8)
    assert len(d.x_train) + len(d.x_test) == 1797
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    counts = np.bincount(d.y_test, minlength=10)
    assert counts.min() >= 30  # every class present in proportion


def test_same_seed_same_split():
    a, b, c = load_digits(seed=2), load_digits(seed=2), load_digits(seed=3)
    assert np.array_equal(a.x_test, b.x_test) and not np.array_equal(a.x_test, c.x_test)


@pytest.mark.parametrize("ts", [0, 1.0, -0.1, "a"])
def test_bad_test_size(ts):
    with pytest.raises(ValueError, match="test_size"):
        load_digits(test_size=ts)
