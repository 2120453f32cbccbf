r"""Input corruptions for robustness tests (intensities in [0, 1], or spike tensors).

==================  ====================================================================
function            corruption
==================  ====================================================================
gaussian_noise      :math:`x' = \mathrm{clip}(x + \sigma \xi, 0, 1)`, :math:`\xi \sim N(0, 1)`
salt_and_pepper     each value set to 0 or 1 (equal odds) with probability ``p``
spike_deletion      each spike of a spike tensor removed with probability ``p``
==================  ====================================================================

All take a ``seed``: the same seed gives the same corruption. Inputs may be numpy arrays or
torch tensors; the result has the input's type and dtype.
"""

from __future__ import annotations

import numpy as np

from spikecore.nn import _check

__all__ = ["gaussian_noise", "salt_and_pepper", "spike_deletion", "PERTURBATIONS"]


def _prob(p, name="p"):
    p = _check.number(p, name)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{name}: must lie in [0, 1], got {p:g}")
    return p


def _split(x):
    try:
        import torch

        if isinstance(x, torch.Tensor):
            if x.is_meta:
                raise ValueError("x: is a meta tensor (shape only, no data)")
            a = x.detach().cpu()
            if a.dtype == torch.bfloat16:  # numpy has no bfloat16: perturb in float32
                a = a.float()
            return a.numpy(), (x.dtype, x.device)
    except ImportError:  # pragma: no cover
        pass
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x: expected a numpy array or torch tensor, got {type(x).__name__}")
    return x, None


def _join(arr, meta, dtype):
    arr = arr.astype(dtype, copy=False)
    if meta is None:
        return arr
    import torch

    return torch.from_numpy(np.ascontiguousarray(arr)).to(dtype=meta[0], device=meta[1])


def gaussian_noise(x, sigma: float, seed: int = 0):
    """Add N(0, sigma^2) noise to intensities and clip to [0, 1]."""
    sigma = _check.finite(sigma, "sigma")
    if sigma < 0:
        raise ValueError(f"sigma: must be >= 0, got {sigma:g}")
    a, meta = _split(x)
    rng = np.random.default_rng(seed)
    return _join(np.clip(a + sigma * rng.standard_normal(a.shape), 0.0, 1.0), meta, a.dtype)


def salt_and_pepper(x, p: float, seed: int = 0):
    """Set each value to 0 or 1 (equal odds) with probability ``p``."""
    p = _prob(p)
    a, meta = _split(x)
    rng = np.random.default_rng(seed)
    hit = rng.random(a.shape) < p
    salt = rng.random(a.shape) < 0.5
    return _join(np.where(hit, salt.astype(a.dtype), a), meta, a.dtype)


def spike_deletion(spikes, p: float, seed: int = 0):
    """Remove each spike independently with probability ``p``."""
    p = _prob(p)
    a, meta = _split(spikes)
    rng = np.random.default_rng(seed)
    return _join(np.where(rng.random(a.shape) < p, 0.0, a), meta, a.dtype)


# name -> (function, applies to "intensity" or "spikes")
PERTURBATIONS = {
    "gaussian": (gaussian_noise, "intensity"),
    "salt_and_pepper": (salt_and_pepper, "intensity"),
    "spike_deletion": (spike_deletion, "spikes"),
}
