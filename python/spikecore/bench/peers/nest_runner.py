"""NEST peer runner: CUBA and Brunel 2000, run in the peers' own environment.

Executed by the peers' interpreter; imports nothing from spikecore. Usage::

    python nest_runner.py '<json spec>' <out.npz>

Builds the network ``repeats`` times (NEST continues a simulation rather than repeating it),
times nest.Simulate (the simulation proper, construction excluded), writes the spike raster of
the first repeat to ``out.npz`` and prints ``SPIKECORE_PEER_RESULT {json}``.
"""

import json
import os
import sys
import time


def build(nest, spec):
    p = spec["params"]
    model = spec["model"]
    nest.ResetKernel()
    nest.set_verbosity("M_ERROR")
    nest.SetKernelStatus(
        {
            "resolution": spec["dt_ms"],
            "local_num_threads": int(spec["threads"]),
            "rng_seed": int(spec.get("seed", 1)) + 1,
            "print_time": False,
        }
    )
    if model == "cuba":
        # iaf_psc_exp with C_m = tau_m: a current jump of w pA moves dv/dt by w / tau_m,
        # as Brian2's `ge += we` (volt) in dv/dt = (ge + gi - (v - El)) / taum does.
        n, n_e = int(p["n"]), int(p["n_exc"])
        params = {
            "C_m": p["tau_m"],
            "tau_m": p["tau_m"],
            "t_ref": p["t_ref"],
            "E_L": p["v_rest"],
            "V_reset": p["v_reset"],
            "V_th": p["v_th"],
            "tau_syn_ex": p["tau_ex"],
            "tau_syn_in": p["tau_in"],
            "I_e": 0.0,
        }
        nodes = nest.Create("iaf_psc_exp", n, params=params)
        nodes.V_m = nest.random.uniform(p["v_reset"], p["v_th"])
        conn = {"rule": "pairwise_bernoulli", "p": p["p"]}
        nest.Connect(nodes[:n_e], nodes, conn, {"weight": p["w_ex"], "delay": spec["dt_ms"]})
        nest.Connect(nodes[n_e:], nodes, conn, {"weight": p["w_in"], "delay": spec["dt_ms"]})
    elif model == "brunel":
        n_e, n_i = int(p["n_exc"]), int(p["n_inh"])
        n = n_e + n_i
        params = {
            "C_m": 1.0,
            "tau_m": p["tau_m"],
            "t_ref": p["t_ref"],
            "E_L": 0.0,
            "V_reset": p["v_reset"],
            "V_th": p["v_th"],
            "V_m": 0.0,
        }
        nodes = nest.Create("iaf_psc_delta", n, params=params)
        nodes.V_m = nest.random.uniform(p["v0_low"], p["v0_high"])
        noise = nest.Create("poisson_generator", params={"rate": p["poisson_rate_hz"]})
        nest.Connect(noise, nodes, syn_spec={"weight": p["J"], "delay": spec["dt_ms"]})
        syn = {"weight": p["J"], "delay": p["delay_ms"]}
        nest.Connect(
            nodes[:n_e], nodes, {"rule": "fixed_indegree", "indegree": int(p["k_exc"])}, syn
        )
        syn = {"weight": -p["g"] * p["J"], "delay": p["delay_ms"]}
        nest.Connect(
            nodes[n_e:], nodes, {"rule": "fixed_indegree", "indegree": int(p["k_inh"])}, syn
        )
    else:
        raise SystemExit(f"unknown model {model!r}")
    rec = nest.Create("spike_recorder")
    nest.Connect(nodes, rec)
    return nodes, rec, n


def main(spec, out):
    import nest
    import numpy as np

    walls, builds = [], []
    for r in range(int(spec.get("repeats", 1))):
        t0 = time.perf_counter()
        nodes, rec, n = build(nest, spec)
        nest.Prepare()
        builds.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        nest.Run(spec["duration_ms"])
        walls.append(time.perf_counter() - t0)
        nest.Cleanup()
        if r == 0:
            ev = rec.get("events")
            times = np.asarray(ev["times"], dtype=np.float64)
            senders = np.asarray(ev["senders"], dtype=np.int64) - int(nodes[0].global_id)
            n_syn = (
                int(nest.GetKernelStatus("num_connections")) - n - n * (spec["model"] == "brunel")
            )
    np.savez(out, times_ms=times, senders=senders)
    return {
        "peer": "nest",
        "version": nest.__version__,
        "model": spec["model"],
        "threads": int(spec["threads"]),
        "wall_s": walls,
        "build_s": float(np.median(builds)),
        "n_neurons": n,
        "n_synapses": n_syn,
        "n_spikes": int(len(times)),
    }


if __name__ == "__main__":
    spec = json.loads(sys.argv[1])
    res = main(spec, sys.argv[2])
    print("SPIKECORE_PEER_RESULT " + json.dumps(res), flush=True)
    os._exit(0)
