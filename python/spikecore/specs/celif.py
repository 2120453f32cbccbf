r"""CE-LIF: LIF with a contextual-embedding threshold (``spikecore.nn.CELIF``; a reconstruction,
see that class). Per step, with current :math:`I_t` (receptor ``"current"``) and context drive
:math:`q_t` (receptor ``"context"``; :math:`q = I` with ``context="shared"``):

.. math::

    h_t &= \beta v_{t-1} + I_t, \quad c_t = \lambda_c c_{t-1} + (1 - \lambda_c) q_t, \quad
    \vartheta_t = (\vartheta_0 + \beta_a a_{t-1}) + \gamma c_t \\
    z_t &= H(h_t - \vartheta_t), \quad v_t = h_t (1 - z_t), \quad
    a_t = \rho a_{t-1} + (1 - \rho) z_t
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field
from typing import ClassVar, Mapping, Optional, Union

import numpy as np

from ._base import EngineCall, NeuronSpec, decay, finite32, nonnegative, param

__all__ = ["CELIFSpec", "CONTEXTS"]

CONTEXTS = ("separate", "shared")


@dataclass(frozen=True, eq=False)
class CELIFSpec(NeuronSpec):
    """CE-LIF neuron (``add_population(n, "celif")``; ``lambda_c``: a number or one per neuron)."""

    model: ClassVar[str] = "celif"
    aliases: ClassVar[Mapping[str, str]] = {"v_th": "v_threshold"}
    dendritic_soma: ClassVar[bool] = False

    beta: float = param(0.5, "1/step", r"membrane decay per step \beta in (0, 1]", r"\beta")
    rho: float = param(0.9, "1/step", r"adaptation decay per step \rho in (0, 1]", r"\rho")
    beta_a: float = param(0.5, "a.u.", "adaptation strength (>= 0; 0 disables it)", r"\beta_a")
    lambda_c: Union[float, np.ndarray] = param(
        0.99, "1/step", "context decay in (0, 1]: a number or one per neuron", r"\lambda_c"
    )
    gamma: float = param(20.0, "a.u.", "context gain (finite)", r"\gamma")
    v_threshold: float = param(1.0, "a.u.", r"base threshold \vartheta_0", r"\vartheta_0")
    context: str = param("separate", "", "'separate' (own weights) or 'shared' (q = I)")
    # nn only: what deployment cannot reproduce (not a parameter; from_torch warns with it)
    note: Optional[str] = field(
        default=None, compare=False, repr=False, metadata={"internal": True}
    )

    def __post_init__(self):
        object.__setattr__(self, "beta", decay(self.beta, "beta"))
        object.__setattr__(self, "rho", decay(self.rho, "rho"))
        object.__setattr__(
            self, "beta_a", nonnegative(self.beta_a, "beta_a", "adaptation strength must be")
        )
        object.__setattr__(self, "gamma", finite32(self.gamma, "gamma"))
        object.__setattr__(self, "v_threshold", finite32(self.v_threshold, "v_threshold"))
        if self.context not in CONTEXTS:
            raise ValueError(f"context: must be 'separate' or 'shared', got {self.context!r}")
        lam = self.lambda_c
        if isinstance(lam, numbers.Real) and not isinstance(lam, bool):
            object.__setattr__(self, "lambda_c", decay(lam, "lambda_c"))
        else:
            a = np.asarray(lam.detach().cpu().numpy() if hasattr(lam, "detach") else lam)
            if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
                raise TypeError(f"lambda_c: expected numbers, got dtype {a.dtype}")
            a = a.astype(np.float32).reshape(-1)
            bad = ~((a > 0) & (a <= 1))
            if np.any(bad):
                raise ValueError(f"lambda_c: decay per step must lie in (0, 1], got {a[bad][0]:g}")
            object.__setattr__(self, "lambda_c", a)

    @property
    def deploy_note(self) -> Optional[str]:
        return self.note

    def engine(self, n: int) -> EngineCall:
        """1 - lambda_c is rounded as spikecore.nn computes it: in double for a number, in
        float32 for an array."""
        lam = self.lambda_c
        if isinstance(lam, float):
            lam, omlam = np.full(n, lam, np.float32), np.full(n, 1.0 - lam, np.float32)
        else:
            if lam.size != n:
                raise ValueError(f"lambda_c: expected a number or {n} values, got {lam.size}")
            omlam = (np.float32(1.0) - lam).astype(np.float32)
        return EngineCall(
            "celif",
            dict(
                beta=self.beta,
                rho=self.rho,
                beta_a=self.beta_a,
                gamma=self.gamma,
                v_th=self.v_threshold,
                lam=lam,
                omlam=omlam,
                shared=self.context == "shared",
            ),
        )
