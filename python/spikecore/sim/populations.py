"""Populations: the neuron models, their parameters and state (``add_population``,
``set_state``, ``get_state``, ``reset_state``)."""
from __future__ import annotations

from dataclasses import dataclass
import numbers
from typing import TYPE_CHECKING, Any, Dict, Optional

import numpy as np

from spikecore.sim._validate import (_finite, _float_array, _idle, _int)

if TYPE_CHECKING:
    from spikecore.sim.network import Network


MODELS = ("lif", "alif", "lif_discrete", "alif_discrete", "celif", "spike_source",
          "poisson_source")
SOURCES = ("spike_source", "poisson_source")
VARIABLES = {"v": 0, "i_ex": 1, "i_in": 2, "a": 3, "ref": 4, "c": 5, "u": 6}
_LIF_DEFAULTS = dict(
    tau_m=20.0, v_rest=0.0, v_reset=0.0, v_th=20.0, t_ref=2.0, tau_syn_ex=5.0, tau_syn_in=10.0,
    i_e=0.0, soft_reset=False, synapse="delta",
)
_ALIF_EXTRA = dict(tau_a=200.0, beta_a=1.0)
_DISCRETE_DEFAULTS = dict(beta=0.9, v_rest=0.0, v_th=1.0, v_reset=0.0, soft_reset=False)
_ADISCRETE_EXTRA = dict(rho=0.99, beta_a=0.1)
_CELIF_DEFAULTS = dict(beta=0.5, rho=0.9, beta_a=0.5, lambda_c=0.99, gamma=20.0, v_th=1.0,
                       context="separate")
# dendritic branches, for every LIF / ALIF model (continuous or discrete)
_BRANCH_DEFAULTS = dict(branches=1, branch_fn="relu", branch_decay=0.0, branch_bias=None)
BRANCH_FNS = {"relu": 0, "sigmoid": 1, "identity": 2}
# receptor names per kind of population (connect(receptor=...))
SYNAPSES = {"delta": 0, "exp": 1}


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



class PopulationsMixin:
    """Adding populations and reading / writing their state (part of :class:`Network`)."""

    @_idle
    def add_population(self, n: int, model: str = "lif", *, name: Optional[str] = None,
                       v_init: Any = None, **params: Any) -> Population:
        r"""Add ``n`` neurons of a model and return their :class:`Population` handle.

        Models
        ------
        ``"lif"``: leaky integrate-and-fire, integrated exactly over each step,

        .. math::

            \tau_m \dot v = -(v - v_{rest}) + i_{ex} + i_{in} + i_e, \qquad
            \tau_{ex} \dot i_{ex} = -i_{ex}, \quad \tau_{in} \dot i_{in} = -i_{in}

        with ``synapse="exp"`` (a spike of weight :math:`w` adds :math:`w` to :math:`i_{ex}` if
        :math:`w \ge 0`, else to :math:`i_{in}`) or ``synapse="delta"`` (it adds :math:`w` to
        :math:`v`). When :math:`v \ge v_{th}`: spike, :math:`v \leftarrow v_{reset}` (or
        :math:`v - (v_{th} - v_{reset})` with ``soft_reset``), refractory for ``t_ref``.

        ======================  =======  ====  ============================================
        parameter               default  unit  meaning
        ======================  =======  ====  ============================================
        tau_m                   20       ms    membrane time constant
        v_rest                  0        mV    resting potential (also the initial v)
        v_reset                 0        mV    reset potential
        v_th                    20       mV    threshold
        t_ref                   2        ms    refractory period
        tau_syn_ex, tau_syn_in  5, 10    ms    synaptic decay (``synapse="exp"``)
        i_e                     0        mV    bias input (as the voltage it drives)
        soft_reset              False          subtract instead of reset
        synapse                 "delta"        ``"delta"`` or ``"exp"``
        ======================  =======  ====  ============================================

        ``"alif"``: the same with an adaptive threshold :math:`v_{th} + a`,
        :math:`a \leftarrow a\,e^{-dt/\tau_a} + \beta_a s` (extra ``tau_a=200`` ms,
        ``beta_a=1`` mV).

        ``"lif_discrete"``: the discrete-time neuron of trained models (``from_torch``),
        :math:`v' = \beta v + (1-\beta) v_{rest} + x` with :math:`x` the summed input of the step;
        parameters ``beta=0.9``, ``v_rest=0``, ``v_th=1``, ``v_reset=0``, ``soft_reset=False``;
        no refractoriness. ``"alif_discrete"`` adds :math:`a' = \rho a + \beta_a s` (``rho=0.99``,
        ``beta_a=0.1``).

        ``"celif"``: the discrete-time CE-LIF neuron of :class:`spikecore.nn.CELIF` (a
        reconstruction, see that class): per step, with current :math:`I` (receptor
        ``"current"``) and context drive :math:`q` (receptor ``"context"``; :math:`q = I` with
        ``context="shared"``),

        .. math::

            h = \beta v + I, \quad c \leftarrow \lambda_c c + (1 - \lambda_c) q, \quad
            \vartheta = (\vartheta_0 + \beta_a a) + \gamma c, \quad z = H(h - \vartheta),
            \quad v \leftarrow h (1 - z), \quad a \leftarrow \rho a + (1 - \rho) z

        parameters ``beta=0.5``, ``rho=0.9``, ``beta_a=0.5``, ``lambda_c=0.99`` (a number or one
        per neuron), ``gamma=20``, ``v_th=1``, ``context="separate"``.

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
        if not isinstance(model, str):
            raise TypeError(f"model: must be a string, got {type(model).__name__}")
        if model not in MODELS:
            raise ValueError(f"model: unknown model {model!r}; valid: {', '.join(MODELS)}")
        name = f"pop{len(self.populations)}" if name is None else str(name)
        spike_times = params.pop("spike_times", None)
        spike_neurons = params.pop("spike_neurons", None)
        rate = params.pop("rate", None)
        if rate is not None and model != "poisson_source":
            raise TypeError(f"rate: unknown parameter of model {model!r}")
        if model in ("lif", "alif"):
            defaults = dict(_LIF_DEFAULTS, **(_ALIF_EXTRA if model == "alif" else {}),
                            **_BRANCH_DEFAULTS)
        elif model in ("lif_discrete", "alif_discrete"):
            defaults = dict(_DISCRETE_DEFAULTS,
                            **(_ADISCRETE_EXTRA if model == "alif_discrete" else {}),
                            **_BRANCH_DEFAULTS)
        elif model == "celif":
            defaults = dict(_CELIF_DEFAULTS)
        else:
            defaults = {}
        unknown = sorted(set(params) - set(defaults))
        if unknown:
            raise TypeError(f"{unknown[0]}: unknown parameter of model {model!r}; valid: "
                            f"{', '.join(sorted(defaults)) or 'none'}")
        p = dict(defaults, **params)
        branch = {k: p.pop(k) for k in _BRANCH_DEFAULTS if k in p}
        lam = None
        if model == "celif":
            if p["context"] not in ("separate", "shared"):
                raise ValueError(f"context: must be 'separate' or 'shared', got {p['context']!r}")
            lam = p.pop("lambda_c")
        for k, v in p.items():
            if k == "context":
                continue
            if k == "soft_reset":
                if not isinstance(v, (bool, np.bool_)):
                    raise TypeError(f"soft_reset: must be a bool, got {type(v).__name__}")
                p[k] = bool(v)
            elif k == "synapse":
                if v not in SYNAPSES:
                    raise ValueError(f"synapse: must be 'delta' or 'exp', got {v!r}")
            else:
                p[k] = _finite(v, k)
        K, bias = self._branch_spec(n, model, p, branch)
        if lam is not None:
            lam, omlam, p["lambda_c"] = self._lambda_spec(n, lam)
        c = self._c
        if model in ("lif", "alif"):
            args = (p["tau_m"], p["v_rest"], p["v_reset"], p["v_th"], p["t_ref"],
                    p["tau_syn_ex"], p["tau_syn_in"], p["i_e"], p["soft_reset"],
                    SYNAPSES[p["synapse"]])
            if model == "lif":
                idx = c.add_lif(n, *args, name)
            else:
                idx = c.add_alif(n, *args, p["tau_a"], p["beta_a"], name)
        elif model in ("lif_discrete", "alif_discrete"):
            rho = p.get("rho", -1.0)
            idx = c.add_discrete(n, p["beta"], p["v_rest"], p["v_th"], p["v_reset"],
                                 p["soft_reset"], rho, p.get("beta_a", 0.0), name)
        elif model == "celif":
            idx = c.add_celif(n, p["beta"], p["rho"], p["beta_a"], p["gamma"], p["v_th"], lam,
                              omlam, p["context"] == "shared", name)
        else:
            idx = c.add_source(n, name)
        if K > 1:
            c.set_branches(idx, K, BRANCH_FNS[branch["branch_fn"]], branch["branch_decay"],
                           np.zeros(0, np.float32) if bias is None else bias)
        if branch:
            p.update(branch_fn=branch["branch_fn"], branches=K,
                     branch_decay=branch["branch_decay"], branch_bias=bias)
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

    @staticmethod
    def _branch_spec(n: int, model: str, p: Dict[str, Any], branch: Dict[str, Any]):
        """Validate the dendritic-branch parameters (fills ``branch``); returns (K, bias)."""
        if not branch:
            return 1, None
        K = branch.get("branches", 1)
        if isinstance(K, bool) or not isinstance(K, numbers.Integral):
            raise TypeError(f"branches: must be an int, got {type(K).__name__}")
        K = int(K)
        if K < 1:
            raise ValueError(f"branches: must be >= 1, got {K}")
        if n * K >= 2 ** 31:
            raise ValueError(f"branches: n x branches must be < 2**31, got {n * K}")
        g = branch.get("branch_fn", "relu")
        if g not in BRANCH_FNS:
            raise ValueError(f"branch_fn: must be one of {', '.join(BRANCH_FNS)}, got {g!r}")
        d = _finite(branch.get("branch_decay", 0.0), "branch_decay")
        if not 0.0 <= d <= 1.0:
            raise ValueError(f"branch_decay: must lie in [0, 1], got {d}")
        bias = branch.get("branch_bias")
        if bias is not None:
            bias = _float_array(bias, "branch_bias").reshape(-1)
            if bias.size != n * K:
                raise ValueError(f"branch_bias: expected n x branches = {n * K} values, got "
                                 f"{bias.size}")
        if K > 1 and p.get("synapse", "delta") != "delta":
            raise ValueError("synapse: dendritic branches need synapse='delta' (the branch "
                             "output is the soma's input)")
        if K == 1 and (bias is not None or d != 0.0):
            raise ValueError("branches: branch_bias and branch_decay need branches >= 2")
        branch.update(branches=K, branch_fn=g, branch_decay=d)
        return K, bias

    @staticmethod
    def _lambda_spec(n: int, lam: Any):
        """lambda_c (a number or n values in (0, 1]) -> float32 (lam, 1 - lam, saved form).
        1 - lambda_c is rounded as spikecore.nn computes it: in double for a number, in float32
        for an array."""
        if isinstance(lam, numbers.Real) and not isinstance(lam, bool):
            val = _finite(lam, "lambda_c")
            if not 0.0 < val <= 1.0:
                raise ValueError(f"lambda_c: decay per step must lie in (0, 1], got {val:g}")
            return (np.full(n, val, np.float32), np.full(n, 1.0 - val, np.float32), val)
        a = _float_array(lam, "lambda_c").reshape(-1)
        if a.size != n:
            raise ValueError(f"lambda_c: expected a number or {n} values, got {a.size}")
        if np.any(~((a > 0) & (a <= 1))):
            bad = a[~((a > 0) & (a <= 1))][0]
            raise ValueError(f"lambda_c: decay per step must lie in (0, 1], got {bad:g}")
        return a, (np.float32(1.0) - a).astype(np.float32), a

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
