"""The engine's guarantees on a Brunel network, checked end to end.

1. The same seed gives a bitwise-identical raster with 1, 2 and 4 threads.
2. run() continues exactly: 2 x T/2 equals T, and save -> load -> run equals an uninterrupted run.
3. Structural plasticity at fixed density: pruning and regrowing 10 % of the recurrent synapses
   every 50 ms keeps the number of synapses fixed and stays thread-count independent.

Usage: python examples/engine_guarantees.py [--scale 0.2] [--duration 300]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from spikecore.sim import Network, networks


def _raster(m):
    e = m.monitors["E"]
    return e.steps, e.senders


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def main(scale: float = 0.2, duration: float = 300.0, seed: int = 1, verbose: bool = True) -> dict:
    out = {}
    # 1. threads
    rasters = []
    for t in (1, 2, 4):
        m = networks.brunel(scale, n_threads=t, seed=seed)
        t0 = time.perf_counter()
        m.net.run(duration)
        rasters.append(_raster(m))
        if verbose:
            print(
                f"{t} thread(s): {m.monitors['E'].count} E spikes, "
                f"rate {m.monitors['E'].rate(100.0):.1f} Hz, CV {m.monitors['E'].cv(100.0):.2f}, "
                f"{time.perf_counter() - t0:.2f} s"
            )
    out["threads_identical"] = _same(rasters[0], rasters[1]) and _same(rasters[0], rasters[2])
    # 2. continuation and save/load
    m = networks.brunel(scale, seed=seed)
    m.net.run(duration / 2)
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "brunel.npz")
        m.net.save(path)
        loaded = Network.load(path, n_threads=2)
    m.net.run(duration / 2)
    loaded.run(duration / 2)
    le = loaded.spike_monitors[0]
    out["continuation_identical"] = _same(_raster(m), rasters[0])
    out["save_load_identical"] = _same((le.steps, le.senders), rasters[0])
    # 3. structural plasticity at fixed density
    res = []
    for t in (1, 2):
        m = networks.brunel(scale, n_threads=t, seed=seed)
        n0 = {k: p.nnz for k, p in m.projections.items()}
        for k, p in m.projections.items():
            w = 0.1 if k.startswith("E") else -0.5
            m.net.add_structural_plasticity(p, every=50.0, fraction=0.1, weight=w, delay=1.5)
        m.net.run(duration)
        out.setdefault("density_fixed", True)
        out["density_fixed"] &= all(p.nnz == n0[k] for k, p in m.projections.items())
        res.append((_raster(m), m.projections["EE"].to_coo()))
    out["plasticity_threads_identical"] = _same(res[0][0], res[1][0]) and _same(
        res[0][1], res[1][1]
    )
    if verbose:
        for k, v in out.items():
            print(f"{k}: {v}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", type=float, default=0.2)
    ap.add_argument("--duration", type=float, default=300.0)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    res = main(a.scale, a.duration, a.seed)
    raise SystemExit(0 if all(res.values()) else 1)
