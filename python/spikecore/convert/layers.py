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

from spikecore.nn.conversion import IFNeuron, STDINeuron

__all__ = ["MAX_STDI_BITS", "SpikeMaxPool2d", "SpikingActivation", "stdi_threshold"]

# Beyond 24 bits the least significant thresholds fall below float32 resolution.
MAX_STDI_BITS = 24


def stdi_threshold(lam: torch.Tensor, T: int) -> torch.Tensor:
    """STDI threshold whose top code equals the clip: :math:`\\vartheta = \\lambda 2^T / (2^T - 1)`
    (so the code step :math:`\\vartheta / 2^T = \\lambda / (2^T - 1)` is the QCFS step for
    :math:`L = 2^T - 1`)."""
    return lam * (2.0 ** T / (2.0 ** T - 1.0))


class SpikingActivation(nn.Module):
    r"""A converted activation: the neuron with its threshold set from the clip :math:`\lambda`
    for the current T (rate: :math:`\vartheta = \lambda`; STDI: :func:`stdi_threshold`), acting
    on a time-folded input [T B, ...] and returning the spike values [T B, ...]."""

    def __init__(self, lam: torch.Tensor, T: int, coding: str, negative_slope=None,
                 delay: Optional[int] = None, rounding: bool = True, v0: float = 0.5,
                 backend: str = "auto"):
        super().__init__()
        self.coding = coding
        self.register_buffer("lam", lam.detach().clone().float())
        if coding == "stdi":
            self.neuron = STDINeuron(stdi_threshold(self.lam, T), delay=delay, rounding=rounding,
                                     negative_slope=negative_slope, backend=backend)
        else:
            self.neuron = IFNeuron(self.lam, v0=v0, negative_slope=negative_slope,
                                   backend=backend)
        self.T = T

    def set_T(self, T: int) -> None:
        self.T = T
        if self.coding == "stdi":
            self.neuron.set_threshold(stdi_threshold(self.lam, T))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        xs = x.reshape((self.T, -1) + tuple(x.shape[1:]))
        z = self.neuron(xs)
        return self.neuron.value(z).reshape(x.shape)

    def extra_repr(self) -> str:
        return f"coding={self.coding!r}, T={self.T}, lam shape={tuple(self.lam.shape)}"


class SpikeMaxPool2d(nn.Module):
    r"""Max-pooling of spike codes, on a time-folded input [T B, C, H, W].

    - ``'stdi'``: exact. The MSB-first gate: every window starts with all its candidates
      active; at bit t the output is the largest active candidate's spike value
      :math:`o_t = \max_{i \in A} y_{i,t}`, and the candidates whose value differs drop out,
      :math:`A \leftarrow \{i \in A : y_{i,t} = o_t\}` (for unsigned codes: a candidate drops
      out at the first bit where it is 0 and the output is 1). The output code is the code of the
      largest input, so the pooled activation is exact.
    - ``'gate'`` (rate coding): the candidate with the largest spike count so far,
      :math:`\arg\max_i \sum_{s \le t} y_{i,s}`, passes its spike at step t (Rueckauer et al.
      2017). Approximate: early steps may pass a candidate that is not the final maximum.
    """

    def __init__(self, pool: nn.MaxPool2d, T: int, mode: str = "stdi", chunk: int = 1 << 23):
        super().__init__()
        if mode not in ("stdi", "gate"):
            raise ValueError(f"mode: unknown value {mode!r}; valid choices: stdi, gate")
        self.kernel_size, self.stride = pool.kernel_size, pool.stride
        self.padding, self.dilation = pool.padding, pool.dilation
        self.T, self.mode, self.chunk = T, mode, chunk

    def set_T(self, T: int) -> None:
        self.T = T

    def _pool_args(self):
        return dict(kernel_size=self.kernel_size, stride=self.stride, padding=self.padding,
                    dilation=self.dilation)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "gate":
            return self._gate(x)
        return self._stdi(x)

    def _gate(self, x):
        T = self.T
        s = x.reshape((T, -1) + tuple(x.shape[1:])).cumsum(0).reshape(x.shape)
        _, idx = F.max_pool2d(s, return_indices=True, **self._pool_args())
        out = x.flatten(-2).gather(-1, idx.flatten(-2))
        return out.reshape(idx.shape)

    def _stdi(self, x):
        T = self.T
        TB, C, H, W = x.shape
        B = TB // T
        args = dict(kernel_size=self.kernel_size, dilation=self.dilation, padding=self.padding,
                    stride=self.stride)
        ho, wo = F.max_pool2d(x[:1, :1], **self._pool_args()).shape[-2:]
        valid = F.unfold(torch.ones(1, 1, H, W, dtype=x.dtype, device=x.device), **args) > 0
        planes = x.reshape(T, B * C, 1, H, W)
        K, L = valid.shape[1], valid.shape[2]
        out = torch.empty(T, B * C, L, dtype=x.dtype, device=x.device)
        step = max(1, self.chunk // max(1, K * L))
        neg = torch.tensor(float("-inf"), dtype=x.dtype, device=x.device)
        for n0 in range(0, B * C, step):
            n1 = min(B * C, n0 + step)
            cand = F.unfold(planes[:, n0:n1].reshape(-1, 1, H, W), **args)
            cand = cand.reshape(T, n1 - n0, K, L)
            active = valid.expand(n1 - n0, K, L).clone()
            for t in range(T):
                c = cand[t]
                o = torch.where(active, c, neg).amax(dim=1)
                active &= c == o.unsqueeze(1)
                out[t, n0:n1] = o
        return out.reshape(T * B, C, ho, wo)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, " \
               f"mode={self.mode!r}, T={self.T}"
