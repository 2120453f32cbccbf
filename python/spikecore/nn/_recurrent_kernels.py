"""Bridge to the fused recurrent-layer kernels (spikecore._core.train.recurrent_forward /
recurrent_backward) as a torch.autograd.Function. Equations: cpp/include/spikecore/train/
recurrent_kernels.hpp and :func:`spikecore.nn.reference.recurrent`."""

# no ``from __future__ import annotations``: torch.library reads the annotations as types
from typing import Any, List, Optional, Tuple

import torch
from torch import Tensor

from . import _kernels, _ops

_train: Any = _kernels._train


def has() -> bool:
    return _train is not None and hasattr(_train, "recurrent_forward")


def _e(dtype) -> torch.Tensor:
    return torch.empty(0, dtype=dtype)


def _settings(cfg, backward=False):
    kw = _kernels._settings(cfg, backward)
    kw.update(adaptive=cfg["adaptive"], rho=cfg["rho"], beta_a=cfg["beta_a"])
    return kw


def _run_forward(I, w, v0, a0, z0, beta, drive, eps, cfg, save: bool):
    wt = w.detach().t().clone(memory_format=torch.contiguous_format)
    z = torch.empty_like(I)
    vT = torch.empty_like(v0)
    ad = cfg["adaptive"]
    aT = torch.empty_like(v0) if ad else _e(I.dtype)
    h = torch.empty_like(I) if save else _e(I.dtype)
    ap = torch.empty_like(I) if (save and ad) else _e(I.dtype)
    _train.recurrent_forward(
        I,
        wt,
        v0,
        a0 if ad else _e(I.dtype),
        z0,
        beta.detach(),
        drive.detach(),
        _e(I.dtype) if eps is None else eps,
        z,
        h,
        ap,
        vT,
        aT,
        **_settings(cfg),
    )
    return z, h, ap, vT, aT, wt


class _RecurrentFn(torch.autograd.Function):
    @staticmethod
    def forward(ctx, I, w, v0, a0, z0, beta, drive, eps, cfg):
        z, h, ap, vT, aT, wt = _run_forward(I, w, v0, a0, z0, beta, drive, eps, cfg, True)
        keep_eps = eps if (eps is not None and cfg["smooth"]) else None
        ctx.save_for_backward(h, ap, z, v0, z0, wt, beta, drive, keep_eps)
        ctx.cfg = cfg
        if cfg["adaptive"]:
            return z, vT, aT
        return z, vT, aT.new_zeros(())  # placeholder output (no adaptation state)

    @staticmethod
    def backward(ctx, gz, gvT, gaT):
        h, ap, z, v0, z0, wt, beta, drive, eps = ctx.saved_tensors
        gI, gw, gv0, ga0, gz0, gb, gd = _run_backward(
            h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, ctx.cfg
        )
        ad = ctx.cfg["adaptive"]
        return gI, gw, gv0, (ga0 if ad else None), gz0, gb, gd, None, None


def _run_backward(h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, cfg):
    """The kernel's backward: (gI, gW_rec [post, pre], gv0, ga0 (empty for LIF), gz0, gbeta,
    gdrive), shared by the eager Function and the custom op."""
    dt = h.dtype
    gz = torch.zeros_like(h) if gz is None else gz.contiguous()
    gvT = _e(dt) if gvT is None else gvT.contiguous()
    ad = cfg["adaptive"]
    gaT = _e(dt) if (gaT is None or not ad) else gaT.contiguous()
    n = h.shape[2]
    gI = torch.empty_like(h)
    gwt = torch.empty(n, n, dtype=dt)
    gv0, gz0 = torch.empty_like(v0), torch.empty_like(v0)
    ga0 = torch.empty_like(v0) if ad else _e(dt)
    gb, gd = torch.empty(n, dtype=dt), torch.empty(n, dtype=dt)
    _train.recurrent_backward(
        h,
        ap,
        z,
        v0,
        z0,
        wt,
        gz,
        gvT,
        gaT,
        beta.detach(),
        drive.detach(),
        _e(dt) if eps is None else eps,
        gI,
        gwt,
        gv0,
        ga0,
        gz0,
        gb,
        gd,
        **_settings(cfg, backward=True),
    )
    return gI, gwt.t().contiguous(), gv0, ga0, gz0, gb, gd


# ---- torch.compile: the kernel as custom ops (the pattern of spikecore.nn._ops) -------------
_KEYS = _ops.LIF_KEYS + ("adaptive",)


def _cfg_of(c: List[float]) -> dict:
    out = _ops.unpack(c, _KEYS)
    out["adaptive"] = bool(out["adaptive"])
    return out


def _op_fwd(
    I: Tensor,
    w: Tensor,
    v0: Tensor,
    a0: Optional[Tensor],
    z0: Tensor,
    beta: Tensor,
    drive: Tensor,
    eps: Optional[Tensor],
    cfg: List[float],
) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    z, h, ap, vT, aT, wt = _run_forward(I, w, v0, a0, z0, beta, drive, eps, _cfg_of(cfg), True)
    return z, h, ap, vT, aT, wt


def _op_fwd_fake(I, w, v0, a0, z0, beta, drive, eps, cfg):
    ad = _cfg_of(cfg)["adaptive"]
    e = I.new_empty(0)
    return (
        torch.empty_like(I),
        torch.empty_like(I),
        torch.empty_like(I) if ad else e,
        torch.empty_like(v0),
        torch.empty_like(v0) if ad else I.new_empty(0),
        torch.empty_like(w),
    )


def _op_bwd(
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
    return _run_backward(h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, _cfg_of(cfg))


def _op_bwd_fake(h, ap, z, v0, z0, wt, gz, gvT, gaT, beta, drive, eps, cfg):
    n = h.shape[2]
    ad = _cfg_of(cfg)["adaptive"]
    return (
        torch.empty_like(h),
        wt.new_empty(n, n),
        torch.empty_like(v0),
        torch.empty_like(v0) if ad else h.new_empty(0),
        torch.empty_like(v0),
        h.new_empty(n),
        h.new_empty(n),
    )


def _op_setup(ctx, inputs, output):
    I, w, v0, a0, z0, beta, drive, eps, cfg = inputs
    z, h, ap, _, _, wt = output
    keep_eps = eps if (eps is not None and _cfg_of(cfg)["smooth"]) else None
    ctx.save_for_backward(h, ap, z, v0, z0, wt, beta, drive, keep_eps)
    ctx.cfg = cfg
    ctx.adaptive = _cfg_of(cfg)["adaptive"]


def _op_backward(ctx, gz, gh, gap, gvT, gaT, gwt):
    h, ap, z, v0, z0, wt, beta, drive, eps = ctx.saved_tensors
    gz = torch.zeros_like(h) if gz is None else gz
    gI, gw, gv0, ga0, gz0, gb, gd = recurrent_bwd(
        h, ap, z, v0, z0, wt, gz, gvT, gaT if ctx.adaptive else None, beta, drive, eps, ctx.cfg
    )
    return gI, gw, gv0, (ga0 if ctx.adaptive else None), gz0, gb, gd, None, None


recurrent_bwd = _ops.define("recurrent_bwd", _op_bwd, _op_bwd_fake)
recurrent_fwd = _ops.define("recurrent_fwd", _op_fwd, _op_fwd_fake, _op_backward, _op_setup)


def recurrent(I, w, v0, a0, z0, beta, drive, eps, cfg):
    """Run the fused kernel: ``I`` [T, B, n], ``w`` [n, n] (post, pre), state [B, n],
    ``beta`` / ``drive`` [n]. Returns ``(z, v_T, a_T or None)``."""
    I = I.contiguous()
    args = (I, w, v0.contiguous(), a0.contiguous() if a0 is not None else None, z0.contiguous())
    tensors = (*args, beta, drive)
    if _ops.compiling():  # torch.compile: the registered custom op
        cf = _ops.pack(cfg, _KEYS)
        a0c = args[3] if cfg["adaptive"] else None
        z, _, _, vT, aT, _ = recurrent_fwd(args[0], w, args[2], a0c, args[4], beta, drive, eps, cf)
        return z, vT, (aT if cfg["adaptive"] else None)
    if torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in tensors
    ):
        z, vT, aT = _RecurrentFn.apply(*args, beta, drive, eps, cfg)
    else:
        z, _, _, vT, aT, _ = _run_forward(*args, beta, drive, eps, cfg, False)
    return z, vT, (aT if cfg["adaptive"] else None)
