r"""Dendritic (multi-compartment) neurons: ``branches`` compartments per neuron feed its soma.

Neuron :math:`j` has :math:`K` branch compartments :math:`jK + k`, the targets of its synapses;
per step

.. math::

    u_{jk} \leftarrow \delta\, u_{jk} + s_{jk}, \qquad y_j = \sum_k g(u_{jk} + b_{jk})

with :math:`s_{jk}` the summed input of the step, :math:`g` = ``branch_fn``, :math:`\delta` =
``branch_decay`` (0: the instantaneous branches of ``spikecore.nn.DendriticLinear``) and
:math:`b` = ``branch_bias``; :math:`y_j` is the soma's input of the step. The soma is any LIF /
ALIF spec (continuous or discrete, delta synapses).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple

import numpy as np

from ._base import MAX_VALUE, EngineCall, NeuronSpec, count, finite, param

__all__ = ["Branches", "DendriticSpec", "BRANCH_FNS", "BRANCH_KEYS"]

#: the branch nonlinearities g of a dendritic neuron (``branch_fn``)
BRANCH_FNS = ("relu", "sigmoid", "identity")
#: the parameters that make any LIF/ALIF model dendritic (``add_population(..., branches=K)``)
BRANCH_KEYS = ("branches", "branch_fn", "branch_decay", "branch_bias")


@dataclass(frozen=True, eq=False)
class Branches:
    """The branch compartments of a dendritic neuron (``branch_bias``: ``n x branches`` values,
    neuron-major, or None)."""

    branches: int = param(1, "", "compartments per neuron K (>= 1)", "K")
    branch_fn: str = param("relu", "", "branch nonlinearity g: relu | sigmoid | identity", "g")
    branch_decay: float = param(0.0, "1/step", r"branch decay \delta in [0, 1]", r"\delta")
    branch_bias: Optional[np.ndarray] = param(None, "", "branch biases b (n x K) or None", "b")

    def __post_init__(self):
        K = count(self.branches, "branches")
        object.__setattr__(self, "branches", K)
        if self.branch_fn not in BRANCH_FNS:
            raise ValueError(
                f"branch_fn: must be one of {', '.join(BRANCH_FNS)}, got {self.branch_fn!r}"
            )
        d = finite(self.branch_decay, "branch_decay")
        if not 0.0 <= d <= 1.0:
            raise ValueError(f"branch_decay: must lie in [0, 1], got {d}")
        object.__setattr__(self, "branch_decay", d)
        b = self.branch_bias
        if b is not None:
            b = np.asarray(b.detach().cpu().numpy() if hasattr(b, "detach") else b)
            if not (np.issubdtype(b.dtype, np.floating) or np.issubdtype(b.dtype, np.integer)):
                raise TypeError(f"branch_bias: expected numbers, got dtype {b.dtype}")
            b64 = b.astype(np.float64).reshape(-1)  # checked before the float32 narrowing
            if not np.all(np.isfinite(b64)):
                raise ValueError("branch_bias: contains NaN or infinite values")
            if b64.size and float(np.abs(b64).max()) > MAX_VALUE:
                raise ValueError(
                    f"branch_bias: values must lie in [-1e30, 1e30] (float32 state), got "
                    f"{float(np.abs(b64).max()):g}"
                )
            b = np.ascontiguousarray(b64, np.float32)
            object.__setattr__(self, "branch_bias", b)
        if K == 1 and (b is not None or d != 0.0):
            raise ValueError("branches: branch_bias and branch_decay need branches >= 2")

    @classmethod
    def split(cls, params: Mapping[str, Any]) -> Tuple[Optional["Branches"], Dict[str, Any]]:
        """(Branches or None when no branch key is given, the other parameters)."""
        given = {k: params[k] for k in BRANCH_KEYS if k in params}
        rest = {k: v for k, v in params.items() if k not in BRANCH_KEYS}
        return (cls(**given) if given else None), rest

    def params(self) -> Dict[str, Any]:
        """The branch parameters by name (``BRANCH_KEYS``)."""
        return {k: getattr(self, k) for k in BRANCH_KEYS}

    def engine(self, n: int) -> Dict[str, Any]:
        """``set_branches`` arguments for ``n`` neurons (checks the bias size)."""
        K = self.branches
        if n * K >= 2**31:
            raise ValueError(f"branches: n x branches must be < 2**31, got {n * K}")
        if self.branch_bias is not None and self.branch_bias.size != n * K:
            raise ValueError(
                f"branch_bias: expected n x branches = {n * K} values, got {self.branch_bias.size}"
            )
        return dict(
            branches=K,
            branch_fn=BRANCH_FNS.index(self.branch_fn),
            branch_decay=self.branch_decay,
            branch_bias=(np.zeros(0, np.float32) if self.branch_bias is None else self.branch_bias),
        )


@dataclass(frozen=True, eq=False)
class DendriticSpec(NeuronSpec):
    """A soma spec (LIF / ALIF, continuous or discrete) with branch compartments
    (``spikecore.nn.DendriticLIF``, or ``DendriticLinear`` + a neuron;
    ``add_population(n, model, branches=K, ...)``)."""

    model: ClassVar[str] = "dendritic"

    soma: NeuronSpec = None  # type: ignore[assignment]
    dendrites: Branches = field(default_factory=Branches)
    note: Optional[str] = field(
        default=None, compare=False, repr=False, metadata={"internal": True}
    )

    def __post_init__(self):
        if (
            not isinstance(self.soma, NeuronSpec)
            or getattr(self.soma, "dendritic_soma", True) is False
        ):
            raise TypeError(f"soma: expected a LIF or ALIF spec, got {type(self.soma).__name__}")
        if not isinstance(self.dendrites, Branches):
            raise TypeError(f"dendrites: expected Branches, got {type(self.dendrites).__name__}")
        if self.dendrites.branches > 1 and getattr(self.soma, "synapse", "delta") != "delta":
            raise ValueError(
                "synapse: dendritic branches need synapse='delta' (the branch "
                "output is the soma's input)"
            )

    @property
    def spiking(self) -> bool:  # type: ignore[override]
        return self.soma.spiking

    @property
    def deploy_note(self) -> Optional[str]:
        return self.note or self.soma.deploy_note

    def model_name(self) -> str:
        return self.soma.model_name()

    def deployable(self) -> "DendriticSpec":
        soma = self.soma.deployable()
        return self if soma is self.soma else DendriticSpec(soma, self.dendrites, self.note)

    def params(self) -> Dict[str, Any]:
        """The branch parameters by name (``BRANCH_KEYS``)."""
        return dict(self.soma.params(), **self.dendrites.params())

    def engine(self, n: int) -> EngineCall:
        call = self.soma.engine(n)
        return EngineCall(call.kind, call.args, self.dendrites.engine(n))
