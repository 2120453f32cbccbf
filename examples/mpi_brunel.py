"""Brunel (2000) split across MPI ranks, with the same raster as one process.

    mpirun -n 2 python examples/mpi_brunel.py --scale 0.2 --duration 200 --check
    (as root in a container: mpirun --allow-run-as-root --oversubscribe -n 2 ...)

Every rank builds the same network (spikecore.experiments.brunel.run_brunel with comm=); rank r
owns a contiguous slice of the neurons and only the synapses onto them, and spikes are exchanged
once per minimum delay (1.5 ms) with MPI Allgather/Allgatherv. Rank 0 prints the firing rate,
synaptic events per second, the connectivity memory of every rank and the time spent in the spike
exchange. ``--check`` also runs the same network in one process on rank 0 and asserts that the
raster is bitwise identical. ``--json PATH`` appends one line of figures per repeat (for
docs/distributed.md).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import numpy as np
from mpi4py import MPI

from spikecore.experiments.brunel import run_brunel


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--scale", type=float, default=0.2, help="N_E = 10000 scale (>= 0.1)")
    ap.add_argument("--duration", type=float, default=200.0, help="biological time (ms)")
    ap.add_argument("--threads", type=int, default=1, help="engine threads per rank")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1, help="independent builds and runs")
    ap.add_argument("--check", action="store_true", help="compare with one process on rank 0")
    ap.add_argument("--json", default=None, help="append the figures of each repeat here")
    ap.add_argument(
        "--no-comm", action="store_true", help="baseline: one process without comm (no mpirun)"
    )
    a = ap.parse_args()
    comm = MPI.COMM_WORLD
    for rep in range(a.repeats):
        comm.Barrier()
        t0 = time.perf_counter()
        r = run_brunel(
            a.scale, a.duration, threads=a.threads, seed=a.seed, comm=None if a.no_comm else comm
        )
        total = time.perf_counter() - t0
        stats = comm.gather(
            dict(
                rank=comm.rank,
                conn_bytes=r.memory_bytes,
                maxrss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                comm_s=r.comm_s,
                run_s=r.wall_s,
                cpu_s=r.cpu_s,
                compute_cpu_s=r.compute_cpu_s,
                comm_bytes=r.comm_bytes,
                parts=r.memory_parts,
            ),
            root=0,
        )
        if comm.rank != 0:
            continue
        fig = dict(
            ranks=0 if a.no_comm else comm.size,  # 0: one process without comm
            threads=a.threads,
            scale=a.scale,
            duration_ms=a.duration,
            repeat=rep,
            synapses=r.n_synapses,
            spikes=int(r.times_ms.size),
            rate_hz=r.stats.rate_hz,
            events=r.events,
            run_s=max(s["run_s"] for s in stats),
            events_per_s=r.events / max(s["run_s"] for s in stats),
            build_s=r.build_s,
            total_s=total,
            conn_mb_per_rank=[s["conn_bytes"] / 2**20 for s in stats],
            maxrss_mb_per_rank=[s["maxrss_mb"] for s in stats],
            comm_s_per_rank=[s["comm_s"] for s in stats],
            cpu_s_per_rank=[s["cpu_s"] for s in stats],
            compute_cpu_s_per_rank=[s["compute_cpu_s"] for s in stats],
            comm_bytes_per_rank=[s["comm_bytes"] for s in stats],
            # bytes by part per rank: synapses fall with the ranks; the rest is replicated
            memory_parts_per_rank=[s["parts"] for s in stats],
            load=os.getloadavg()[0],
        )
        print(
            f"{comm.size} rank(s) x {a.threads} thread(s): {fig['spikes']} spikes, "
            f"{r.events:.3g} events in {fig['run_s']:.2f} s = {fig['events_per_s']:.3g} events/s; "
            f"connectivity per rank (MB): {', '.join(f'{x:.1f}' for x in fig['conn_mb_per_rank'])}; "
            f"exchange (s): {', '.join(f'{x:.2f}' for x in fig['comm_s_per_rank'])}; "
            f"compute CPU (s): {', '.join(f'{x:.2f}' for x in fig['compute_cpu_s_per_rank'])}",
            flush=True,
        )
        for k, s in enumerate(stats):
            parts = ", ".join(f"{n} {b / 2**20:.2f}" for n, b in s["parts"].items())
            print(f"  rank {k} memory (MB): {parts}; peak RSS {s['maxrss_mb']:.0f}", flush=True)
        if a.json:
            with open(a.json, "a") as f:
                f.write(json.dumps(fig) + "\n")
    if a.check and comm.rank == 0:
        ref = run_brunel(a.scale, a.duration, threads=1, seed=a.seed)
        same = np.array_equal(ref.times_ms, r.times_ms) and np.array_equal(ref.senders, r.senders)
        print(f"raster identical to one process: {same}", flush=True)
        if not same:
            raise SystemExit("raster differs from the single-process run")


if __name__ == "__main__":
    main()
