"""Bridge to the conversion neurons' fused C++ forward kernels (spikecore._core.conversion).

Forward only (the converted networks run in inference). Tensors cross as DLPack arrays; the
outputs are allocated here by torch. ``torch.get_num_threads()`` threads, fixed neuron blocks.
"""

from __future__ import annotations

from typing import Any, Optional

import torch

from spikecore._tensor_calls import tensor_calls

_conv: Any
try:  # the extension may be missing in a source checkout without a build
    from spikecore import _core as _ext

    _conv = tensor_calls(getattr(_ext, "conversion", None))
except ImportError:  # pragma: no cover
    _conv = None


def usable(x: torch.Tensor) -> tuple:
    """(ok, reason): can the C++ kernel run on x?"""
    if _conv is None:
        return False, "the C++ conversion kernels are not built"
    if x.device.type != "cpu":
        return False, f"tensors on {x.device.type} (the kernels are CPU only)"
    if x.dtype not in (torch.float32, torch.float64):
        return False, f"dtype {x.dtype} (float32/float64 only)"
    return True, ""


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.detach().contiguous().reshape(x.shape[0], -1)


def if_forward(
    x: torch.Tensor, theta: torch.Tensor, v0: float, negative_slope: Optional[float]
) -> torch.Tensor:
    xf = _flat(x)
    z = torch.empty_like(xf)
    _conv.if_forward(
        x=xf,
        v_threshold=theta.reshape(-1),
        z=z,
        steps=xf.shape[0],
        v0=v0,
        negative_slope=negative_slope or 0.0,
        n_threads=max(1, torch.get_num_threads()),
    )
    return z.reshape(x.shape)


def stdi_forward(
    x: torch.Tensor,
    theta: torch.Tensor,
    delay: int,
    rounding: bool,
    negative_slope: Optional[float],
) -> torch.Tensor:
    xf = _flat(x)
    z = torch.empty_like(xf)
    _conv.stdi_forward(
        x=xf,
        v_threshold=theta.reshape(-1),
        z=z,
        steps=xf.shape[0],
        delay=delay,
        rounding=rounding,
        negative_slope=negative_slope or 0.0,
        n_threads=max(1, torch.get_num_threads()),
    )
    return z.reshape(x.shape)
