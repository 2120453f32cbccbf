r"""Sparse 2-D convolution whose kernel entries are synapses of a core ``SynapseMatrix``.

:class:`SparseConv2d` is a :class:`~spikecore.nn.SparseLinear` over the flattened kernel: the
synapse (i, j) with :math:`i = (c_\mathrm{in}, k_h, k_w)` (row-major) and :math:`j = c_\mathrm{out}`
is the kernel weight :math:`W[c_\mathrm{out}, c_\mathrm{in}, k_h, k_w]`; missing synapses are
zeros of the kernel. So prune / regrow (C++ core), optimizer-state remapping, state_dict and the
ESL scheduler (:class:`spikecore.learn.ESLScheduler`) work unchanged, and

.. math::

    y[n, c_o, o_h, o_w] = b[c_o] + \sum_{s = (c_i, k_h, k_w) \to c_o} w_s\,
        x[n, c_i, o_h s_h + k_h - p_h, o_w s_w + k_w - p_w]

(zero outside the input), i.e. ``F.conv2d`` with the masked kernel :math:`W_M` (the synapses
scattered into a dense kernel). Two products compute it, chosen by ``product``:

- ``'synapse'``: C++ kernels over the synapses only (``spikecore._core.learn.sparse_conv2d_*``,
  CPU, float32 / float64): cost proportional to the synapse count, not to the kernel size.
  Forward and weight gradient are event-driven when at most 5 % of the input is nonzero (they
  walk the nonzero pixels, e.g. spikes, and for each the synapses of its channel), else they run
  in a batch-inner layout (blocks of 16 images as [C][H][W][16], zero-bordered; runs of 8
  output pixels x 16 images accumulate the synapses of their channel in vector registers); the
  input gradient always uses the batch-inner layout.
  Gradients for x, the synapse weights and the bias; every output is summed in a fixed order,
  so results do not depend on the thread count (``torch.get_num_threads()``). GPU tensors
  or other dtypes fall back to the dense path.
- ``'dense'``: ``F.conv2d`` of the scattered kernel (oneDNN on CPU): dense compute, only the
  structure is sparse.
- ``'auto'`` (default): ``'synapse'`` at density <= ``SYNAPSE_PRODUCT_MAX_DENSITY`` (0.05),
  ``'dense'`` above. ``spikecore bench structure`` (conv cases) put the crossover near 10 % with
  one thread; with two threads (CPU time) the synapse product lost at 10 % (convolutions 49 vs
  30 ms, whole step 119 vs 68 ms) and won only at 5 % for the whole step (64 vs 80 ms; the
  convolutions alone 42 vs 30 ms), so auto stays at 5 %, as ESLLinear does.

While ``keep_dense_grad`` is set (the ESL scheduler sets it before a gradient-based regrowth),
the dense path runs, since it records :math:`\partial L / \partial W_M` at every position.
Inputs [B, C, H, W] or time-first [T, B, C, H, W].

==============  =========  ==============================================================
parameter       default    meaning
==============  =========  ==============================================================
in_channels                input channels
out_channels               output channels
kernel_size                int or (kh, kw)
stride          1          as torch.nn.Conv2d
padding         0          as torch.nn.Conv2d
density         0.1        fraction of the kernel entries that are synapses, (0, 1]
bias            True       learnable bias [out_channels]
seed            0          seed of the initial mask and of random prune / regrow
product         'auto'     'auto' | 'synapse' | 'dense' (see above)
==============  =========  ==============================================================
"""

from __future__ import annotations

from typing import Any, Tuple, Union

import torch
import torch.nn.functional as F

from . import _check
from .linear import SparseLinear

_k: Any  # the kernels' stubs type each argument; the geometry is unpacked from a tuple
try:
    from spikecore._core import learn as _learn

    _k = _learn
except ImportError:  # pragma: no cover - source checkout without a build
    _k = None

__all__ = ["SparseConv2d"]


def _pair(v, name, low: int = 1) -> Tuple[int, int]:
    """An int or a pair of ints in [low, 2**31 - 1] (kernel size, stride, padding)."""
    t = (v, v) if isinstance(v, int) and not isinstance(v, bool) else v
    if not isinstance(t, (tuple, list)):
        raise TypeError(f"{name}: expected an int or a pair of ints, got {type(v).__name__}")
    if len(t) != 2:
        raise ValueError(f"{name}: expected an int or a pair of ints, got {v!r}")
    return tuple(_check.count(a, name, low, 2**31 - 1) for a in t)  # type: ignore[return-value]


def _np(t: torch.Tensor):
    return t.detach().contiguous().numpy()


class _SynapseConv2d(torch.autograd.Function):
    """y = conv2d(x, W_S) + b over the synapses S only (C++ kernels, NCHW, CPU)."""

    @staticmethod
    def forward(ctx, x, w, bias, row_ptr, post32, co, ksize, stride, padding):
        n, _, h, wd = x.shape
        oh = (h + 2 * padding[0] - ksize[0]) // stride[0] + 1
        ow = (wd + 2 * padding[1] - ksize[1]) // stride[1] + 1
        geo = (*ksize, *stride, *padding)
        y = torch.empty(n, co, oh, ow, dtype=x.dtype)
        b = bias.detach() if bias is not None else torch.empty(0, dtype=x.dtype)
        nt = max(1, torch.get_num_threads())
        _k.sparse_conv2d_forward(
            _np(x), _np(row_ptr), _np(post32), _np(w), _np(b), *geo, y.numpy(), nt
        )
        ctx.save_for_backward(x, w, row_ptr, post32)
        ctx.geo = geo
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w, row_ptr, post32 = ctx.saved_tensors
        gy = gy.contiguous()
        nt = max(1, torch.get_num_threads())
        gx = torch.empty_like(x) if ctx.needs_input_grad[0] else None
        gw = torch.empty_like(w) if ctx.needs_input_grad[1] else None
        if gx is not None or gw is not None:
            none = torch.empty(0, dtype=x.dtype)
            _k.sparse_conv2d_backward(
                _np(x),
                gy.numpy(),
                _np(row_ptr),
                _np(post32),
                _np(w),
                *ctx.geo,
                (none if gx is None else gx).numpy(),
                (none if gw is None else gw).numpy(),
                nt,
            )
        gb = None
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum((0, 2, 3))
        return gx, gw, gb, None, None, None, None, None, None


class SparseConv2d(SparseLinear):
    __doc__ = __doc__

    SYNAPSE_PRODUCT_MAX_DENSITY = 0.05

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: Union[int, tuple],
        stride: Union[int, tuple] = 1,
        padding: Union[int, tuple] = 0,
        density: float = 0.1,
        bias: bool = True,
        seed: int = 0,
        dtype=None,
        product: str = "auto",
    ):
        kh, kw = _pair(kernel_size, "kernel_size")
        in_channels = _check.features(in_channels, "in_channels")
        out_channels = _check.features(out_channels, "out_channels")
        super().__init__(
            in_channels * kh * kw,
            out_channels,
            density=density,
            bias=bias,
            seed=seed,
            spike_input=False,
            backend="torch",
            dtype=dtype,
        )
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (kh, kw)
        self.stride = _pair(stride, "stride")
        self.padding = _pair(padding, "padding", 0)
        self.product = _check.choice(product, "product", ("auto", "synapse", "dense"))

    def kernel(self) -> torch.Tensor:
        """The masked kernel [out_channels, in_channels, kh, kw] (differentiable)."""
        return self.dense_weight().view(self.out_channels, self.in_channels, *self.kernel_size)

    def _use_synapse_product(self, x: torch.Tensor) -> bool:
        if self.keep_dense_grad or self.product == "dense" or _k is None:
            return False
        if not (
            x.device.type == "cpu"
            and self.weight.device.type == "cpu"
            and x.dtype in (torch.float32, torch.float64)
        ):
            return False
        if self.product == "synapse":
            return True
        # the synapse count a layer built at the crossover density gets (rounded like __init__)
        limit = round(self.SYNAPSE_PRODUCT_MAX_DENSITY * self.in_features * self.out_features)
        return self.nnz <= limit

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check.float_tensor(x, "x")
        if x.dim() not in (4, 5) or x.shape[-3] != self.in_channels:
            raise ValueError(
                f"x: expected [B, {self.in_channels}, H, W] or "
                f"[T, B, {self.in_channels}, H, W], got {tuple(x.shape)}"
            )
        (kh, kw), (ph, pw) = self.kernel_size, self.padding
        if x.shape[-2] + 2 * ph < kh or x.shape[-1] + 2 * pw < kw:
            raise ValueError(
                f"x: spatial size {tuple(x.shape[-2:])} with padding {self.padding} "
                f"is smaller than the kernel {self.kernel_size}"
            )
        (sh, sw), n = self.stride, x.numel() // max(1, x.shape[-3] * x.shape[-2] * x.shape[-1])
        out_hw = ((x.shape[-2] + 2 * ph - kh) // sh + 1) * ((x.shape[-1] + 2 * pw - kw) // sw + 1)
        _check.alloc(n * self.out_channels * out_hw, "padding", x.element_size(), "the output")
        b = None if self.bias is None else self.bias.to(x.dtype)
        lead = x.shape[:-3]
        x4 = x.reshape(-1, *x.shape[-3:])
        if self._use_synapse_product(x):
            row_ptr, post32 = self._syn_lists()
            w = self.weight if self.weight.dtype == x.dtype else self.weight.to(x.dtype)
            y = _SynapseConv2d.apply(
                x4.contiguous(),
                w,
                b,
                row_ptr,
                post32,
                self.out_channels,
                self.kernel_size,
                self.stride,
                self.padding,
            )
        else:
            w = self.kernel()
            if self.keep_dense_grad and w.requires_grad:

                def _keep(g):
                    self._dense_grad = g.detach().reshape(self.out_features, -1).clone()

                w.register_hook(_keep)
            y = F.conv2d(x4, w.to(x.dtype), b, self.stride, self.padding)
        return y.reshape(*lead, *y.shape[1:])

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, density={self.density:.4g}, "
            f"nnz={self.nnz}, product={self.product!r}"
        )
