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
"""
from __future__ import annotations

import json
import math
import numbers
import threading
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from spikecore import _core
from spikecore.sim import engine_models as _models

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

MODELS = _models.MODELS
SOURCES = _models.SOURCES
RULES = {
    "all_to_all": 0,
    "pairwise_bernoulli": 1,
    "fixed_indegree": 2,
    "fixed_outdegree": 3,
    "one_to_one": 4,
    "explicit": 5,
}
VARIABLES = {"v": 0, "i_ex": 1, "i_in": 2, "a": 3, "ref": 4, "c": 5, "u": 6}
# receptor names per kind of population (connect(receptor=...))
_RECEPTORS = {"exp": {"ex": 0, "in": 1}, "celif": {"current": 0, "context": 1}}
FORMAT_VERSION = 1


def _idle(fn):
    """Serialise calls into the core: the core works without the GIL (run, connect, prune,
    regrow), so a call from another thread meanwhile would race; it raises RuntimeError instead.
    Re-entrant for the thread that holds the network."""
    import functools

    @functools.wraps(fn)
    def wrapper(self, *args, **kwargs):
        net = self if isinstance(self, Network) else self.net
        me = threading.get_ident()
        if net._owner == me:
            return fn(self, *args, **kwargs)
        if not net._lock.acquire(blocking=False):
            raise RuntimeError("network: busy in another thread (run, connect, prune, ...)")
        net._owner = me
        try:
            return fn(self, *args, **kwargs)
        finally:
            net._owner = None
            net._lock.release()

    return wrapper


def _finite(x: Any, name: str) -> float:
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name}: must be a real number, got {type(x).__name__}")
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{name}: must be finite, got {x}")
    return x


def _int(x: Any, name: str) -> int:
    if isinstance(x, bool) or not isinstance(x, numbers.Integral):
        if isinstance(x, float) and x.is_integer():
            return int(x)
        raise TypeError(f"{name}: must be an integer, got {type(x).__name__}")
    return int(x)


def _numpy(x: Any) -> np.ndarray:
    """numpy view of an array-like; torch tensors are detached and moved to the CPU."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def _float_array(x: Any, name: str, shape: Optional[Tuple[int, ...]] = None) -> np.ndarray:
    a = _numpy(x)
    if a.dtype == object or not (np.issubdtype(a.dtype, np.number) or a.dtype == bool):
        raise TypeError(f"{name}: must be a numeric array, got dtype {a.dtype}")
    if np.iscomplexobj(a):
        raise TypeError(f"{name}: must be real, got dtype {a.dtype}")
    a = np.ascontiguousarray(a, dtype=np.float32)
    if shape is not None and a.shape != shape:
        raise ValueError(f"{name}: shape must be {shape}, got {a.shape}")
    if a.size and not np.all(np.isfinite(a)):
        raise ValueError(f"{name}: contains NaN or inf")
    return a


def _index_array(x: Any, name: str, n: Optional[int] = None) -> np.ndarray:
    a = _numpy(x)
    if a.size == 0:
        a = a.astype(np.int64)
    if not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{name}: must be an integer array, got dtype {a.dtype}")
    if a.ndim != 1:
        raise ValueError(f"{name}: must be 1-D, got shape {a.shape}")
    if n is not None and a.size and (a.min() < 0 or a.max() >= n):
        bad = int(a.min()) if a.min() < 0 else int(a.max())
        raise IndexError(f"{name}: index {bad} out of range [0, {n})")
    return np.ascontiguousarray(a, dtype=np.int32)


@dataclass(frozen=True)
class Population:
    """Handle of a population: ``net.add_population`` returns it; ``len(pop)`` is its size."""

    net: "Network"
    index: int
    n: int
    name: str
    model: str
    branches: int = 1

    def __len__(self) -> int:
        return self.n

    @property
    def n_targets(self) -> int:
        """Targets of synapses and inputs: the ``n x branches`` branch compartments
        (``j * branches + k``) of a dendritic population, else the ``n`` neurons."""
        return self.n * self.branches

    def __repr__(self) -> str:
        br = f", branches={self.branches}" if self.branches > 1 else ""
        return (f"Population({self.name!r}, n={self.n}, model={self.model!r}{br}, "
                f"index={self.index})")

    def get(self, variable: str = "v") -> np.ndarray:
        """Current values of a state variable (``v``, ``i_ex``, ``i_in``, ``a``, ``ref``; ``c``
        for CE-LIF; ``u`` [n, branches] for dendritic populations)."""
        return self.net.get_state(self, variable)

    def set(self, variable: str, value: Any) -> None:
        """Set a state variable: a scalar, an array of length n, or ``("uniform", lo, hi)``."""
        self.net.set_state(self, variable, value)

    @property
    def v(self) -> np.ndarray:
        return self.get("v")


@dataclass(frozen=True)
class Projection:
    """Handle of a projection (one SynapseMatrix: rows by pre neuron, sorted by post)."""

    net: "Network"
    index: int
    pre: Population
    post: Population

    def __repr__(self) -> str:
        return (f"Projection({self.pre.name!r} -> {self.post.name!r}, nnz={self.nnz}, "
                f"index={self.index})")

    @property
    @_idle
    def nnz(self) -> int:
        """Number of synapses."""
        return int(self.net._c.proj_info(self.index)[4])

    @property
    def memory_bytes(self) -> int:
        return int(self.net._c.proj_info(self.index)[5])

    @_idle
    def to_coo(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(pre, post, weight, delay_ms)`` in row order (pre ascending, then post)."""
        pre, post, w, d = self.net._c.proj_coo(self.index)
        return pre, post, w, d.astype(np.float64) * self.net.dt

    @property
    def weights(self) -> np.ndarray:
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


@dataclass
class PoissonInput:
    population: Population
    rate: float
    weight: float
    neurons: Tuple[int, int]
    index: int


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
        return (self._get()[0] + 1).astype(np.float64) * self.net.dt

    @property
    def senders(self) -> np.ndarray:
        return self._get()[1]

    @property
    def count(self) -> int:
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
        return [t[order[bounds[i]:bounds[i + 1]]] for i in range(self.population.n)]

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

    def __init__(self, net: "Network", index: int, population: Population,
                 variables: Sequence[str], neurons: np.ndarray):
        self.net, self.index, self.population = net, index, population
        self.variables = tuple(variables)
        self.neurons = neurons

    @property
    @_idle
    def times(self) -> np.ndarray:
        steps = self.net._c.get_state_record(self.index)[5]
        return (steps + 1).astype(np.float64) * self.net.dt

    @property
    @_idle
    def values(self) -> Dict[str, np.ndarray]:
        rec = self.net._c.get_state_record(self.index)
        steps, data = rec[5], rec[6]
        data = data.reshape(len(steps), len(self.variables), len(self.neurons))
        return {v: data[:, k, :] for k, v in enumerate(self.variables)}

    @_idle
    def clear(self) -> None:
        """Forget the values recorded so far; recording goes on from now."""
        self.net._c.set_state_record(self.index, self.net.step, np.zeros(0, np.int64),
                                     np.zeros(0, np.float32))

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
        return self.net._c.get_rate(self.index)[2]

    @property
    @_idle
    def times(self) -> np.ndarray:
        _, start, c = self.net._c.get_rate(self.index)
        return (start + 1 + np.arange(c.size)).astype(np.float64) * self.net.dt

    @property
    def rate(self) -> np.ndarray:
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


def _value_spec(x: Any, name: str):
    """(kind, a, b, array) for the C++ ValueSpec: constant, distribution, or per-synapse array."""
    empty = np.zeros(0, np.float32)
    if isinstance(x, dict):
        if len(x) != 1:
            raise ValueError(f"{name}: a distribution is one of {{'normal': (mean, std)}}, "
                             f"{{'uniform': (low, high)}}")
        (dist, args), = x.items()
        x = (dist, *args)
    if isinstance(x, tuple) and x and isinstance(x[0], str):
        dist = x[0]
        if dist not in ("normal", "uniform"):
            raise ValueError(f"{name}: unknown distribution {dist!r}; use 'normal' or 'uniform'")
        if len(x) != 3:
            raise ValueError(f"{name}: {dist} needs two parameters, got {len(x) - 1}")
        a, b = _finite(x[1], name), _finite(x[2], name)
        if dist == "normal":
            if b < 0:
                raise ValueError(f"{name}: normal std must be >= 0, got {b}")
            return 1, a, b, empty
        if b < a:
            raise ValueError(f"{name}: uniform bounds must satisfy low <= high, got ({a}, {b})")
        return 2, a, b, empty
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return 0, _finite(x, name), 0.0, empty
    if isinstance(x, (np.ndarray, list, tuple)) or hasattr(x, "__array__"):
        if hasattr(x, "detach"):
            x = x.detach().cpu().numpy()
        a = _float_array(x, name)
        return 3, 0.0, 0.0, a.reshape(-1)
    raise TypeError(f"{name}: must be a number, an array or a distribution, "
                    f"got {type(x).__name__}")


class Network:
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
    ============  =======  =====  ===========================================================

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

    def __init__(self, dt: float = 0.1, n_threads: int = 1, seed: int = 0,
                 max_delay: float = 100.0):
        dt = _finite(dt, "dt")
        if dt <= 0:
            raise ValueError(f"dt: must be > 0, got {dt}")
        n_threads = _int(n_threads, "n_threads")
        if n_threads < 1:
            raise ValueError(f"n_threads: must be >= 1, got {n_threads}")
        seed = _int(seed, "seed")
        if seed < 0 or seed >= 2 ** 64:
            raise ValueError(f"seed: must be in [0, 2**64), got {seed}")
        max_delay = _finite(max_delay, "max_delay")
        self._c = _E.Network(dt, n_threads, seed, max_delay)
        self._max_delay = max_delay
        self.populations: List[Population] = []
        self.projections: List[Projection] = []
        self.poisson_inputs: List[PoissonInput] = []
        self.spike_monitors: List[SpikeMonitor] = []
        self.state_monitors: List[StateMonitor] = []
        self.rate_monitors: List[RateMonitor] = []
        self._pop_specs: List[Dict[str, Any]] = []
        self._lock = threading.Lock()
        self._owner: Optional[int] = None
        self._schedules: List[Dict[str, Any]] = []

    # ------------------------------------------------------------------ properties
    @property
    def dt(self) -> float:
        """Time step (ms)."""
        return self._c.dt

    @property
    def seed(self) -> int:
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
        return self._c.n_threads

    @n_threads.setter
    def n_threads(self, n: int) -> None:
        n = _int(n, "n_threads")
        if n < 1:
            raise ValueError(f"n_threads: must be >= 1, got {n}")
        self._c.n_threads = n

    @property
    def events(self) -> int:
        """Synaptic events delivered so far (spikes x synapses of their rows)."""
        return self._c.events

    @property
    def memory_bytes(self) -> int:
        """Bytes held by connectivity and delay rings."""
        return self._c.memory_bytes

    # ------------------------------------------------------------------ checks
    def _lookup(self, x: Any, name: str, items: list, cls: type, kind: str,
                by_name: bool) -> Any:
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
        accepted = f"a {cls.__name__}, an index or a name" if by_name else \
            f"a {cls.__name__} or an index"
        raise TypeError(f"{name}: must be {accepted}, got {type(x).__name__}")

    def _pop(self, p: Any, name: str) -> Population:
        return self._lookup(p, name, self.populations, Population, "population", by_name=True)

    def _proj(self, j: Any, name: str = "projection") -> Projection:
        return self._lookup(j, name, self.projections, Projection, "projection", by_name=False)

    def _delay(self, d: Any) -> float:
        return self.dt if d is None else d

    # ------------------------------------------------------------------ populations
    @_idle
    def add_population(self, n: int, model: str = "lif", *, name: Optional[str] = None,
                       v_init: Any = None, **params: Any) -> Population:
        r"""Add ``n`` neurons of a model and return their :class:`Population` handle.

        ``model`` is a model name with its parameters as keywords, or a
        :mod:`spikecore.specs` spec instance (what ``spikecore.nn`` modules return from
        ``spec()``; then no parameter keywords). Each model's names, defaults, units and
        validation are its spec's (:data:`spikecore.specs.ENGINE_MODELS`), shared with
        spikecore.nn; renamed parameters (``v_th``, the discrete ``soft_reset``) still work for
        one release with a DeprecationWarning.

        Models
        ------
        ``"lif"``: leaky integrate-and-fire, integrated exactly over each step,

        .. math::

            \tau_m \dot v = -(v - v_{rest}) + i_{ex} + i_{in} + i_e, \qquad
            \tau_{ex} \dot i_{ex} = -i_{ex}, \quad \tau_{in} \dot i_{in} = -i_{in}

        with ``synapse="exp"`` (a spike of weight :math:`w` adds :math:`w` to :math:`i_{ex}` if
        :math:`w \ge 0`, else to :math:`i_{in}`) or ``synapse="delta"`` (it adds :math:`w` to
        :math:`v`). When :math:`v \ge v_\mathrm{threshold}`: spike, :math:`v \leftarrow v_{reset}`
        (or :math:`v - (v_\mathrm{threshold} - v_{reset})` with ``soft_reset``; ``v_reset=None``
        is the soft reset with :math:`v_{reset} = 0`), refractory for ``t_ref``.

        ======================  =======  ====  ============================================
        parameter               default  unit  meaning
        ======================  =======  ====  ============================================
        tau_m                   20       ms    membrane time constant
        v_rest                  0        mV    resting potential (also the initial v)
        v_reset                 0        mV    reset potential (None: soft reset to 0)
        v_threshold             20       mV    threshold
        t_ref                   2        ms    refractory period
        tau_syn_ex, tau_syn_in  5, 10    ms    synaptic decay (``synapse="exp"``)
        i_e                     0        mV    bias input (as the voltage it drives)
        soft_reset              False          subtract v_threshold - v_reset instead
        synapse                 "delta"        ``"delta"`` or ``"exp"``
        ======================  =======  ====  ============================================

        ``"alif"``: the same with an adaptive threshold :math:`v_\mathrm{threshold} + a`,
        :math:`a \leftarrow a\,e^{-dt/\tau_a} + \beta_a s` (extra ``tau_a=200`` ms,
        ``beta_a=1`` mV).

        ``"lif_discrete"``: the discrete-time neuron of trained models (``from_torch``;
        :class:`spikecore.nn.LIF`, with the same names and defaults),
        :math:`v' = \beta v + (1-\beta) v_{rest} + x` with :math:`x` the summed input of the step;
        parameters ``tau=2`` steps (or ``beta`` = :math:`1 - 1/\tau` = 0.5: give one),
        ``v_threshold=1``, ``v_reset=0`` (None: soft reset, subtract the threshold), ``v_rest=0``;
        no refractoriness. ``"alif_discrete"`` (:class:`spikecore.nn.AdaptiveLIF`) adds the
        threshold :math:`a`, :math:`a' = \rho a + \beta_a s` (``tau_a=200`` steps or
        ``rho`` = :math:`1 - 1/\tau_a` = 0.995, ``beta_a=0.2``). (Before 0.2 the defaults were
        ``beta=0.9``, ``rho=0.99``, ``beta_a=0.1``.)

        ``"celif"``: the discrete-time CE-LIF neuron of :class:`spikecore.nn.CELIF` (a
        reconstruction, see that class): per step, with current :math:`I` (receptor
        ``"current"``) and context drive :math:`q` (receptor ``"context"``; :math:`q = I` with
        ``context="shared"``),

        .. math::

            h = \beta v + I, \quad c \leftarrow \lambda_c c + (1 - \lambda_c) q, \quad
            \vartheta = (\vartheta_0 + \beta_a a) + \gamma c, \quad z = H(h - \vartheta),
            \quad v \leftarrow h (1 - z), \quad a \leftarrow \rho a + (1 - \rho) z

        parameters ``beta=0.5``, ``rho=0.9``, ``beta_a=0.5``, ``lambda_c=0.99`` (a number or one
        per neuron), ``gamma=20``, ``v_threshold=1``, ``context="separate"``.

        Dendritic branches (multi-compartment neurons; every LIF / ALIF model, continuous or
        discrete, with delta synapses): ``branches=K`` gives neuron :math:`j` :math:`K` branch
        compartments :math:`jK + k`, which are the targets of its synapses and inputs
        (``post_index``, ``neurons``, :attr:`Population.n_targets`). Per step

        .. math::

            u_{jk} \leftarrow \delta\, u_{jk} + s_{jk}, \qquad
            y_j = \sum_k g(u_{jk} + b_{jk})

        with :math:`s_{jk}` the summed input of the step, :math:`g` = ``branch_fn`` (``"relu"``,
        ``"sigmoid"``, ``"identity"``), :math:`\delta` = ``branch_decay`` (default 0: the
        instantaneous branches of :class:`spikecore.nn.DendriticLinear`) and :math:`b` =
        ``branch_bias`` (``n x K`` values or None); :math:`y_j` is the soma's input of the step.
        The branch state :math:`u` is the state variable ``"u"`` (``get_state``: ``[n, K]``).

        ``"spike_source"``: emits given spikes (``spike_times`` ms, ``spike_neurons``), see
        :meth:`add_source_spikes`. ``"poisson_source"``: independent Poisson spike trains of
        ``rate`` Hz (number or one per neuron; at most one spike per step), see
        :meth:`set_source_rate`; it can also take scheduled spikes.

        ``v_init``: ``None`` (v_rest), a number, an array of length ``n``, or
        ``("uniform", low, high)`` drawn from the counter RNG (independent of threads).
        """
        n = _int(n, "n")
        if n < 1:
            raise ValueError(f"n: must be >= 1 (empty populations are not allowed), got {n}")
        if n >= 2 ** 31:
            raise ValueError(f"n: must be < 2**31, got {n}")
        spike_times = params.pop("spike_times", None)
        spike_neurons = params.pop("spike_neurons", None)
        rate = params.pop("rate", None)
        if rate is not None and model != "poisson_source":
            raise TypeError(f"rate: unknown parameter of model {model!r}")
        spec = _models.spec_of(model, params)  # names, defaults, validation: spikecore.specs
        model = spec.model_name()
        name = f"pop{len(self.populations)}" if name is None else str(name)
        idx = _models.add(self._c, n, spec, name)
        p = spec.params()
        K = p.get("branches", 1)
        pop = Population(self, idx, n, name, model, K)
        self.populations.append(pop)
        self._pop_specs.append(dict(n=n, model=model, name=name, params=p))
        if model == "poisson_source":
            self.set_source_rate(pop, 0.0 if rate is None else rate)
        if v_init is not None:
            if model in SOURCES:
                raise ValueError("v_init: a spike source has no membrane potential")
            self.set_state(pop, "v", v_init)
        if spike_times is not None or spike_neurons is not None:
            if model not in SOURCES:
                raise TypeError("spike_times: only a spike source population takes spikes")
            self.add_source_spikes(pop, spike_times, spike_neurons)
        return pop

    def _var(self, pop: Population, variable: str) -> int:
        if variable not in VARIABLES:
            raise ValueError(f"variable: unknown {variable!r}; valid: {', '.join(VARIABLES)}")
        code = VARIABLES[variable]
        if self._c.state_size(pop.index, code) == 0:
            raise ValueError(f"variable: population {pop.name!r} ({pop.model}"
                             f"{', dendritic' if pop.branches > 1 else ''}) has no {variable!r}")
        return code

    @_idle
    def set_state(self, pop: Any, variable: str, value: Any) -> None:
        """Set a state variable of a population: number, array (n,), or ``("uniform", lo, hi)``
        (``u``: ``[n, branches]``)."""
        pop = self._pop(pop, "population")
        code = self._var(pop, variable)
        size = pop.n_targets if variable == "u" else pop.n
        if isinstance(value, dict) and len(value) == 1:
            (k, v), = value.items()
            value = (k, *v)
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            if value[0] != "uniform" or len(value) != 3:
                raise ValueError(f"{variable}: distribution must be ('uniform', low, high)")
            lo, hi = _finite(value[1], "low"), _finite(value[2], "high")
            if hi < lo:
                raise ValueError(f"high: must be >= low, got ({lo}, {hi})")
            self._c.init_uniform(pop.index, code, lo, hi)
            return
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = np.full(size, _finite(value, variable), np.float32)
        a = _float_array(value, variable)
        if variable == "u" and a.shape == (pop.n, pop.branches):
            a = a.reshape(-1)
        if a.shape != (size,):
            want = f"({pop.n}, {pop.branches})" if variable == "u" else f"({size},)"
            raise ValueError(f"{variable}: shape must be {want}, got {a.shape}")
        self._c.set_state(pop.index, code, a)

    @_idle
    def reset_state(self, pop: Any = None) -> None:
        """Return populations (default: all) to rest: ``v = v_rest``, synaptic currents,
        adaptation and refractory counters zero, delay rings emptied (spikes in flight are
        dropped). Time, connectivity, inputs and monitors are kept: use it between independent
        trials, e.g. samples fed to a converted model."""
        pops = self.populations if pop is None else [self._pop(pop, "population")]
        for p in pops:
            self._c.reset_state(p.index)

    @_idle
    def get_state(self, pop: Any, variable: str = "v") -> np.ndarray:
        """Current values of a state variable (a copy; ``u``: ``[n, branches]``)."""
        pop = self._pop(pop, "population")
        x = self._c.get_state(pop.index, self._var(pop, variable))
        return x.reshape(pop.n, pop.branches) if variable == "u" else x

    # ------------------------------------------------------------------ connectivity
    @_idle
    def connect(self, pre: Any, post: Any, rule: str = "all_to_all", *, p: Optional[float] = None,
                k: Optional[int] = None, indegree: Optional[int] = None,
                outdegree: Optional[int] = None, weight: Any = 1.0, delay: Any = None,
                allow_autapses: bool = True, allow_multapses: bool = True,
                pre_index: Any = None, post_index: Any = None,
                receptor: Any = None) -> Projection:
        r"""Connect ``pre`` to ``post`` and return the :class:`Projection`.

        Rules: ``"all_to_all"``, ``"pairwise_bernoulli"`` (each pair with probability ``p``),
        ``"fixed_indegree"`` (``k`` sources per target), ``"fixed_outdegree"`` (``k`` targets per
        source), ``"one_to_one"``, ``"explicit"`` (``pre_index``, ``post_index`` arrays).

        ``weight`` (mV) and ``delay`` (ms, default ``dt``, rounded to steps, at least one step and
        at most ``max_delay``): a number, an array with one value per synapse (explicit:
        aligned with the index arrays; one_to_one: length n; all_to_all: shape
        ``(n_pre, n_post)``, i.e. the transpose of a torch ``Linear.weight``), or a distribution
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
                raise ValueError(f"post_index: length {qi.size} differs from pre_index's "
                                 f"{pi.size}")
            for nm, kind, arr in (("weight", wk, warr), ("delay", dk, darr)):
                if kind == 3 and arr.size != pi.size:
                    raise ValueError(f"{nm}: length {arr.size} differs from the {pi.size} "
                                     "synapses")
            j = self._c.connect_explicit(P.index, Q.index, pi, qi, wk, wa, wb, warr, dk, da, db,
                                         darr, bool(allow_autapses), bool(allow_multapses))
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
                val = _int(val, nm)
                if val < 0:
                    raise ValueError(f"{nm}: must be >= 0, got {val}")
                param = float(val)
            if rule == "all_to_all":
                # arrays: (n_pre, n_post) or flat pre-major; the diagonal is dropped when
                # autapses are forbidden within one population
                full = P.n * Q.n_targets
                drop = P is Q and not allow_autapses
                keep = ~np.eye(P.n, dtype=bool).reshape(-1) if drop else None
                arrs = []
                for nm, kind, arr in (("weight", wk, warr), ("delay", dk, darr)):
                    if kind == 3:
                        if arr.size != full:
                            raise ValueError(f"{nm}: all_to_all needs {full} values "
                                             f"(n_pre x n_post), got {arr.size}")
                        if drop:
                            arr = np.ascontiguousarray(arr[keep])
                    arrs.append(arr)
                warr, darr = arrs
            j = self._c.connect(P.index, Q.index, RULES[rule], param, wk, wa, wb, warr, dk, da,
                                db, darr, bool(allow_autapses), bool(allow_multapses))
        if rec >= 0:
            self._c.set_receptor(j, rec)
        proj = Projection(self, j, P, Q)
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
                raise ValueError(f"receptor: {receptor!r} is not a receptor of population "
                                 f"{Q.name!r}; valid: {', '.join(names) or 'none (one receptor)'}")
            return names[receptor]
        r = _int(receptor, "receptor")
        if not 0 <= r < max(1, len(names)):
            raise ValueError(f"receptor: must be in [0, {max(1, len(names))}) for population "
                             f"{Q.name!r}, got {r}")
        return r

    # ------------------------------------------------------------------ inputs
    @_idle
    def add_poisson_input(self, pop: Any, rate: float, weight: float,
                          neurons: Optional[Tuple[int, int]] = None) -> PoissonInput:
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
        rate = _finite(rate, "rate")
        if rate < 0:
            raise ValueError(f"rate: must be >= 0, got {rate}")
        weight = _finite(weight, "weight")
        nt = P.n_targets
        lo, hi = (0, nt) if neurons is None else (int(neurons[0]), int(neurons[1]))
        if not 0 <= lo < hi <= nt:
            raise IndexError(f"neurons: range ({lo}, {hi}) must be non-empty inside [0, {nt}]")
        idx = self._c.add_poisson(P.index, rate, weight, lo, hi)
        inp = PoissonInput(P, rate, weight, (lo, hi), idx)
        self.poisson_inputs.append(inp)
        return inp

    def _time_steps(self, times: Any, name: str, offset: int) -> np.ndarray:
        t = np.asarray(times, dtype=np.float64).reshape(-1) if not isinstance(times, np.ndarray) \
            else times.astype(np.float64).reshape(-1)
        if t.size and not np.all(np.isfinite(t)):
            raise ValueError(f"{name}: contains NaN or inf")
        s = np.rint(t / self.dt).astype(np.int64) - offset
        if s.size and s.min() < self.step:
            raise ValueError(f"{name}: must be >= {(self.step + offset) * self.dt:g} ms (the "
                             f"current time + dt), got {t.min():g}")
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
        if not np.issubdtype(tt.dtype, np.number):
            raise TypeError(f"times: must be numeric, got dtype {tt.dtype}")
        steps = self._time_steps(tt, "times", 1)
        if steps.size != ids.size:
            raise ValueError(f"neurons: length {ids.size} differs from times' {steps.size}")
        if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
            w = np.full(ids.size, _finite(weight, "weight"), np.float32)
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
        if not np.issubdtype(tt.dtype, np.number):
            raise TypeError(f"times: must be numeric, got dtype {tt.dtype}")
        steps = self._time_steps(tt, "times", 1)
        if steps.size != ids.size:
            raise ValueError(f"neurons: length {ids.size} differs from times' {steps.size}")
        self._c.add_source_spikes(P.index, steps, ids)

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
            rate = np.full(P.n, _finite(rate, "rate"), np.float32)
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
            current = np.full(P.n, _finite(current, "current"), np.float32)
        a = _float_array(current, "current")
        if a.ndim == 1:
            if a.shape != (P.n,):
                raise ValueError(f"current: shape must be ({P.n},) or (steps, {P.n}), got "
                                 f"{a.shape}")
            if start is not None:
                raise ValueError("start: only per-step current arrays take a start time")
            self._c.set_current_const(P.index, a)
        elif a.ndim == 2:
            if a.shape[1] != P.n:
                raise ValueError(f"current: shape must be (steps, {P.n}), got {a.shape}")
            s0 = self.step if start is None else int(round(_finite(start, "start") / self.dt))
            if s0 < self.step:
                raise ValueError(f"start: must be >= the current time {self.t:g} ms, got {start}")
            self._c.set_current_steps(P.index, s0, a)
        else:
            raise ValueError(f"current: must be 1-D or 2-D, got shape {a.shape}")

    # ------------------------------------------------------------------ monitors
    @_idle
    def record_spikes(self, pop: Any) -> SpikeMonitor:
        """Record the spikes of ``pop`` from now on; returns a :class:`SpikeMonitor`."""
        P = self._pop(pop, "population")
        m = SpikeMonitor(self, self._c.record_spikes(P.index), P)
        self.spike_monitors.append(m)
        return m

    @_idle
    def record_state(self, pop: Any, variables: Union[str, Sequence[str]] = ("v",),
                     neurons: Any = None, every: Optional[float] = None) -> StateMonitor:
        """Record state ``variables`` (``v``, ``i_ex``, ``i_in``, ``a``, ``ref``) of ``neurons``
        (default all) every ``every`` ms (default each step) from now on."""
        P = self._pop(pop, "population")
        if P.model in SOURCES:
            raise ValueError("population: a spike source has no state to record")
        if isinstance(variables, str):
            variables = (variables,)
        variables = tuple(variables)
        if not variables:
            raise ValueError("variables: name at least one variable")
        for v in variables:
            if v not in VARIABLES:
                raise ValueError(f"variables: unknown {v!r}; valid: {', '.join(VARIABLES)}")
            if v == "u":
                raise ValueError("variables: branch potentials 'u' cannot be recorded; read "
                                 "them with get_state(pop, 'u')")
            if v == "c" and P.model != "celif":
                raise ValueError(f"variables: 'c' (context) exists only in CE-LIF populations, "
                                 f"not in {P.name!r} ({P.model})")
        idx = np.arange(P.n, dtype=np.int32) if neurons is None else \
            _index_array(np.atleast_1d(_numpy(neurons)), "neurons", P.n)
        if idx.size == 0:
            raise ValueError("neurons: name at least one neuron")
        if np.any(np.diff(idx) <= 0):
            raise ValueError("neurons: must be strictly increasing")
        k = 1 if every is None else int(round(_finite(every, "every") / self.dt))
        if k < 1:
            raise ValueError(f"every: must be >= dt, got {every}")
        r = self._c.record_state(P.index, [VARIABLES[v] for v in variables], idx.tolist(), k)
        m = StateMonitor(self, r, P, variables, idx)
        self.state_monitors.append(m)
        return m

    @_idle
    def record_rate(self, pop: Any) -> RateMonitor:
        """Record the population rate (spike count per step) of ``pop`` from now on."""
        P = self._pop(pop, "population")
        m = RateMonitor(self, self._c.record_rate(P.index), P)
        self.rate_monitors.append(m)
        return m

    # ------------------------------------------------------------------ structural plasticity
    @_idle
    def prune(self, projection: Any, fraction: Optional[float] = None,
              threshold: Optional[float] = None, by: str = "weight") -> int:
        """Remove synapses of a projection; returns how many. Either ``fraction`` (of the current
        synapses; ``by="weight"``: smallest |w| first, ``by="random"``: uniformly at random,
        keyed by (seed, projection, step)) or ``threshold`` (all with |w| < threshold). O(nnz).
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
    def regrow(self, projection: Any, count: int, method: str = "random", scores: Any = None,
               weight: float = 0.0, delay: Optional[float] = None) -> int:
        """Add ``count`` synapses with ``weight`` (mV) and ``delay`` (ms, default dt) at free
        positions: ``method="random"`` (uniform, keyed by (seed, projection, step)) or
        ``"scores"`` (the free positions with the largest ``scores[pre, post]``). Autapse and
        multapse settings of the projection are respected. A new synapse never carries spikes
        emitted before it existed. Returns ``count``."""
        j = self._proj(projection)
        count = _int(count, "count")
        if count < 0:
            raise ValueError(f"count: must be >= 0, got {count}")
        weight = _finite(weight, "weight")
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
    def add_structural_plasticity(self, projection: Any, every: float, fraction: float,
                                  by: str = "weight", weight: float = 0.0,
                                  delay: Optional[float] = None) -> None:
        """During :meth:`run`, every ``every`` ms prune ``fraction`` of the synapses of a
        projection (``by`` weight or random) and regrow as many at random positions with
        ``weight`` and ``delay``: the number of synapses stays fixed."""
        j = self._proj(projection)
        every_steps = int(round(_finite(every, "every") / self.dt))
        if every_steps < 1:
            raise ValueError(f"every: must be >= dt, got {every}")
        f = _finite(fraction, "fraction")
        if not 0.0 <= f <= 1.0:
            raise ValueError(f"fraction: must be in [0, 1], got {f}")
        if by not in ("weight", "random"):
            raise ValueError(f"by: must be 'weight' or 'random', got {by!r}")
        d = _finite(self._delay(delay), "delay")
        if round(d / self.dt) < 1:
            raise ValueError(f"delay: must be at least one step (dt = {self.dt} ms), got {d}")
        self._schedules.append(dict(projection=j.index, every=every_steps,
                                    next=self.step + every_steps, fraction=f, by=by,
                                    weight=_finite(weight, "weight"), delay=d))

    def _apply_schedules(self) -> None:
        for s in self._schedules:
            if s["next"] == self.step:
                removed = self.prune(s["projection"], fraction=s["fraction"], by=s["by"])
                self.regrow(s["projection"], removed, weight=s["weight"], delay=s["delay"])
                s["next"] += s["every"]

    # ------------------------------------------------------------------ running
    @_idle
    def run(self, duration: float, progress: Optional[bool] = None, chunk: float = 100.0) -> None:
        """Advance the network by ``duration`` ms (rounded to steps); a second call continues
        exactly where the first stopped.

        The core runs with the GIL released, in chunks of ``chunk`` ms of biological time;
        between chunks Ctrl-C stops the run cleanly (the network stays consistent at the end
        of a step) and a tqdm progress bar advances (``progress=None``: shown for runs longer
        than 10 s of biological time).
        """
        duration = _finite(duration, "duration")
        if duration < 0:
            raise ValueError(f"duration: must be >= 0, got {duration}")
        chunk = _finite(chunk, "chunk")
        if chunk <= 0:
            raise ValueError(f"chunk: must be > 0, got {chunk}")
        n = int(round(duration / self.dt))
        if n >= 2 ** 53:
            raise ValueError(f"duration: {duration} ms is more than 2**53 steps")
        end = self.step + n
        chunk_steps = max(1, int(round(chunk / self.dt)))
        if progress is None:
            progress = duration > 10_000.0
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = tqdm(total=round(duration, 6), unit="ms", desc="spikecore.sim")
        try:
            while self.step < end:
                self._apply_schedules()
                stop = min(end, self.step + chunk_steps)
                for s in self._schedules:
                    if self.step < s["next"] < stop:
                        stop = s["next"]
                before = self.step
                self._c.run(stop - self.step)
                if bar is not None:
                    bar.update((self.step - before) * self.dt)
            self._apply_schedules()
        finally:
            if bar is not None:
                bar.close()

    # ------------------------------------------------------------------ save / load
    @_idle
    def save(self, path: str) -> None:
        """Save the whole network (structure, connectivity, state, delay rings, inputs, monitors,
        schedules) to an ``.npz`` file; :meth:`load` continues bitwise identically."""
        c = self._c
        arrays: Dict[str, np.ndarray] = {}
        meta: Dict[str, Any] = dict(
            version=FORMAT_VERSION, dt=self.dt, seed=self.seed, max_delay=self._max_delay,
            n_threads=self.n_threads, step=self.step, events=self.events,
            populations=self._pop_specs, schedules=self._schedules,
            projections=[], poisson=[], spike_monitors=[], state_monitors=[], rate_monitors=[],
        )
        for i, pop in enumerate(self.populations):
            params = {}
            for k, v in self._pop_specs[i]["params"].items():
                if isinstance(v, np.ndarray):  # per-neuron parameters go to the arrays
                    arrays[f"pop{i}_param_{k}"] = v
                    v = {"array": f"pop{i}_param_{k}"}
                params[k] = v
            meta["populations"][i] = dict(self._pop_specs[i], params=params)
            if pop.model not in SOURCES:
                for v in VARIABLES:  # size 0 where the population has no such variable
                    arrays[f"pop{i}_{v}"] = c.get_state(i, VARIABLES[v])
                slots, _, ring = c.get_ring(i)
                arrays[f"pop{i}_ring"] = ring
                meta["populations"][i]["ring_slots"] = slots
                s, ids, w = c.get_events(i)
                keep = s >= self.step  # pending events only
                arrays[f"pop{i}_ev_step"], arrays[f"pop{i}_ev_id"], arrays[f"pop{i}_ev_w"] = \
                    s[keep], ids[keep], w[keep]
                ic, i0, ilen, isteps = c.get_current(i)
                arrays[f"pop{i}_i_const"] = ic
                past = min(ilen, max(0, self.step - i0))  # rows already used
                arrays[f"pop{i}_i_steps"] = isteps.reshape(ilen, pop.n)[past:]
                meta["populations"][i]["i_start"] = i0 + past
            else:
                s, ids = c.get_source_spikes(i)
                keep = s >= self.step
                arrays[f"pop{i}_src_step"], arrays[f"pop{i}_src_id"] = s[keep], ids[keep]
                arrays[f"pop{i}_src_rate"] = c.get_source_rates(i)
        for j, pj in enumerate(self.projections):
            _, _, aut, mult, _, _ = c.proj_info(j)
            pre, post, w, d = c.proj_coo(j)
            arrays[f"proj{j}_pre"], arrays[f"proj{j}_post"] = pre, post
            arrays[f"proj{j}_w"], arrays[f"proj{j}_d"] = w, d
            meta["projections"].append(dict(pre=pj.pre.index, post=pj.post.index,
                                            allow_autapses=aut, allow_multapses=mult,
                                            receptor=int(c.get_receptor(j))))
        for p in self.poisson_inputs:
            meta["poisson"].append(dict(pop=p.population.index, rate=p.rate, weight=p.weight,
                                        neurons=list(p.neurons)))
        for k, m in enumerate(self.spike_monitors):
            _, s, ids = c.get_spikes(m.index)
            arrays[f"smon{k}_step"], arrays[f"smon{k}_id"] = s, ids
            meta["spike_monitors"].append(dict(pop=m.population.index))
        for k, m in enumerate(self.state_monitors):
            _, _, idx, every, start, steps, data = c.get_state_record(m.index)
            arrays[f"vmon{k}_idx"], arrays[f"vmon{k}_step"], arrays[f"vmon{k}_data"] = \
                idx, steps, data
            meta["state_monitors"].append(dict(pop=m.population.index, variables=m.variables,
                                               every=every, start=start))
        for k, m in enumerate(self.rate_monitors):
            _, start, cnt = c.get_rate(m.index)
            arrays[f"rmon{k}_count"] = cnt
            meta["rate_monitors"].append(dict(pop=m.population.index, start=start))
        arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8)
        with open(path, "wb") as f:
            np.savez(f, **arrays)

    @classmethod
    def load(cls, path: str, n_threads: Optional[int] = None) -> "Network":
        """Load a network saved by :meth:`save` (optionally with another thread count: results
        are the same)."""
        with np.load(path, allow_pickle=False) as z:
            a = {k: z[k] for k in z.files}
        meta = json.loads(a["meta"].tobytes().decode())
        if meta.get("version") != FORMAT_VERSION:
            raise ValueError(f"path: unsupported file version {meta.get('version')}")
        net = cls(dt=meta["dt"], n_threads=n_threads or meta["n_threads"], seed=meta["seed"],
                  max_delay=meta["max_delay"])
        c = net._c
        c.step = meta["step"]
        for i, spec in enumerate(meta["populations"]):
            params = {k: (a[v["array"]] if isinstance(v, dict) else v)
                      for k, v in spec["params"].items()}
            # saved names (also those of older files) need no deprecation warning here
            pop = net.add_population(spec["n"], _models.spec_of(spec["model"], params,
                                                                warn=False), name=spec["name"])
            if spec["model"] in SOURCES:
                c.add_source_spikes(i, a[f"pop{i}_src_step"], a[f"pop{i}_src_id"])
                if a[f"pop{i}_src_rate"].size:
                    c.set_source_rates(i, a[f"pop{i}_src_rate"])
                continue
            for v in VARIABLES:
                if f"pop{i}_{v}" in a and a[f"pop{i}_{v}"].size:
                    c.set_state(i, VARIABLES[v], a[f"pop{i}_{v}"])
            if a[f"pop{i}_ev_step"].size:
                c.add_events(i, a[f"pop{i}_ev_step"], a[f"pop{i}_ev_id"], a[f"pop{i}_ev_w"])
            if a[f"pop{i}_i_const"].size:
                c.set_current_const(i, a[f"pop{i}_i_const"])
            if a[f"pop{i}_i_steps"].size:
                c.set_current_steps(i, spec["i_start"],
                                    np.ascontiguousarray(a[f"pop{i}_i_steps"]))
            del pop
        for j, spec in enumerate(meta["projections"]):
            c.connect_steps(spec["pre"], spec["post"], a[f"proj{j}_pre"], a[f"proj{j}_post"],
                            a[f"proj{j}_w"], a[f"proj{j}_d"], spec["allow_autapses"],
                            spec["allow_multapses"])
            if spec.get("receptor", -1) >= 0:
                c.set_receptor(j, spec["receptor"])
            net.projections.append(Projection(net, j, net.populations[spec["pre"]],
                                              net.populations[spec["post"]]))
        for i, spec in enumerate(meta["populations"]):
            if spec["model"] not in SOURCES:
                c.set_ring(i, spec["ring_slots"], a[f"pop{i}_ring"])
        for p in meta["poisson"]:
            net.add_poisson_input(p["pop"], p["rate"], p["weight"], tuple(p["neurons"]))
        for k, m in enumerate(meta["spike_monitors"]):
            mon = net.record_spikes(m["pop"])
            c.set_spikes(mon.index, a[f"smon{k}_step"], a[f"smon{k}_id"])
        for k, m in enumerate(meta["state_monitors"]):
            mon = net.record_state(m["pop"], m["variables"], a[f"vmon{k}_idx"],
                                   every=m["every"] * net.dt)
            c.set_state_record(mon.index, m["start"], a[f"vmon{k}_step"], a[f"vmon{k}_data"])
        for k, m in enumerate(meta["rate_monitors"]):
            mon = net.record_rate(m["pop"])
            c.set_rate(mon.index, m["start"], a[f"rmon{k}_count"])
        net._schedules = [dict(s) for s in meta["schedules"]]
        c.events = meta["events"]
        return net

    def __repr__(self) -> str:
        return (f"Network(dt={self.dt}, n_threads={self.n_threads}, seed={self.seed}, "
                f"populations={len(self.populations)}, projections={len(self.projections)}, "
                f"t={self.t:g} ms)")
