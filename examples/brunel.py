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
from spikecore.bench.engine import run_ours
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
    print(f"Brunel 2000, N = {p['n_exc'] + p['n_inh']}, {a.duration_ms:g} ms, "
          f"{a.threads} thread(s)")
    print(f"{'':10s} {'rate Hz':>8s} {'CV':>6s} {'wall s':>8s} {'build s':>8s} {'events/s':>10s}")
    for name, r in rows:
        if r is None:
            print(f"{name:10s} {'n/a':>8s}")
            continue
        wall = r.wall_s if isinstance(r.wall_s, float) else r.wall_median_s
        print(f"{name:10s} {r.stats.rate_hz:8.2f} {r.stats.cv_isi:6.3f} {wall:8.3f} "
              f"{r.build_s:8.2f} {r.events_per_s:10.3g}")
    ours = rows[0][1]
    ref = next((r for n, r in rows if n == "nest" and r is not None), None)
    if ref is not None:
        dr = ours.stats.rate_hz / ref.stats.rate_hz - 1
        dc = ours.stats.cv_isi / ref.stats.cv_isi - 1
        print(f"vs NEST: rate {dr:+.1%}, CV {dc:+.1%} (claim: both within 10 %)")
    return rows


if __name__ == "__main__":
    main()
