"""Reference networks built with :class:`spikecore.sim.Network`: Brian2's CUBA example and
Brunel's (2000) sparse random network. Used by the tests, the benchmarks and the demo."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict

from spikecore.sim.network import Network, Population, Projection

__all__ = ["Model", "cuba", "brunel"]


@dataclass
class Model:
    """A built network: ``net`` plus named populations, projections and monitors."""

    net: Network
    populations: Dict[str, Population]
    projections: Dict[str, Projection]
    params: Dict[str, Any]
    monitors: Dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, name: str) -> Population:
        return self.populations[name]

    @property
    def n_synapses(self) -> int:
        return sum(p.nnz for p in self.projections.values())


def cuba(
    scale: float = 1.0,
    *,
    dt: float = 0.1,
    n_threads: int = 1,
    seed: int = 0,
    keep_indegree: bool = True,
    record: bool = True,
) -> Model:
    r"""Brian2's CUBA benchmark (examples/CUBA.py; Vogels & Abbott 2005 with current synapses).

    :math:`N = 4000\,\mathrm{scale}` LIF neurons (80 % excitatory), exponential current synapses,

    .. math::

        \tau_m \dot v = -(v - E_l) + g_e + g_i, \quad \tau_e \dot g_e = -g_e,
        \quad \tau_i \dot g_i = -g_i

    taum 20 ms, taue 5 ms, taui 10 ms, Vt -50 mV, Vr -60 mV, El -49 mV, refractory 5 ms,
    we = 1.62 mV, wi = -9 mV, pairwise connection probability p = 0.02 (divided by ``scale`` if
    ``keep_indegree``, so that every neuron keeps 80 inputs on average), autapses allowed,
    v0 ~ U(Vr, Vt), dt = 0.1 ms, delay one step. Spikes of both populations are recorded
    (``monitors["E"]``, ``monitors["I"]``) if ``record``.
    """
    if not scale > 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    n = max(5, int(round(4000 * scale)))
    ne = int(round(0.8 * n))
    ni = n - ne
    p = 0.02 / scale if keep_indegree else 0.02
    p = min(p, 1.0)
    params = dict(
        tau_m=20.0,
        v_rest=-49.0,
        v_reset=-60.0,
        v_threshold=-50.0,
        t_ref=5.0,
        tau_syn_ex=5.0,
        tau_syn_in=10.0,
        synapse="exp",
    )
    net = Network(dt=dt, n_threads=n_threads, seed=seed)
    E = net.add_population(ne, "lif", name="E", v_init=("uniform", -60.0, -50.0), **params)
    I = net.add_population(ni, "lif", name="I", v_init=("uniform", -60.0, -50.0), **params)
    proj = {}
    for a, pa, w in (("E", E, 1.62), ("I", I, -9.0)):
        for b, pb in (("E", E), ("I", I)):
            proj[a + b] = net.connect(pa, pb, "pairwise_bernoulli", p=p, weight=w, delay=dt)
    mons = {}
    if record:
        mons = {"E": net.record_spikes(E), "I": net.record_spikes(I)}
    return Model(
        net,
        {"E": E, "I": I},
        proj,
        dict(params, n=n, p=p, we=1.62, wi=-9.0, dt=dt, seed=seed),
        mons,
    )


def brunel(
    scale: float = 1.0,
    *,
    dt: float = 0.1,
    n_threads: int = 1,
    seed: int = 0,
    g: float = 5.0,
    eta: float = 2.0,
    J: float = 0.1,
    delay: float = 1.5,
    v_init: Any = 0.0,
    record: bool = True,
    comm: Any = None,
) -> Model:
    r"""Brunel (2000) sparse random network of delta-synapse LIF neurons (model A; NEST's
    brunel_delta_nest).

    :math:`N_E = 10000\,\mathrm{scale}`, :math:`N_I = N_E/4`; every neuron receives
    :math:`C_E = \min(1000, N_E)` excitatory and :math:`C_I = C_E/4` inhibitory inputs
    (fixed in-degree, multapses allowed, no autapses), weights J = 0.1 mV and -g J, delay
    D = 1.5 ms; tau_m 20 ms, theta 20 mV, V_r 10 mV, t_ref 2 ms, E_L 0. External drive: each
    neuron gets an independent Poisson train of rate :math:`\eta\,\nu_{th} C_E` with
    :math:`\nu_{th} = \theta / (J C_E \tau_m)` and weight J. g = 5, eta = 2: asynchronous
    irregular firing near 37 Hz. ``v_init``: initial membrane potential (number, array or
    ``("uniform", lo, hi)``; NEST's example starts at 0). Spikes of both populations are
    recorded (``monitors["E"]``, ``monitors["I"]``) if ``record``. ``comm``: an mpi4py
    communicator to split the network across its ranks (docs/distributed.md).
    """
    if not scale > 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    ne = max(4, int(round(10000 * scale)))
    ni = max(1, ne // 4)
    ce = min(1000, ne)
    ci = max(1, ce // 4) if ni >= ce // 4 else ni
    tau_m, theta = 20.0, 20.0
    nu_th = theta / (J * ce * tau_m)  # per ms
    rate_ext = eta * nu_th * ce * 1000.0  # Hz
    params = dict(
        tau_m=tau_m, v_rest=0.0, v_reset=10.0, v_threshold=theta, t_ref=2.0, synapse="delta"
    )
    net = Network(dt=dt, n_threads=n_threads, seed=seed, max_delay=max(delay, 2 * dt), comm=comm)
    E = net.add_population(ne, "lif", name="E", v_init=v_init, **params)
    I = net.add_population(ni, "lif", name="I", v_init=v_init, **params)
    proj = {}
    for a, pa, k, w in (("E", E, ce, J), ("I", I, ci, -g * J)):
        for b, pb in (("E", E), ("I", I)):
            proj[a + b] = net.connect(
                pa,
                pb,
                "fixed_indegree",
                k=k,
                weight=w,
                delay=delay,
                allow_autapses=False,
                allow_multapses=True,
            )
    net.add_poisson_input(E, rate_ext, J)
    net.add_poisson_input(I, rate_ext, J)
    mons = {}
    if record:
        mons = {"E": net.record_spikes(E), "I": net.record_spikes(I)}
    return Model(
        net,
        {"E": E, "I": I},
        proj,
        dict(
            params,
            NE=ne,
            NI=ni,
            CE=ce,
            CI=ci,
            g=g,
            eta=eta,
            J=J,
            delay=delay,
            rate_ext=rate_ext,
            dt=dt,
            seed=seed,
        ),
        mons,
    )
