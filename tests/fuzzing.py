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
(the figures of the hardening note). ``SPIKECORE_FUZZ_LEADING=1`` makes every message check
strict (it must begin with an argument name; see :func:`expect_clean`), ``SPIKECORE_FUZZ_RANDOM=1``
draws other examples than the fixed seed.
"""

from __future__ import annotations

import atexit
import collections
import json
import math
import os
import re
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
LEADING = os.environ.get("SPIKECORE_FUZZ_LEADING", "0") == "1"

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


def sizes(small: int = 64, huge: int = 2**34) -> st.SearchStrategy:
    """Values for a size or count argument: small ones (<= ``small``), ones too big to fit in
    any memory (>= ``huge``, where the library must raise MemoryError or ValueError before
    allocating), negatives and the other hostile integers, never sizes in between (they would
    allocate gigabytes on the test machine)."""
    return hostile_ints().filter(lambda v: not small < v < huge)


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


TORCH_DTYPES = (
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int32",
    "int64",
    "bool",
    "uint8",
    "complex64",
)
LAYOUTS = ("contiguous", "strided", "expanded", "transposed", "meta")


def hostile_tensors(
    shape: Optional[st.SearchStrategy] = None,
    dtypes: Iterable[str] = TORCH_DTYPES,
    layouts: Iterable[str] = LAYOUTS,
    requires_grad: Optional[bool] = None,
) -> st.SearchStrategy:
    """torch tensors (needs torch) of the dtypes named in ``dtypes`` (torch attribute names),
    values from :func:`hostile_arrays`, in one of ``layouts``: contiguous, strided (every other
    element), expanded (stride 0 along the last dim), transposed (first two dims swapped) or
    meta (no data). Floating tensors get ``requires_grad`` (None: drawn)."""
    import torch

    shape = shape if shape is not None else shapes()

    @st.composite
    def build(draw):
        dt = getattr(torch, draw(st.sampled_from(list(dtypes))))
        src = (
            (np.bool_,)
            if dt == torch.bool
            else (np.float64,)
            if (dt.is_floating_point or dt.is_complex)
            else (np.int64,)
        )
        a = draw(hostile_arrays(shape, dtypes=src))
        if dt in (torch.int32, torch.uint8):
            info = torch.iinfo(dt)
            a = np.clip(a, info.min, info.max)
        t = torch.from_numpy(np.array(a, order="C", copy=True)).to(dt)
        layout = draw(st.sampled_from(list(layouts)))
        if layout == "strided" and t.dim() >= 1:
            t = t.repeat_interleave(2, dim=-1)[..., ::2]
        elif layout == "expanded" and t.dim() >= 1 and t.shape[-1] > 0:
            t = t[..., :1].expand(t.shape)
        elif layout == "transposed" and t.dim() >= 2:
            t = t.transpose(0, 1).contiguous().transpose(0, 1)
        elif layout == "meta":
            t = t.to("meta")
        rg = draw(st.booleans()) if requires_grad is None else requires_grad
        if rg and (t.is_floating_point() or t.is_complex()):
            t = t.detach().requires_grad_(True)
        return t

    return build()


# ------------------------------------------------------------------------------ memory
def small_memory_limit(nbytes: int = 256 << 20):
    """A fixture body: requests derived from fuzzed sizes above ``nbytes`` raise MemoryError
    instead of being allocated, in the core and in every Python layer (the one memory ceiling,
    ``spikecore._core.engine.set_memory_limit``; ``spikecore._guards.check_bytes`` reads it). Every
    ``test_fuzz_*.py`` / ``test_corrupt*.py`` module runs under it without asking (the autouse
    fixture ``_fuzz_memory_limit`` of tests/conftest.py); other tests call it directly."""
    from spikecore import _core

    old = _core.engine.memory_limit()
    _core.engine.set_memory_limit(nbytes)
    try:
        yield
    finally:
        _core.engine.set_memory_limit(old)


# ------------------------------------------------------------------------------ the property
def _nonfinite(x, nan_only: bool = False) -> bool:
    """Whether ``x`` (a number, numpy array, torch tensor, or a tuple / list / dict of them)
    holds a NaN or inf anywhere (only NaN with ``nan_only``)."""
    if isinstance(x, (tuple, list)):
        return any(_nonfinite(v, nan_only) for v in x)
    if isinstance(x, dict):
        return any(_nonfinite(v, nan_only) for v in x.values())
    if isinstance(x, float):
        return math.isnan(x) if nan_only else not math.isfinite(x)
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "fc":
            return False
        return bool(np.isnan(x).any()) if nan_only else not bool(np.isfinite(x).all())
    try:
        import torch
    except ImportError:  # pragma: no cover
        return False
    if isinstance(x, torch.Tensor):
        if x.is_meta or not (x.is_floating_point() or x.is_complex()):
            return False
        x = x.detach()
        return bool(torch.isnan(x).any()) if nan_only else not bool(torch.isfinite(x).all())
    return False


def nonfinite(x) -> bool:
    """Whether ``x`` (as for :func:`no_new_nonfinite`) holds a NaN or inf."""
    return _nonfinite(x)


def huge(value, limit: float = 1e9) -> bool:
    """Whether a generated scalar is a real number beyond ``limit`` in magnitude: float32
    products of such a parameter (gradients through several steps) may overflow to inf, and
    inf * 0 to NaN; a test may excuse NaN gradients for them (and says so in its docs)."""
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and not (isinstance(value, float) and math.isnan(value))
        and abs(value) > limit
    )


def has_nan(x) -> bool:
    """Whether ``x`` (as for :func:`no_new_nonfinite`) holds a NaN. For gradients, which may
    overflow to inf legitimately (a steep surrogate times a huge parameter) but never be NaN."""
    return _nonfinite(x, nan_only=True)


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
    leading: Optional[bool] = None,
):
    """Run ``call()`` and assert the fuzzing property (module docstring).

    ``names``: words of which the message of an allowed exception must contain at least one
    (the argument names, case-insensitive); with ``leading``, the message must *begin* with one
    of them as a whole word (``"tau: ..."``, ``"trains_b[2]: ..."``; not ``"tau_bins: ..."`` for
    ``tau``): the project's ``"<argument>: <what is wrong>"`` form, which a one-letter name such
    as ``a`` cannot satisfy by accident. None: ``SPIKECORE_FUZZ_LEADING=1`` in the environment
    (a strict campaign over every test) or False. ``inputs``: the generated values, for the NaN rule.
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
        if LEADING if leading is None else leading:
            assert any(re.match(re.escape(n) + r"(?![a-z0-9_])", msg) for n in names), (
                f"{type(e).__name__} does not begin with any of {names}: {e}"
            )
        return e
    # anything else propagates and fails the test with its own traceback
    assert allow_nonfinite or no_new_nonfinite(result, inputs), (
        f"NaN/inf in the result from finite inputs: {inputs!r}"
    )
    if check_result is not None:
        check_result(result)
    return result


def expect_clean_backward(
    call: Callable[[], tuple],
    names: Iterable[str],
    inputs: object = (),
    entry: Optional[str] = None,
    value: object = None,
):
    """:func:`expect_clean` for a forward and backward: ``call()`` returns ``(output,
    gradients)``. The output keeps the property; the gradients may overflow to inf (a steep
    surrogate times a large value) but hold no NaN unless an input was NaN / inf or the
    generated parameter ``value`` is :func:`huge`."""
    grads: list = []

    def run():
        out, g = call()
        grads[:] = list(g)
        return out

    def check(_):
        assert _nonfinite(inputs) or huge(value) or not has_nan(grads), "NaN in the gradients"

    return expect_clean(run, names=names, inputs=inputs, entry=entry, check_result=check)


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
        call,
        names=[name],
        entry=entry,
        check_result=check_result,
        allow_nonfinite=True,
        leading=False,  # "path: <file>: ..."
    )
    if isinstance(out, BaseException):
        from spikecore.data.files import FileFormatError

        assert type(out) in (FileFormatError, ValueError), (
            f"{type(out).__module__}.{type(out).__name__} reached the user: {out}"
        )
    return out
