"""Connection rules: building projections between populations (``connect``) and the
:class:`Projection` handle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple, cast

import numpy as np

from spikecore._guards import check_bytes, integer
from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import (
    _finite,
    _float_array,
    _idle,
    _index_array,
    _numpy,
    _value_spec,
)
from spikecore.sim.populations import SOURCES, Population

if TYPE_CHECKING:
    from spikecore.sim.network import Network

RULES = {
    "all_to_all": 0,
    "pairwise_bernoulli": 1,
    "fixed_indegree": 2,
    "fixed_outdegree": 3,
    "one_to_one": 4,
    "explicit": 5,
}
# receptor names per kind of population (connect(receptor=...))
_RECEPTORS = {"exp": {"ex": 0, "in": 1}, "celif": {"current": 0, "context": 1}}


@dataclass(frozen=True)
class Projection:
    """Handle of a projection (one SynapseMatrix: rows by pre neuron, sorted by post)."""

    net: "Network"
    index: int
    pre: Population
    post: Population

    def __repr__(self) -> str:
        return (
            f"Projection({self.pre.name!r} -> {self.post.name!r}, nnz={self.nnz}, "
            f"index={self.index})"
        )

    @property
    @_idle
    def nnz(self) -> int:
        """Number of synapses."""
        return int(self.net._c.proj_info(self.index)[4])

    @property
    @_idle
    def memory_bytes(self) -> int:
        """Bytes the projection's synapse matrix and delays occupy in the core."""
        return int(self.net._c.proj_info(self.index)[5])

    @_idle
    def to_coo(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(pre, post, weight, delay_ms)`` in row order (pre ascending, then post)."""
        pre, post, w, d = self.net._c.proj_coo(self.index)
        return pre, post, w, d.astype(np.float64) * self.net.dt

    @property
    def weights(self) -> np.ndarray:
        """Synaptic weights in the order of :meth:`to_coo` (a copy)."""
        return self.to_coo()[2]

    @weights.setter
    def weights(self, w: Any) -> None:
        self.set_weights(w)

    @property
    def delays(self) -> np.ndarray:
        """Delays (ms) in row order."""
        return self.to_coo()[3]

    @_idle
    def set_weights(self, w: Any) -> None:
        """Replace all weights (row order, as returned by :meth:`to_coo`)."""
        a = _float_array(w, "weight")
        if a.ndim != 1 or a.size != self.nnz:
            raise ValueError(f"weight: must have shape ({self.nnz},), got {a.shape}")
        self.net._c.set_weights(self.index, a)

    def to_dense(self) -> np.ndarray:
        """Dense ``[n_pre, n_post]`` matrix of summed weights."""
        pre, post, w, _ = self.to_coo()
        out = np.zeros((self.pre.n, self.post.n_targets), np.float32)
        np.add.at(out, (pre, post), w)
        return out


class ConnectMixin(NetworkParts):
    """Projections between populations (part of :class:`Network`)."""

    @_idle
    def connect(
        self,
        pre: Any,
        post: Any,
        rule: str = "all_to_all",
        *,
        p: Optional[float] = None,
        k: Optional[int] = None,
        indegree: Optional[int] = None,
        outdegree: Optional[int] = None,
        weight: Any = 1.0,
        delay: Any = None,
        allow_autapses: bool = True,
        allow_multapses: bool = True,
        pre_index: Any = None,
        post_index: Any = None,
        receptor: Any = None,
    ) -> Projection:
        r"""Connect ``pre`` to ``post`` and return the :class:`Projection`.

        Rules: ``"all_to_all"``, ``"pairwise_bernoulli"`` (each pair with probability ``p``),
        ``"fixed_indegree"`` (``k`` sources per target), ``"fixed_outdegree"`` (``k`` targets per
        source), ``"one_to_one"``, ``"explicit"`` (``pre_index``, ``post_index`` arrays).

        ``weight`` (mV) and ``delay`` (ms, default ``dt``, rounded to steps, at least one step and
        at most ``max_delay``): a number, an array with one value per synapse (explicit:
        aligned with the index arrays; one_to_one: length n; all_to_all: shape
        ``(n_pre, n_post)`` -- ``w[i, j]`` is the synapse pre ``i`` -> post target ``j``, the
        transpose of a torch ``Linear.weight`` -- or the same flattened pre-major; any other
        2-D shape, the torch layout ``(n_post, n_pre)`` included, is an error, so pass
        ``linear.weight.T``; a square matrix cannot be told apart: mind the order), or a
        distribution
        ``{"normal": (mean, std)}`` / ``{"uniform": (low, high)}`` (delays drawn from a
        distribution are clipped to ``[dt, max_delay]``).

        Connectivity depends only on ``(seed, projection index)``, never on ``n_threads``.
        Autapses (``i -> i`` within one population) and multapses (repeated pairs) are allowed
        unless switched off.

        Targets of a dendritic ``post`` population are its branch compartments
        (``post_index = j * branches + k``; ``post.n_targets`` of them). ``receptor``: where the
        synapses act -- ``None`` (default: by the sign of the weight for ``synapse="exp"``,
        the current of a CE-LIF population), ``"ex"`` / ``"in"`` (exp synapses), ``"current"``
        / ``"context"`` (CE-LIF with ``context="separate"``), or 0 / 1.
        """
        P, Q = self._pop(pre, "pre"), self._pop(post, "post")
        rec = self._receptor(Q, receptor)
        if not isinstance(rule, str):
            raise TypeError(f"rule: must be a string, got {type(rule).__name__}")
        if rule not in RULES:
            raise ValueError(f"rule: unknown rule {rule!r}; valid: {', '.join(RULES)}")
        if Q.model in SOURCES:
            raise ValueError("post: a spike source cannot receive synapses")
        for nm, v in (("allow_autapses", allow_autapses), ("allow_multapses", allow_multapses)):
            if not isinstance(v, (bool, np.bool_)):
                raise TypeError(f"{nm}: must be a bool, got {type(v).__name__}")
        wk, wa, wb, warr = _value_spec(weight, "weight")
        dk, da, db, darr = _value_spec(self._delay(delay), "delay")
        if rule == "explicit":
            if pre_index is None or post_index is None:
                raise ValueError("pre_index: the explicit rule needs pre_index and post_index")
            pi = _index_array(pre_index, "pre_index", P.n)
            qi = _index_array(post_index, "post_index", Q.n_targets)
            if pi.size != qi.size:
                raise ValueError(f"post_index: length {qi.size} differs from pre_index's {pi.size}")
            for nm, kind, arr in (("weight", wk, warr), ("delay", dk, darr)):
                if kind == 3 and arr.size != pi.size:
                    raise ValueError(f"{nm}: length {arr.size} differs from the {pi.size} synapses")
            j = self._c.connect_explicit(
                P.index,
                Q.index,
                pi,
                qi,
                wk,
                wa,
                wb,
                warr,
                dk,
                da,
                db,
                darr,
                bool(allow_autapses),
                bool(allow_multapses),
            )
        else:
            if pre_index is not None or post_index is not None:
                raise ValueError("pre_index: only the 'explicit' rule takes index arrays")
            param = 0.0
            if rule == "pairwise_bernoulli":
                if p is None:
                    raise ValueError("p: pairwise_bernoulli needs a connection probability p")
                param = _finite(p, "p")
                if not 0.0 <= param <= 1.0:
                    raise ValueError(f"p: must be in [0, 1], got {param}")
            elif rule in ("fixed_indegree", "fixed_outdegree"):
                nm = "indegree" if rule == "fixed_indegree" else "outdegree"
                val = indegree if rule == "fixed_indegree" else outdegree
                val = k if val is None else val
                if val is None:
                    raise ValueError(f"{nm}: {rule} needs k (or {nm})")
                val = integer(val, nm, 0)
                param = float(val)
            if rule == "all_to_all":
                # arrays: (n_pre, n_post) or flat pre-major; the diagonal is dropped when
                # autapses are forbidden within one population
                full = P.n * Q.n_targets
                # the core's check (engine/connect.cpp), before the autapse mask below
                check_bytes(full * 32.0, "post", f"{full} synapses")
                drop = P is Q and not allow_autapses
                # an autapse is pre i -> every branch compartment i*K .. i*K+K-1 of neuron i
                # (issue 12: not compartment i)
                keep = (
                    (
                        np.arange(P.n)[:, None] != np.arange(Q.n_targets)[None, :] // Q.branches
                    ).reshape(-1)
                    if drop
                    else None
                )
                arrs = []
                for nm, kind, arr in (("weight", wk, warr), ("delay", dk, darr)):
                    if kind == 3:
                        # the one accepted layout (issue 12): (n_pre, n_post), pre-major, or
                        # the same flattened; a torch Linear.weight (n_post, n_pre) is refused
                        shape = _numpy(weight if nm == "weight" else delay).shape
                        want = (P.n, Q.n_targets)
                        if len(shape) > 1 and shape != want:
                            hint = (
                                " -- that is the transposed (torch Linear.weight) layout; "
                                "pass its .T"
                                if shape == want[::-1]
                                else ""
                            )
                            raise ValueError(
                                f"{nm}: all_to_all needs shape (n_pre, n_post) = "
                                f"{want} (or {full} values, pre-major), got "
                                f"{shape}{hint}"
                            )
                        if arr.size != full:
                            raise ValueError(
                                f"{nm}: all_to_all needs {full} values "
                                f"(n_pre x n_post), got {arr.size}"
                            )
                        if drop:
                            arr = np.ascontiguousarray(arr[keep])
                    arrs.append(arr)
                warr, darr = arrs
            j = self._c.connect(
                P.index,
                Q.index,
                RULES[rule],
                param,
                wk,
                wa,
                wb,
                warr,
                dk,
                da,
                db,
                darr,
                bool(allow_autapses),
                bool(allow_multapses),
            )
        if rec >= 0:
            self._c.set_receptor(j, rec)
        proj = Projection(cast("Network", self), j, P, Q)
        self.projections.append(proj)
        return proj

    def _receptor(self, Q: Population, receptor: Any) -> int:
        """Receptor code (-1: default) of ``receptor`` for synapses onto ``Q``."""
        if receptor is None:
            return -1
        spec = self._pop_specs[Q.index]
        kind = "celif" if Q.model == "celif" else spec["params"].get("synapse", "delta")
        if Q.model == "celif" and spec["params"].get("context") == "shared":
            names = {"current": 0}
        else:
            names = _RECEPTORS.get(kind, {})
        if isinstance(receptor, str):
            if receptor not in names:
                raise ValueError(
                    f"receptor: {receptor!r} is not a receptor of population "
                    f"{Q.name!r}; valid: {', '.join(names) or 'none (one receptor)'}"
                )
            return names[receptor]
        r = integer(receptor, "receptor")
        if not 0 <= r < max(1, len(names)):
            raise ValueError(
                f"receptor: must be in [0, {max(1, len(names))}) for population {Q.name!r}, got {r}"
            )
        return r
