"""CUBA (Brian2's examples/CUBA.py; Vogels & Abbott 2005): spikecore vs Brian2 and NEST.

4000 LIF neurons (3200 exc, 800 inh), current-based exponential synapses (taue 5 ms, taui 10 ms),
random connectivity p = 0.02, we = 1.62 mV, wi = -9 mV, taum 20 ms, Vt -50 mV, Vr -60 mV,
El -49 mV, refractory 5 ms, v0 ~ U(Vr, Vt), dt = 0.1 ms. Claim: about 5.5 Hz with rate and ISI CV
within 10 % of Brian2's on the same definition, in no more wall time than Brian2 standalone.

    python examples/cuba.py [--duration-ms 10000] [--threads 1] [--no-peers]
"""

import argparse

from spikecore.bench import peers
from spikecore.bench.engine import print_comparison, run_ours
from spikecore.bench.peers import models


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration-ms", type=float, default=10000.0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--no-peers", action="store_true")
    a = ap.parse_args(argv)
    p = models.cuba()
    rows = [("spikecore", run_ours("cuba", p, a.duration_ms, a.threads, a.seed))]
    if not a.no_peers:
        for name in ("brian2", "nest"):
            r = peers.run_peer(name, "cuba", p, a.duration_ms, threads=a.threads, seed=a.seed)
            rows.append((name, r))
            if r is None:
                print(f"({name} unavailable: {peers.last_error(name)})")
    print(f"CUBA, N = {p['n']}, {a.duration_ms:g} ms, {a.threads} thread(s)")
    print_comparison(rows, "brian2", build_column=False)
    return rows


if __name__ == "__main__":
    main()
