"""External inputs: Poisson inputs, input events, spike-source schedules and rates, current
input."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any, Optional, Tuple

import numpy as np

from spikecore._guards import integer
from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import (
    _MAX_STEPS,
    _finite,
    _float_array,
    _idle,
    _index_array,
    _numpy,
    _steps,
    _value,
)
from spikecore.sim.populations import SOURCES, Population


@dataclass
class PoissonInput:
    population: Population
    rate: float
    weight: float
    neurons: Tuple[int, int]
    index: int


class InputsMixin(NetworkParts):
    """Inputs attached to populations (part of :class:`Network`)."""

    @_idle
    def add_poisson_input(
        self, pop: Any, rate: float, weight: float, neurons: Optional[Tuple[int, int]] = None
    ) -> PoissonInput:
        r"""Independent Poisson spike trains of ``rate`` (Hz) into every neuron of ``pop`` (or the
        range ``neurons = (start, stop)``), each spike of ``weight`` (mV).

        Each step every target gets :math:`k \sim \mathrm{Poisson}(\text{rate}\cdot dt)` spikes,
        drawn from the counter RNG keyed by (seed, input, neuron, step): independent across
        neurons and identical for any thread count. Equivalent to NEST's ``poisson_generator``
        connected one-to-all (each target its own train). On a dendritic population the
        targets are branch compartments (``neurons`` in ``[0, pop.n_targets)``).
        """
        P = self._pop(pop, "population")
        if P.model in SOURCES:
            raise ValueError("population: a spike source cannot receive input")
        rate = _value(rate, "rate")
        if rate < 0:
            raise ValueError(f"rate: must be >= 0, got {rate}")
        weight = _value(weight, "weight")
        nt = P.n_targets
        if neurons is None:
            lo, hi = 0, nt
        elif isinstance(neurons, (tuple, list)) and len(neurons) == 2:
            lo, hi = integer(neurons[0], "neurons"), integer(neurons[1], "neurons")
        else:
            raise TypeError(f"neurons: must be a (start, stop) pair, got {type(neurons).__name__}")
        if not 0 <= lo < hi <= nt:
            raise IndexError(f"neurons: range ({lo}, {hi}) must be non-empty inside [0, {nt}]")
        idx = self._c.add_poisson(P.index, rate, weight, lo, hi)
        inp = PoissonInput(P, rate, weight, (lo, hi), idx)
        self.poisson_inputs.append(inp)
        return inp

    def _time_steps(self, times: Any, name: str, offset: int) -> np.ndarray:
        t = (
            np.asarray(times, dtype=np.float64).reshape(-1)
            if not isinstance(times, np.ndarray)
            else times.astype(np.float64).reshape(-1)
        )
        if t.size and not np.all(np.isfinite(t)):
            raise ValueError(f"{name}: contains NaN or inf")
        if t.size:  # range-check before the int64 cast (which wraps silently)
            _steps(float(np.abs(t).max()), self.dt, name)
        s = np.rint(t / self.dt).astype(np.int64) - offset
        if s.size and s.min() < self.step:
            raise ValueError(
                f"{name}: must be >= {(self.step + offset) * self.dt:g} ms (the "
                f"current time + dt), got {t.min():g}"
            )
        return s

    @_idle
    def add_spike_input(self, pop: Any, times: Any, neurons: Any, weight: Any = 1.0) -> None:
        """Inject input spikes: at ``times`` (ms, >= now + dt) add ``weight`` (mV; number or one per
        event) to the synaptic input of ``neurons`` (one index per event). An event at time t
        shows in the state at t (it is added to the input of step round(t/dt) - 1). On a
        dendritic population ``neurons`` are branch compartments ``j * branches + k``."""
        P = self._pop(pop, "population")
        if P.model in SOURCES:
            raise ValueError("population: use add_source_spikes for a spike source")
        ids = _index_array(np.atleast_1d(_numpy(neurons)), "neurons", P.n_targets)
        tt = np.atleast_1d(_numpy(times))
        if tt.dtype.kind not in "iuf":
            raise TypeError(f"times: must be real numbers, got dtype {tt.dtype}")
        steps = self._time_steps(tt, "times", 1)
        if steps.size != ids.size:
            raise ValueError(f"neurons: length {ids.size} differs from times' {steps.size}")
        if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
            w = np.full(ids.size, _value(weight, "weight"), np.float32)
        else:
            w = _float_array(weight, "weight").reshape(-1)
            if w.size != ids.size:
                raise ValueError(f"weight: length {w.size} differs from times' {ids.size}")
        self._c.add_events(P.index, steps, ids, w)

    @_idle
    def add_source_spikes(self, pop: Any, times: Any, neurons: Any) -> None:
        """Spikes emitted by a ``spike_source`` population at ``times`` (ms, >= now + dt; a
        spike at t is recorded at t and reaches targets at t + delay). Spikes already emitted
        are forgotten, so scheduling trial after trial stays cheap."""
        P = self._pop(pop, "population")
        if P.model not in SOURCES:
            raise ValueError("population: is not a spike source population")
        if times is None or neurons is None:
            raise ValueError("times: spike sources need both spike times and neuron indices")
        ids = _index_array(np.atleast_1d(_numpy(neurons)), "neurons", P.n)
        tt = np.atleast_1d(_numpy(times))
        if tt.dtype.kind not in "iuf":
            raise TypeError(f"times: must be real numbers, got dtype {tt.dtype}")
        steps = self._time_steps(tt, "times", 1)
        if steps.size != ids.size:
            raise ValueError(f"neurons: length {ids.size} differs from times' {steps.size}")
        self._c.add_source_spikes(P.index, steps, ids)

    @_idle
    def schedule_source_spikes(self, pop: Any, steps: Any, neurons: Any) -> None:
        r"""Spikes emitted by a ``spike_source`` population in the given time steps: ``steps``
        (absolute step indices, integers >= :attr:`~spikecore.sim.Network.step`) and ``neurons`` (same length). A spike
        emitted in step :math:`k` carries the time :math:`(k + 1)\,dt`, so this is
        :meth:`add_source_spikes` with ``times = (steps + 1) * dt``, without rounding times to
        steps. Order does not matter; a repeated (step, neuron) pair is one spike.

        >>> from spikecore.sim import Network
        >>> net = Network(dt=1.0)
        >>> src = net.add_population(3, "spike_source")
        >>> mon = net.record_spikes(src)
        >>> net.schedule_source_spikes(src, [0, 2, 2], [1, 0, 2])
        >>> net.run_steps(3)
        >>> mon.steps.tolist(), mon.senders.tolist()
        ([0, 2, 2], [1, 0, 2])
        """
        P = self._pop(pop, "population")
        if P.model not in SOURCES:
            raise ValueError("population: is not a spike source population")
        ids = _index_array(np.atleast_1d(_numpy(neurons)), "neurons", P.n)
        s = _index_array(np.atleast_1d(_numpy(steps)), "steps", dtype=np.int64)
        if s.size != ids.size:
            raise ValueError(f"neurons: length {ids.size} differs from steps' {s.size}")
        if s.size and s.min() < self.step:
            raise ValueError(f"steps: must be >= the current step {self.step}, got {s.min()}")
        if s.size and s.max() >= _MAX_STEPS:
            raise ValueError(f"steps: must be < 2**53, got {s.max()}")
        self._c.add_source_spikes(P.index, s, ids)

    @_idle
    def set_source_rate(self, pop: Any, rate: Any) -> None:
        r"""Firing rate (Hz; a number or one per neuron) of a ``poisson_source`` population:
        each neuron spikes in a step with probability :math:`\text{rate}\cdot dt` (at most once
        per step, like Brian2's PoissonGroup), drawn from the counter RNG keyed by (seed,
        population, neuron, step). Scheduled spikes (:meth:`add_source_spikes`) still fire."""
        P = self._pop(pop, "population")
        if P.model not in SOURCES:
            raise ValueError("population: is not a spike source population")
        if isinstance(rate, numbers.Real) and not isinstance(rate, bool):
            rate = np.full(P.n, _value(rate, "rate"), np.float32)
        r = _float_array(rate, "rate", (P.n,))
        if np.any(r < 0):
            raise ValueError(f"rate: must be >= 0, got {r.min()}")
        self._c.set_source_rates(P.index, r)

    @_idle
    def add_current_input(self, pop: Any, current: Any, start: Optional[float] = None) -> None:
        r"""Add an input current (expressed as the voltage it drives, mV) to ``pop``.

        ``current``: a number or an array ``(n,)`` (constant from now on), or an array
        ``(steps, n)``: one row per step starting at time ``start`` (ms, default: now). A current
        :math:`I` adds :math:`I (1 - e^{-dt/\tau_m})` to :math:`v` per step (exact for constant
        :math:`I`, like ``i_e``); for discrete populations it adds :math:`I` to :math:`x`.
        """
        P = self._pop(pop, "population")
        if P.model in SOURCES:
            raise ValueError("population: a spike source cannot receive input")
        if hasattr(current, "detach"):
            current = current.detach().cpu().numpy()
        if isinstance(current, numbers.Real) and not isinstance(current, bool):
            current = np.full(P.n, _value(current, "current"), np.float32)
        a = _float_array(current, "current")
        if a.ndim == 1:
            if a.shape != (P.n,):
                raise ValueError(
                    f"current: shape must be ({P.n},) or (steps, {P.n}), got {a.shape}"
                )
            if start is not None:
                raise ValueError("start: only per-step current arrays take a start time")
            self._c.set_current_const(P.index, a)
        elif a.ndim == 2:
            if a.shape[1] != P.n:
                raise ValueError(f"current: shape must be (steps, {P.n}), got {a.shape}")
            s0 = self.step if start is None else _steps(_finite(start, "start"), self.dt, "start")
            if s0 < self.step:
                raise ValueError(f"start: must be >= the current time {self.t:g} ms, got {start}")
            self._c.set_current_steps(P.index, s0, a)
        else:
            raise ValueError(f"current: must be 1-D or 2-D, got shape {a.shape}")
