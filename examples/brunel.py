"""Brunel (2000) network in the asynchronous irregular state: spikecore vs NEST and Brian2.

Model A of Brunel (2000) as NEST's brunel_delta example sets it up: N_E = 10 000 and N_I = 2 500
LIF neurons (tau_m 20 ms, theta 20 mV, V_r 10 mV, t_ref 2 ms) with delta synapses, fixed in-degrees
1000 (J = 0.1 mV) and 250 (-g J, g = 5), delay 1.5 ms, independent Poisson drive at
eta = 2 times the threshold rate, dt = 0.1 ms. Claim: an asynchronous irregular state near 37 Hz
whose rate and ISI CV are within 10 % of NEST's on the same definition, simulated faster.

    python examples/brunel.py [--scale 1.0] [--duration-ms 1000] [--threads 1] [--no-peers]

Peers run in their own environment (created on first use, see spikecore.bench.peers).
"""

import argparse

from spikecore.bench import peers
from spikecore.bench.engine import print_comparison, run_ours
from spikecore.bench.peers import models


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--duration-ms", type=float, default=1000.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args(argv)
    p = models.brunel(a.scale)
    rows = [("spikecore", run_ours("brunel", p, a.duration_ms, a.threads, a.seed))]
    if not a.no_peers:
        for name in ("nest", "brian2"):
            r = peers.run_peer(name, "brunel", p, a.duration_ms, threads=a.threads, seed=a.seed)
            rows.append((name, r))
            if r is None:
                print(f"({name} unavailable: {peers.last_error(name)})")
    print(
        f"Brunel 2000, N = {p['n_exc'] + p['n_inh']}, {a.duration_ms:g} ms, {a.threads} thread(s)"
    )
    print_comparison(rows, "nest", build_column=True)
    return rows


if __name__ == "__main__":
    main()
