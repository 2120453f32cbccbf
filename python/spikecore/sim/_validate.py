"""Argument checks and the busy guard shared by the parts of :class:`spikecore.sim.Network`."""

from __future__ import annotations

import math
import numbers
from typing import Any, Optional, Tuple

import numpy as np

from spikecore import specs
from spikecore._guards import exclusive

#: Serialise calls into the core: the core works without the GIL (run, connect, prune, regrow),
#: so a call from another thread meanwhile would race; it raises RuntimeError instead. Re-entrant
#: for the thread that holds the network; a handle (population, projection, monitor) locks its
#: network. The busy guard is spikecore._guards.exclusive, the same as the streams'.
_idle = exclusive(
    "network",
    "run, connect, prune, ...",
    holder=lambda obj: getattr(obj, "net", obj),  # a handle's network, or the network
)


def _finite(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {x}")
    return x


# Values the core keeps in float32 (parameters, weights, currents, rates, state): at most this
# in magnitude, so that the float32 narrowing and the sums of the update (a few terms, and the
# input of up to ~1e8 synapses) stay finite (issue 20).
_MAX_VALUE = specs.MAX_VALUE
_MAX_VALUE32 = float(np.float32(_MAX_VALUE))  # the bound as float32 arrays hold it


def _value(x: Any, name: str) -> float:
    """A finite real number within +-_MAX_VALUE (what the core narrows to float32)."""
    x = _finite(x, name)
    if abs(x) > _MAX_VALUE:
        raise ValueError(f"{name}: must lie in [-1e30, 1e30] (float32 state), got {x:g}")
    return x


# Step indices and periods are int64 in the core and exact in the float64 times derived from
# them: every duration converted to steps is range-checked against this (issue 12).
_MAX_STEPS = 2**53


def _steps(ms: float, dt: float, name: str, limit: int = _MAX_STEPS) -> int:
    """``round(ms / dt)`` as an int, or a ValueError naming ``name`` and the largest value
    allowed when the count reaches ``limit`` steps."""
    q = ms / dt
    if not abs(q) < limit:  # inf included (a tiny dt): round() would raise OverflowError
        raise ValueError(
            f"{name}: {ms:g} ms is {q:.4g} steps of dt = {dt:g} ms; the largest "
            f"value allowed is {(limit - 1) * dt:.10g} ms ({limit - 1} steps)"
        )
    return int(round(q))


def _numpy(x: Any) -> np.ndarray:
    """numpy view of an array-like; torch tensors are detached and moved to the CPU."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _float_array(x: Any, name: str, shape: Optional[Tuple[int, ...]] = None) -> np.ndarray:
    a = _numpy(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name}: must be a numeric array, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name}: must be real, got dtype {a.dtype}")
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name}: shape must be {shape}, got {a.shape}")
    if a.size and a.dtype.kind in "fc" and not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or inf")
    big = float(np.max(np.abs(a if a.dtype.kind == "f" else a.astype(np.float64)))) if a.size else 0
    if big > _MAX_VALUE32:
        raise ValueError(f"{name}: values must lie in [-1e30, 1e30] (float32 state), got {big:g}")
    return np.ascontiguousarray(a, dtype=np.float32)


def _index_array(x: Any, name: str, n: Optional[int] = None, dtype: Any = np.int32) -> np.ndarray:
    """1-D integer array (``dtype``), each value in ``[0, n)`` when ``n`` is given."""
    a = _numpy(x)
    if a.size == 0:
        a = a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name}: must be an integer array, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name}: must be 1-D, got shape {a.shape}")
    if n is not None and a.size and (a.min() < 0 or a.max() >= n):
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise IndexError(f"{name}: index {bad} out of range [0, {n})")
    return np.ascontiguousarray(a, dtype=dtype)


def _value_spec(x: Any, name: str):
    """(kind, a, b, array) for the C++ ValueSpec: constant, distribution, or per-synapse array."""
    empty = np.zeros(0, np.float32)
    if isinstance(x, dict):
        if len(x) != 1:
            raise ValueError(
                f"{name}: a distribution is one of {{'normal': (mean, std)}}, "
                f"{{'uniform': (low, high)}}"
            )
        ((dist, args),) = x.items()
        if not isinstance(args, (tuple, list)):
            raise TypeError(
                f"{name}: a distribution's parameters are a pair, got {type(args).__name__}"
            )
        x = (dist, *args)
    if isinstance(x, tuple) and x and isinstance(x[0], str):
        dist = x[0]
        if dist not in ("normal", "uniform"):
            raise ValueError(f"{name}: unknown distribution {dist!r}; use 'normal' or 'uniform'")
        if len(x) != 3:
            raise ValueError(f"{name}: {dist} needs two parameters, got {len(x) - 1}")
        a, b = _value(x[1], name), _value(x[2], name)
        if dist == "normal":
            if b < 0:
                raise ValueError(f"{name}: normal std must be >= 0, got {b}")
            return 1, a, b, empty
        if b < a:
            raise ValueError(f"{name}: uniform bounds must satisfy low <= high, got ({a}, {b})")
        return 2, a, b, empty
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return 0, _value(x, name), 0.0, empty
    if isinstance(x, (np.ndarray, list, tuple)) or hasattr(x, "__array__"):
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        arr = _float_array(x, name)
        return 3, 0.0, 0.0, arr.reshape(-1)
    raise TypeError(f"{name}: must be a number, an array or a distribution, got {type(x).__name__}")
