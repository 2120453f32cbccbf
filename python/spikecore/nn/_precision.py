r"""Precision of the dense products in spikecore.nn's linear layers: ``"float32"`` or ``"bf16"``.

``"float32"`` (the default) keeps every product in the tensors' dtype. ``"bf16"`` (opt-in) runs
the dense GEMMs of :class:`spikecore.nn.Linear` / :func:`spikecore.nn.functional.linear` on CPU
float32 tensors in bfloat16 with float32 accumulation: the dense forward
:math:`y = x W^\top + b`, the input gradient :math:`\partial L/\partial x = g W` (which the
event-driven path keeps dense: with the arctan surrogate :math:`g` is nonzero everywhere) and
the dense weight gradient :math:`\partial L/\partial W = g^\top x`. For :math:`C = A B`:

.. math::

    C_{ij} = \mathrm{fl}_{32 \to \mathrm{bf16} \to 32}\Big(\sum_k \mathrm{bf16}(A_{ik})\,
             \mathrm{bf16}(B_{kj})\Big)

(oneDNN's bf16 matmul through ``torch.mm`` on bfloat16 tensors: the operands rounded to bf16,
8 significant bits, the sum accumulated in float32 and the result rounded once to bf16, then
widened back to float32). The bias is added in float32; the event-driven forward and weight
gradient (sparse spike inputs) stay float32, as do float64 tensors, other devices (use
``torch.autocast`` on GPUs), calls under ``torch.autocast`` and the ``torch.compile`` custom op.

Why not torch's own knob: ``torch.backends.mkldnn.matmul.fp32_precision = "bf16"`` (which
``torch.set_float32_matmul_precision("medium")`` also sets) asks oneDNN for implicit bf16, but
on a CPU with AVX512-BF16 and without AMX, oneDNN 3.12 (torch 2.13) keeps the float32 kernel
(``brg_matmul:avx512_core``, result within 1e-6 of float32): no bf16 arithmetic happens.

A CPU without bf16 dot-product instructions (AVX512-BF16 or AMX-BF16) would run bf16 products
in emulation, slower than float32 (a [3200, 512] x [512, 512] product on this machine: 8.3 ms
native, 46 ms with oneDNN limited to AVX-512 without BF16, 823 ms on AVX2; float32 19 ms), so
choosing ``"bf16"`` there raises :class:`RuntimeError` naming the setting.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Optional

import torch

__all__ = [
    "PRECISIONS",
    "bf16_supported",
    "get_matmul_precision",
    "set_matmul_precision",
    "matmul_precision",
]

PRECISIONS = ("float32", "bf16")
_current = "float32"
_support: Optional[tuple] = None  # (ok, why), probed once


def bf16_supported() -> tuple:
    """``(ok, reason)``: does this CPU have bf16 dot products (AVX512-BF16 or AMX-BF16)?"""
    global _support
    if _support is None:
        from spikecore import _isa

        feats = _isa.cpu_features()
        if feats is None:
            _support = (False, "the CPU feature probe spikecore._cpu is not built")
        elif not feats:
            _support = (False, "not an x86-64 CPU (the bf16 route needs AVX512-BF16 or AMX-BF16)")
        elif feats.get("avx512_bf16") or feats.get("amx_bf16"):
            _support = (True, "")
        else:
            why = (
                "this CPU has neither AVX512-BF16 nor AMX-BF16, so bf16 products would run in "
                "emulation, slower than float32"
            )
            _support = (False, why)
    return _support


def check(precision, name: str = "precision") -> str:
    """Validate a precision value (``"float32"`` / ``"bf16"``); ``"bf16"`` also needs the CPU."""
    if not isinstance(precision, str) or precision not in PRECISIONS:
        raise ValueError(
            f"{name}: unknown value {precision!r}; valid choices: {', '.join(PRECISIONS)}"
        )
    if precision == "bf16":
        ok, why = bf16_supported()
        if not ok:
            raise RuntimeError(f"{name}='bf16': {why}; keep {name}='float32'")
    return precision


def get_matmul_precision() -> str:
    """The process-wide precision of the dense linear-layer products (default ``"float32"``)."""
    return _current


def set_matmul_precision(precision: str) -> None:
    """Set the process-wide precision of spikecore.nn's dense linear-layer products:
    ``"float32"`` (default) or ``"bf16"`` (CPU float32 tensors; :class:`RuntimeError` on a CPU
    without AVX512-BF16 / AMX-BF16). A layer's own ``precision=`` overrides it."""
    global _current
    _current = check(precision, "matmul_precision")


@contextlib.contextmanager
def matmul_precision(precision: str) -> Iterator[None]:
    """Context manager: :func:`set_matmul_precision` inside the block, the old value after.
    The backward of a product follows the precision its forward ran with."""
    old = _current
    set_matmul_precision(precision)
    try:
        yield
    finally:
        set_matmul_precision(old)


def resolve(precision: Optional[str], name: str = "precision") -> str:
    """A call's precision: its own (checked) or, for None, the process-wide setting."""
    return _current if precision is None else check(precision, name)


def applies(precision: str, *tensors) -> bool:
    """True when ``precision`` is bf16 and the product's tensors are CPU float32 (not under
    autocast, which then governs the dtype)."""
    if precision != "bf16" or torch.is_autocast_enabled("cpu"):
        return False
    return all(t is None or (t.device.type == "cpu" and t.dtype == torch.float32) for t in tensors)


def _bf(t: torch.Tensor) -> torch.Tensor:
    return t if t.dtype == torch.bfloat16 else t.detach().to(torch.bfloat16)


def mm(a: torch.Tensor, b: torch.Tensor, precision: str) -> torch.Tensor:
    """``a @ b`` for 2-D tensors: float32 as given, or bf16 operands with float32 accumulation
    (result widened back to float32) when :func:`applies`."""
    if applies(precision, a, b):
        return torch.mm(_bf(a), _bf(b)).float()
    return a @ b


class _Bf16LinearFn(torch.autograd.Function):
    """Dense ``x2 W^T + b`` with bf16 products; saves x2 in bf16 (half the float32 bytes)."""

    @staticmethod
    def forward(ctx, x2, weight, bias):
        xb = _bf(x2)
        y = torch.mm(xb, _bf(weight).t()).float()
        if bias is not None:
            y.add_(bias.detach())
        ctx.save_for_backward(xb if ctx.needs_input_grad[1] else None, weight)
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        xb, weight = ctx.saved_tensors
        gx = gw = gb = None
        gyb = _bf(gy)
        if ctx.needs_input_grad[0]:
            gx = torch.mm(gyb, _bf(weight)).float()
        if ctx.needs_input_grad[1]:
            gw = torch.mm(gyb.t(), xb).float()
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(0)
        return gx, gw, gb


def linear_bf16(x: torch.Tensor, weight: torch.Tensor, bias: Optional[torch.Tensor]):
    """Dense ``x @ weight.T + bias`` (x [..., in]) with bf16 products, float32 result."""
    k = x.shape[-1]
    y = _Bf16LinearFn.apply(x.reshape(-1, k), weight, bias)
    return y.reshape(*x.shape[:-1], weight.shape[0])
