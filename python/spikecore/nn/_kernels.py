"""Bridge to the fused C++ kernels (spikecore._core.train) as torch.autograd.Functions.

GPU: the neuron ops (lif, alif, leaky_integrator) run the fused Triton kernels of
spikecore.nn.triton on CUDA tensors when triton is importable (the routing lives here:
:func:`fused` and :func:`_triton`); everything else on CUDA falls back to the pure-torch
reference. :func:`usable` keeps meaning "the C++ kernels can run this" for the other callers.

Tensors cross as DLPack arrays (zero copy); outputs are allocated here by torch. The kernels use
``torch.get_num_threads()`` threads (fixed neuron / column blocks, so results do not depend on it).
"""

from __future__ import annotations

import os
from typing import Optional

import torch

from spikecore._tensor_calls import tensor_calls

from . import _precision
from . import triton as _tr

try:  # the extension may be missing in a source checkout without a build
    from spikecore import _core as _ext

    _train = tensor_calls(getattr(_ext, "train", None))
except ImportError:  # pragma: no cover
    _train = None

if _train is not None and os.environ.get("SPIKECORE_THREAD_BACKEND"):
    # where the kernels run their threads: own (default), openmp (torch's OpenMP team), auto
    _ext.train.set_thread_backend(os.environ["SPIKECORE_THREAD_BACKEND"])

_DTYPES = (torch.float32, torch.float64)
_OPS = {
    "lif": "lif_forward",
    "alif": "alif_forward",
    "li": "li_forward",
    "spike_linear": "sparse_rows_matmul",
}
# Above this fraction of nonzero inputs the dense BLAS product is faster than the event one.
DENSE_ABOVE = 0.12


def has(op: str) -> bool:
    return _train is not None and hasattr(_train, _OPS.get(op, op))


def _triton(x: torch.Tensor, sg=None, *tensors):
    """The Triton kernel module when this call is routed to it (CUDA tensors, or CPU tensors
    with SPIKECORE_TRITON=interpret), else None."""
    if not _tr.wants(x, *tensors):
        return None
    k = _tr.kernels()
    return k if k.supports(sg) else None


def fused(x: torch.Tensor, sg, *tensors) -> tuple:
    """(ok, reason): can a fused neuron kernel (C++ on CPU, Triton on CUDA) run this
    lif / alif / leaky_integrator call?"""
    if _triton(x, sg, *tensors) is not None:
        return True, ""
    return usable(x, sg, *tensors)


def usable(x: torch.Tensor, sg, *tensors) -> tuple:
    """(ok, reason): can the C++ kernel run this call?"""
    if not has("lif"):
        return False, "the C++ training kernels are not built"
    for t in (x, *tensors):
        if isinstance(t, torch.Tensor):
            if t.device.type != "cpu":
                return False, f"tensors on {t.device.type} (the kernels are CPU only)"
            if t.dtype not in _DTYPES:
                return False, f"dtype {t.dtype} (float32/float64 only)"
    if sg is not None and getattr(sg, "kind", -1) < 0:
        return False, f"custom surrogate {type(sg).__name__}"
    return True, ""


# Outputs of at least this many bytes come from the core's buffer pool (core/buffer_pool.hpp):
# blocks mapped once and reused from step to step, so a training loop does not fault its large
# outputs in again every iteration. Smaller ones: torch.empty.
POOL_MIN_BYTES = 1 << 18
_POOL_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_pool_empty = getattr(getattr(_ext, "train", None), "pool_empty", None) if _train else None


def alloc(shape, dtype) -> torch.Tensor:
    """An uninitialised CPU tensor for a kernel output: from the buffer pool when large, else
    ``torch.empty``. Results never depend on where an output lives."""
    shape = tuple(int(s) for s in shape)
    n = 1
    for s in shape:
        n *= s
    name = _POOL_DTYPES.get(dtype)
    if _pool_empty is None or name is None or n * (4 if name == "float32" else 8) < POOL_MIN_BYTES:
        return torch.empty(shape, dtype=dtype)
    return torch.from_numpy(_pool_empty(n, name)).view(shape)


def alloc_like(t: torch.Tensor) -> torch.Tensor:
    return alloc(t.shape, t.dtype)


def pool_stats() -> dict:
    """The buffer pool's counters: cached / live / limit bytes, hits, misses."""
    return dict(_ext.train.pool_stats()) if _pool_empty is not None else {}


def buffer_pool(limit_bytes: Optional[int] = None, empty: bool = False) -> dict:
    r"""The training kernels' buffer pool (large kernel outputs are mapped once and reused from
    step to step instead of being faulted in again every iteration; cpp/include/spikecore/
    core/buffer_pool.hpp). ``limit_bytes``: the most bytes kept cached for reuse (default
    1 GiB; 0 turns caching off); ``empty``: unmap every cached block now (live outputs are not
    affected). Returns the counters: ``cached_bytes``, ``live_bytes``, ``limit_bytes``,
    ``hits``, ``misses``."""
    if _pool_empty is None:
        return {}
    if limit_bytes is not None:
        if isinstance(limit_bytes, bool) or not isinstance(limit_bytes, int):
            raise TypeError(f"limit_bytes: expected an int, got {type(limit_bytes).__name__}")
        if limit_bytes < 0:
            raise ValueError(f"limit_bytes: must be >= 0, got {limit_bytes}")
        _ext.train.pool_set_limit(min(limit_bytes, 2**62))
    if empty:
        _ext.train.pool_trim()
    return pool_stats()


def _nt() -> int:
    return max(1, torch.get_num_threads())


def _d(t: torch.Tensor) -> torch.Tensor:
    return t.detach()


def _empty(dtype) -> torch.Tensor:
    return torch.empty(0, dtype=dtype)


def _param(p, x: torch.Tensor, n: int) -> torch.Tensor:
    """Per-neuron parameter as a flat contiguous tensor of length n (autograd reduces the
    gradient of a broadcast tensor back to its shape)."""
    if not isinstance(p, torch.Tensor):
        return torch.full((n,), p, dtype=x.dtype, device=x.device)
    p = p.to(x.dtype)
    if p.dim() == 0 or p.numel() == 1:
        return p.reshape(1).expand(n).contiguous()
    return p.expand(x.shape[1:]).reshape(n).contiguous()


def _drive(beta, v_rest):
    return 0.0 if v_rest == 0.0 else (1.0 - beta) * v_rest


def _params(beta, v_rest, x, n):
    """(beta, drive) as flat tensors, both of length n or both of length 1."""
    return _param(beta, x, n), _param(_drive(beta, v_rest), x, n)


def _reduce(g: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return g if like.numel() == g.numel() else g.sum().reshape(like.shape)


def _lif_fwd(x2, v0, beta, drive, eps, cfg, store):
    """One fused LIF forward: (z, h, vT, bits). ``store``: keep what backward needs (the
    membrane trace h; NoisyLIF's spikes as bits, 1 bit per neuron and step, not the noise)."""
    z = alloc_like(x2)
    h = alloc_like(x2) if store else _empty(x2.dtype)
    vT = torch.empty_like(v0)
    steps, n = x2.shape
    use_bits = store and eps is not None and not cfg["smooth"]
    bits = (
        torch.empty(steps, (n + 7) // 8, dtype=torch.uint8)
        if use_bits
        else torch.empty(0, dtype=torch.uint8)
    )
    _train.lif_forward(
        x2,
        v0,
        _d(beta),
        _d(drive),
        _empty(x2.dtype) if eps is None else eps,
        z,
        h,
        vT,
        bits,
        **_settings(cfg),
    )
    return z, h, vT, bits


def _lif_bwd(h, v0, gz, gvT, beta, drive, eps, bits, cfg):
    """(gx, gv0, gbeta, gdrive) of the fused LIF (h, bits: saved by :func:`_lif_fwd`)."""
    gx = alloc_like(h)
    n = h.shape[1]
    gv0, gb, gd = (torch.empty(n, dtype=h.dtype) for _ in range(3))
    _train.lif_backward(
        h,
        v0,
        gz.contiguous(),
        _empty(h.dtype) if gvT is None else gvT.contiguous(),
        _d(beta),
        _d(drive),
        _empty(h.dtype) if eps is None else eps,
        bits,
        gx,
        gv0,
        gb,
        gd,
        **_settings(cfg, backward=True),
    )
    return gx, gv0, gb, gd


class _LIFFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, v0, beta, drive, eps, cfg):
        z, h, vT, bits = _lif_fwd(x2, v0, beta, drive, eps, cfg, True)
        use_bits = eps is not None and not cfg["smooth"]
        ctx.save_for_backward(h, v0, beta, drive, None if use_bits else eps, bits)
        ctx.cfg = cfg
        return z, vT

    @staticmethod
    def backward(ctx, gz, gvT):
        h, v0, beta, drive, eps, bits = ctx.saved_tensors
        gz = torch.zeros_like(h) if gz is None else gz
        gx, gv0, gb, gd = _lif_bwd(h, v0, gz, gvT, beta, drive, eps, bits, ctx.cfg)
        return gx, gv0, _reduce(gb, beta), _reduce(gd, drive), None, None


def _cfg(v_threshold, v_reset, sg, detach_reset):
    soft = v_reset is None
    return {
        "v_th": float(v_threshold),
        "v_reset": 0.0 if soft else float(v_reset),
        "soft": soft,
        "kind": int(sg.kind),
        "alpha": float(sg.alpha),
        "smooth": bool(sg.smooth),
        "detach": bool(detach_reset),
    }


def _settings(cfg, backward=False):
    """The keyword settings every fused LIF/ALIF kernel call takes, from an op's ``cfg``."""
    kw = {
        "v_th": cfg["v_th"],
        "v_reset": cfg["v_reset"],
        "soft_reset": cfg["soft"],
        "surrogate": cfg["kind"],
        "alpha": cfg["alpha"],
        "smooth": cfg["smooth"],
        "n_threads": _nt(),
    }
    if backward:
        kw["detach_reset"] = cfg["detach"]
    return kw


def lif(x, v, beta, v_threshold, v_reset, v_rest, sg, detach_reset, eps, branch=None):
    r"""``branch=(K, g)`` (Triton route only): x is a dendritic layer's branch input u
    [T, ..., K] and the soma's input is :math:`\sum_k g(u_k)` (g: 0 relu, 1 sigmoid, 2 identity),
    fused into the LIF kernel."""
    shape = x.shape if branch is None else x.shape[:-1]
    steps = shape[0]
    x2 = x.reshape(steps, -1).contiguous()
    n = shape[1:].numel()
    v0 = v.reshape(n).contiguous()
    b, d = _params(beta, v_rest, x if branch is None else x[..., 0], n)
    e = None if eps is None else eps.reshape(steps, n).contiguous()
    cfg = _cfg(v_threshold, v_reset, sg, detach_reset)
    tk = _triton(x2, sg)
    if branch is not None:
        if tk is None:
            raise ValueError("branch: the fused dendritic soma runs on the Triton route only")
        cfg["branch"] = (int(branch[0]), int(branch[1]))
    grad = torch.is_grad_enabled() and any(t.requires_grad for t in (x2, v0, b, d))
    if tk is not None:
        if grad:
            z, vT = tk.LIFFn.apply(x2, v0, b, d, e, cfg)
        else:
            z, vT = tk.lif_inference(x2, v0, b, d, e, cfg)
    elif _ops.compiling():  # torch.compile: the registered custom op
        z, _, vT, _ = _ops.lif_fwd(x2, v0, b, d, e, _ops.pack(cfg), grad)
    elif not grad:
        # inference: no autograd node, and the membrane trace h is not stored
        z, _, vT, _ = _lif_fwd(x2, v0, b, d, e, cfg, False)
    else:
        z, vT = _LIFFn.apply(x2, v0, b, d, e, cfg)
    return z.reshape(shape), vT.reshape(shape[1:])


def _alif_fwd(x2, v0, a0, beta, drive, cfg):
    """One fused ALIF forward: (z, h, a_prev, vT, aT)."""
    z, h, ap = (alloc_like(x2) for _ in range(3))
    vT, aT = torch.empty_like(v0), torch.empty_like(v0)
    _train.alif_forward(
        x2,
        v0,
        a0,
        _d(beta),
        _d(drive),
        z,
        h,
        ap,
        vT,
        aT,
        **_settings(cfg),
        rho=cfg["rho"],
        beta_a=cfg["beta_a"],
    )
    return z, h, ap, vT, aT


def _alif_bwd(h, ap, v0, gz, gvT, gaT, beta, drive, cfg):
    """(gx, gv0, ga0, gbeta, gdrive) of the fused ALIF."""
    gx = alloc_like(h)
    n = h.shape[1]
    gv0, ga0, gb, gd = (torch.empty(n, dtype=h.dtype) for _ in range(4))
    _train.alif_backward(
        h,
        ap,
        v0,
        gz.contiguous(),
        _empty(h.dtype) if gvT is None else gvT.contiguous(),
        _empty(h.dtype) if gaT is None else gaT.contiguous(),
        _d(beta),
        _d(drive),
        gx,
        gv0,
        ga0,
        gb,
        gd,
        **_settings(cfg, backward=True),
        rho=cfg["rho"],
        beta_a=cfg["beta_a"],
    )
    return gx, gv0, ga0, gb, gd


class _ALIFFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, v0, a0, beta, drive, cfg):
        z, h, ap, vT, aT = _alif_fwd(x2, v0, a0, beta, drive, cfg)
        ctx.save_for_backward(h, ap, v0, beta, drive)
        ctx.cfg = cfg
        return z, vT, aT

    @staticmethod
    def backward(ctx, gz, gvT, gaT):
        h, ap, v0, beta, drive = ctx.saved_tensors
        gz = torch.zeros_like(h) if gz is None else gz
        gx, gv0, ga0, gb, gd = _alif_bwd(h, ap, v0, gz, gvT, gaT, beta, drive, ctx.cfg)
        return gx, gv0, ga0, _reduce(gb, beta), _reduce(gd, drive), None


def alif(x, v, a, beta, rho, beta_a, v_threshold, v_reset, v_rest, sg, detach_reset):
    shape = x.shape
    steps = shape[0]
    x2 = x.reshape(steps, -1).contiguous()
    n = x2.shape[1]
    cfg = _cfg(v_threshold, v_reset, sg, detach_reset)
    cfg.update(rho=float(rho), beta_a=float(beta_a))
    b, d = _params(beta, v_rest, x, n)
    tk = _triton(x2, sg)
    v0, a0 = v.reshape(n).contiguous(), a.reshape(n).contiguous()
    if tk is None and _ops.compiling():
        z, _, _, vT, aT = _ops.alif_fwd(x2, v0, a0, b, d, _ops.pack(cfg))
    else:
        z, vT, aT = (_ALIFFn if tk is None else tk.ALIFFn).apply(x2, v0, a0, b, d, cfg)
    return z.reshape(shape), (vT.reshape(shape[1:]), aT.reshape(shape[1:]))


def _li_fwd(x2, v0, beta, drive):
    y = alloc_like(x2)
    _train.li_forward(x2, v0, _d(beta), _d(drive), y, n_threads=_nt())
    return y


def _li_bwd(y, v0, gout, beta, drive):
    gx = alloc_like(y)
    n = y.shape[1]
    gv0, gb, gd = (torch.empty(n, dtype=y.dtype) for _ in range(3))
    _train.li_backward(
        y,
        v0,
        gout.contiguous(),
        _empty(y.dtype),
        _d(beta),
        _d(drive),
        gx,
        gv0,
        gb,
        gd,
        n_threads=_nt(),
    )
    return gx, gv0, gb, gd


class _LIFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, v0, beta, drive):
        out = _li_fwd(x2, v0, beta, drive)
        ctx.save_for_backward(out, v0, beta, drive)
        return out

    @staticmethod
    def backward(ctx, gout):
        out, v0, beta, drive = ctx.saved_tensors
        gx, gv0, gb, gd = _li_bwd(out, v0, gout, beta, drive)
        return gx, gv0, _reduce(gb, beta), _reduce(gd, drive)


def leaky_integrator(x, v, beta, v_rest):
    shape = x.shape
    steps = shape[0]
    x2 = x.reshape(steps, -1).contiguous()
    n = x2.shape[1]
    b, d = _params(beta, v_rest, x, n)
    tk = _triton(x2)
    v0 = v.reshape(n).contiguous()
    if tk is None and _ops.compiling():
        out = _ops.li_fwd(x2, v0, b, d)
    else:
        out = (_LIFn if tk is None else tk.LIFn).apply(x2, v0, b, d)
    out = out.reshape(shape)
    return out, out[-1]


def _spike_linear_fwd(x2, weight, bias, csr):
    """(y, wt): y = x2 W^T + b summed over the active inputs ``csr`` (from :func:`_gather`), and
    the contiguous W^T the product read (the backward's input gradient reuses it)."""
    row_ptr, idx, val = csr
    y = alloc((x2.shape[0], weight.shape[0]), x2.dtype)
    wt = alloc((weight.shape[1], weight.shape[0]), weight.dtype)
    wt.copy_(weight.detach().t())
    _train.sparse_rows_matmul(
        row_ptr,
        idx,
        val,
        wt,
        _empty(x2.dtype) if bias is None else bias.detach(),
        y,
        n_threads=_nt(),
    )
    return y, wt


# oneDNN's float32 matmul (torch's mkldnn linear op): 14 % faster than MKL's sgemm for the
# [3200, 512] x [512, 512] input gradient of the SHD step on this AVX-512 CPU, float32 throughout
# (different summation order: equal to MKL's result to float rounding), the same bits for any
# thread count. Probed on first use; any failure falls back to torch.mm for the process.
_onednn: Optional[bool] = None


def _onednn_linear_ok() -> bool:
    global _onednn
    if _onednn is None:
        try:
            _onednn = bool(
                torch.backends.mkldnn.is_available()
                and hasattr(torch.ops.mkldnn, "_linear_pointwise")
            )
        except (AttributeError, RuntimeError):  # pragma: no cover - torch without the op
            _onednn = False
    return _onednn


def input_grad(gy, weight, wt, precision: str) -> torch.Tensor:
    """dL/dx = gy W of a linear layer (gy [R, out], weight W [out, in]; ``wt``: W^T contiguous or
    None). float32 on CPU: oneDNN's matmul on gy and W^T when available, else torch.mm;
    bf16: :func:`spikecore.nn._precision.mm`."""
    global _onednn
    if (
        precision == "float32"
        and wt is not None
        and gy.dtype == torch.float32
        and wt.dtype == torch.float32
        and gy.device.type == "cpu"
        and not torch.is_autocast_enabled("cpu")
        and _onednn_linear_ok()
    ):
        try:
            return torch.ops.mkldnn._linear_pointwise(gy, wt, None, "none", [None], "")
        except (RuntimeError, TypeError, NotImplementedError):  # pragma: no cover
            _onednn = False
    return _precision.mm(gy, weight, precision)


def _spike_linear_wgrad(csr, gy, k):
    """dL/dW [out, k] from the active inputs ``csr`` and gy [R, out]."""
    return _spike_linear_grads(csr, gy, k, False)[0]


def _spike_linear_grads(csr, gy, k, bias: bool):
    """(dL/dW [out, k], dL/db [out] or None) in one pass over gy [R, out]: the weight gradient
    over the active inputs ``csr``, stored in the weight's own layout, and the bias gradient
    (the sum of gy's rows, in row order)."""
    row_ptr, idx, val = csr
    gw = alloc((gy.shape[1], k), gy.dtype)
    gb = torch.empty(gy.shape[1], dtype=gy.dtype) if bias else _empty(gy.dtype)
    _train.sparse_rows_weight_grad(row_ptr, idx, val, gy, gw, n_threads=_nt(), gb=gb, gw_rows=True)
    return gw, (gb if bias else None)


class _SpikeLinearFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, weight, bias, csr, precision="float32"):
        y, wt = _spike_linear_fwd(x2, weight, bias, csr)
        # saved: the active-input lists (not x), and the weight (and W^T) for the input gradient
        ctx.save_for_backward(weight, wt if ctx.needs_input_grad[0] else None)
        ctx.csr = csr
        ctx.precision = precision  # of the dense input gradient (spikecore.nn._precision)
        ctx.k = x2.shape[1]
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        weight, wt = ctx.saved_tensors
        gy = gy.contiguous()
        gx = gw = gb = None
        want_b = ctx.has_bias and ctx.needs_input_grad[2]
        # the weight gradient first, while gy (just written by the layer above's backward) is
        # still in cache; the bias gradient rides in the same pass over gy
        if ctx.needs_input_grad[1]:
            gw, gb = _spike_linear_grads(ctx.csr, gy, ctx.k, want_b)
        elif want_b:
            gb = gy.sum(0)
        if ctx.needs_input_grad[0]:
            gx = input_grad(gy, weight, wt, ctx.precision)
        return (gx, gw, gb) + (None,) * (len(ctx.needs_input_grad) - 3)  # csr[, precision]


def spike_linear(
    x, weight, bias, force: bool = False, precision: str = "float32"
) -> Optional[torch.Tensor]:
    """Event-driven product, or None when the input is too dense for it to pay off
    (unless ``force``). ``precision``: of the dense input gradient (float32 or bf16)."""
    if _tr.wants(x, weight, bias):  # GPU: cuBLAS product, spikes saved as bits
        from .triton import linear as _tl

        return _tl.spike_linear(x, weight, bias)
    k = x.shape[-1]
    x2 = x.reshape(-1, k)
    if x2.numel() == 0:
        return None
    x2 = x2.contiguous()
    max_nnz = -1 if force else int(DENSE_ABOVE * x2.numel())
    if _ops.compiling():  # the custom op takes the dense product itself when x2 is dense
        y = _ops.spike_linear(x2, weight.contiguous(), bias, max_nnz)
        return y.reshape(*x.shape[:-1], weight.shape[0])
    csr = _gather(x2, max_nnz)
    if csr is None:
        return None
    y = _SpikeLinearFn.apply(x2, weight.contiguous(), bias, csr, precision)
    return y.reshape(*x.shape[:-1], weight.shape[0])


def _gather(x2, max_nnz=-1):
    """Active inputs of x2 [R, K] as CSR tensors, or None if more than max_nnz (>= 0)."""
    r = _train.gather_active(x2.detach(), max_nnz, _nt())
    if r is None:
        return None
    return tuple(torch.from_numpy(a) for a in r)


def _sparse_syn_fwd(x2, values, bias, csr, syn, out_features):
    """SparseLinear forward over the active inputs ``csr`` and the synapse lists ``syn``."""
    syn_ptr, post = syn
    row_ptr, idx, val = csr
    k = x2.shape[1]
    y = torch.empty(x2.shape[0], out_features, dtype=x2.dtype)
    _train.sparse_syn_forward(
        row_ptr,
        idx,
        val,
        syn_ptr,
        post,
        values.detach(),
        _empty(x2.dtype) if bias is None else bias.detach(),
        y,
        k,
        out_features,
        n_threads=_nt(),
    )
    return y


def _sparse_syn_input_grad(syn, values, gy, k):
    """dL/dx [R, k] of the SparseLinear product from the synapse lists ``syn``."""
    syn_ptr, post = syn
    gx = torch.empty(gy.shape[0], k, dtype=gy.dtype)
    _train.sparse_syn_input_grad(syn_ptr, post, values.detach(), gy, gx, k, n_threads=_nt())
    return gx


def _sparse_syn_weight_grad(csr, syn, values, gy, k):
    """dL/dvalues (one per synapse) from the active inputs ``csr``."""
    row_ptr, idx, val = csr
    syn_ptr, post = syn
    gw = torch.empty_like(values)
    _train.sparse_syn_weight_grad(row_ptr, idx, val, syn_ptr, post, gy, gw, k, n_threads=_nt())
    return gw


class _SparseSynFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x2, values, bias, csr, syn, out_features, keep):
        y = _sparse_syn_fwd(x2, values, bias, csr, syn, out_features)
        ctx.save_for_backward(values)
        ctx.csr, ctx.syn, ctx.k, ctx.keep = csr, syn, x2.shape[1], keep
        ctx.has_bias = bias is not None
        return y

    @staticmethod
    def backward(ctx, gy):
        (values,) = ctx.saved_tensors
        gy = gy.contiguous()
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = _sparse_syn_input_grad(ctx.syn, values, gy, ctx.k)
        if ctx.needs_input_grad[1]:
            gw = _sparse_syn_weight_grad(ctx.csr, ctx.syn, values, gy, ctx.k)
        if ctx.keep is not None:  # dense dL/dW for gradient-based regrowth (RigL)
            ctx.keep(_spike_linear_wgrad(ctx.csr, gy, ctx.k))
        if ctx.has_bias and ctx.needs_input_grad[2]:
            gb = gy.sum(0)
        return gx, gw, gb, None, None, None, None


def sparse_syn_linear(x, values, bias, syn_ptr, post32, out_features, keep=None):
    """SparseLinear product on the synapse lists (row order by pre): y = x W_S^T + b."""
    k = x.shape[-1]
    x2 = x.reshape(-1, k).contiguous()
    if _ops.compiling():
        if keep is not None:
            raise ValueError(
                "keep_dense_grad: the dense-gradient hook (RigL) does not run under "
                "torch.compile; compile with keep_dense_grad=False"
            )
        y = _ops.sparse_syn(x2, values, bias, syn_ptr, post32, int(out_features))
        return y.reshape(*x.shape[:-1], out_features)
    csr = _gather(x2)
    y = _SparseSynFn.apply(x2, values, bias, csr, (syn_ptr, post32), out_features, keep)
    return y.reshape(*x.shape[:-1], out_features)


from . import _ops  # noqa: E402  (the custom ops for torch.compile; they use the helpers above)
