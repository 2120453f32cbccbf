r"""Spike encoders: turn intensities in [0, 1] into spike tensors ``[T, B, C]`` (time first).

Two codes, both deterministic for a given ``seed``:

**Rate coding.** Each channel fires independently at every step with a probability (Bernoulli) or
a count (Poisson) proportional to its intensity :math:`x \in [0, 1]`:

.. math::

    z_{t,b,c} \sim \mathrm{Bernoulli}(p_\max\, x_{b,c}) \quad\text{or}\quad
    z_{t,b,c} \sim \mathrm{Poisson}(\lambda_\max\, x_{b,c}).

**Latency coding.** Each channel fires at most once; brighter inputs fire earlier. Linear:
:math:`t_c = \mathrm{round}((1 - x_c)(T - 1))`; logarithmic (the RC-charging time of a neuron
driven by a constant current :math:`x`, as in snnTorch): :math:`t_c = \tau \ln\frac{x_c}
{x_c - \vartheta}` for :math:`x_c > \vartheta`, normalised so that :math:`x = 1` fires at step 0
and the threshold-level input would fire at :math:`T - 1`. Channels with
:math:`x_c \le` ``threshold`` stay silent.

=============  ========  =============================================================
parameter      default   meaning
=============  ========  =============================================================
``steps``      --        number of time steps :math:`T` (> 0)
``max_prob``   1.0       :math:`p_\max`, spike probability per step at x = 1 (rate)
``gain``       1.0       :math:`\lambda_\max`, mean count per step at x = 1 (Poisson)
``threshold``  0.0       inputs at or below it emit no latency spike
``tau``        5.0       time constant of the logarithmic latency code (steps)
``seed``       0         random seed (rate codes)
=============  ========  =============================================================

Inputs may be numpy arrays or torch tensors of shape ``[B, C]`` or ``[B, ...]`` (trailing
dimensions are kept: ``[T, B, ...]``); the output has the same kind (numpy in, numpy out; torch in,
torch out) and dtype float32 (or the input's floating dtype).

Examples
--------
>>> import numpy as np
>>> from spikecore.data.encoding import rate_encode, latency_encode
>>> x = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
>>> s = rate_encode(x, steps=1000, seed=1)
>>> s.shape, float(s[:, 0, 0].sum()), float(s[:, 0, 2].sum())
((1000, 1, 3), 0.0, 1000.0)
>>> latency_encode(x, steps=5)[:, 0, :]
array([[0., 0., 1.],
       [0., 0., 0.],
       [0., 1., 0.],
       [0., 0., 0.],
       [0., 0., 0.]], dtype=float32)
"""

from __future__ import annotations

import math
from typing import Any, Tuple

import numpy as np

__all__ = ["rate_encode", "latency_encode", "check_intensities", "RATE_METHODS", "LATENCY_METHODS"]

RATE_METHODS = ("bernoulli", "poisson")
LATENCY_METHODS = ("linear", "log")


def _is_torch(x: Any) -> bool:
    return type(x).__module__.split(".")[0] == "torch"


def _as_numpy(x: Any, name: str = "x") -> Tuple[np.ndarray, bool, Any]:
    """Validate ``x`` and return (float array, was_torch, torch dtype or None)."""
    was_torch = _is_torch(x)
    tdtype = None
    if was_torch:
        tdtype = x.dtype
        if x.is_complex():
            raise TypeError(f"{name}: expected real intensities in [0, 1], got dtype {tdtype}")
        arr = x.detach().cpu().numpy()
    else:
        arr = np.asarray(x)
    if arr.dtype == np.bool_ or not (
        np.issubdtype(arr.dtype, np.floating) or np.issubdtype(arr.dtype, np.integer)
    ):
        raise TypeError(f"{name}: expected real intensities in [0, 1], got dtype {arr.dtype}")
    if arr.ndim < 2:
        raise ValueError(
            f"{name}: expected shape [B, C] or [B, ...] (batch first), "
            f"got {arr.ndim} dimension(s) {tuple(arr.shape)}"
        )
    out_dtype = arr.dtype if np.issubdtype(arr.dtype, np.floating) else np.float32
    arr = arr.astype(out_dtype, copy=False)
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name}: contains NaN or infinite values")
    if arr.size and (arr.min() < 0.0 or arr.max() > 1.0):
        raise ValueError(
            f"{name}: intensities must lie in [0, 1] (got range "
            f"[{float(arr.min()):g}, {float(arr.max()):g}]); scale the data first"
        )
    return arr, was_torch, tdtype


def check_intensities(x: Any, name: str = "x") -> np.ndarray:
    """Intensities for a rate code, checked as :func:`rate_encode` checks them (real, batch
    first [B, ...], finite, in [0, 1]); returns them as a float numpy array."""
    return _as_numpy(x, name)[0]


def _out(arr: np.ndarray, was_torch: bool, tdtype: Any):
    if not was_torch:
        return arr
    import torch

    t = torch.from_numpy(np.ascontiguousarray(arr))
    return t.to(tdtype) if tdtype is not None and tdtype.is_floating_point else t


def _spike_bytes(steps: int, arr: np.ndarray, copies: int) -> None:
    """MemoryError naming ``steps`` before allocating ``copies`` arrays [steps, *arr.shape]."""
    from spikecore import _guards

    shape = (steps,) + arr.shape
    # the product of the nonzero sides: numpy refuses a shape whose sides overflow int64 even
    # when one of them is 0 ("array is too big")
    nonzero = float(np.prod([float(d) for d in shape if d]))
    _guards.check_bytes(nonzero * max(arr.itemsize, 4) * copies, "steps", f"spikes {shape}")


_MAX_GAIN = 1e18


def _real(value: Any, name: str) -> float:
    """A real number (bool, str and other types: TypeError naming ``name``)."""
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a number, got {type(value).__name__}")
    return float(value)


def _check_steps(steps: Any) -> int:
    from spikecore._guards import integer

    return integer(steps, "steps", 1)


def rate_encode(
    x,
    steps: int,
    *,
    max_prob: float = 1.0,
    gain: float = 1.0,
    method: str = "bernoulli",
    seed: int = 0,
):
    r"""Rate-code intensities ``x`` (``[B, ...]`` in [0, 1]) into spikes ``[steps, B, ...]``.

    ``method="bernoulli"`` gives 0/1 spikes with probability ``max_prob * x`` per step;
    ``method="poisson"`` gives counts drawn from :math:`\mathrm{Poisson}(\mathrm{gain}\cdot x)`
    (may exceed 1; use it when several events per step are meaningful). The same ``seed`` gives
    the same spikes.
    """
    from spikecore._guards import integer

    steps = _check_steps(steps)
    if not isinstance(method, str) or method not in RATE_METHODS:
        raise ValueError(f"method: unknown rate code {method!r}; valid: {', '.join(RATE_METHODS)}")
    max_prob, gain = _real(max_prob, "max_prob"), _real(gain, "gain")
    seed = integer(seed, "seed", 0)
    arr, was_torch, tdtype = _as_numpy(x)
    _spike_bytes(steps, arr, 3)  # random draws, comparison, result
    rng = np.random.default_rng(seed)
    shape = (steps,) + arr.shape
    if method == "bernoulli":
        if not (0.0 <= max_prob <= 1.0) or not math.isfinite(max_prob):
            raise ValueError(f"max_prob: must lie in [0, 1], got {max_prob}")
        p = (max_prob * arr).astype(arr.dtype)
        out = (
            rng.random(shape, dtype=np.float64 if arr.dtype == np.float64 else np.float32) < p[None]
        ).astype(arr.dtype)
    else:
        if not (0.0 <= gain <= _MAX_GAIN):
            # numpy's Poisson sampler takes rates up to about 9.2e18 (counts fit int64)
            raise ValueError(f"gain: must lie in [0, {_MAX_GAIN:g}], got {gain}")
        out = rng.poisson(np.broadcast_to(gain * arr.astype(np.float64), shape)).astype(arr.dtype)
    return _out(out, was_torch, tdtype)


def latency_encode(
    x, steps: int, *, method: str = "linear", threshold: float = 0.0, tau: float = 5.0
):
    r"""Latency-code intensities ``x`` (``[B, ...]`` in [0, 1]) into spikes ``[steps, B, ...]``.

    Each channel above ``threshold`` fires exactly once, at step ``round((1 - x) * (steps - 1))``
    (``method="linear"``) or at the normalised RC charging time (``method="log"``, see the module
    docstring); channels at or below ``threshold`` never fire. Deterministic.
    """
    steps = _check_steps(steps)
    threshold, tau = _real(threshold, "threshold"), _real(tau, "tau")
    if not isinstance(method, str) or method not in LATENCY_METHODS:
        raise ValueError(
            f"method: unknown latency code {method!r}; valid: {', '.join(LATENCY_METHODS)}"
        )
    if not (0.0 <= threshold < 1.0):
        raise ValueError(f"threshold: must lie in [0, 1), got {threshold}")
    if not (tau > 0.0) or not math.isfinite(tau):
        raise ValueError(f"tau: must be finite and > 0, got {tau}")
    arr, was_torch, tdtype = _as_numpy(x)
    _spike_bytes(steps, arr, 1)
    x64 = arr.astype(np.float64)
    active = x64 > threshold
    if method == "linear":
        frac = np.where(active, 1.0 - x64, 1.0)
    else:
        # RC charging time to threshold: t = tau ln(x / (x - thr)); with thr = 0 this is 0 for
        # every x, so use a small effective threshold that keeps the code informative.
        thr = max(threshold, 1e-2)
        xs = np.where(x64 > thr, x64, 1.0)
        t_raw = tau * np.log(xs / (xs - thr))
        t_min = tau * math.log(1.0 / (1.0 - thr))
        t_max = tau * math.log((thr + 1e-2) / 1e-2)  # x just above thr: the slowest fires last
        frac = np.clip((t_raw - t_min) / (t_max - t_min), 0.0, 1.0)
        active = active & (x64 > thr)
    t_idx = np.rint(frac * (steps - 1)).astype(np.int64)
    out = np.zeros((steps,) + arr.shape, dtype=arr.dtype)
    idx = np.nonzero(active)
    out[(t_idx[idx],) + idx] = 1.0
    return _out(out, was_torch, tdtype)
