"""Brian2 (C++ standalone) peer runner: CUBA and Brunel 2000, run in the peers' own environment.

This file is executed by the peers' interpreter (its own venv with brian2 and numpy < 2.4), so it
imports nothing from spikecore. Usage::

    python brian2_runner.py '<json spec>' <out.npz>

The spec names the model and its parameters (spikecore.bench.peers.models builds it). The script
builds the network, compiles the standalone project into a cached directory, runs it
``repeats`` times and writes the spike raster of the first run to ``out.npz``. It prints one line
``SPIKECORE_PEER_RESULT {json}`` with wall times of the simulation proper (Brian2's own timer of
the network run, construction excluded) and sizes.
"""

import json
import os
import sys
import time


def main(spec, out):
    import brian2 as b2
    import numpy as np
    from brian2 import ms, mV

    builddir = spec["builddir"]
    b2.set_device("cpp_standalone", directory=builddir, build_on_run=False)
    threads = int(spec.get("threads", 1))
    b2.prefs.devices.cpp_standalone.openmp_threads = threads if threads > 1 else 0
    b2.prefs.core.default_float_dtype = np.float64
    b2.defaultclock.dt = spec["dt_ms"] * ms
    b2.seed(int(spec.get("seed", 1)))
    p = spec["params"]
    model = spec["model"]

    if model == "cuba":
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        ns = dict(
            taum=p["tau_m"] * ms,
            taue=p["tau_ex"] * ms,
            taui=p["tau_in"] * ms,
            Vt=p["v_th"] * mV,
            Vr=p["v_reset"] * mV,
            El=p["v_rest"] * mV,
            we=p["w_ex"] * mV,
            wi=p["w_in"] * mV,
        )
        n, n_e = int(p["n"]), int(p["n_exc"])
        G = b2.NeuronGroup(
            n,
            eqs,
            threshold="v>Vt",
            reset="v = Vr",
            refractory=p["t_ref"] * ms,
            method="exact",
            namespace=ns,
        )
        G.v = "Vr + rand() * (Vt - Vr)"
        G.ge = 0 * mV
        G.gi = 0 * mV
        Ce = b2.Synapses(G, G, on_pre="ge += we", namespace=ns)
        Ci = b2.Synapses(G, G, on_pre="gi += wi", namespace=ns)
        Ce.connect(f"i<{n_e}", p=p["p"])
        Ci.connect(f"i>={n_e}", p=p["p"])
        syn = [Ce, Ci]
        extra = []
    elif model == "brunel":
        ns = dict(
            tau=p["tau_m"] * ms,
            theta=p["v_th"] * mV,
            Vr=p["v_reset"] * mV,
            J=p["J"] * mV,
            g=p["g"],
            rate=p["poisson_rate_hz"] * b2.Hz,
        )
        n_e, n_i = int(p["n_exc"]), int(p["n_inh"])
        n = n_e + n_i
        G = b2.NeuronGroup(
            n,
            "dv/dt = -v/tau : volt (unless refractory)",
            threshold="v>theta",
            reset="v = Vr",
            refractory=p["t_ref"] * ms,
            method="exact",
            namespace=ns,
        )
        G.v = f"{p['v0_low']}*mV + rand() * {p['v0_high'] - p['v0_low']}*mV"
        # Input arriving while refractory is discarded (NEST's iaf_psc_delta convention).
        Se = b2.Synapses(
            G[:n_e],
            G,
            on_pre="v_post += J*int(not_refractory_post)",
            delay=p["delay_ms"] * ms,
            namespace=ns,
        )
        Si = b2.Synapses(
            G[n_e:],
            G,
            on_pre="v_post += -g*J*int(not_refractory_post)",
            delay=p["delay_ms"] * ms,
            namespace=ns,
        )
        Se.connect(i=f"k for k in sample(N_pre, size={int(p['k_exc'])})")
        Si.connect(i=f"k for k in sample(N_pre, size={int(p['k_inh'])})")
        # External drive: each neuron receives an independent Poisson train
        # of total rate poisson_rate_hz (as k_exc binomial sources), weight J.
        extra = [
            b2.PoissonInput(
                G,
                "v",
                N=int(p["k_exc"]),
                rate=nu_ext_per_source(p) * b2.Hz,
                weight="J*int(not_refractory)",
            )
        ]
        syn = [Se, Si]
    else:
        raise SystemExit(f"unknown model {model!r}")

    mon = b2.SpikeMonitor(G)
    net = b2.Network(G, mon, *syn, *extra)
    net.run(spec["duration_ms"] * ms)
    t0 = time.perf_counter()
    b2.device.build(directory=builddir, compile=True, run=False, clean=False)
    build_s = time.perf_counter() - t0
    walls = []
    for r in range(int(spec.get("repeats", 1))):
        b2.device.run(directory=builddir, with_output=False)
        walls.append(float(b2.device._last_run_time))
        if r == 0:
            times = np.asarray(mon.t / ms, dtype=np.float64)
            senders = np.asarray(mon.i[:], dtype=np.int64)
            n_syn = int(sum(len(s) for s in syn))
    np.savez(out, times_ms=times, senders=senders)
    return {
        "peer": "brian2",
        "version": b2.__version__,
        "model": model,
        "threads": threads,
        "wall_s": walls,
        "build_s": build_s,
        "n_neurons": n,
        "n_synapses": n_syn,
        "n_spikes": int(len(times)),
    }


def nu_ext_per_source(p):
    return p["poisson_rate_hz"] / p["k_exc"]


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    res = main(spec, sys.argv[2])
    sys.stdout.flush()
    print("SPIKECORE_PEER_RESULT " + json.dumps(res), flush=True)
    os._exit(0)
