r"""Neurons for ANN-to-SNN conversion: IF (rate coding), signed IF, and STDI (time-varying threshold).

All three are multi-step, time-first ([T, B, ...]) and stateless across calls, like every
spikecore.nn neuron; they output spikes :math:`z_t \in \{0, 1\}` (signed: :math:`\{-1, 0, 1\}`).
Their input is the synaptic input of each step, :math:`x_t` (a converted network runs each layer
once per step with its bias every step, the input image presented every step).

**IF with soft reset (rate coding, QCFS: Bu et al. 2022).** Threshold :math:`\vartheta`, initial
membrane :math:`v_0 = \rho\,\vartheta` (:math:`\rho` = ``v0``, 1/2 by default):

.. math::

    v_t = v_{t-1} + x_t, \qquad z_t = H(v_t - \vartheta), \qquad v_t \leftarrow v_t - z_t \vartheta

A spike stands for the value :math:`\vartheta`: the mean :math:`\frac{1}{T}\sum_t \vartheta z_t`
approximates :math:`\mathrm{clip}(\bar x, 0, \vartheta)` with error :math:`\le \vartheta / T`.

**Signed IF** (LeakyReLU with slope :math:`\alpha`): a second, negative threshold
:math:`-\vartheta/\alpha`; :math:`z_t = -1` when :math:`v_t \le -\vartheta/\alpha`, then
:math:`v_t \leftarrow v_t + \vartheta/\alpha`. A negative spike stands for :math:`-\vartheta`, so the
mean output approximates :math:`\alpha \bar x` for :math:`\bar x < 0`.

**STDI (spike-time-dependent integrated coding; SUHD, arXiv 2306.12010 -- RECONSTRUCTION).** The
paper's equations are not public; this is the MSB-first time-varying-threshold neuron of
METHODS.md section 4. A window of :math:`T` steps carries :math:`T` bits; bit :math:`t` has the
threshold :math:`\vartheta_t = \vartheta\, 2^{-(t+1)}`. With a delay :math:`D` (1 <= D <= T)
between the start of the input window and the first bit, at relative step :math:`r = 0 \ldots
T + D - 1`:

.. math::

    u &\leftarrow u + x_r \quad (r < T) \\
    u &\leftarrow u + \tfrac{1}{2} T \vartheta_{T-1}\ \mathrm{sgn}(u) \quad (r = D,\ \text{rounding}) \\
    z_{r-D} &= H(u - T\vartheta_{r-D}) \quad (r \ge D), \qquad u \leftarrow u - z\, T\vartheta_{r-D}

(the membrane integrates the window's *sum*, so every threshold carries the factor :math:`T`; the
sign in the rounding step is +1 for the unsigned neuron). Bit :math:`t` stands for the value
:math:`T\vartheta_t` per step, so the window's mean output
:math:`\frac{1}{T}\sum_t T \vartheta_t z_t = \sum_t \vartheta_t z_t`. With :math:`D = T`
(integrate, then fire) and a constant input :math:`a` this is exactly
:math:`\vartheta\,\lfloor a 2^T/\vartheta + \frac{1}{2}\rfloor / 2^T` clipped to
:math:`[0, \vartheta (1 - 2^{-T})]` (``rounding=False``: :math:`\lfloor a 2^T/\vartheta\rfloor`),
the quantiser of a QCFS activation with :math:`L = 2^T - 1` levels. Signed STDI (LeakyReLU):
negative bits at :math:`-T\vartheta_t/\alpha`, each standing for :math:`-T\vartheta_t`. With
:math:`D < T` bits fire before the whole window is integrated (lower latency, not exact).

The exact max-pool of STDI codes is :class:`spikecore.convert.SpikeMaxPool2d` (MSB-first gate).

==============  ========  =====================================================================
parameter       default   meaning
==============  ========  =====================================================================
v_threshold     1.0       :math:`\vartheta`: a float or a tensor broadcastable to one step's shape
v0              0.5       IF only: initial membrane as a fraction of :math:`\vartheta`
negative_slope  None      None: unsigned; :math:`\alpha > 0`: signed neuron (LeakyReLU)
delay           None      STDI only: :math:`D`, None = T (integrate then fire)
rounding        True      STDI only: add half a least significant bit (round, not floor)
backend         'auto'    'auto' | 'cpp' | 'torch' (forward only: the step function has no
                          surrogate gradient; converted networks run in inference)
==============  ========  =====================================================================

The C++ definitions (one per model, shared by the fused kernels) are
``cpp/include/spikecore/neurons/if_neuron.hpp`` and ``neurons/stdi.hpp``; the functions
:func:`if_reference` and :func:`stdi_reference` below are the independent pure-torch statements
of the same equations, used as the oracle in tests.

>>> import torch
>>> x = torch.full((3, 1, 1), 0.6)            # constant input a = 0.6, T = 3 bits
>>> z = stdi_reference(x, 1.0, rounding=False)
>>> z.flatten().tolist()                      # 0.6 = 0.100110..b -> bits 1, 0, 0
[1.0, 0.0, 0.0]
>>> float(stdi_value(z, 1.0).mean(0))        # floor(0.6 * 8) / 8
0.5
"""

from __future__ import annotations

from typing import Optional, Union

import torch

from . import _check
from .neurons import SpikingNeuron

__all__ = [
    "IFNeuron",
    "STDINeuron",
    "if_reference",
    "stdi_reference",
    "stdi_value",
    "stdi_weights",
]

Threshold = Union[float, torch.Tensor]


def _slope(negative_slope) -> Optional[float]:
    if negative_slope is None:
        return None
    a = _check.finite32(negative_slope, "negative_slope")
    if not a > 0:
        raise ValueError(f"negative_slope: must be > 0 for a signed neuron, got {a:g}")
    return a


def _threshold(v_threshold) -> torch.Tensor:
    if isinstance(v_threshold, torch.Tensor):
        t = _check.float_tensor(v_threshold, "v_threshold").detach().clone()
    else:
        t = torch.tensor(_check.finite32(v_threshold, "v_threshold"))
    if t.numel() == 0:
        raise ValueError("v_threshold: is empty")
    if not bool(torch.isfinite(t).all()) or not bool((t > 0).all()):
        raise ValueError("v_threshold: every threshold must be finite and > 0")
    return t


def _bits(T) -> int:
    return _check.count(T, "T", 1)


def stdi_weights(T: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """Per-step value of an STDI spike for :math:`\\vartheta = 1`: :math:`T 2^{-(t+1)}`, [T]."""
    T = _bits(T)
    return T * torch.pow(2.0, -torch.arange(1, T + 1, dtype=torch.float64)).to(
        dtype=dtype, device=device
    )


def stdi_value(z: torch.Tensor, v_threshold: Threshold) -> torch.Tensor:
    """Weighted STDI output :math:`y_t = T \\vartheta_t z_t` of spikes z [T, ...]; its mean over
    time is the coded activation."""
    T = z.shape[0]
    w = stdi_weights(T, z.dtype, z.device).reshape((T,) + (1,) * (z.dim() - 1))
    return z * w * torch.as_tensor(v_threshold, dtype=z.dtype, device=z.device)


def _fire(v: torch.Tensor, th: torch.Tensor, negative_slope: Optional[float]):
    """Threshold and soft reset shared by both references: z = +1 at v >= th (v -= th), and for
    a signed neuron z = -1 at v <= -th / alpha (v += th / alpha). Returns (z, v)."""
    z = (v >= th).to(v.dtype)
    if negative_slope is None:
        return z, v - z * th
    nth = th / negative_slope
    z = z - (v <= -nth).to(v.dtype)
    return z, v - torch.where(z > 0, th, torch.where(z < 0, -nth, torch.zeros_like(th)))


def if_reference(
    x: torch.Tensor,
    v_threshold: Threshold = 1.0,
    v0: float = 0.5,
    negative_slope: Optional[float] = None,
) -> torch.Tensor:
    """Pure-torch IF / signed IF, soft reset (the oracle for the C++ kernel). x: [T, ...]."""
    th = torch.as_tensor(v_threshold, dtype=x.dtype, device=x.device)
    th = th.expand(x.shape[1:])
    v = v0 * th
    out = []
    for t in range(x.shape[0]):
        z, v = _fire(v + x[t], th, negative_slope)
        out.append(z)
    return torch.stack(out)


def stdi_reference(
    x: torch.Tensor,
    v_threshold: Threshold = 1.0,
    delay: Optional[int] = None,
    rounding: bool = True,
    negative_slope: Optional[float] = None,
) -> torch.Tensor:
    """Pure-torch STDI neuron (the oracle for the C++ kernel). x: [T, ...] -> spikes [T, ...]."""
    T = x.shape[0]
    D = T if delay is None else delay
    th = torch.as_tensor(v_threshold, dtype=x.dtype, device=x.device).expand(x.shape[1:])
    u = torch.zeros_like(x[0])
    out = []
    for r in range(T + D):
        if r < T:
            u = u + x[r]
        if r >= D:
            t = r - D
            if r == D and rounding:
                half = th * (T * 2.0 ** -(T + 1))
                if negative_slope is None:
                    u = u + half
                else:
                    u = u + torch.where(u >= 0, half, -half / negative_slope)
            z, u = _fire(u, th * (T * 2.0 ** -(t + 1)), negative_slope)
            out.append(z)
    return torch.stack(out)


def _flat_threshold(th: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return th.to(dtype=x.dtype).expand(x.shape[1:]).contiguous()


class _ConversionNeuron(SpikingNeuron):
    """Shared parts: a threshold buffer (scalar or per channel) and the optional signed mode."""

    def __init__(self, v_threshold, negative_slope, backend):
        super().__init__(backend)
        self.register_buffer("v_threshold", _threshold(v_threshold))
        self.negative_slope = _slope(negative_slope)

    def set_threshold(self, v_threshold) -> None:
        self.v_threshold = _threshold(v_threshold).to(self.v_threshold.device)

    def _use_cpp(self, x: torch.Tensor) -> bool:
        from . import _conversion_kernels as K

        if self.backend == "torch":
            return False
        ok, why = K.usable(x)
        if self.backend == "cpp" and not ok:
            raise RuntimeError(f"backend='cpp' unavailable: {why}")
        return ok

    def _run(self, x, state):
        if state is not None:
            raise ValueError(
                "state: conversion neurons start every window from their initial "
                "membrane; pass state=None"
            )
        try:
            torch.broadcast_shapes(self.v_threshold.shape, x.shape[1:])
        except RuntimeError:
            raise ValueError(
                f"v_threshold: shape {tuple(self.v_threshold.shape)} does not broadcast to the "
                f"per-step shape {tuple(x.shape[1:])} of x"
            ) from None
        with torch.no_grad():  # inference neurons: the output spikes carry no gradient
            return self._spikes(x.detach()), None


class IFNeuron(_ConversionNeuron):
    __doc__ = (
        "Integrate-and-fire neuron, soft reset (rate coding); signed with negative_slope.\n"
        + __doc__
    )

    def __init__(
        self,
        v_threshold: Threshold = 1.0,
        v0: float = 0.5,
        negative_slope: Optional[float] = None,
        backend: str = "auto",
    ):
        super().__init__(v_threshold, negative_slope, backend)
        v0 = _check.finite(v0, "v0")
        if not 0.0 <= v0 < 1.0:
            raise ValueError(f"v0: initial membrane fraction must lie in [0, 1), got {v0:g}")
        self.v0 = v0

    def value(self, z: torch.Tensor) -> torch.Tensor:
        """Value of each spike downstream: :math:`\\vartheta z_t`."""
        return z * self.v_threshold.to(z.dtype)

    def _spikes(self, x):
        if self._use_cpp(x):
            from . import _conversion_kernels as K

            return K.if_forward(
                x, _flat_threshold(self.v_threshold, x), self.v0, self.negative_slope
            )
        return if_reference(x, self.v_threshold.to(x.dtype), self.v0, self.negative_slope)

    def extra_repr(self) -> str:
        return f"v0={self.v0}, negative_slope={self.negative_slope}"


class STDINeuron(_ConversionNeuron):
    __doc__ = "STDI neuron: MSB-first time-varying threshold (SUHD reconstruction).\n" + __doc__

    def __init__(
        self,
        v_threshold: Threshold = 1.0,
        delay: Optional[int] = None,
        rounding: bool = True,
        negative_slope: Optional[float] = None,
        backend: str = "auto",
    ):
        super().__init__(v_threshold, negative_slope, backend)
        self.delay = None if delay is None else _check.count(delay, "delay", 1)  # None: D = T
        self.rounding = bool(rounding)

    def value(self, z: torch.Tensor) -> torch.Tensor:
        """Value of each spike downstream: :math:`T \\vartheta 2^{-(t+1)} z_t`."""
        return stdi_value(z, self.v_threshold.to(z.dtype))

    def _spikes(self, x):
        T = x.shape[0]
        if self.delay is not None and self.delay > T:
            raise ValueError(f"delay: D = {self.delay} exceeds the window T = {T}")
        if self._use_cpp(x):
            from . import _conversion_kernels as K

            return K.stdi_forward(
                x,
                _flat_threshold(self.v_threshold, x),
                self.delay or T,
                self.rounding,
                self.negative_slope,
            )
        return stdi_reference(
            x, self.v_threshold.to(x.dtype), self.delay, self.rounding, self.negative_slope
        )

    def extra_repr(self) -> str:
        return f"delay={self.delay}, rounding={self.rounding}, negative_slope={self.negative_slope}"
