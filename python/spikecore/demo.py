"""``spikecore demo``: the embedded default run, in two parts.

1. ``audio``: the full pipeline on the shipped spoken-digit set: audio -> cochlea (C++ gammatone
   filterbank) -> Spiketrum spike coding -> an SNN trained with spikecore.nn (surrogate gradients,
   C++ kernels) -> the trained network deployed to the event engine with ``from_torch``; prints
   accuracy on held-out voices, engine/torch agreement and timings, and saves a cochleagram, a
   spike raster and a reconstruction plot (PNG). See :func:`spikecore.experiments.audio_pipeline.run_demo`.
2. ``brunel``: the Brunel (2000) network in the asynchronous irregular state (model A: 10 000
excitatory and 2 500 inhibitory LIF neurons with delta synapses, fixed in-degrees 1000 / 250,
J = 0.1 mV, g = 5, eta = 2, D = 1.5 ms, dt = 0.1 ms, independent Poisson drive) simulated by the
event-driven engine (:mod:`spikecore.experiments.brunel`). It prints a summary (rates, ISI CV, synaptic events per second, wall times)
and saves a raster plot with the population rate (PNG) and the summary (JSON) to ``--out``.

=================  =========  ===================================================
option             default    meaning
=================  =========  ===================================================
``--scale``        1.0        network size relative to Brunel's 12 500 neurons
                              (in-degrees are kept)
``--duration-ms``  1000       biological time [ms]
``--threads``      all cores  engine threads (the raster does not depend on it)
``--seed``         1          network seed
``--out``          ``spikecore-demo``  output folder
``--part``         all        ``all``, ``audio`` or ``brunel``
``--quick``        off        audio part: fewer epochs, engine on 40 utterances
=================  =========  ===================================================
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def add_arguments(p) -> None:
    p.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="network size relative to Brunel's 12 500 neurons (default 1)",
    )
    p.add_argument(
        "--duration-ms",
        type=float,
        default=1000.0,
        help="biological time to simulate in ms (default 1000)",
    )
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="engine threads (default: all cores; results do not depend on it)",
    )
    p.add_argument("--seed", type=int, default=1, help="network seed (default 1)")
    p.add_argument("--out", default="spikecore-demo", help="output folder (default spikecore-demo)")
    p.add_argument(
        "--part",
        choices=("all", "audio", "brunel"),
        default="all",
        help="which part to run (default all: audio pipeline, then Brunel)",
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="audio part: fewer epochs, engine on 40 test utterances",
    )


def _check(args) -> None:
    if not (args.scale > 0 and args.scale <= 10):
        raise ValueError(f"scale must be in (0, 10], got {args.scale}")
    if not (args.duration_ms > 0 and args.duration_ms < 1e7):
        raise ValueError(f"duration_ms must be positive, got {args.duration_ms}")
    if args.threads is not None:
        from spikecore._guards import threads

        threads(args.threads, "threads")  # the core's bound: [1, 1024]


def run(args) -> int:
    try:
        _check(args)
    except ValueError as exc:
        print(f"spikecore demo: {exc}", file=sys.stderr)
        return 2
    part = getattr(args, "part", "brunel")
    if part in ("all", "audio"):
        _run_audio(args)
    if part in ("all", "brunel"):
        return _run_brunel(args)
    return 0


def _run_audio(args) -> dict:
    import time

    from spikecore.experiments.audio_pipeline import run_demo

    print(
        "spikecore demo, part 1: spoken digits -> cochlea -> Spiketrum -> SNN -> event engine",
        flush=True,
    )
    t0 = time.perf_counter()
    res = run_demo(Path(args.out), quick=getattr(args, "quick", False), seed=args.seed)
    res["total_s"] = time.perf_counter() - t0
    print(
        f"  test accuracy (held-out voices) {res['test_accuracy']:.3f}; engine agreement "
        f"{res.get('engine_agreement', float('nan')):.3f}; total {res['total_s']:.1f} s",
        flush=True,
    )
    summary = {k: v for k, v in res.items() if isinstance(v, (int, float, str, dict))}
    Path(args.out, "audio_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return res


def _run_brunel(args) -> int:
    print("spikecore demo, part 2: Brunel (2000) network in the event engine", flush=True)
    from spikecore.experiments.brunel import plot_raster, run_brunel

    threads = args.threads or max(
        1,
        len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1),
    )
    n_e = max(int(round(10000 * args.scale)), 1000)
    print(
        f"spikecore demo: Brunel (2000) network, {n_e} exc + {n_e // 4} inh "
        f"LIF neurons, {args.duration_ms:g} ms, {threads} thread(s)",
        flush=True,
    )
    r = run_brunel(args.scale, args.duration_ms, threads=threads, seed=args.seed, progress=True)
    st_e, st_i = r.stats_exc, r.stats_inh
    summary = {
        "network": "brunel2000",
        "n_neurons": r.n_neurons,
        "n_synapses": r.n_synapses,
        "duration_ms": args.duration_ms,
        "threads": threads,
        "seed": args.seed,
        "rate_hz": r.stats.rate_hz,
        "rate_exc_hz": st_e.rate_hz,
        "rate_inh_hz": st_i.rate_hz,
        "cv_isi": r.stats.cv_isi,
        "n_spikes": r.stats.n_spikes,
        "events": r.events,
        "events_per_s": r.events_per_s,
        "build_s": r.build_s,
        "wall_s": r.wall_s,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    png = out / "brunel_raster.png"
    plot_raster(
        r.times_ms,
        r.senders,
        r.n_exc,
        r.n_neurons,
        args.duration_ms,
        png,
        title=f"Brunel (2000), {r.n_neurons} neurons: {r.stats.rate_hz:.1f} Hz, "
        f"CV {r.stats.cv_isi:.2f}",
    )
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"  neurons / synapses     {r.n_neurons} / {r.n_synapses}")
    print(
        f"  rate (all / exc / inh) {r.stats.rate_hz:.2f} / {st_e.rate_hz:.2f} / "
        f"{st_i.rate_hz:.2f} Hz"
    )
    print(f"  mean ISI CV            {r.stats.cv_isi:.3f}")
    print(f"  construction           {r.build_s:.2f} s")
    print(
        f"  simulation             {r.wall_s:.2f} s wall for {args.duration_ms:g} ms "
        f"({r.events:.3g} synaptic events, {r.events_per_s:.3g} events/s)"
    )
    print(f"  saved {png} and {out / 'summary.json'}")
    return 0
