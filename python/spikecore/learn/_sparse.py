r"""Synapse-sparse product for SparseLinear layers: cost proportional to the number of synapses.

.. math:: y_{rj} = b_j + \sum_{s:\,\mathrm{pre}(s)=i,\ \mathrm{post}(s)=j} x_{ri} w_s

CPU float32/float64 tensors run the C++ kernels of ``spikecore._core.learn`` (one vectorised
axpy or dot over the batch per synapse; gradients for x, w and b); anything else falls back to the dense
reference (scatter the synapses into a dense matrix, ``F.linear``). Thread count:
``torch.get_num_threads()``; results do not depend on it.
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F

try:
    from spikecore._core import learn as _k
except ImportError:  # pragma: no cover - source checkout without a build
    _k = None  # type: ignore[assignment]

__all__ = ["synapse_linear", "row_pointer"]


def row_pointer(pre: torch.Tensor, n_in: int) -> torch.Tensor:
    """CSR row offsets [n_in + 1] (int64) of synapses sorted by ``pre``."""
    rp = torch.zeros(n_in + 1, dtype=torch.int64)
    rp[1:] = torch.bincount(pre.cpu(), minlength=n_in).cumsum(0)
    return rp


def _np(t):
    return t.detach().contiguous().numpy()


class _SynapseLinear(torch.autograd.Function):
    # activations cross feature-major (x^T [n_in, rows]): each synapse is one vector axpy / dot
    @staticmethod
    def forward(ctx, x2, w, bias, row_ptr, post32, n_out):
        xt = x2.detach().t().contiguous()
        yt = torch.empty(n_out, x2.shape[0], dtype=x2.dtype)
        b = bias.detach() if bias is not None else torch.empty(0, dtype=x2.dtype)
        nt = max(1, torch.get_num_threads())
        _k.synapse_linear_forward(
            xt.numpy(), _np(row_ptr), _np(post32), _np(w), n_out, _np(b), yt.numpy(), nt
        )
        ctx.save_for_backward(xt, w, row_ptr, post32)
        ctx.has_bias = bias is not None
        return yt.t()

    @staticmethod
    def backward(ctx, gy):
        xt, w, row_ptr, post32 = ctx.saved_tensors
        gyt = gy.t().contiguous()
        nt = max(1, torch.get_num_threads())
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gxt = torch.empty_like(xt)
            _k.synapse_linear_grad_input(
                gyt.numpy(), _np(row_ptr), _np(post32), _np(w), gxt.numpy(), nt
            )
            gx = gxt.t()
        if ctx.needs_input_grad[1]:
            gw = torch.empty_like(w)
            _k.synapse_linear_grad_weight(
                xt.numpy(), gyt.numpy(), _np(row_ptr), _np(post32), gw.numpy(), nt
            )
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gyt.sum(1)
        return gx, gw, gb, None, None, None


def synapse_linear(
    x: torch.Tensor,
    weight: torch.Tensor,
    pre: torch.Tensor,
    post: torch.Tensor,
    out_features: int,
    bias: Optional[torch.Tensor] = None,
    row_ptr: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """``y = x W^T + b`` for x [..., in_features], W given by synapses sorted by (pre, post).

    ``row_ptr`` may be passed when cached (see :func:`row_pointer`).
    """
    n_in = x.shape[-1]
    usable = (
        _k is not None
        and x.device.type == "cpu"
        and weight.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and weight.dtype == x.dtype
        and (bias is None or bias.dtype == x.dtype)
    )
    if not usable:
        w = torch.zeros(out_features, n_in, dtype=weight.dtype, device=weight.device)
        w = w.index_put((post, pre), weight, accumulate=True)
        return F.linear(x, w.to(x.dtype), None if bias is None else bias.to(x.dtype))
    if row_ptr is None:
        row_ptr = row_pointer(pre, n_in)
    x2 = x.reshape(-1, n_in).contiguous()
    y = _SynapseLinear.apply(x2, weight, bias, row_ptr, post.to(torch.int32), int(out_features))
    return y.reshape(*x.shape[:-1], out_features)
