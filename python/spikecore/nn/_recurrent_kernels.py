"""Bridge to the fused recurrent-layer kernels (spikecore._core.train.recurrent_forward /
recurrent_backward) as a torch.autograd.Function. Equations: cpp/include/spikecore/train/
recurrent_kernels.hpp and :func:`spikecore.nn.reference.recurrent`."""

from __future__ import annotations

from typing import Any

import torch

from . import _kernels

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
    wt = w.detach().t().contiguous()
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
        cfg = ctx.cfg
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
        return gI, gwt.t(), gv0, (ga0 if ad else None), gz0, gb, gd, None, None


def recurrent(I, w, v0, a0, z0, beta, drive, eps, cfg):
    """Run the fused kernel: ``I`` [T, B, n], ``w`` [n, n] (post, pre), state [B, n],
    ``beta`` / ``drive`` [n]. Returns ``(z, v_T, a_T or None)``."""
    I = I.contiguous()
    args = (I, w, v0.contiguous(), a0.contiguous() if a0 is not None else None, z0.contiguous())
    tensors = (*args, beta, drive)
    if torch.is_grad_enabled() and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in tensors
    ):
        z, vT, aT = _RecurrentFn.apply(*args, beta, drive, eps, cfg)
    else:
        z, _, _, vT, aT, _ = _run_forward(*args, beta, drive, eps, cfg, False)
    return z, vT, (aT if cfg["adaptive"] else None)
