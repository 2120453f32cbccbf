"""Structural plasticity: pruning and regrowth of a projection's synapses, once or on a
schedule during :meth:`spikecore.sim.Network.run`."""

from __future__ import annotations

from typing import Any, Optional

from spikecore._guards import check_bytes, integer
from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import _finite, _float_array, _idle, _steps, _value


class PlasticityMixin(NetworkParts):
    """Structural plasticity (part of :class:`Network`)."""

    @_idle
    def prune(
        self,
        projection: Any,
        fraction: Optional[float] = None,
        threshold: Optional[float] = None,
        by: str = "weight",
    ) -> int:
        """Remove synapses of a projection; returns how many. Either ``fraction`` (of the current
        synapses; ``by="weight"``: smallest ``|w|`` first, ``by="random"``: uniformly at random,
        keyed by (seed, projection, step)) or ``threshold`` (all with ``|w| < threshold``). O(nnz).
        Spikes already in flight are delivered (they sit in the delay rings)."""
        j = self._proj(projection)
        if (fraction is None) == (threshold is None):
            raise ValueError("fraction: give exactly one of fraction or threshold")
        if by not in ("weight", "random"):
            raise ValueError(f"by: must be 'weight' or 'random', got {by!r}")
        if fraction is not None:
            f = _finite(fraction, "fraction")
            if not 0.0 <= f <= 1.0:
                raise ValueError(f"fraction: must be in [0, 1], got {f}")
            return int(self._c.prune_fraction(j.index, f, by == "random"))
        th = _finite(threshold, "threshold")
        if th < 0:
            raise ValueError(f"threshold: must be >= 0, got {th}")
        if by != "weight":
            raise ValueError("by: a threshold prunes by weight")
        return int(self._c.prune_threshold(j.index, th))

    @_idle
    def regrow(
        self,
        projection: Any,
        count: int,
        method: str = "random",
        scores: Any = None,
        weight: float = 0.0,
        delay: Optional[float] = None,
    ) -> int:
        """Add ``count`` synapses with ``weight`` (mV) and ``delay`` (ms, default dt) at free
        positions: ``method="random"`` (uniform, keyed by (seed, projection, step)) or
        ``"scores"`` (the free positions with the largest ``scores[pre, post]``). Autapse and
        multapse settings of the projection are respected. A new synapse never carries spikes
        emitted before it existed. Returns ``count``."""
        j = self._proj(projection)
        count = integer(count, "count", 0)
        # the core's check, before int64
        check_bytes(count * 32.0, "count", f"{count} new synapses")
        weight = _value(weight, "weight")
        d = _finite(self._delay(delay), "delay")
        if method == "random":
            if scores is not None:
                raise ValueError("scores: only method='scores' takes scores")
            return int(self._c.regrow_random(j.index, count, weight, d))
        if method == "scores":
            if scores is None:
                raise ValueError("scores: method='scores' needs a (n_pre, n_post) score array")
            if hasattr(scores, "detach"):
                scores = scores.detach().cpu().numpy()
            s = _float_array(scores, "scores", (j.pre.n, j.post.n_targets))
            return int(self._c.regrow_scores(j.index, count, s, weight, d))
        raise ValueError(f"method: must be 'random' or 'scores', got {method!r}")

    @_idle
    def add_structural_plasticity(
        self,
        projection: Any,
        every: float,
        fraction: float,
        by: str = "weight",
        weight: float = 0.0,
        delay: Optional[float] = None,
    ) -> None:
        """During :meth:`~spikecore.sim.Network.run`, every ``every`` ms prune ``fraction`` of the synapses of a
        projection (``by`` weight or random) and regrow as many at random positions with
        ``weight`` and ``delay``: the number of synapses stays fixed."""
        j = self._proj(projection)
        every_steps = _steps(_finite(every, "every"), self.dt, "every")
        if every_steps < 1:
            raise ValueError(f"every: must be >= dt, got {every}")
        f = _finite(fraction, "fraction")
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fraction: must be in [0, 1], got {f}")
        if by not in ("weight", "random"):
            raise ValueError(f"by: must be 'weight' or 'random', got {by!r}")
        d = _finite(self._delay(delay), "delay")
        ds = _steps(d, self.dt, "delay")
        if ds < 1:
            raise ValueError(f"delay: must be at least one step (dt = {self.dt} ms), got {d}")
        if ds > self._c.max_delay_steps:
            raise ValueError(
                f"delay: must be at most max_delay ({self._c.max_delay_steps * self.dt:g} ms), "
                f"got {d:g} ms"
            )
        self._schedules.append(
            dict(
                projection=j.index,
                every=every_steps,
                next=self.step + every_steps,
                fraction=f,
                by=by,
                weight=_value(weight, "weight"),
                delay=d,
            )
        )
        if self._dist is not None:  # part of the definition every rank must share
            self._dist.define("add_structural_plasticity", self._schedules[-1])

    def _apply_schedules(self) -> None:
        for s in self._schedules:
            if s["next"] == self.step:
                removed = self.prune(s["projection"], fraction=s["fraction"], by=s["by"])
                self.regrow(s["projection"], removed, weight=s["weight"], delay=s["delay"])
                s["next"] += s["every"]
