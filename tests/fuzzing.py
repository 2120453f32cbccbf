"""The one fuzzing harness of the suite (issue 20): strategies for hostile arguments and the
property every public entry must keep.

The property, for a call ``f(**kwargs)`` built from generated arguments:

* it returns a result, and no float in the result is NaN or inf unless an input already was
  (``no_new_nonfinite``); or
* it raises one of ``ALLOWED`` (ValueError, TypeError, IndexError, MemoryError, and the library's
  own subclasses of them) whose message names the argument (``names``: any of the given words,
  case-insensitive), never a crash, an abort, a hang, nanobind's "incompatible function
  arguments", or an internal error (KeyError, AttributeError, UnboundLocalError, RuntimeError from
  torch, ...).

Use::

    from fuzzing import FUZZ, expect_clean, hostile_floats

    @FUZZ
    @given(tau=hostile_floats())
    def test_lif_tau(tau):
        expect_clean(lambda: LIF(tau=tau), names=["tau"])

``FUZZ`` is a hypothesis ``settings`` with no deadline and ``SPIKECORE_FUZZ_EXAMPLES`` examples
per test (default 40, so the suite stays fast; set it to 2000 for a long campaign). Each test
that uses ``expect_clean`` counts its calls in ``CALLS`` (entry name -> count); ``pytest
tests -k fuzz`` with ``SPIKECORE_FUZZ_REPORT=path.json`` writes the counts at the end of the run
(the figures of the hardening note).
"""

from __future__ import annotations

import atexit
import collections
import json
import math
import os
from typing import Callable, Iterable, Optional

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

ALLOWED = (ValueError, TypeError, IndexError, MemoryError)
EXAMPLES = int(os.environ.get("SPIKECORE_FUZZ_EXAMPLES", "40"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    derandomize=os.environ.get("SPIKECORE_FUZZ_RANDOM", "0") != "1",
)
CALLS: collections.Counter = collections.Counter()

_report = os.environ.get("SPIKECORE_FUZZ_REPORT")
if _report:

    @atexit.register
    def _write_report() -> None:
        with open(_report, "w") as f:
            json.dump(dict(sorted(CALLS.items())), f, indent=1)


# ------------------------------------------------------------------------------ strategies
def hostile_floats() -> st.SearchStrategy:
    """Floats valid as doubles that break narrower types: NaN, +-inf, +-0, subnormals, values
    beyond float32 (3.5e38) and int32, negatives, and ordinary values."""
    return st.one_of(
        st.sampled_from(
            [float("nan"), float("inf"), -float("inf"), 0.0, -0.0, 5e-324, 1e-45, 3.5e38, -3.5e38]
            + [1e300, -1e300, 2.0**31, -(2.0**31) - 1, 1e12, -1.0, 1.0, 0.5]
        ),
        st.floats(allow_nan=True, allow_infinity=True),
    )


def hostile_ints() -> st.SearchStrategy:
    """Integers at and beyond the int32 / int64 edges, negatives, zero and small values."""
    return st.one_of(
        st.sampled_from(
            [0, 1, -1, 2, 2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, 2**64, -(2**63)]
        ),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.integers(min_value=-3, max_value=64),
    )


def wrong_types() -> st.SearchStrategy:
    """Values of the wrong kind for a numeric argument."""
    return st.sampled_from(["1", b"1", None, [1, 2], {"a": 1}, object(), 1j, (1,)])


def hostile_numbers() -> st.SearchStrategy:
    """Any of the above: what a scalar parameter can be given."""
    return st.one_of(hostile_floats(), hostile_ints(), wrong_types(), st.booleans())


def shapes(max_dims: int = 3, max_side: int = 6) -> st.SearchStrategy:
    """Array shapes including 0-sized sides and 0-d."""
    return st.lists(st.integers(0, max_side), min_size=0, max_size=max_dims).map(tuple)


def hostile_arrays(
    shape: Optional[st.SearchStrategy] = None,
    dtypes: Iterable = (np.float32, np.float64, np.int32, np.int64, np.bool_, np.float16),
) -> st.SearchStrategy:
    """numpy arrays of varied dtype and shape whose floats may hold NaN / inf / huge values, and
    non-contiguous views (every other element of a larger array)."""
    shape = shape if shape is not None else shapes()

    @st.composite
    def build(draw):
        shp = draw(shape)
        dt = np.dtype(draw(st.sampled_from(list(dtypes))))
        n = int(np.prod(shp)) if len(shp) else 1
        if dt.kind == "f":
            vals = draw(
                st.lists(
                    st.one_of(st.floats(-2.0, 2.0, width=32), hostile_floats()),
                    min_size=n,
                    max_size=n,
                )
            )
            with np.errstate(over="ignore", invalid="ignore"):
                a = np.array(vals, dtype=np.float64).astype(dt)
        elif dt.kind == "b":
            a = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=dt)
        else:
            info = np.iinfo(dt)
            a = np.array(
                draw(st.lists(st.integers(int(info.min), int(info.max)), min_size=n, max_size=n)),
                dtype=dt,
            )
        a = a.reshape(shp)
        if draw(st.booleans()) and a.ndim >= 1 and a.shape[-1] > 0:
            big = np.repeat(a, 2, axis=-1)  # a strided view with the same values
            a = big[..., ::2]
        return a

    return build()


# ------------------------------------------------------------------------------ memory
def small_memory_limit(nbytes: int = 256 << 20):
    """A module-scoped fixture body: requests derived from fuzzed sizes above ``nbytes`` raise
    MemoryError (spikecore._guards.check_bytes) instead of being allocated. Use::

        _limit = pytest.fixture(autouse=True, scope="module")(small_memory_limit)
    """
    import spikecore._guards as guards

    old, guards.LIMIT = guards.LIMIT, nbytes
    yield
    guards.LIMIT = old


# ------------------------------------------------------------------------------ the property
def _nonfinite(x) -> bool:
    """Whether ``x`` (a number, numpy array, torch tensor, or a tuple / list / dict of them)
    holds a NaN or inf anywhere."""
    if isinstance(x, (tuple, list)):
        return any(_nonfinite(v) for v in x)
    if isinstance(x, dict):
        return any(_nonfinite(v) for v in x.values())
    if isinstance(x, float):
        return not math.isfinite(x)
    if isinstance(x, np.ndarray):
        return x.dtype.kind in "fc" and not bool(np.isfinite(x).all())
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    if isinstance(x, torch.Tensor):
        if x.is_meta or not (x.is_floating_point() or x.is_complex()):
            return False
        return not bool(torch.isfinite(x.detach()).all())
    return False


def no_new_nonfinite(result, inputs) -> bool:
    """True unless ``result`` holds NaN / inf while none of ``inputs`` did."""
    return _nonfinite(inputs) or not _nonfinite(result)


def expect_clean(
    call: Callable[[], object],
    names: Iterable[str],
    inputs: object = (),
    entry: Optional[str] = None,
    check_result: Optional[Callable[[object], None]] = None,
    allow_nonfinite: bool = False,
):
    """Run ``call()`` and assert the fuzzing property (module docstring).

    ``names``: words of which the message of an allowed exception must contain at least one
    (the argument names, case-insensitive). ``inputs``: the generated values, for the NaN rule.
    ``entry``: the name the call is counted under (default: the caller's test name).
    ``check_result``: an extra assertion on a returned value. ``allow_nonfinite``: skip the NaN
    rule (a loader returns what a file holds). Returns the result, or the exception raised (so a
    test can assert more).
    """
    names = [n.lower() for n in names]
    key = entry or os.environ.get("PYTEST_CURRENT_TEST", "?").split(" ")[0]
    CALLS[key] += 1
    try:
        result = call()
    except ALLOWED as e:
        msg = str(e).lower()
        assert "incompatible function arguments" not in msg, f"nanobind error reached the user: {e}"
        assert any(n in msg for n in names), f"{type(e).__name__} does not name any of {names}: {e}"
        return e
    # anything else propagates and fails the test with its own traceback
    assert allow_nonfinite or no_new_nonfinite(result, inputs), (
        f"NaN/inf in the result from finite inputs: {inputs!r}"
    )
    if check_result is not None:
        check_result(result)
    return result


# ------------------------------------------------------------------------------ damaged files
def corruptions(data: bytes, header: int = 64) -> st.SearchStrategy:
    """Damaged copies of a valid file's bytes ``data``: a truncation, random byte flips (xor),
    a run overwritten with 0x00 / 0xFF / random bytes, an extreme integer (4 or 8 bytes, either
    byte order) written over a field of the first ``header`` bytes (sizes, counts, offsets), a
    deleted or duplicated run. Yields ``(kind, bytes)``."""
    n = len(data)

    @st.composite
    def build(draw):
        kind = draw(st.sampled_from(["truncate", "flip", "overwrite", "field", "delete", "repeat"]))
        b = bytearray(data)
        if kind == "truncate":
            b = b[: draw(st.integers(0, max(n - 1, 0)))]
        elif kind == "flip":
            for _ in range(draw(st.integers(1, 8))):
                i = draw(st.integers(0, n - 1))
                b[i] ^= draw(st.integers(1, 255))
        elif kind == "overwrite":
            i = draw(st.integers(0, n - 1))
            k = draw(st.integers(1, 16))
            fill = draw(st.sampled_from([b"\x00", b"\xff", None]))
            run = (
                fill * k
                if fill
                else bytes(draw(st.lists(st.integers(0, 255), min_size=k, max_size=k)))
            )
            b[i : i + k] = run[: max(0, min(k, n - i))]
        elif kind == "field":
            width = draw(st.sampled_from([4, 8]))
            i = draw(st.integers(0, max(0, min(header, n) - width)))
            v = draw(st.sampled_from([0, 1, 2**31 - 1, 2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1]))
            v &= (1 << (8 * width)) - 1
            b[i : i + width] = v.to_bytes(width, draw(st.sampled_from(["little", "big"])))
        elif kind == "delete":
            i = draw(st.integers(0, n - 1))
            del b[i : i + draw(st.integers(1, 64))]
        else:
            i = draw(st.integers(0, n - 1))
            b[i:i] = b[i : i + draw(st.integers(1, 64))]
        return kind, bytes(b)

    return build()


def expect_file_clean(
    call: Callable[[], object],
    path,
    entry: Optional[str] = None,
    check_result: Optional[Callable[[object], None]] = None,
):
    """The property for a loader given a damaged or crafted file ``path``: it returns (what the
    file holds, NaN included), or raises a ValueError (spikecore's FileFormatError or a plain
    ValueError, never JSONDecodeError, BadZipFile, h5py's or another library's subclass) whose
    message names the file; never a crash, a hang, KeyError, RecursionError, OSError, ..."""
    name = os.path.basename(os.fspath(path))
    out = expect_clean(
        call, names=[name], entry=entry, check_result=check_result, allow_nonfinite=True
    )
    if isinstance(out, BaseException):
        from spikecore.data.files import FileFormatError

        assert type(out) in (FileFormatError, ValueError), (
            f"{type(out).__module__}.{type(out).__name__} reached the user: {out}"
        )
    return out
