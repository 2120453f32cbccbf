r"""The ANN-to-SNN conversion neurons (``spikecore.nn.IFNeuron`` / ``STDINeuron``, issue 13) and
the max-pool gate of a converted network, as engine populations.

IF, rate coding (``add_population(n, "if")``; signed with ``negative_slope`` :math:`\alpha`):

.. math::

    v_t = v_{t-1} + x_t, \quad z_t = \begin{cases} +1 & v_t \ge \vartheta \\
    -1 & \alpha > 0,\ v_t \le -\vartheta/\alpha \\ 0 \end{cases}, \quad
    v_t \leftarrow v_t - z_t \vartheta \ (z=-1:\ +\vartheta/\alpha), \quad v_0 = v_0' \vartheta

STDI (``add_population(n, "stdi")``): one window of T bits after each reset (``start`` steps
later); relative step r integrates :math:`u \mathrel{+}= x_r` for r < T, adds the half-LSB
:math:`T \vartheta 2^{-(T+1)}` at r = D (``rounding``), and fires bit t = r - D at
:math:`u \ge T \vartheta_t`, :math:`\vartheta_t = \vartheta 2^{-(t+1)}` (soft reset by
:math:`T \vartheta_t`). A spike of bit t weighs :math:`T 2^{-(t+1)}` downstream (the engine's
delivery; the threshold is folded into the synaptic weights by ``from_torch``).

Max-pool gate (``add_population(n, "max_gate")``): neuron j has ``kernel`` candidate
compartments (synapse targets j K + k, the pooling window in scan order, the first ``count[j]``
valid); it passes, at each step, the spike of the first candidate with the largest running value
(exact MSB-first gate for STDI codes, ``T`` > 0; the count gate for rate codes, ``T`` = 0).

The one C++ definition of each neuron is ``neurons/if_neuron.hpp`` / ``neurons/stdi.hpp``
(the engine's block update calls their block steps); the gate is ``engine/population.hpp``'s
ConversionPopulation.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, ClassVar, Optional, Union

import numpy as np

from ._base import MAX_THRESHOLD, EngineCall, NeuronSpec, count, finite, param

__all__ = ["IFSpec", "STDISpec", "MaxGateSpec", "MAX_BITS"]

MAX_BITS = 24  # beyond 24 bits the least significant thresholds fall below float32 resolution


def _theta(value: Any) -> Union[float, np.ndarray]:
    """A threshold > 0: a number or one per neuron (float32 array)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        v = finite(value, "v_threshold", MAX_THRESHOLD)
        if not np.float32(v) > 0:  # > 0 also after the float32 narrowing
            raise ValueError(f"v_threshold: must be > 0 (in float32), got {v:g}")
        return v
    a = np.asarray(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"v_threshold: expected numbers, got dtype {a.dtype}")
    a = a.astype(np.float64).reshape(-1)  # checked before the float32 narrowing
    if a.size == 0:
        raise ValueError("v_threshold: is empty")
    if not np.all(np.isfinite(a)) or not np.all(a > 0):
        raise ValueError("v_threshold: every threshold must be finite and > 0")
    if float(a.max()) > MAX_THRESHOLD:
        raise ValueError(
            f"v_threshold: must lie in (0, 3e38] (float32 state), got {float(a.max()):g}"
        )
    a = a.astype(np.float32)
    if not np.all(a > 0):  # below float32's smallest subnormal
        raise ValueError(
            "v_threshold: every threshold must be > 0 in float32, got one that rounds to 0"
        )
    return a


def _slope(value: Any) -> Optional[float]:
    if value is None:
        return None
    a = finite(value, "negative_slope")
    if not a > 0:
        raise ValueError(f"negative_slope: must be > 0 for a signed neuron, got {a:g}")
    return a


def _per_neuron(theta: Union[float, np.ndarray], n: int) -> np.ndarray:
    if isinstance(theta, float):
        return np.full(n, theta, np.float32)
    if theta.size == 1:
        return np.full(n, theta[0], np.float32)
    if theta.size != n:
        raise ValueError(f"v_threshold: expected a number or {n} values, got {theta.size}")
    return theta


class _ArrayEq:
    """Equality of specs with array fields (the dataclass == compares arrays elementwise)."""

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        a, b = self.params(), other.params()  # type: ignore[attr-defined]
        return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)

    __hash__ = None  # type: ignore[assignment]


@dataclass(frozen=True, eq=False)
class IFSpec(_ArrayEq, NeuronSpec):
    """Integrate-and-fire, soft reset, v0 = theta/2 by default (rate-coded conversion;
    ``spikecore.nn.IFNeuron``; ``add_population(n, "if")``)."""

    model: ClassVar[str] = "if"

    v_threshold: Union[float, np.ndarray] = param(
        1.0, "a.u.", "threshold (> 0): a number or one per neuron", r"\vartheta"
    )
    v0: float = param(0.5, "theta", "initial membrane as a fraction of theta, in [0, 1)", "v_0")
    negative_slope: Optional[float] = param(
        None, "", "LeakyReLU slope alpha > 0 of the signed variant (None: unsigned)", r"\alpha"
    )

    def __post_init__(self):
        object.__setattr__(self, "v_threshold", _theta(self.v_threshold))
        v0 = finite(self.v0, "v0")
        if not 0.0 <= v0 < 1.0:
            raise ValueError(f"v0: initial membrane fraction must lie in [0, 1), got {v0:g}")
        object.__setattr__(self, "v0", v0)
        object.__setattr__(self, "negative_slope", _slope(self.negative_slope))

    def engine(self, n: int) -> EngineCall:
        return EngineCall(
            "if",
            dict(
                v_th=_per_neuron(self.v_threshold, n),
                v0=self.v0,
                negative_slope=self.negative_slope or 0.0,
            ),
        )


@dataclass(frozen=True, eq=False)
class STDISpec(_ArrayEq, NeuronSpec):
    """STDI neuron, one window of T bits per reset (``spikecore.nn.STDINeuron``;
    ``add_population(n, "stdi")``)."""

    model: ClassVar[str] = "stdi"

    T: int = param(4, "steps", "bits per window (1 .. 24)", "T")
    delay: Optional[int] = param(
        None, "steps", "D: first bit fires D steps into the window, 1 <= D <= T (None: T)", "D"
    )
    v_threshold: Union[float, np.ndarray] = param(
        1.0, "a.u.", "threshold (> 0): a number or one per neuron", r"\vartheta"
    )
    rounding: bool = param(True, "", "add half a least significant bit before the first bit")
    negative_slope: Optional[float] = param(
        None, "", "LeakyReLU slope alpha > 0 of the signed variant (None: unsigned)", r"\alpha"
    )
    start: int = param(0, "steps", "window offset after each reset (>= 0)")

    def __post_init__(self):
        T = count(self.T, "T", 1, MAX_BITS)
        object.__setattr__(self, "T", T)
        if self.delay is not None:
            object.__setattr__(self, "delay", count(self.delay, "delay", 1, T))
        object.__setattr__(self, "v_threshold", _theta(self.v_threshold))
        if not isinstance(self.rounding, (bool, np.bool_)):
            raise TypeError(f"rounding: must be a bool, got {type(self.rounding).__name__}")
        object.__setattr__(self, "rounding", bool(self.rounding))
        object.__setattr__(self, "negative_slope", _slope(self.negative_slope))
        object.__setattr__(self, "start", count(self.start, "start", 0, 2**31 - 1))

    @property
    def D(self) -> int:
        """The layer delay in steps (``delay``, or ``T`` when it is None)."""
        return self.T if self.delay is None else self.delay

    def engine(self, n: int) -> EngineCall:
        return EngineCall(
            "stdi",
            dict(
                v_th=_per_neuron(self.v_threshold, n),
                T=self.T,
                delay=self.D,
                rounding=self.rounding,
                negative_slope=self.negative_slope or 0.0,
                start=self.start,
            ),
        )


@dataclass(frozen=True, eq=False)
class MaxGateSpec(_ArrayEq, NeuronSpec):
    """Max-pool gate of a converted network (``add_population(n, "max_gate")``): exact
    MSB-first gate for STDI codes (``T`` > 0), count gate for rate codes (``T`` = 0)."""

    model: ClassVar[str] = "max_gate"

    kernel: int = param(4, "", "candidates per neuron (pooling window size)", "K")
    T: int = param(0, "steps", "bits of the STDI codes it pools (0: rate codes)", "T")
    count: Optional[np.ndarray] = param(
        None, "", "valid candidates per neuron, in [1, kernel] (None: all)"
    )
    signed: bool = param(False, "", "whether its inputs carry negative spikes")
    start: int = param(0, "steps", "window offset after each reset (>= 0, STDI)")

    def __post_init__(self):
        K = count(self.kernel, "kernel", 1, 4096)
        object.__setattr__(self, "kernel", K)
        object.__setattr__(self, "T", count(self.T, "T", 0, MAX_BITS))
        if self.count is not None:
            c = np.asarray(self.count)
            if not np.issubdtype(c.dtype, np.integer):
                raise TypeError(f"count: expected integers, got dtype {c.dtype}")
            c = c.astype(np.int32).reshape(-1)
            if c.size == 0 or np.any(c < 1) or np.any(c > K):
                raise ValueError(f"count: every value must lie in [1, kernel={K}]")
            object.__setattr__(self, "count", c)
        object.__setattr__(self, "signed", bool(self.signed))
        object.__setattr__(self, "start", count(self.start, "start", 0, 2**31 - 1))

    def engine(self, n: int) -> EngineCall:
        c = self.count
        if c is not None and c.size != n:
            raise ValueError(f"count: expected {n} values, got {c.size}")
        return EngineCall(
            "max_gate",
            dict(
                kernel=self.kernel,
                count=np.zeros(0, np.int32) if c is None else c,
                T=self.T,
                signed=self.signed,
                start=self.start,
            ),
        )
