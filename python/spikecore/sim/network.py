"""The event-driven network: the Python face of the C++ engine (``spikecore._core.engine``).

Units: time in ms, voltages in mV, rates in Hz. Synaptic weights are the jump they cause: for delta
synapses the jump of :math:`v` (mV), for exponential synapses the jump of the synaptic current
expressed as the voltage it drives (:math:`R I`, mV), as in Brian2's CUBA example.

Time convention: :math:`t_k = k\\,dt`. Step :math:`k` advances every neuron from :math:`t_k` to
:math:`t_{k+1}`; a spike produced in step :math:`k` has the time :math:`t_{k+1}` and reaches its
targets ``delay`` later. Recorded states after step :math:`k` carry the time :math:`t_{k+1}`.
External input events (``add_spike_input``) at time :math:`t` are added to the input of step
:math:`\\mathrm{round}(t/dt) - 1`, so they are visible in the state at :math:`t`.

Results are bitwise identical for any ``n_threads`` with the same ``seed``.

The parts live next to this module, one concern each (the facade below composes them):
:mod:`~spikecore.sim.populations`, :mod:`~spikecore.sim.connect`, :mod:`~spikecore.sim.inputs`,
:mod:`~spikecore.sim.monitors`, :mod:`~spikecore.sim.plasticity`,
:mod:`~spikecore.sim.persistence`.
"""

from __future__ import annotations

import numbers
from typing import Any, Dict, List, Optional

from spikecore import _core
from spikecore._guards import check_bytes, integer
from spikecore._guards import threads as _threads
from spikecore.sim._interrupt import HeldInterrupt
from spikecore.sim._validate import _MAX_STEPS, _finite, _idle, _steps

# RULES, FORMAT_VERSION and the model tables: re-exported from the former single module
from spikecore.sim.connect import RULES, ConnectMixin, Projection  # noqa: F401
from spikecore.sim.inputs import InputsMixin, PoissonInput
from spikecore.sim.monitors import MonitorsMixin, RateMonitor, SpikeMonitor, StateMonitor
from spikecore.sim.persistence import FORMAT_VERSION, PersistenceMixin  # noqa: F401
from spikecore.sim.plasticity import PlasticityMixin
from spikecore.sim.populations import (  # noqa: F401
    BRANCH_FNS,
    MODELS,
    SOURCES,
    SYNAPSES,
    VARIABLES,
    Population,
    PopulationsMixin,
)

_E = _core.engine

__all__ = [
    "Network",
    "Population",
    "Projection",
    "SpikeMonitor",
    "StateMonitor",
    "RateMonitor",
    "PoissonInput",
]


class Network(
    PopulationsMixin, ConnectMixin, InputsMixin, MonitorsMixin, PlasticityMixin, PersistenceMixin
):
    r"""A spiking network simulated event-driven by the C++ engine.

    Populations (:meth:`add_population`) are connected by projections (:meth:`connect`); spikes
    travel through per-population delay rings (calendar queues: a spike at step :math:`k` adds its
    row's weights into slot :math:`(k + d) \bmod D`), so only rows of neurons that spiked are
    touched. Inputs (:meth:`add_poisson_input`, :meth:`add_spike_input`,
    :meth:`add_current_input`) and monitors (:meth:`record_spikes`, :meth:`record_state`,
    :meth:`record_rate`) are attached to populations.

    ============  =======  =====  ===========================================================
    parameter     default  unit   meaning
    ============  =======  =====  ===========================================================
    dt            0.1      ms     time step (> 0)
    n_threads     1               worker threads (results do not depend on it)
    seed          0               seed of every random draw (connectivity, inputs, plasticity)
    max_delay     100.0    ms     largest allowed synaptic delay
    comm          None            an mpi4py communicator: run one network across its ranks
    ============  =======  =====  ===========================================================

    With ``comm`` (e.g. ``mpi4py.MPI.COMM_WORLD``, launched with ``mpirun``) every rank makes the
    same calls; rank :math:`r` owns a contiguous range of every population's neurons and only the
    synapses onto them, spikes are exchanged once per minimum-delay window, and the raster is
    bitwise identical to the single-process run for any ranks x threads
    (:mod:`spikecore.sim.distributed`, docs/distributed.md).

    Example
    -------
    >>> from spikecore.sim import Network
    >>> net = Network(dt=0.1, seed=1)
    >>> pop = net.add_population(100, "lif", v_threshold=20.0, v_reset=10.0, t_ref=2.0)
    >>> _ = net.add_poisson_input(pop, rate=20000.0, weight=0.1)
    >>> proj = net.connect(pop, pop, "fixed_indegree", k=10, weight=-0.5, delay=1.5)
    >>> spikes = net.record_spikes(pop)
    >>> net.run(100.0)
    >>> spikes.times.shape == spikes.senders.shape
    True
    """

    def __init__(
        self,
        dt: float = 0.1,
        n_threads: int = 1,
        seed: int = 0,
        max_delay: float = 100.0,
        comm: Any = None,
    ):
        dt = _finite(dt, "dt")
        if dt <= 0:
            raise ValueError(f"dt: must be > 0, got {dt}")
        n_threads = _threads(n_threads)
        seed = integer(seed, "seed", 0, 2**64 - 1)
        max_delay = _finite(max_delay, "max_delay")
        if comm is not None:
            from spikecore.sim.distributed import check_comm

            comm = check_comm(comm)  # before anything is built: TypeError / ImportError
        self._c = _E.Network(dt, n_threads, seed, max_delay)
        self._dist = None
        if comm is not None:
            from spikecore.sim.distributed import DistributedCore

            self._dist = self._c = DistributedCore(self._c, comm)
        self._max_delay = max_delay
        self.populations: List[Population] = []
        self.projections: List[Projection] = []
        self.poisson_inputs: List[PoissonInput] = []
        self.spike_monitors: List[SpikeMonitor] = []
        self.state_monitors: List[StateMonitor] = []
        self.rate_monitors: List[RateMonitor] = []
        self._pop_specs: List[Dict[str, Any]] = []
        self._schedules: List[Dict[str, Any]] = []

    # ------------------------------------------------------------------ properties
    @property
    def dt(self) -> float:
        """Time step (ms)."""
        return self._c.dt

    @property
    def seed(self) -> int:
        """The seed of every random draw of this network (connectivity, inputs, plasticity)."""
        return self._c.seed

    @property
    def step(self) -> int:
        """Steps simulated so far."""
        return self._c.step

    @property
    def t(self) -> float:
        """Simulated time (ms)."""
        return self._c.step * self._c.dt

    @property
    def n_threads(self) -> int:
        """Worker threads of the engine; results do not depend on it (settable)."""
        return self._c.n_threads

    @n_threads.setter
    @_idle  # replaces the engine's thread team: never while it runs
    def n_threads(self, n: int) -> None:
        self._c.n_threads = _threads(n)

    @property
    def events(self) -> int:
        """Synaptic events delivered so far (spikes x synapses of their rows)."""
        return self._c.events

    @property
    @_idle
    def memory_bytes(self) -> int:
        """Bytes held by connectivity and delay rings (of this rank, when split by ``comm``)."""
        return self._c.memory_bytes

    @property
    def memory_parts(self) -> Dict[str, int]:
        """Bytes by part (of this rank, when split by ``comm``): ``synapses`` (the only part that
        falls with the ranks), ``rings``, ``state``, ``monitors``, ``inputs`` (docs/distributed.md)."""
        names = ("synapses", "rings", "state", "monitors", "inputs")
        return dict(zip(names, (int(x) for x in self._c.memory_parts)))

    # ------------------------------------------------------------------ ranks
    @property
    def comm(self) -> Any:
        """The mpi4py communicator the network is split across, or None (one process)."""
        return None if self._dist is None else self._dist.comm

    @property
    def rank(self) -> int:
        """This process's rank (0 in one process)."""
        return 0 if self._dist is None else self._dist.rank

    @property
    def n_ranks(self) -> int:
        """Number of ranks the network is split across (1 in one process)."""
        return 1 if self._dist is None else self._dist.size

    @property
    def comm_stats(self) -> Dict[str, float]:
        """Spike exchange of this rank so far, ``seconds`` (wall) in the collectives (waiting for
        slower ranks included), ``bytes`` received, ``windows`` exchanged, ``run_seconds`` (wall,
        whole runs), ``compute_cpu_s`` (CPU time of the update and delivery, collectives
        excluded)."""
        if self._dist is None:
            return dict(seconds=0.0, bytes=0, windows=0, run_seconds=0.0, compute_cpu_s=0.0)
        return dict(self._dist.comm_stats)

    # ------------------------------------------------------------------ checks
    def _lookup(self, x: Any, name: str, items: list, cls: Any, kind: str, by_name: bool) -> Any:
        """Resolve ``x`` (an object of this network, an index or, if ``by_name``, a name)."""
        if isinstance(x, cls):
            if x.net is not self:
                raise ValueError(f"{name}: {kind} belongs to another network")
            return x
        if isinstance(x, numbers.Integral) and not isinstance(x, bool):
            if not 0 <= int(x) < len(items):
                raise IndexError(f"{name}: {kind} index {x} out of range [0, {len(items)})")
            return items[int(x)]
        if by_name and isinstance(x, str):
            for q in items:
                if q.name == x:
                    return q
            raise ValueError(f"{name}: no {kind} named {x!r}")
        accepted = (
            f"a {cls.__name__}, an index or a name" if by_name else f"a {cls.__name__} or an index"
        )
        raise TypeError(f"{name}: must be {accepted}, got {type(x).__name__}")

    def _pop(self, p: Any, name: str) -> Population:
        return self._lookup(p, name, self.populations, Population, "population", by_name=True)

    def _proj(self, j: Any, name: str = "projection") -> Projection:
        return self._lookup(j, name, self.projections, Projection, "projection", by_name=False)

    def _delay(self, d: Any) -> float:
        return self.dt if d is None else d

    # ------------------------------------------------------------------ populations

    # ------------------------------------------------------------------ running
    @_idle
    def run(self, duration: float, progress: Optional[bool] = None, chunk: float = 100.0) -> None:
        """Advance the network by ``duration`` ms (rounded to steps); a second call continues
        exactly where the first stopped.

        The core runs with the GIL released, in chunks of ``chunk`` ms of biological time;
        between chunks a tqdm progress bar advances (``progress=None``: shown for runs longer
        than 10 s of biological time). Ctrl-C is held until the chunk ends, then raised as
        KeyboardInterrupt: the network stops at a step boundary with the scheduled changes of
        that step done, as after an uninterrupted run to that step, so continuing gives the
        uninterrupted run. Across MPI ranks (``comm``) every rank stops at the same step: the
        end of the window (minimum delay) after the Ctrl-C, or of the chunk when it came after
        the chunk's last exchange (docs/distributed.md).
        """
        duration = _finite(duration, "duration")
        if duration < 0:
            raise ValueError(f"duration: must be >= 0, got {duration}")
        chunk = _finite(chunk, "chunk")
        if chunk <= 0:
            raise ValueError(f"chunk: must be > 0, got {chunk}")
        n = _steps(duration, self.dt, "duration")
        self._check_records(n, "duration")
        chunk_steps = max(1, min(_MAX_STEPS, round(chunk / self.dt)))  # longer: one chunk
        if progress is None:
            progress = duration > 10_000.0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=round(duration, 6), unit="ms", desc="spikecore.sim")
        self._advance(n, chunk_steps, bar)

    @_idle
    def run_steps(self, n_steps: int = 1) -> None:
        r"""Advance the network by exactly ``n_steps`` time steps (no rounding of a duration):
        the same as ``run(n_steps * dt)`` without a progress bar. Step :math:`k` takes the input
        scheduled for it (:meth:`schedule_source_spikes`, spikes in flight, inputs) and its spikes
        carry the time :math:`(k + 1)\,dt`.

        >>> from spikecore.sim import Network
        >>> net = Network(dt=0.5)
        >>> net.run_steps(3)
        >>> net.step, net.t
        (3, 1.5)
        """
        n = integer(n_steps, "n_steps", 0, _MAX_STEPS - 1)
        self._check_records(n, "n_steps")
        self._advance(n, max(1, min(_MAX_STEPS, round(100.0 / self.dt))), None)  # as run()

    def _check_records(self, n: int, name: str) -> None:
        """MemoryError naming ``name`` before a run of ``n`` steps whose state and rate
        recorders would outgrow the memory limit (they add rows every step)."""
        rows = 0.0
        for m in self.state_monitors:
            every = m.every  # steps between rows
            rows += (n / every + 1) * (8.0 + 4.0 * len(m.variables) * len(m.neurons))
        rows += 4.0 * n * len(self.rate_monitors)
        check_bytes(rows, name, f"the state and rate recorders of {n} steps")

    def _advance(self, n: int, chunk_steps: int, bar: Any) -> None:
        """Run ``n`` steps in chunks of ``chunk_steps`` (structural plasticity schedules cut
        chunks at their steps); ``bar``: a tqdm bar (ms) or None."""
        end = self.step + n
        try:
            with HeldInterrupt() as ctrl_c:
                self._apply_schedules()  # due now: left by an earlier call that ended in an error
                while self.step < end:
                    stop = min(end, self.step + chunk_steps)
                    for s in self._schedules:
                        if self.step < s["next"] < stop:
                            stop = s["next"]
                    before = self.step
                    try:
                        self._c.run(stop - self.step)
                    except KeyboardInterrupt:
                        # the MPI window loop stops at a window end by itself: that step's
                        # changes are done first there too (not on a rank that cannot go on)
                        if self._dist is None or self._dist._broken is None:
                            self._apply_schedules()
                        raise
                    # the changes due at the step reached are part of reaching it: a stop
                    # here leaves the network as run_steps(to this step) would, also when
                    # the Ctrl-C came in the last chunk
                    self._apply_schedules()
                    if bar is not None:
                        bar.update((self.step - before) * self.dt)
                    # the only place a Ctrl-C stops the run (across ranks: all agree on it)
                    if self._dist is None:
                        ctrl_c.check()
                    else:
                        self._dist.interrupted(ctrl_c)
        finally:
            if bar is not None:
                bar.close()

    def __repr__(self) -> str:
        return (
            f"Network(dt={self.dt}, n_threads={self.n_threads}, seed={self.seed}, "
            f"populations={len(self.populations)}, projections={len(self.projections)}, "
            f"t={self.t:g} ms"
            + (f", rank={self.rank} of {self.n_ranks}" if self._dist else "")
            + ")"
        )
