"""The fuzzing harness itself (tests/fuzzing.py) fails where it must."""

import numpy as np
import pytest
from fuzzing import FUZZ, expect_clean, hostile_arrays, no_new_nonfinite
from hypothesis import given


def test_allowed_error_must_name_the_argument():
    def bad():
        raise ValueError("something is wrong")

    with pytest.raises(AssertionError, match="does not name"):
        expect_clean(bad, names=["tau"])
    assert isinstance(expect_clean(lambda: int("x"), names=["literal"]), ValueError)


def test_other_errors_and_new_nan_fail():
    with pytest.raises(KeyError):
        expect_clean(lambda: {}["k"], names=["k"])
    with pytest.raises(AssertionError, match="NaN"):
        expect_clean(lambda: np.array([np.nan]), names=["x"], inputs=(1.0,))
    assert no_new_nonfinite(np.array([np.nan]), (float("nan"),))


def test_nanobind_message_fails():
    def nb():
        raise TypeError("f(): incompatible function arguments. The following argument types: tau")

    with pytest.raises(AssertionError, match="nanobind"):
        expect_clean(nb, names=["tau"])


@FUZZ
@given(a=hostile_arrays())
def test_hostile_arrays_are_arrays(a):
    assert isinstance(a, np.ndarray)
