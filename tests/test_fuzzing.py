"""The fuzzing harness itself (tests/fuzzing.py) fails where it must."""

from pathlib import Path

import numpy as np
import pytest
from fuzzing import FUZZ, expect_clean, hostile_arrays, no_new_nonfinite, small_memory_limit
from hypothesis import given

from spikecore import _core


def test_allowed_error_must_name_the_argument():
    def bad():
        raise ValueError("something is wrong")

    with pytest.raises(AssertionError, match="does not name"):
        expect_clean(bad, names=["tau"])
    assert isinstance(expect_clean(lambda: int("x"), names=["literal"]), ValueError)


def test_leading_needs_the_name_first_as_a_whole_word():
    def err(msg):
        def f():
            raise ValueError(msg)

        return f

    assert isinstance(expect_clean(err("tau: bad"), names=["tau"], leading=True), ValueError)
    assert isinstance(expect_clean(err("b[2]: bad"), names=["a", "b"], leading=True), ValueError)
    for msg in ("tau_bins: bad", "bad tau", "trains_a: bad"):
        with pytest.raises(AssertionError, match="does not begin"):
            expect_clean(err(msg), names=["tau", "a"], leading=True)


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


def _conftest(request):
    """tests/conftest.py as pytest loaded it."""
    for plugin in request.config.pluginmanager.get_plugins():
        if hasattr(plugin, "check_fuzz_limit"):
            return plugin
    raise AssertionError("tests/conftest.py is not loaded")


def test_fuzz_modules_run_under_the_small_memory_limit(request):
    """Every fuzz and damaged-file module gets the 256 MiB ceiling from tests/conftest.py (one
    definition, no copy per file), and each of their tests fails when it is not in force."""
    cf = _conftest(request)
    tests = Path(__file__).parent
    files = sorted(tests.rglob("test_fuzz_*.py")) + sorted(tests.rglob("test_corrupt*.py"))
    assert len(files) >= 14 and all(cf.fuzz_module(f) for f in files)
    assert not cf.fuzz_module(Path(__file__))  # this module runs under the physical memory
    assert _core.engine.memory_limit() > cf.FUZZ_MEMORY_LIMIT
    cf.check_fuzz_limit(Path(__file__))  # not a fuzz module: nothing to check
    with pytest.raises(AssertionError, match="memory ceiling of 268435456 bytes"):
        cf.check_fuzz_limit(files[0])  # a fuzz test would fail here
    gen = small_memory_limit(cf.FUZZ_MEMORY_LIMIT)
    next(gen)
    try:
        cf.check_fuzz_limit(files[0])  # as the autouse fixture leaves it
    finally:
        next(gen, None)
