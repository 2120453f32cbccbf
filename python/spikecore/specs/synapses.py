"""Deployable synapses of a layer that is not a neuron (``spikecore.nn.Linear``, ``SparseLinear``,
``DendriticLinear``, and the weights inside ``CELIF`` / ``DendriticLIF``).

A layer returns a :class:`SynapseSpec` from its public ``synapses()`` method; the converter turns
it into one explicit engine projection (delay one step). Synapses are listed in the engine's row
order (presynaptic index ascending, then post ascending; multapses kept in order), zero weights
dropped.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._base import count
from .dendritic import Branches

__all__ = ["SynapseSpec"]


@dataclass(frozen=True, eq=False)
class SynapseSpec:
    """Synapses ``pre -> post`` (int32 [nnz]) with ``weight`` (float32 [nnz]) from ``n_in``
    inputs to ``n_out`` neurons; ``bias`` (float32 [n_out] or None) acts like a synapse from an
    always-on source summed after the weights. ``dendrites``: the branch compartments the
    synapses target (post index :math:`jK + k`), or None. ``receptor``: the engine receptor
    (``"current"`` / ``"context"`` of a CE-LIF), or None."""

    n_in: int
    n_out: int
    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray
    bias: Optional[np.ndarray] = None
    dendrites: Optional[Branches] = None
    receptor: Optional[str] = None

    def __post_init__(self):
        for name in ("n_in", "n_out"):
            object.__setattr__(self, name, count(getattr(self, name), name))
        pre = np.ascontiguousarray(self.pre, np.int32).reshape(-1)
        post = np.ascontiguousarray(self.post, np.int32).reshape(-1)
        w = np.ascontiguousarray(self.weight, np.float32).reshape(-1)
        if not pre.size == post.size == w.size:
            raise ValueError(
                f"pre, post, weight: expected equal sizes, got {pre.size}, {post.size}, {w.size}"
            )
        K = 1 if self.dendrites is None else self.dendrites.branches
        if pre.size and (pre.min() < 0 or pre.max() >= self.n_in):
            raise IndexError(f"pre: entries must lie in [0, {self.n_in})")
        if post.size and (post.min() < 0 or post.max() >= self.n_out * K):
            raise IndexError(f"post: entries must lie in [0, {self.n_out * K})")
        b = None if self.bias is None else np.ascontiguousarray(self.bias, np.float32).reshape(-1)
        if b is not None and b.size != self.n_out:
            raise ValueError(f"bias: expected {self.n_out} values, got {b.size}")
        for name, arr in (("weight", w), ("bias", b)):
            if arr is not None and not np.all(np.isfinite(arr)):
                raise ValueError(f"{name}: has NaN or infinite values")
        for field_name, value in (("pre", pre), ("post", post), ("weight", w), ("bias", b)):
            object.__setattr__(self, field_name, value)

    @classmethod
    def from_dense(cls, weight, bias=None, receptor: Optional[str] = None) -> "SynapseSpec":
        """From a dense ``weight`` [n_out, n_in] (numpy float32) and ``bias`` [n_out]: nonzero
        weights in row order; an all-zero bias is dropped."""
        w = np.asarray(weight, np.float32)
        n_out, n_in = w.shape
        pre, post = np.nonzero(w.T)  # pre-major, post ascending: the matrix's row order
        b = None if bias is None else np.asarray(bias, np.float32).reshape(-1)
        if b is not None and not np.any(b):
            b = None
        return cls(n_in, n_out, pre, post, w.T[pre, post], b, None, receptor)

    @property
    def out_degree(self) -> np.ndarray:
        """Synapses per input, int64 [n_in]."""
        return np.bincount(self.pre, minlength=self.n_in).astype(np.int64)

    @property
    def nnz(self) -> int:
        """Number of synapses."""
        return int(self.weight.size)
