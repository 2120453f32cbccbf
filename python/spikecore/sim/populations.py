"""Populations: the neuron models, their parameters and state (``add_population``,
``set_state``, ``get_state``, ``reset_state``)."""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, cast

import numpy as np

from spikecore import specs
from spikecore._guards import check_bytes, integer
from spikecore.sim import engine_models as _models
from spikecore.sim._parts import NetworkParts
from spikecore.sim._validate import _float_array, _idle, _value

if TYPE_CHECKING:
    from spikecore.sim.network import Network

MODELS = _models.MODELS
SOURCES = _models.SOURCES
VARIABLES = {"v": 0, "i_ex": 1, "i_in": 2, "a": 3, "ref": 4, "c": 5, "u": 6, "phase": 7}
# binding codes (the names, defaults and checks are spikecore.specs')
BRANCH_FNS = {g: i for i, g in enumerate(specs.BRANCH_FNS)}
SYNAPSES = {k: i for i, k in enumerate(specs.lif.SYNAPSES)}


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
        """Targets of synapses and inputs, the ``n x branches`` branch compartments
        (``j * branches + k``) of a dendritic population, else the ``n`` neurons."""
        return self.n * self.branches

    def __repr__(self) -> str:
        br = f", branches={self.branches}" if self.branches > 1 else ""
        return (
            f"Population({self.name!r}, n={self.n}, model={self.model!r}{br}, index={self.index})"
        )

    def get(self, variable: str = "v") -> np.ndarray:
        """Current values of a state variable (``v``, ``i_ex``, ``i_in``, ``a``, ``ref``; ``c``
        for CE-LIF; ``u`` [n, branches] for dendritic populations)."""
        return self.net.get_state(self, variable)

    def set(self, variable: str, value: Any) -> None:
        """Set a state variable: a scalar, an array of length n, or ``("uniform", lo, hi)``."""
        self.net.set_state(self, variable, value)

    @property
    def v(self) -> np.ndarray:
        """Membrane potentials now (mV), one per neuron (``get("v")``)."""
        return self.get("v")


class PopulationsMixin(NetworkParts):
    """Adding populations and reading / writing their state (part of :class:`Network`)."""

    @_idle
    def add_population(
        self,
        n: int,
        model: str = "lif",
        *,
        name: Optional[str] = None,
        v_init: Any = None,
        **params: Any,
    ) -> Population:
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
        ``rho`` = :math:`1 - 1/\tau_a` = 0.995, ``beta_a=0.2``). (In spikecore 0.1 the defaults were
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

            u_{jk} \leftarrow (s_{jk} + b_{jk}) + \delta\, (u_{jk} - b_{jk}), \qquad
            y_j = \sum_k g(u_{jk})

        with :math:`s_{jk}` the summed input of the step, :math:`g` = ``branch_fn`` (``"relu"``,
        ``"sigmoid"``, ``"identity"``), :math:`\delta` = ``branch_decay`` (default 0: the
        instantaneous branches of :class:`spikecore.nn.DendriticLinear`) and :math:`b` =
        ``branch_bias`` (``n x K`` values or None); :math:`y_j` is the soma's input of the step.
        The branch state :math:`u` (the branch potential, bias included: it rests at :math:`b`
        and starts there) is the state variable ``"u"`` (``get_state``: ``[n, K]``).

        ``"if"``, ``"stdi"``, ``"max_gate"``: the ANN-to-SNN conversion neurons (integrate-and-fire
        with soft reset and :math:`v_0 = \vartheta/2`, signed with ``negative_slope``; STDI with
        a time-varying threshold, one window of ``T`` bits per reset; the max-pool gate of
        ``kernel`` candidates, exact for STDI codes), see :mod:`spikecore.specs.conversion` and
        docs/convert.md. A signed neuron i reports its negative spikes as id ``n + i``; an STDI
        spike of bit t weighs :math:`T 2^{-(t+1)}` downstream. State ``"v"`` (IF membrane, STDI
        window sum), ``"u"`` (gate running values ``[n, kernel]``), ``"phase"`` (the window's
        relative step).

        ``"spike_source"``: emits given spikes (``spike_times`` ms, ``spike_neurons``), see
        :meth:`~spikecore.sim.Network.add_source_spikes`. ``"poisson_source"``: independent Poisson spike trains of
        ``rate`` Hz (number or one per neuron; at most one spike per step), see
        :meth:`~spikecore.sim.Network.set_source_rate`; it can also take scheduled spikes.

        ``v_init``: ``None`` (v_rest), a number, an array of length ``n``, or
        ``("uniform", low, high)`` drawn from the counter RNG (independent of threads).
        """
        n = integer(n, "n", 1, 2**31 - 1)  # no empty population; the core's int32 indices
        spike_times = params.pop("spike_times", None)
        spike_neurons = params.pop("spike_neurons", None)
        rate = params.pop("rate", None)
        if rate is not None and model != "poisson_source":
            raise TypeError(f"rate: unknown parameter of model {model!r}")
        spec = _models.spec_of(model, params)  # names, defaults, validation: spikecore.specs
        model = spec.model_name()
        name = f"pop{len(self.populations)}" if name is None else str(name)
        p = spec.params()
        K = p["kernel"] if model == "max_gate" else p.get("branches", 1)
        # the core's estimate (engine/internal.hpp) plus the staging arrays of spec.engine(n)
        each = "kernel candidates" if model == "max_gate" else "branches"
        what = f"{n} neurons" + (f" x {K} {each}" if K > 1 else "")
        check_bytes(n * (48.0 + 16.0) + n * K * 12.0, "n", what)
        idx = _models.add(self._c, n, spec, name)
        pop = Population(cast("Network", self), idx, n, name, model, K)
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
            raise ValueError(
                f"variable: population {pop.name!r} ({pop.model}"
                f"{', dendritic' if pop.branches > 1 else ''}) has no {variable!r}"
            )
        return code

    @_idle
    def set_state(self, pop: Any, variable: str, value: Any) -> None:
        """Set a state variable of a population: number, array (n,), or ``("uniform", lo, hi)``
        (``u``: ``[n, branches]``)."""
        pop = self._pop(pop, "population")
        code = self._var(pop, variable)
        size = pop.n_targets if variable == "u" else 1 if variable == "phase" else pop.n
        if isinstance(value, dict) and len(value) == 1:
            ((k, v),) = value.items()
            if not isinstance(v, (tuple, list)):
                raise TypeError(f"{variable}: distribution must be {{'uniform': (low, high)}}")
            value = (k, *v)
        if isinstance(value, tuple) and value and isinstance(value[0], str):
            if value[0] != "uniform" or len(value) != 3:
                raise ValueError(f"{variable}: distribution must be ('uniform', low, high)")
            lo, hi = _value(value[1], "low"), _value(value[2], "high")
            if hi < lo:
                raise ValueError(f"high: must be >= low, got ({lo}, {hi})")
            self._c.init_uniform(pop.index, code, lo, hi)
            return
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            value = np.full(size, _value(value, variable), np.float32)
        a = _float_array(value, variable)
        if variable == "u" and a.shape == (pop.n, pop.branches):
            a = a.reshape(-1)
        if a.shape != (size,):
            want = f"({pop.n}, {pop.branches})" if variable == "u" else f"({size},)"
            raise ValueError(f"{variable}: shape must be {want}, got {a.shape}")
        self._c.set_state(pop.index, code, a)

    @_idle
    def reset_state(self, pop: Any = None, *, keep_pending: bool = False) -> None:
        """Return populations (default: all) to rest: ``v = v_rest``, synaptic currents,
        adaptation, CE-LIF context, branch state and refractory counters zero, delay rings emptied
        (spikes in flight are dropped). Time, connectivity, inputs and monitors are kept: use it
        between independent trials, e.g. samples fed to a converted model.

        ``keep_pending=True`` resets only the neuron state and keeps the delay ring: the input
        already delivered to the population (spikes in flight, this and coming steps' input
        events and Poisson counts) still arrives. A deployed feedforward model uses it to hold a
        layer at rest until its first input reaches it.
        """
        if not isinstance(keep_pending, bool):
            raise TypeError(f"keep_pending: must be a bool, got {type(keep_pending).__name__}")
        pops = self.populations if pop is None else [self._pop(pop, "population")]
        for p in pops:
            self._c.reset_state(p.index, not keep_pending)

    @_idle
    def get_state(self, pop: Any, variable: str = "v") -> np.ndarray:
        """Current values of a state variable (a copy; ``u``: ``[n, branches]``)."""
        pop = self._pop(pop, "population")
        x = self._c.get_state(pop.index, self._var(pop, variable))
        return x.reshape(pop.n, pop.branches) if variable == "u" else x
