r"""Spike-input linear layer on the GPU: :math:`y = x W^\top + b` with the input saved as bits.

On a GPU the dense product is one cuBLAS GEMM, faster than gathering active columns at the
densities of spiking layers (at 3 % of 700 inputs the gather reads about as many bytes as the
GEMM, without tensor cores), so the product stays dense. What the spike path saves here is
memory: autograd keeps a float input [T B, K] for the weight gradient; for 0/1 spikes this keeps
it as bits (1 bit per input and row, 32x less for float32), unpacked in backward for
:math:`\bar W = \bar y^\top x`. Non-binary input falls back to ``F.linear`` (the caller's path).
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

_SHIFTS: dict = {}


def _shifts(device) -> torch.Tensor:
    s = _SHIFTS.get(device)
    if s is None:
        s = _SHIFTS[device] = torch.arange(8, dtype=torch.uint8, device=device)
    return s


def pack_bits(x2: torch.Tensor) -> torch.Tensor:
    """[R, K] 0/1 values -> [R, ceil(K / 8)] uint8, LSB first."""
    R, K = x2.shape
    k8 = (K + 7) // 8
    b = torch.zeros(R, k8 * 8, dtype=torch.uint8, device=x2.device)
    b[:, :K] = x2 != 0
    return (b.view(R, k8, 8) << _shifts(x2.device)).sum(-1, dtype=torch.uint8)


def unpack_bits(bits: torch.Tensor, K: int, dtype) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: [R, ceil(K / 8)] uint8 -> [R, K] of 0/1 in ``dtype``."""
    R = bits.shape[0]
    b = (bits.unsqueeze(-1) >> _shifts(bits.device)) & 1
    return b.reshape(R, -1)[:, :K].to(dtype)


class SpikeLinearBits(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, weight, bias):
        y = F.linear(x2, weight, bias)
        ctx.save_for_backward(pack_bits(x2), weight)
        ctx.k, ctx.has_bias = x2.shape[1], bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        bits, weight = ctx.saved_tensors
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = gy @ weight
        if ctx.needs_input_grad[1]:
            gw = gy.t() @ unpack_bits(bits, ctx.k, gy.dtype)
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(0)
        return gx, gw, gb


def spike_linear(
    x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]
) -> Optional[torch.Tensor]:
    """The product with bit-saved input, or None when x is not 0/1 (or needs no weight grad)."""
    k = x.shape[-1]
    x2 = x.reshape(-1, k)
    if x2.numel() == 0 or not (torch.is_grad_enabled() and weight.requires_grad):
        return None
    if not bool(((x2 == 0) | (x2 == 1)).all()):
        return None
    y = SpikeLinearBits.apply(x2, weight, bias)
    return y.reshape(*x.shape[:-1], weight.shape[0])
