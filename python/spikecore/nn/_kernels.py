"""Bridge to the fused C++ kernels (spikecore._core.train); torch autograd.Functions live here.

Until a kernel exists for an op, ``has(name)`` is False and spikecore.nn uses the reference.
"""
from __future__ import annotations

from typing import Optional

import torch

try:  # the extension may be missing in a source checkout without a build
    from spikecore import _core as _ext
    _train = getattr(_ext, "train", None)
except ImportError:  # pragma: no cover
    _train = None

_DTYPES = (torch.float32, torch.float64)


def has(op: str) -> bool:
    return _train is not None and hasattr(_train, f"{op}_forward")


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


def lif(*args):  # replaced when the kernels are built
    raise NotImplementedError


def alif(*args):
    raise NotImplementedError


def leaky_integrator(*args):
    raise NotImplementedError


def spike_linear(x, weight, bias) -> Optional[torch.Tensor]:
    return None
