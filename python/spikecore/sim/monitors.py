"""Monitors: spike, state and rate recorders of a population."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Tuple, Union, cast

import numpy as np

from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import _finite, _idle, _index_array, _numpy, _steps
from spikecore.sim.populations import SOURCES, VARIABLES, Population

if TYPE_CHECKING:
    from spikecore.sim.network import Network


class SpikeMonitor:
    """Spikes of one population: ``times`` (ms) and ``senders`` (neuron index), numpy arrays."""

    def __init__(self, net: "Network", index: int, population: Population):
        self.net, self.index, self.population = net, index, population

    @_idle
    def _get(self):
        _, steps, ids = self.net._c.get_spikes(self.index)
        return steps, ids

    @property
    def steps(self) -> np.ndarray:
        """Step index of each spike (its time is ``(step + 1) * dt``)."""
        return self._get()[0]

    @property
    def times(self) -> np.ndarray:
        """Spike times (ms), one per spike, in the order recorded."""
        return (self._get()[0] + 1).astype(np.float64) * self.net.dt

    @property
    def senders(self) -> np.ndarray:
        """Index of the spiking neuron within its population, one per spike (int)."""
        return self._get()[1]

    @property
    def count(self) -> int:
        """Number of spikes recorded."""
        return int(self._get()[0].size)

    @_idle
    def clear(self) -> None:
        """Forget the spikes recorded so far (recording goes on)."""
        self.net._c.set_spikes(self.index, np.zeros(0, np.int64), np.zeros(0, np.int32))

    def spike_trains(self) -> List[np.ndarray]:
        """Spike times (ms) of each neuron."""
        t, s = self.times, self.senders
        order = np.argsort(s, kind="stable")
        bounds = np.searchsorted(s[order], np.arange(self.population.n + 1))
        return [t[order[bounds[i] : bounds[i + 1]]] for i in range(self.population.n)]

    def rate(self, t_start: float = 0.0, t_stop: Optional[float] = None) -> float:
        """Mean firing rate (Hz) per neuron over ``[t_start, t_stop)`` (default: all recorded)."""
        t_stop = self.net.t if t_stop is None else t_stop
        t = self.times
        n = np.count_nonzero((t > t_start) & (t <= t_stop))
        dur = t_stop - t_start
        return float(n / (self.population.n * dur * 1e-3)) if dur > 0 else 0.0

    def cv(self, t_start: float = 0.0, min_spikes: int = 3) -> float:
        """Mean coefficient of variation of inter-spike intervals (neurons with >= min_spikes)."""
        cvs = []
        for tr in self.spike_trains():
            tr = tr[tr > t_start]
            if tr.size >= min_spikes:
                isi = np.diff(tr)
                if isi.mean() > 0:
                    cvs.append(isi.std() / isi.mean())
        return float(np.mean(cvs)) if cvs else float("nan")


class StateMonitor:
    """Recorded state variables: ``times`` (ms, shape [rows]) and ``values[var]`` [rows, neurons];
    ``mon.v`` is ``mon.values["v"]``."""

    def __init__(
        self,
        net: "Network",
        index: int,
        population: Population,
        variables: Sequence[str],
        neurons: np.ndarray,
    ):
        self.net, self.index, self.population = net, index, population
        self.variables = tuple(variables)
        self.neurons = neurons
        self.every = 1  # steps between rows (set by record_state; the memory check of run)

    @property
    @_idle
    def steps(self) -> np.ndarray:
        """Step index of each row (the state after step ``k``, at time ``(k + 1) * dt``)."""
        return self.net._c.get_state_record(self.index)[5]

    @property
    def times(self) -> np.ndarray:
        """Sample times (ms), one per recorded step."""
        return (self.steps + 1).astype(np.float64) * self.net.dt

    @property
    @_idle
    def values(self) -> Dict[str, np.ndarray]:
        """Recorded values by variable name, each ``[n_samples, n_recorded_neurons]``."""
        rec = self.net._c.get_state_record(self.index)
        steps, data = rec[5], rec[6]
        data = data.reshape(len(steps), len(self.variables), len(self.neurons))
        return {v: data[:, k, :] for k, v in enumerate(self.variables)}

    @_idle
    def gather(self, root: Optional[int] = 0) -> Optional[Dict[str, np.ndarray]]:
        """Across MPI ranks (collective): ``values`` of all recorded neurons on rank ``root``
        only (None on the other ranks), or on every rank with ``root=None`` (what ``values``
        does). In one process: ``values``."""
        dist = self.net._dist
        if dist is None:
            return self.values
        if root is not None and not 0 <= int(root) < dist.size:
            raise ValueError(f"root: must be a rank in [0, {dist.size}) or None, got {root}")
        rec = dist.get_state_record(self.index, None if root is None else int(root))
        if rec is None:
            return None
        steps, data = rec[5], rec[6]
        data = data.reshape(len(steps), len(self.variables), len(self.neurons))
        return {v: data[:, k, :] for k, v in enumerate(self.variables)}

    @_idle
    def clear(self) -> None:
        """Forget the values recorded so far; recording goes on from now."""
        self.net._c.set_state_record(
            self.index, self.net.step, np.zeros(0, np.int64), np.zeros(0, np.float32)
        )

    def __getattr__(self, name: str) -> np.ndarray:
        if name in VARIABLES and name in self.__dict__.get("variables", ()):
            return self.values[name]
        raise AttributeError(name)


class RateMonitor:
    """Population rate: ``times`` (ms) and ``rate`` (Hz) per step, or smoothed by ``bin``."""

    def __init__(self, net: "Network", index: int, population: Population):
        self.net, self.index, self.population = net, index, population

    @property
    @_idle
    def counts(self) -> np.ndarray:
        """Spikes of the whole population per time step recorded."""
        return self.net._c.get_rate(self.index)[2]

    @property
    @_idle
    def times(self) -> np.ndarray:
        """Times (ms) of the steps in :attr:`counts`."""
        _, start, c = self.net._c.get_rate(self.index)
        return (start + 1 + np.arange(c.size)).astype(np.float64) * self.net.dt

    @property
    def rate(self) -> np.ndarray:
        """Population rate per step in Hz, counts / (n * dt)."""
        return self.counts / (self.population.n * self.net.dt * 1e-3)

    @_idle
    def clear(self) -> None:
        """Forget the counts recorded so far; recording goes on from now."""
        self.net._c.set_rate(self.index, self.net.step, np.zeros(0, np.int32))

    def binned(self, bin_ms: float) -> Tuple[np.ndarray, np.ndarray]:
        """``(bin start times, rate in Hz)`` in bins of ``bin_ms``."""
        k = max(1, int(round(bin_ms / self.net.dt)))
        c = self.counts
        nb = c.size // k
        r = c[: nb * k].reshape(nb, k).sum(1) / (self.population.n * k * self.net.dt * 1e-3)
        return np.arange(nb) * k * self.net.dt, r


class MonitorsMixin(NetworkParts):
    """Recording (part of :class:`Network`)."""

    @_idle
    def record_spikes(self, pop: Any) -> SpikeMonitor:
        """Record the spikes of ``pop`` from now on; returns a :class:`SpikeMonitor`."""
        P = self._pop(pop, "population")
        m = SpikeMonitor(cast("Network", self), self._c.record_spikes(P.index), P)
        self.spike_monitors.append(m)
        return m

    @_idle
    def record_state(
        self,
        pop: Any,
        variables: Union[str, Sequence[str]] = ("v",),
        neurons: Any = None,
        every: Optional[float] = None,
    ) -> StateMonitor:
        """Record state ``variables`` (``v``, ``i_ex``, ``i_in``, ``a``, ``ref``) of ``neurons``
        (default all) every ``every`` ms (default each step) from now on."""
        P = self._pop(pop, "population")
        if P.model in SOURCES:
            raise ValueError("population: a spike source has no state to record")
        if isinstance(variables, str):
            variables = (variables,)
        if not isinstance(variables, (tuple, list)) or not all(
            isinstance(v, str) for v in variables
        ):
            raise TypeError(
                f"variables: must be a name or a sequence of names, got {variables!r:.60}"
            )
        variables = tuple(variables)
        if not variables:
            raise ValueError("variables: name at least one variable")
        for v in variables:
            if v not in VARIABLES:
                raise ValueError(f"variables: unknown {v!r}; valid: {', '.join(VARIABLES)}")
            if v == "u":
                raise ValueError(
                    "variables: branch potentials 'u' cannot be recorded; read "
                    "them with get_state(pop, 'u')"
                )
            if v == "c" and P.model != "celif":
                raise ValueError(
                    f"variables: 'c' (context) exists only in CE-LIF populations, "
                    f"not in {P.name!r} ({P.model})"
                )
        idx = (
            np.arange(P.n, dtype=np.int32)
            if neurons is None
            else _index_array(np.atleast_1d(_numpy(neurons)), "neurons", P.n)
        )
        if idx.size == 0:
            raise ValueError("neurons: name at least one neuron")
        if np.any(np.diff(idx) <= 0):
            raise ValueError("neurons: must be strictly increasing")
        k = 1 if every is None else _steps(_finite(every, "every"), self.dt, "every")
        if k < 1:
            raise ValueError(f"every: must be >= dt, got {every}")
        r = self._c.record_state(P.index, [VARIABLES[v] for v in variables], idx.tolist(), k)
        m = StateMonitor(cast("Network", self), r, P, variables, idx)
        m.every = k
        self.state_monitors.append(m)
        return m

    @_idle
    def record_rate(self, pop: Any) -> RateMonitor:
        """Record the population rate (spike count per step) of ``pop`` from now on."""
        P = self._pop(pop, "population")
        m = RateMonitor(cast("Network", self), self._c.record_rate(P.index), P)
        self.rate_monitors.append(m)
        return m
