r"""Spike-input linear layer on the GPU: :math:`y = x W^\top + b` with the input saved as bits.

Autograd keeps a float input [T B, K] for the weight gradient; for 0/1 spikes this keeps it as
bits (1 bit per input and row, LSB first: 32x less for float32). Non-binary input falls back to
``F.linear`` (the caller's path). Products:

* forward :math:`y = x W^\top`: one cuBLAS GEMM on the float spikes the layer received (they
  exist already; packing them first to multiply the bits would only add work);
  :func:`bits_linear` is the same product read straight from packed bits (a Triton kernel), for
  spikes that are already packed;
* weight gradient :math:`\bar W = \bar y^\top x` from the saved bits, either by unpacking them
  (torch ops) into a float [T B, K] for one cuBLAS GEMM (``SPIKECORE_SPIKE_GEMM=cublas``, the
  default), or by the Triton kernel :func:`bits_weight_grad`, which unpacks a tile at a time in
  registers (``SPIKECORE_SPIKE_GEMM=triton``: no [T B, K] float temporary);
* input gradient :math:`\bar x = \bar y W`: no spikes enter it; one cuBLAS GEMM.

Why cuBLAS stays the default: at spiking densities (3 % of 700 inputs) a gather of active
columns reads about as many bytes as the dense GEMM and loses the GEMM's blocking; both
products are compute-bound at training sizes, and cuBLAS's fp32 GEMM is the faster engine for
the same FLOPs, while the bits only cut the bytes of one operand. The bit kernels' gain is
memory (no unpacked temporary) and, for the forward, not needing the float spikes at all.
``spikecore bench gpu`` times both on a GPU; none was available when they were written.
"""

from __future__ import annotations

import os
from typing import Optional

import torch
import torch.nn.functional as F
import triton
import triton.language as tl

GEMMS = ("cublas", "triton")
BM, BN, BK = 32, 32, 32  # tile sizes (BK: a multiple of 8, whole bytes of bits)

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


def gemm_mode() -> str:
    """``SPIKECORE_SPIKE_GEMM``: how the weight gradient reads the saved bits."""
    g = os.environ.get("SPIKECORE_SPIKE_GEMM", "cublas").strip().lower() or "cublas"
    if g not in GEMMS:
        raise ValueError(f"SPIKECORE_SPIKE_GEMM: expected cublas or triton, got {g!r}")
    return g


@triton.jit
def _bit_tile(bits_ptr, rows, k0, R, KB8, BR: tl.constexpr, BKT: tl.constexpr):
    """Rows ``rows`` x inputs [k0, k0 + BKT) of the packed spikes as a [BR, BKT] 0/1 tile
    (zeros past R and past the packed width; pack_bits leaves the pad bits of a row 0)."""
    bcol = k0 // 8 + tl.arange(0, BKT // 8)
    msk = (rows < R)[:, None] & (bcol < KB8)[None, :]
    byte = tl.load(bits_ptr + rows[:, None].to(tl.int64) * KB8 + bcol[None, :], mask=msk, other=0)
    bit = (byte.to(tl.int32)[:, :, None] >> tl.arange(0, 8)[None, None, :]) & 1
    return tl.reshape(bit, (BR, BKT))


@triton.jit
def _bits_mm(
    bits_ptr,
    w_ptr,
    b_ptr,
    y_ptr,
    R,
    O,
    K,
    KB8,
    HAS_BIAS: tl.constexpr,
    BM: tl.constexpr,
    BN: tl.constexpr,
    BK: tl.constexpr,
):
    """y[R, O] = x W^T (+ b) with x read from its bits, W [O, K]."""
    rows = tl.program_id(0) * BM + tl.arange(0, BM)
    outs = tl.program_id(1) * BN + tl.arange(0, BN)
    mo = outs < O
    acc = tl.zeros((BM, BN), dtype=w_ptr.dtype.element_ty)
    for k0 in range(0, K, BK):
        ks = k0 + tl.arange(0, BK)
        x = _bit_tile(bits_ptr, rows, k0, R, KB8, BM, BK).to(acc.dtype)
        w = tl.load(
            w_ptr + outs[None, :] * K + ks[:, None], mask=(ks < K)[:, None] & mo[None, :], other=0.0
        )
        acc = tl.dot(x, w, acc, input_precision="ieee", out_dtype=acc.dtype)
    if HAS_BIAS:
        acc += tl.load(b_ptr + outs, mask=mo, other=0.0)[None, :]
    m2 = (rows < R)[:, None] & mo[None, :]
    tl.store(y_ptr + rows[:, None].to(tl.int64) * O + outs[None, :], acc, mask=m2)


@triton.jit
def _bits_wgrad(
    gy_ptr,
    bits_ptr,
    gw_ptr,
    R,
    O,
    K,
    KB8,
    RCHUNK,
    BM: tl.constexpr,
    BN: tl.constexpr,
    BK: tl.constexpr,
):
    """Partial gW[s] [O, K] = gy[rows of chunk s]^T x[rows of chunk s], x from its bits."""
    outs = tl.program_id(0) * BN + tl.arange(0, BN)
    k0 = tl.program_id(1) * BK
    s = tl.program_id(2)
    ks = k0 + tl.arange(0, BK)
    mo = outs < O
    acc = tl.zeros((BN, BK), dtype=gy_ptr.dtype.element_ty)
    r_end = tl.minimum(R, (s + 1) * RCHUNK)
    for r0 in range(s * RCHUNK, r_end, BM):
        rows = r0 + tl.arange(0, BM)
        mr = rows < r_end
        g = tl.load(
            gy_ptr + rows[None, :].to(tl.int64) * O + outs[:, None],
            mask=mo[:, None] & mr[None, :],
            other=0.0,
        )
        x = _bit_tile(bits_ptr, rows, k0, r_end, KB8, BM, BK).to(acc.dtype)
        acc = tl.dot(g, x, acc, input_precision="ieee", out_dtype=acc.dtype)
    m2 = mo[:, None] & (ks < K)[None, :]
    base = gw_ptr + s.to(tl.int64) * O * K
    tl.store(base + outs[:, None] * K + ks[None, :], acc, mask=m2)


def _check_bits(bits: torch.Tensor, K: int) -> None:
    if not isinstance(bits, torch.Tensor) or bits.dtype != torch.uint8 or bits.dim() != 2:
        raise TypeError("bits: expected a 2-D uint8 tensor [R, ceil(K / 8)] (pack_bits' layout)")
    if isinstance(K, bool) or not isinstance(K, int) or K < 1 or bits.shape[1] != (K + 7) // 8:
        raise ValueError(f"K: {K!r} does not match bits of {bits.shape[1]} bytes per row")


def _check_float(t, name: str, shape: tuple, what: str, bits: torch.Tensor) -> None:
    """t: a float tensor of ``shape`` (None: any size) on the bits' device."""
    if not isinstance(t, torch.Tensor) or t.dtype not in (torch.float32, torch.float64):
        raise TypeError(f"{name}: expected a float32/float64 tensor {what}")
    if t.dim() != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
        raise ValueError(f"{name}: expected shape {what}, got {tuple(t.shape)}")
    if t.device != bits.device:
        raise ValueError(f"{name}: on {t.device}, the bits on {bits.device}")


def bits_linear(
    bits: torch.Tensor, K: int, weight: torch.Tensor, bias: Optional[torch.Tensor] = None
) -> torch.Tensor:
    """:math:`y = x W^\\top + b` for x given as packed bits [R, ceil(K / 8)] (pack_bits'
    layout): one Triton launch, the float x never built. Forward only (no autograd node)."""
    _check_bits(bits, K)
    _check_float(weight, "weight", (None, K), f"[out, K={K}]", bits)
    R, O = bits.shape[0], weight.shape[0]
    if bias is not None:
        _check_float(bias, "bias", (O,), f"[out={O}]", bits)
    w = weight.detach().contiguous()
    y = w.new_empty(R, O)
    b = w if bias is None else bias.detach().to(w.dtype).contiguous()
    grid = (triton.cdiv(R, BM), triton.cdiv(O, BN))
    _bits_mm[grid](
        bits.contiguous(), w, b, y, R, O, K, bits.shape[1], bias is not None, BM=BM, BN=BN, BK=BK
    )
    return y


def bits_weight_grad(gy: torch.Tensor, bits: torch.Tensor, K: int) -> torch.Tensor:
    """:math:`\\bar W = \\bar y^\\top x` [O, K] for x given as packed bits: row chunks in
    parallel (enough programs to fill a GPU when O and K are small), partial sums added in
    torch (deterministic)."""
    _check_bits(bits, K)
    _check_float(gy, "gy", (bits.shape[0], None), f"[R={bits.shape[0]}, out]", bits)
    gy = gy.contiguous()
    R, O = gy.shape
    split = max(1, min(16, R // 2048))
    chunk = triton.cdiv(triton.cdiv(R, split), BM) * BM
    split = triton.cdiv(R, chunk) if R else 1
    part = gy.new_empty(split, O, K)
    grid = (triton.cdiv(O, BN), triton.cdiv(K, BK), split)
    _bits_wgrad[grid](
        gy, bits.contiguous(), part, R, O, K, bits.shape[1], chunk, BM=BM, BN=BN, BK=BK
    )
    return part[0] if split == 1 else part.sum(0)


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
            if gemm_mode() == "triton":
                gw = bits_weight_grad(gy, bits, ctx.k)
            else:
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
    gemm_mode()  # a bad setting fails here, not in backward
    y = SpikeLinearBits.apply(x2, weight, bias)
    return y.reshape(*x.shape[:-1], weight.shape[0])
