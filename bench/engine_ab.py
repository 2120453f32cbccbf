"""A/B timing of the engine: two builds of spikecore, interleaved run by run.

    python bench/engine_ab.py --a /work/main/.venv/bin/python --b .venv/bin/python \\
        [--scale 1.0] [--ms 1000] [--reps 5]

Each run is a fresh process of the given interpreter that builds Brunel (spikecore.bench.engine),
runs 20 ms of warm-up, then times ``net.run(ms)`` with 1 and with 2 threads: wall time and the
CPU time of the process (steadier than wall time on a shared machine). Prints one JSON line per
run and then medians with their ranges, events per CPU second, bytes per synapse, the 2-thread /
1-thread wall ratio, and whether every run gave the same raster (a hash of times and senders).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys

ONE_RUN = r"""
import hashlib, json, os, sys, time
import numpy as np
from spikecore.bench import engine as E
from spikecore.bench.peers import models
thr, scale, ms = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
m, n, n_syn, getter = E.build_ours("brunel", models.brunel(scale), threads=thr, seed=1)
m.net.run(20.0)
t0, c0 = time.perf_counter(), time.process_time()
m.net.run(ms)
wall, cpu = time.perf_counter() - t0, time.process_time() - c0
times, senders, _, mem = getter()
h = hashlib.sha1(np.ascontiguousarray(times).tobytes() + np.ascontiguousarray(senders).tobytes())
print(json.dumps(dict(thr=thr, wall=wall, cpu=cpu, events=int(m.net.events),
                      mem_per_syn=mem / n_syn, hash=h.hexdigest()[:12], load=os.getloadavg()[0])))
"""


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--a", required=True, help="python of build A (the baseline)")
    p.add_argument("--b", default=sys.executable, help="python of build B")
    p.add_argument("--scale", type=float, default=1.0)
    p.add_argument("--ms", type=float, default=1000.0)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    rows = []
    for r in range(args.reps):
        for name, py in (("A", args.a), ("B", args.b)):
            for thr in (1, 2):
                out = subprocess.run(
                    [py, "-c", ONE_RUN, str(thr), str(args.scale), str(args.ms)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                d = json.loads(out.stdout.strip().splitlines()[-1])
                d.update(build=name, rep=r)
                rows.append(d)
                print(json.dumps(d), flush=True)
    hashes = {d["hash"] for d in rows}
    for name in ("A", "B"):
        w = {t: [d["wall"] for d in rows if d["build"] == name and d["thr"] == t] for t in (1, 2)}
        c = [d["cpu"] for d in rows if d["build"] == name and d["thr"] == 1]
        ev = rows[0]["events"]
        mem = next(d["mem_per_syn"] for d in rows if d["build"] == name)
        print(
            f"{name}: 1 thread CPU {statistics.median(c):.3f} s ({min(c):.3f}-{max(c):.3f}), "
            f"{ev / statistics.median(c):.3g} events per CPU-s; wall 1 thread "
            f"{statistics.median(w[1]):.3f} s ({min(w[1]):.3f}-{max(w[1]):.3f}), 2 threads "
            f"{statistics.median(w[2]):.3f} s; 2/1-thread speed-up "
            f"{statistics.median(w[1]) / statistics.median(w[2]):.2f}x; {mem:.2f} bytes/synapse"
        )
    print(f"rasters identical across builds and thread counts: {len(hashes) == 1}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
