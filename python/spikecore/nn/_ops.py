"""The fused C++ kernels as torch.library custom ops, so ``torch.compile(model, fullgraph=True)``
traces spikecore.nn layers on CPU.

Eager calls keep the ``torch.autograd.Function`` bridges of :mod:`spikecore.nn._kernels` (no
dispatcher overhead); while dynamo traces (:func:`compiling`), ``_kernels`` routes each call
here instead. Every op is registered with :func:`define`: the implementation (the same kernel
call the eager bridge makes), a fake (meta) implementation that gives only the output shapes
and dtypes, and, for differentiable ops, the backward (itself written with custom ops, so
AOTAutograd traces the backward graph too). Forward and backward compute the same numbers as
the eager path: the compiled graph only calls the kernels from compiled code.

Adding a kernel (e.g. a recurrent layer)::

    def _impl(x2: Tensor, w: Tensor, cfg: List[float]) -> Tuple[Tensor, Tensor]: ...
    def _fake(x2, w, cfg): return torch.empty_like(x2), x2.new_empty(0)
    my_fwd = define("my_fwd", _impl, _fake, backward=_bwd, setup_context=_setup)

Type annotations are required on ``_impl`` (they give the op's schema): Tensor,
Optional[Tensor], int, float, bool, List[float]. Scalar settings travel as one ``List[float]``
(:func:`pack` / :func:`unpack` for the LIF-family ``cfg`` dicts). Outputs must be new tensors
(never an input or a view of one); return ``x.new_empty(0)`` for an output a setting switches off.
"""

# no ``from __future__ import annotations``: torch.library reads the annotations as types

from typing import Callable, List, Optional, Tuple

import torch
from torch import Tensor

from . import _kernels as K

__all__ = ["compiling", "define", "pack", "unpack", "LIF_KEYS", "CELIF_KEYS"]

NAMESPACE = "spikecore"


def compiling() -> bool:
    """True while torch.compile (dynamo) traces: route to the custom ops."""
    return torch.compiler.is_compiling()


def define(
    name: str,
    impl: Callable,
    fake: Callable,
    backward: Optional[Callable] = None,
    setup_context: Optional[Callable] = None,
):
    """Register ``impl`` as the CPU custom op ``spikecore::name`` with its fake implementation
    and (optionally) its autograd formula; returns the op (call it like ``impl``)."""
    op = torch.library.custom_op(f"{NAMESPACE}::{name}", impl, mutates_args=(), device_types="cpu")
    op.register_fake(fake)
    if backward is not None:
        op.register_autograd(backward, setup_context=setup_context)
    return op


LIF_KEYS = ("v_th", "v_reset", "soft", "kind", "alpha", "smooth", "detach", "rho", "beta_a")
CELIF_KEYS = (
    "rho", "omr", "beta_a", "gamma", "v_th", "kind", "alpha", "smooth", "detach", "cols"
)  # fmt: skip
RECURRENT_KEYS = LIF_KEYS + ("adaptive",)
_BOOL = ("soft", "smooth", "detach", "adaptive")
_INT = ("kind", "cols")


def pack(cfg: dict, keys: Tuple[str, ...] = LIF_KEYS) -> List[float]:
    """A kernel's ``cfg`` dict (``_kernels._cfg``; CE-LIF's with ``CELIF_KEYS``) as the float
    list the ops take (missing keys: 0)."""
    return [float(cfg.get(k, 0.0)) for k in keys]


def unpack(c: List[float], keys: Tuple[str, ...] = LIF_KEYS) -> dict:
    out: dict = dict(zip(keys, c))
    for k in out:
        if k in _BOOL:
            out[k] = bool(out[k])
        elif k in _INT:
            out[k] = int(out[k])
    return out


def _u8(x: Tensor, *shape) -> Tensor:
    return x.new_empty(shape, dtype=torch.uint8)


# -- LIF (LIF, ParametricLIF, NoisyLIF) ------------------------------------------------------
def _lif_fwd(
    x2: Tensor,
    v0: Tensor,
    beta: Tensor,
    drive: Tensor,
    eps: Optional[Tensor],
    cfg: List[float],
    store: bool,
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    return K._lif_fwd(x2, v0, beta, drive, eps, unpack(cfg), store)


def _lif_fwd_fake(x2, v0, beta, drive, eps, cfg, store):
    steps, n = x2.shape
    bits = store and eps is not None and not unpack(cfg)["smooth"]
    return (
        torch.empty_like(x2),
        torch.empty_like(x2) if store else x2.new_empty(0),
        torch.empty_like(v0),
        _u8(x2, steps, (n + 7) // 8) if bits else _u8(x2, 0),
    )


def _lif_bwd(
    h: Tensor,
    v0: Tensor,
    gz: Tensor,
    gvT: Optional[Tensor],
    beta: Tensor,
    drive: Tensor,
    eps: Optional[Tensor],
    bits: Tensor,
    cfg: List[float],
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    return K._lif_bwd(h, v0, gz, gvT, beta, drive, eps, bits, unpack(cfg))


def _grads_fake(h, n_state):
    n = h.shape[1]
    return (torch.empty_like(h), *(h.new_empty(n) for _ in range(n_state + 2)))


lif_bwd = define(
    "lif_bwd", _lif_bwd, lambda h, v0, gz, gvT, beta, drive, eps, bits, cfg: _grads_fake(h, 1)
)


def _lif_setup(ctx, inputs, output):
    x2, v0, beta, drive, eps, cfg, store = inputs
    _, h, _, bits = output
    smooth = unpack(cfg)["smooth"]
    ctx.save_for_backward(h, v0, beta, drive, eps if smooth else None, bits)
    ctx.cfg = cfg


def _lif_backward(ctx, gz, gh, gvT, gbits):
    h, v0, beta, drive, eps, bits = ctx.saved_tensors
    gz = torch.zeros_like(h) if gz is None else gz
    gx, gv0, gb, gd = lif_bwd(h, v0, gz, gvT, beta, drive, eps, bits, ctx.cfg)
    return gx, gv0, K._reduce(gb, beta), K._reduce(gd, drive), None, None, None


lif_fwd = define("lif_fwd", _lif_fwd, _lif_fwd_fake, _lif_backward, _lif_setup)


# -- ALIF (AdaptiveLIF) ----------------------------------------------------------------------
def _alif_fwd(
    x2: Tensor, v0: Tensor, a0: Tensor, beta: Tensor, drive: Tensor, cfg: List[float]
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    return K._alif_fwd(x2, v0, a0, beta, drive, unpack(cfg))


def _alif_fwd_fake(x2, v0, a0, beta, drive, cfg):
    return (*(torch.empty_like(x2) for _ in range(3)), torch.empty_like(v0), torch.empty_like(v0))


def _alif_bwd(
    h: Tensor,
    ap: Tensor,
    v0: Tensor,
    gz: Tensor,
    gvT: Optional[Tensor],
    gaT: Optional[Tensor],
    beta: Tensor,
    drive: Tensor,
    cfg: List[float],
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    return K._alif_bwd(h, ap, v0, gz, gvT, gaT, beta, drive, unpack(cfg))


alif_bwd = define(
    "alif_bwd",
    _alif_bwd,
    lambda h, ap, v0, gz, gvT, gaT, beta, drive, cfg: _grads_fake(h, 2),
)


def _alif_setup(ctx, inputs, output):
    x2, v0, a0, beta, drive, cfg = inputs
    _, h, ap, _, _ = output
    ctx.save_for_backward(h, ap, v0, beta, drive)
    ctx.cfg = cfg


def _alif_backward(ctx, gz, gh, gap, gvT, gaT):
    h, ap, v0, beta, drive = ctx.saved_tensors
    gz = torch.zeros_like(h) if gz is None else gz
    gx, gv0, ga0, gb, gd = alif_bwd(h, ap, v0, gz, gvT, gaT, beta, drive, ctx.cfg)
    return gx, gv0, ga0, K._reduce(gb, beta), K._reduce(gd, drive), None


alif_fwd = define("alif_fwd", _alif_fwd, _alif_fwd_fake, _alif_backward, _alif_setup)


# -- leaky integrator ------------------------------------------------------------------------
def _li_fwd(x2: Tensor, v0: Tensor, beta: Tensor, drive: Tensor) -> Tensor:
    return K._li_fwd(x2, v0, beta, drive)


def _li_bwd(
    out: Tensor, v0: Tensor, gout: Tensor, beta: Tensor, drive: Tensor
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    return K._li_bwd(out, v0, gout, beta, drive)


li_bwd = define("li_bwd", _li_bwd, lambda out, v0, gout, beta, drive: _grads_fake(out, 1))


def _li_setup(ctx, inputs, output):
    x2, v0, beta, drive = inputs
    ctx.save_for_backward(output, v0, beta, drive)


def _li_backward(ctx, gout):
    out, v0, beta, drive = ctx.saved_tensors
    gx, gv0, gb, gd = li_bwd(out, v0, gout, beta, drive)
    return gx, gv0, K._reduce(gb, beta), K._reduce(gd, drive)


li_fwd = define(
    "li_fwd", _li_fwd, lambda x2, v0, beta, drive: torch.empty_like(x2), _li_backward, _li_setup
)


# -- spike-sparse Linear ---------------------------------------------------------------------
def _spike_linear(x2: Tensor, weight: Tensor, bias: Optional[Tensor], max_nnz: int) -> Tensor:
    """The event-driven product when x2 has at most ``max_nnz`` nonzeros (-1: always), else
    the dense ``F.linear`` - the choice the eager ``functional.linear`` makes."""
    csr = K._gather(x2, max_nnz)
    if csr is None:
        return torch.nn.functional.linear(x2, weight, bias)
    return K._spike_linear_fwd(x2, weight, bias, csr)[0]


def _spike_linear_wgrad_t(x2: Tensor, gy: Tensor, max_nnz: int) -> Tensor:
    """(dL/dW)^T [k, out], contiguous (the caller takes the transpose view). (The op keeps its
    name and layout: torch.compile's on-disk caches may hold graphs that call it.)"""
    csr = K._gather(x2, max_nnz)
    if csr is None:
        return x2.t().mm(gy)
    return K._spike_linear_wgrad(csr, gy, x2.shape[1]).t().contiguous()


spike_linear_wgrad_t = define(
    "spike_linear_wgrad_t",
    _spike_linear_wgrad_t,
    lambda x2, gy, max_nnz: gy.new_empty(x2.shape[1], gy.shape[1]),
)


def _spike_linear_setup(ctx, inputs, output):
    x2, weight, bias, max_nnz = inputs
    ctx.save_for_backward(x2, weight)
    ctx.max_nnz, ctx.has_bias = max_nnz, bias is not None


def _spike_linear_backward(ctx, gy):
    x2, weight = ctx.saved_tensors
    gy = gy.contiguous()
    gx = gy.mm(weight) if ctx.needs_input_grad[0] else None
    gw = spike_linear_wgrad_t(x2, gy, ctx.max_nnz).t() if ctx.needs_input_grad[1] else None
    gb = gy.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
    return gx, gw, gb, None


spike_linear = define(
    "spike_linear",
    _spike_linear,
    lambda x2, weight, bias, max_nnz: x2.new_empty(x2.shape[0], weight.shape[0]),
    _spike_linear_backward,
    _spike_linear_setup,
)


# -- SparseLinear (synapse lists) ------------------------------------------------------------
def _sparse_syn(
    x2: Tensor, values: Tensor, bias: Optional[Tensor], syn_ptr: Tensor, post: Tensor, n_out: int
) -> Tensor:
    return K._sparse_syn_fwd(x2, values, bias, K._gather(x2), (syn_ptr, post), n_out)


def _sparse_syn_input_grad(
    syn_ptr: Tensor, post: Tensor, values: Tensor, gy: Tensor, k: int
) -> Tensor:
    return K._sparse_syn_input_grad((syn_ptr, post), values, gy, k)


def _sparse_syn_weight_grad(
    x2: Tensor, syn_ptr: Tensor, post: Tensor, values: Tensor, gy: Tensor
) -> Tensor:
    return K._sparse_syn_weight_grad(K._gather(x2), (syn_ptr, post), values, gy, x2.shape[1])


sparse_syn_input_grad = define(
    "sparse_syn_input_grad",
    _sparse_syn_input_grad,
    lambda syn_ptr, post, values, gy, k: gy.new_empty(gy.shape[0], k),
)
sparse_syn_weight_grad = define(
    "sparse_syn_weight_grad",
    _sparse_syn_weight_grad,
    lambda x2, syn_ptr, post, values, gy: torch.empty_like(values),
)


def _sparse_syn_setup(ctx, inputs, output):
    x2, values, bias, syn_ptr, post, n_out = inputs
    ctx.save_for_backward(x2, values, syn_ptr, post)
    ctx.has_bias = bias is not None


def _sparse_syn_backward(ctx, gy):
    x2, values, syn_ptr, post = ctx.saved_tensors
    gy = gy.contiguous()
    gx = gw = gb = None
    if ctx.needs_input_grad[0]:
        gx = sparse_syn_input_grad(syn_ptr, post, values, gy, x2.shape[1])
    if ctx.needs_input_grad[1]:
        gw = sparse_syn_weight_grad(x2, syn_ptr, post, values, gy)
    if ctx.has_bias and ctx.needs_input_grad[2]:
        gb = gy.sum(0)
    return gx, gw, gb, None, None, None


sparse_syn = define(
    "sparse_syn",
    _sparse_syn,
    lambda x2, values, bias, syn_ptr, post, n_out: x2.new_empty(x2.shape[0], n_out),
    _sparse_syn_backward,
    _sparse_syn_setup,
)


# -- CE-LIF (spikecore.nn.celif) -------------------------------------------------------------
def _celif_fwd(
    I: Tensor,
    q: Optional[Tensor],
    v0: Tensor,
    a0: Tensor,
    c0: Tensor,
    beta: Tensor,
    lam: Tensor,
    omlam: Tensor,
    bias: Optional[Tensor],
    eps: Optional[Tensor],
    cfg: List[float],
) -> Tuple[Tensor, Tensor, Tensor, Tensor]:
    from .celif import _CELIFFn

    z = I.new_empty(I.shape[0], v0.shape[0])
    vT, aT, cT = (torch.empty_like(v0) for _ in range(3))
    c = unpack(cfg, CELIF_KEYS)
    _CELIFFn.run_forward(I, q, v0, a0, c0, beta, lam, omlam, bias, eps, c, z, vT, aT, cT)
    return z, vT, aT, cT


def _celif_fwd_fake(I, q, v0, a0, c0, beta, lam, omlam, bias, eps, cfg):
    return (I.new_empty(I.shape[0], v0.shape[0]), *(torch.empty_like(v0) for _ in range(3)))


def _celif_bwd(
    I: Tensor,
    q: Optional[Tensor],
    v0: Tensor,
    a0: Tensor,
    c0: Tensor,
    gz: Tensor,
    gvT: Optional[Tensor],
    gaT: Optional[Tensor],
    gcT: Optional[Tensor],
    beta: Tensor,
    lam: Tensor,
    omlam: Tensor,
    bias: Optional[Tensor],
    eps: Optional[Tensor],
    cfg: List[float],
    need_b: bool,
    need_l: bool,
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    from .celif import _celif_bwd as bwd

    c = unpack(cfg, CELIF_KEYS)
    args = (I, q, v0, a0, c0, gz, gvT, gaT, gcT, beta, lam, omlam, bias, eps, c)
    return bwd(*args, need_b, need_l)


def _celif_bwd_fake(I, q, v0, a0, c0, gz, gvT, gaT, gcT, beta, lam, omlam, bias, eps, cfg,
                    need_b, need_l):  # fmt: skip
    n = v0.shape[0]
    return (
        torch.empty_like(I),
        I.new_empty(0) if q is None else torch.empty_like(q),
        *(I.new_empty(n) for _ in range(3)),
        I.new_empty(n if need_b else 0),
        *(I.new_empty(n if need_l else 0) for _ in range(2)),
        I.new_empty(0 if bias is None else n),
    )


celif_bwd = define("celif_bwd", _celif_bwd, _celif_bwd_fake)


def _celif_setup(ctx, inputs, output):
    ctx.save_for_backward(*inputs[:10])
    ctx.cfg = inputs[10]


def _celif_backward(ctx, gz, gvT, gaT, gcT):
    I, q, v0, a0, c0, beta, lam, omlam, bias, eps = ctx.saved_tensors
    need = ctx.needs_input_grad
    if gz is None:
        gz = I.new_zeros(I.shape[0], v0.shape[0])
    gI, gq, gv0, ga0, gc0, gb, gl, gol, gbias = celif_bwd(
        I, q, v0, a0, c0, gz, gvT, gaT, gcT, beta, lam, omlam, bias, eps, ctx.cfg,
        need[5], any(need[5:8]),
    )  # fmt: skip
    return (
        gI,
        None if q is None else gq,
        gv0,
        ga0,
        gc0,
        K._reduce(gb, beta) if need[5] else None,
        K._reduce(gl, lam) if need[6] else None,
        K._reduce(gol, omlam) if need[7] else None,
        None if bias is None else gbias.view(-1, bias.shape[0]).sum(0),
        None,
        None,
    )


celif_fwd = define("celif_fwd", _celif_fwd, _celif_fwd_fake, _celif_backward, _celif_setup)


# -- recurrent layer (spikecore.nn.Recurrent) ------------------------------------------------
def _recurrent_fwd(
    I: Tensor,
    w: Tensor,
    v0: Tensor,
    a0: Optional[Tensor],
    z0: Tensor,
    beta: Tensor,
    drive: Tensor,
    eps: Optional[Tensor],
    cfg: List[float],
    save: bool,
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    from ._recurrent_kernels import _run_forward

    c = unpack(cfg, RECURRENT_KEYS)
    z, h, ap, vT, aT, wt = _run_forward(I, w, v0, a0, z0, beta, drive, eps, c, save)
    if wt.data_ptr() == w.data_ptr():  # n = 1: W^T is W itself, and outputs may not alias
        wt = wt.clone()
    return z, h, ap, vT, aT, wt


def _recurrent_fwd_fake(I, w, v0, a0, z0, beta, drive, eps, cfg, save):
    ad = unpack(cfg, RECURRENT_KEYS)["adaptive"]
    n = I.shape[2]
    return (
        torch.empty_like(I),
        torch.empty_like(I) if save else I.new_empty(0),
        torch.empty_like(I) if (save and ad) else I.new_empty(0),
        torch.empty_like(v0),
        torch.empty_like(v0) if ad else I.new_empty(0),
        I.new_empty(n, n),
    )


def _recurrent_bwd(
    h: Tensor,
    ap: Tensor,
    z: Tensor,
    v0: Tensor,
    z0: Tensor,
    wt: Tensor,
    gz: Tensor,
    gvT: Optional[Tensor],
    gaT: Optional[Tensor],
    beta: Tensor,
    drive: Tensor,
    eps: Optional[Tensor],
    cfg: List[float],
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    from ._recurrent_kernels import _run_backward

    c = unpack(cfg, RECURRENT_KEYS)
    return _run_backward(h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, c)


def _recurrent_bwd_fake(h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, cfg):
    n = h.shape[2]
    ad = unpack(cfg, RECURRENT_KEYS)["adaptive"]
    return (
        torch.empty_like(h),
        h.new_empty(n, n),
        torch.empty_like(v0),
        torch.empty_like(v0) if ad else h.new_empty(0),
        torch.empty_like(v0),
        h.new_empty(n),
        h.new_empty(n),
    )


recurrent_bwd = define("recurrent_bwd", _recurrent_bwd, _recurrent_bwd_fake)


def _recurrent_setup(ctx, inputs, output):
    I, w, v0, a0, z0, beta, drive, eps, cfg, save = inputs
    z, h, ap, _, _, wt = output
    keep_eps = eps if (eps is not None and unpack(cfg, RECURRENT_KEYS)["smooth"]) else None
    ctx.save_for_backward(h, ap, z, v0, z0, wt, beta, drive, keep_eps)
    ctx.cfg = cfg


def _recurrent_backward(ctx, gz, gh, gap, gvT, gaT, gwt_out):
    h, ap, z, v0, z0, wt, beta, drive, eps = ctx.saved_tensors
    ad = unpack(ctx.cfg, RECURRENT_KEYS)["adaptive"]
    gz = torch.zeros_like(h) if gz is None else gz
    gI, gwt, gv0, ga0, gz0, gb, gd = recurrent_bwd(
        h, ap, z, v0, z0, wt, gz, gvT, gaT if ad else None, beta, drive, eps, ctx.cfg
    )
    return gI, gwt.t(), gv0, (ga0 if ad else None), gz0, gb, gd, None, None, None


recurrent_fwd = define(
    "recurrent_fwd", _recurrent_fwd, _recurrent_fwd_fake, _recurrent_backward, _recurrent_setup
)
