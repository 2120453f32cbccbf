r"""Layers of a converted SNN. The converted graph runs with time folded into the batch
([T B, ...]): synaptic layers (Conv2d, Linear, pools, concat, add, upsample) act on every step
alike; :class:`SpikingActivation` unfolds time for its neuron; :class:`SpikeMaxPool2d` pools spike
codes. Every tensor between layers holds spike *values* (a spike times the value it stands for),
so the mean over the T steps of any layer's output is the activation it codes.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from spikecore.nn import _check
from spikecore.nn.conversion import IFNeuron, STDINeuron

__all__ = ["MAX_STDI_BITS", "SpikeMaxPool2d", "SpikingActivation", "stdi_threshold"]

#: the most STDI bits per value (beyond 24 bits the least significant thresholds fall below
#: float32 resolution)
MAX_STDI_BITS = 24


def _folded(x, T: int, min_dim: int = 1) -> None:
    """``x`` is a time-folded tensor [T B, ...]: its first dimension a multiple of T."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() < min_dim or x.shape[0] % T != 0:
        raise ValueError(
            f"x: expected a time-folded input [T*B, ...] of at least {min_dim} dimension(s), "
            f"its first dimension a multiple of T={T}, got shape {tuple(x.shape)}"
        )


def stdi_threshold(lam: torch.Tensor, T: int) -> torch.Tensor:
    """STDI threshold whose top code equals the clip: :math:`\\vartheta = \\lambda 2^T / (2^T - 1)`
    (so the code step :math:`\\vartheta / 2^T = \\lambda / (2^T - 1)` is the QCFS step for
    :math:`L = 2^T - 1`)."""
    T = _check.count(T, "T", 1, MAX_STDI_BITS)
    return lam * (2.0**T / (2.0**T - 1.0))


class SpikingActivation(nn.Module):
    r"""A converted activation: the neuron with its threshold set from the clip :math:`\lambda`
    for the current T (rate: :math:`\vartheta = \lambda`; STDI: :func:`stdi_threshold`), acting
    on a time-folded input [T B, ...] and returning the spike values [T B, ...]."""

    def __init__(
        self,
        lam: torch.Tensor,
        T: int,
        coding: str,
        negative_slope=None,
        delay: Optional[int] = None,
        rounding: bool = True,
        v0: float = 0.5,
        backend: str = "auto",
    ):
        super().__init__()
        self.coding = _check.choice(coding, "coding", ("stdi", "rate"))
        if not isinstance(lam, torch.Tensor):
            raise TypeError(
                f"lam: expected a torch.Tensor of clip values, got {type(lam).__name__}"
            )
        _check.meta(lam, "lam")
        if lam.is_complex():
            raise TypeError(f"lam: expected real clip values, got {lam.dtype}")
        T = _check.count(T, "T", 1)
        self.register_buffer("lam", lam.detach().clone().float())
        if coding == "stdi":
            self.neuron = STDINeuron(
                stdi_threshold(self.lam, T),
                delay=delay,
                rounding=rounding,
                negative_slope=negative_slope,
                backend=backend,
            )
        else:
            self.neuron = IFNeuron(self.lam, v0=v0, negative_slope=negative_slope, backend=backend)
        self.T = T

    def set_T(self, T: int) -> None:
        """Set the number of time steps (STDI: also the time-varying threshold)."""
        self.T = _check.count(T, "T", 1)
        if self.coding == "stdi":
            self.neuron.set_threshold(stdi_threshold(self.lam, T))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _folded(x, self.T)
        xs = x.reshape((self.T, x.shape[0] // self.T) + tuple(x.shape[1:]))
        z = self.neuron(xs)
        return self.neuron.value(z).reshape(x.shape)

    def extra_repr(self) -> str:
        return f"coding={self.coding!r}, T={self.T}, lam shape={tuple(self.lam.shape)}"


class SpikeMaxPool2d(nn.Module):
    r"""Max-pooling of spike codes, on a time-folded input [T B, C, H, W].

    Both modes pass, at step t, the spike value of the candidate with the largest running sum
    :math:`P_{i,t} = \sum_{s \le t} y_{i,s}`: :math:`o_t = y_{i^*,t}`,
    :math:`i^* = \arg\max_i P_{i,t}` (one ``max_pool2d`` with indices per step).

    - ``'stdi'``: exact. This is the MSB-first gate: every window starts with all candidates
      active; at bit t the output is the largest active candidate's spike value and the
      candidates whose value differs drop out (for unsigned codes: a candidate drops out at the
      first bit where it is 0 and the output is 1). Under STDI the running sum is the value of
      the code's first t + 1 bits, so the candidates still active after bit t are exactly the
      maximisers of :math:`P_{i,t}` (a candidate behind by one bit can never catch up: the
      remaining bits sum to less than that bit), and any of them carries the output's bit.
      ``msb_gate_reference`` is the literal gate; tests check the two agree. The output is
      the code of the largest input, so the pooled activation is exact.
    - ``'gate'`` (rate coding): the same rule is the count gate (Rueckauer et al. 2017),
      approximate: early steps may pass a candidate that is not the final maximum.
    """

    def __init__(self, pool: nn.MaxPool2d, T: int, mode: str = "stdi"):
        super().__init__()
        if not isinstance(mode, str) or mode not in ("stdi", "gate"):
            raise ValueError(f"mode: unknown value {mode!r}; valid choices: stdi, gate")
        self.kernel_size, self.stride = pool.kernel_size, pool.stride
        self.padding, self.dilation = pool.padding, pool.dilation
        self.T, self.mode = _check.count(T, "T", 1), mode

    def set_T(self, T: int) -> None:
        """Set the number of time steps (STDI: also the time-varying threshold)."""
        self.T = _check.count(T, "T", 1)

    def _pool_args(self):
        return dict(
            kernel_size=self.kernel_size,
            stride=self.stride,
            padding=self.padding,
            dilation=self.dilation,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _folded(x, self.T, min_dim=3)
        if not x.is_floating_point():
            raise TypeError(f"x: expected floating-point spike values, got {x.dtype}")
        s = x.reshape((self.T, x.shape[0] // self.T) + tuple(x.shape[1:])).cumsum(0)
        s = s.reshape(x.shape)
        try:
            _, idx = F.max_pool2d(s, return_indices=True, **self._pool_args())
        except RuntimeError as e:  # a window larger than the (padded) image, ...
            raise ValueError(f"x: cannot max-pool shape {tuple(x.shape)}: {e}") from e
        return x.flatten(-2).gather(-1, idx.flatten(-2)).reshape(idx.shape)

    def extra_repr(self) -> str:
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride}, "
            f"padding={self.padding}, mode={self.mode!r}, T={self.T}"
        )


def msb_gate_reference(
    x: torch.Tensor, T: int, kernel_size, stride=None, padding=0, dilation=1
) -> torch.Tensor:
    """The literal MSB-first max-pool gate on STDI spike values x [T B, C, H, W] (the oracle for
    :class:`SpikeMaxPool2d`): all candidates of a window start active; at each bit the output is
    the largest active value and the candidates that differ from it drop out."""
    stride = kernel_size if stride is None else stride
    TB, C, H, W = x.shape
    B = TB // T
    args = dict(kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    ho, wo = F.max_pool2d(x[:1, :1], kernel_size, stride, padding, dilation).shape[-2:]
    valid = F.unfold(torch.ones(1, 1, H, W, dtype=x.dtype), **args) > 0
    cand = F.unfold(x.reshape(T * B * C, 1, H, W), **args)
    K, L = valid.shape[1], valid.shape[2]
    cand = cand.reshape(T, B * C, K, L)
    active = valid.expand(B * C, K, L).clone()
    out = torch.empty(T, B * C, L, dtype=x.dtype)
    neg = torch.tensor(float("-inf"), dtype=x.dtype)
    for t in range(T):
        o = torch.where(active, cand[t], neg).amax(dim=1)
        active &= cand[t] == o.unsqueeze(1)
        out[t] = o
    return out.reshape(T * B, C, ho, wo)
