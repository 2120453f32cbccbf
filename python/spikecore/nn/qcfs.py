r"""Quantisation-clip-floor-shift activation for timestep-compression training (QCFS, Bu et al. 2022).

.. math::

    a = \lambda\, \mathrm{clip}\!\left(\frac{\lfloor z L / \lambda + \tfrac12 \rfloor}{L}, 0, 1\right)

with a learnable clip :math:`\lambda` and a straight-through floor (its gradient is taken as 1), so
:math:`\lambda` and the weights train with ordinary backprop. ``negative_slope`` (LeakyReLU):
the activation :math:`y = \mathrm{leaky}(z)` is quantised symmetrically,
:math:`a = \mathrm{sgn}(y)\,\lambda\,\mathrm{clip}(\lfloor |y| L/\lambda + \frac12\rfloor / L, 0, 1)`.

``L`` for a target number of steps :math:`T` (:func:`levels_for`): :math:`L = 2^T - 1` for STDI
coding (T bits carry :math:`2^T` levels), :math:`L = T` for rate coding (QCFS).

>>> import torch
>>> q = QCFS(levels=3, lam=1.0)
>>> q(torch.tensor([-0.2, 0.1, 0.2, 0.5, 0.9, 2.0])).tolist()
[0.0, 0.0, 0.3333333432674408, 0.6666666865348816, 1.0, 1.0]
"""

from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from . import _check

__all__ = ["QCFS", "levels_for"]


def levels_for(T: int, coding: str = "stdi") -> int:
    """Quantisation levels L that ``T`` steps carry: 2^T - 1 (STDI) or T (rate)."""
    T = _check.count(T, "T", 1)
    coding = _check.choice(coding, "coding", ("stdi", "rate"))
    if T > (31 if coding == "stdi" else 2**31 - 1):  # QCFS takes at most 2**31 - 1 levels
        raise ValueError(f"T: {T} steps carry more levels than QCFS takes (2**31 - 1)")
    return 2**T - 1 if coding == "stdi" else T


class QCFS(nn.Module):
    __doc__ = __doc__

    def __init__(
        self,
        levels: int = 15,
        lam: float = 4.0,
        learnable: bool = True,
        negative_slope: Optional[float] = None,
    ):
        super().__init__()
        # L multiplies float32 activations: 2^31 levels are 31 bits
        levels = _check.count(levels, "levels", 1, 2**31 - 1)
        lam = _check.finite32(lam, "lam")
        if not lam > 0:
            raise ValueError(f"lam: the clip lambda must be > 0, got {lam:g}")
        if negative_slope is not None:
            negative_slope = _check.finite32(negative_slope, "negative_slope")
            if not negative_slope > 0:
                raise ValueError(f"negative_slope: must be > 0, got {negative_slope:g}")
        self.levels = levels
        self.negative_slope = negative_slope
        t = torch.tensor(float(lam))
        if learnable:
            self.lam = nn.Parameter(t)
        else:
            self.register_buffer("lam", t)

    def clip(self) -> torch.Tensor:
        """The effective clip :math:`\\lambda` (kept >= 1e-3)."""
        return self.lam.abs().clamp_min(1e-3)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        _check.float_tensor(z, "z")
        lam, L = self.clip(), self.levels
        if self.negative_slope is None:
            sign, m = None, z
        else:
            y = F.leaky_relu(z, self.negative_slope)
            sign, m = torch.sign(y).detach(), y.abs()
        # inputs beyond the clip saturate (zero gradient) either way; bounding them first keeps
        # m * L finite for huge inputs (inf - inf in the straight-through floor would be NaN)
        m = torch.minimum(m, 2.0 * lam)
        u = m * L / lam + 0.5
        q = u + (torch.floor(u) - u).detach()  # straight-through floor
        a = lam * torch.clamp(q / L, 0.0, 1.0)
        return a if sign is None else sign * a

    def extra_repr(self) -> str:
        return (
            f"levels={self.levels}, lam={float(self.clip()):.4g}, "
            f"negative_slope={self.negative_slope}"
        )
