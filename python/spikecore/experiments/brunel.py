r"""The Brunel (2000) network run once in the event engine (``spikecore demo``, part 2).

Model A of Brunel (2000) in the asynchronous irregular state (:func:`spikecore.sim.networks.brunel`:
delta-synapse LIF neurons, fixed in-degrees :math:`C_E = 1000`, :math:`C_I = 250`, J = 0.1 mV,
g = 5, eta = 2, D = 1.5 ms, dt = 0.1 ms, independent Poisson drive), started from
:math:`v_0 \sim U(0, 20)` mV as the benchmark peers start it (``spikecore bench engine``). The
statistics are :func:`spikecore.analysis.spikestats.spike_stats`; synaptic events per second are
counted the peers' way: recurrent spikes times the mean out-degree over the simulation's wall time.

=================  =========  ===================================================
argument           default    meaning
=================  =========  ===================================================
``scale``          1.0        excitatory neurons 10 000 ``scale`` (at least 1000, so that the
                              in-degrees are kept); inhibitory ones a quarter of that
``duration_ms``    1000       biological time [ms]
``threads``        1          engine threads (the raster does not depend on it)
``seed``           1          network seed
``comm``           None       an mpi4py communicator: the network split across its ranks
=================  =========  ===================================================
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

from spikecore.analysis.spikestats import SpikeStats, spike_stats

__all__ = ["BrunelRun", "run_brunel", "plot_raster"]

DT_MS = 0.1


@dataclass
class BrunelRun:
    """One run: the raster (senders numbered excitatory first), sizes, timings and statistics."""

    times_ms: np.ndarray
    senders: np.ndarray
    n_exc: int
    n_neurons: int
    n_synapses: int
    build_s: float
    wall_s: float
    events: int  # delivered events counted by the engine
    stats: SpikeStats  # all neurons
    stats_exc: SpikeStats
    stats_inh: SpikeStats
    memory_bytes: int = 0  # connectivity and rings of this process (this rank, with comm)
    comm_s: float = 0.0  # time in the spike exchange (with comm; waiting included)
    cpu_s: float = 0.0  # CPU time of this process during the run
    compute_cpu_s: float = 0.0  # with comm: CPU time of update + delivery (collectives excluded)
    comm_bytes: int = 0  # with comm: bytes this rank received in the spike exchange
    memory_parts: Optional[Dict[str, int]] = None  # Network.memory_parts after the run

    @property
    def events_per_s(self) -> float:
        """Spikes x mean out-degree / wall time (the peers' definition)."""
        return self.stats.n_spikes * self.n_synapses / self.n_neurons / self.wall_s


def run_brunel(
    scale: float = 1.0,
    duration_ms: float = 1000.0,
    *,
    threads: int = 1,
    seed: int = 1,
    progress: bool = False,
    comm=None,
) -> BrunelRun:
    """Build the network, run it for ``duration_ms`` and return its raster and statistics."""
    from spikecore.sim import networks

    if not scale > 0:
        raise ValueError(f"scale: must be > 0, got {scale}")
    if not (duration_ms > 0 and np.isfinite(duration_ms)):
        raise ValueError(f"duration_ms: must be positive and finite, got {duration_ms}")
    n_exc = max(int(round(10000 * scale)), 1000)
    t0 = time.perf_counter()
    m = networks.brunel(
        n_exc / 10000,
        dt=DT_MS,
        n_threads=threads,
        seed=seed,
        v_init=("uniform", 0.0, 20.0),
        comm=comm,
    )
    build_s = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    m.net.run(duration_ms, progress=progress)
    wall_s = time.perf_counter() - t0
    cpu_s = time.process_time() - c0
    n_e, n_i = len(m["E"]), len(m["I"])
    me, mi = m.monitors["E"], m.monitors["I"]
    times = np.concatenate([me.times, mi.times])
    senders = np.concatenate([me.senders.astype(np.int64), mi.senders.astype(np.int64) + n_e])
    return BrunelRun(
        times,
        senders,
        n_e,
        n_e + n_i,
        m.n_synapses,
        build_s,
        wall_s,
        int(m.net.events),
        spike_stats(times, senders, n_e + n_i, duration_ms),
        spike_stats(me.times, me.senders, n_e, duration_ms),
        spike_stats(mi.times, mi.senders, n_i, duration_ms),
        int(m.net.memory_bytes),
        float(m.net.comm_stats["seconds"]),
        cpu_s,
        float(m.net.comm_stats["compute_cpu_s"]),
        int(m.net.comm_stats["bytes"]),
        m.net.memory_parts,
    )


def plot_raster(
    times_ms, senders, n_exc, n_neurons, duration_ms, path, title="", max_neurons: int = 250
):
    """Raster of up to ``max_neurons`` neurons (exc in blue, inh in red) above the population rate."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_show_e = min(n_exc, int(max_neurons * 0.8))
    n_show_i = min(n_neurons - n_exc, max_neurons - n_show_e)
    fig, (ax1, ax2) = plt.subplots(
        2, 1, figsize=(9, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    e = senders < n_show_e
    i = (senders >= n_exc) & (senders < n_exc + n_show_i)
    ax1.plot(times_ms[e], senders[e], ".", ms=1.5, color="tab:blue", label="excitatory")
    ax1.plot(
        times_ms[i], senders[i] - n_exc + n_show_e, ".", ms=1.5, color="tab:red", label="inhibitory"
    )
    ax1.set_ylabel("neuron")
    ax1.set_ylim(-1, n_show_e + n_show_i)
    ax1.set_title(title)
    ax1.legend(loc="upper right", markerscale=6, fontsize=8)
    bin_ms = 1.0
    bins = np.arange(0.0, duration_ms + bin_ms, bin_ms)
    counts, _ = np.histogram(times_ms, bins=bins)
    ax2.plot(bins[:-1], counts / (n_neurons * bin_ms * 1e-3), lw=0.8, color="k")
    ax2.set_xlabel("time (ms)")
    ax2.set_ylabel("rate (Hz)")
    ax2.set_xlim(0, duration_ms)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
