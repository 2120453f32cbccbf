"""``spikecore bench engine``: the event-driven engine against Brian2 (C++ standalone) and NEST.

Cases (full size; ``--quick`` uses a 0.2-scale Brunel network, shorter runs, fewer repeats):

==========================  ===========================================  =======================
case                        metric                                       peers
==========================  ===========================================  =======================
brunel_1s_1thread           synaptic events / s (median over repeats)    brian2, nest (1 thread)
brunel_1s_2threads          speedup of 2 threads over 1                  brian2, nest
cuba_10s_1thread            wall time of the simulation proper           brian2, nest
brunel_construction         seconds to build the network                 nest (Create+Connect)
brunel_memory               bytes per recurrent synapse                  -
brunel_prune_regrow         prune 10 % + regrow 10 % of the synapses      -
cuba_rate / cuba_cv         rate [Hz] / mean ISI CV, 10 s                brian2 (reference), nest
brunel_rate / brunel_cv     rate [Hz] / mean ISI CV, 1 s                 nest (reference), brian2
==========================  ===========================================  =======================

Synaptic events are counted the same way for everybody: recurrent spikes times the mean
out-degree (synapses / neurons), divided by the wall time of the simulation proper (construction
and compilation excluded; Brian2's own timer of the network run, NEST's nest.Run). The external
Poisson drive is not counted. Statistics use one definition (:mod:`spikecore.analysis.spikestats`);
their ``info`` says whether ours is within 10 % of the reference peer's.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Optional, Tuple

import numpy as np

from spikecore.analysis.spikestats import SpikeStats, spike_stats
from spikecore.bench import Result
from spikecore.bench import peers as _peers
from spikecore.bench.peers import models

DT_MS = 0.1


@dataclass
class OurRun:
    """One spikecore run: its raster, sizes and timings."""

    times_ms: np.ndarray
    senders: np.ndarray
    n_neurons: int
    n_synapses: int
    build_s: float
    wall_s: float
    events: int  # delivered events counted by the engine
    memory_bytes: int
    stats: SpikeStats

    @property
    def events_per_s(self) -> float:
        """Spikes x mean out-degree / wall time (the peers' definition)."""
        return self.stats.n_spikes * self.n_synapses / self.n_neurons / self.wall_s


def build_ours(model: str, params: dict, threads: int = 1, seed: int = 1):
    """Build ``model`` ('cuba' or 'brunel') with :mod:`spikecore.sim.networks`.

    Returns ``(model, n_neurons, n_synapses, getter)``; ``getter()`` gives
    ``(times_ms, senders, events, memory_bytes)`` with senders numbered exc first, then inh.
    The protocol is the peers' (:mod:`spikecore.bench.peers.models`): Brunel starts from
    v0 ~ U(v0_low, v0_high), CUBA from v0 ~ U(Vr, Vt).
    """
    from spikecore.sim import networks

    if model == "brunel":
        scale = params["n_exc"] / models.BRUNEL["n_exc"]
        m = networks.brunel(
            scale,
            dt=DT_MS,
            n_threads=threads,
            seed=seed,
            g=params["g"],
            eta=params["eta"],
            J=params["J"],
            delay=params["delay_ms"],
            v_init=("uniform", params["v0_low"], params["v0_high"]),
        )
        got: Tuple[Any, ...] = (m.params["NE"], m.params["NI"], m.params["CE"], m.params["CI"])
        want: Tuple[Any, ...] = (params["n_exc"], params["n_inh"], params["k_exc"], params["k_inh"])
    elif model == "cuba":
        m = networks.cuba(params["n"] / models.CUBA["n"], dt=DT_MS, n_threads=threads, seed=seed)
        got = (len(m["E"]), len(m["I"]), m.params["p"])
        want = (params["n_exc"], params["n"] - params["n_exc"], params["p"])
    else:
        raise ValueError(f"model must be 'cuba' or 'brunel', got {model!r}")
    if got != want:
        raise ValueError(f"params: spikecore.sim.networks.{model} builds {got}, expected {want}")
    n_e = len(m["E"])
    n_neurons = n_e + len(m["I"])

    def getter():
        me, mi = m.monitors["E"], m.monitors["I"]
        times = np.concatenate([me.times, mi.times])
        senders = np.concatenate([me.senders.astype(np.int64), mi.senders.astype(np.int64) + n_e])
        mem = sum(p.memory_bytes for p in m.projections.values())
        return times, senders, int(m.net.events), int(mem)

    return m, n_neurons, m.n_synapses, getter


def run_ours(
    model: str,
    params: dict,
    duration_ms: float,
    threads: int = 1,
    seed: int = 1,
    progress: bool = False,
) -> OurRun:
    """Build and run ``model`` once; the raster covers all neurons (exc first, then inh)."""
    t0 = time.perf_counter()
    m, n_neurons, n_syn, getter = build_ours(model, params, threads=threads, seed=seed)
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    m.net.run(duration_ms, progress=progress)
    wall_s = time.perf_counter() - t0
    times, senders, events, mem = getter()
    stats = spike_stats(times, senders, n_neurons, duration_ms)
    return OurRun(times, senders, n_neurons, n_syn, build_s, wall_s, events, mem, stats)


def _median_runs(fn, repeats: int):
    runs = [fn() for _ in range(repeats)]
    walls = [r.wall_s for r in runs]
    return runs[0], statistics.median(walls), [round(w, 4) for w in walls]


def _of(run: Optional[_peers.PeerRun], get: Callable[[_peers.PeerRun], float]) -> Optional[float]:
    """``get(run)``, or None where the peer did not run (not installed)."""
    return None if run is None else get(run)


def _speedup(one: Optional[_peers.PeerRun], two: Optional[_peers.PeerRun]) -> Optional[float]:
    """The peer's wall-time ratio of its 1-thread to its 2-thread run, or None."""
    if one is None or two is None:
        return None
    return one.wall_median_s / two.wall_median_s


def _within(value: float, ref: Optional[float], tol: float = 0.10) -> Optional[bool]:
    if ref is None or not np.isfinite(ref) or ref == 0 or not np.isfinite(value):
        return None
    return bool(abs(value - ref) <= tol * abs(ref))


def _log(msg: str) -> None:
    print(f"[bench engine] {msg}", file=sys.stderr, flush=True)


def _plan(quick: bool) -> dict:
    """Sizes and repeats: full (the issue's cases) or quick."""
    if quick:
        return dict(scale=0.2, brunel_ms=500.0, cuba_ms=1000.0, reps=2, peer_reps=1)
    return dict(scale=1.0, brunel_ms=1000.0, cuba_ms=10000.0, reps=3, peer_reps=3)


def run(quick: bool = False) -> Iterator[Result]:
    for res in _run(quick):
        # Timings on a shared machine mean little without its load: record it with each result.
        if hasattr(os, "getloadavg"):
            res.info["load_avg_1min"] = round(os.getloadavg()[0], 2)
        res.info["cpus"] = os.cpu_count()
        yield res


def _run(quick: bool) -> Iterator[Result]:
    plan = _plan(quick)
    scale, brunel_ms, cuba_ms = plan["scale"], plan["brunel_ms"], plan["cuba_ms"]
    reps, peer_reps = plan["reps"], plan["peer_reps"]
    bp = models.brunel(scale)
    size = f"N={bp['n_exc'] + bp['n_inh']}, {brunel_ms:g} ms"

    # --- Brunel, 1 thread: events/s and statistics ----------------------------------------------
    _log(f"Brunel ({size}), spikecore 1 thread x{reps}")
    first, wall1, walls1 = _median_runs(lambda: run_ours("brunel", bp, brunel_ms, 1), reps)
    ev1 = first.stats.n_spikes * first.n_synapses / first.n_neurons / wall1
    _log("Brunel, peers 1 thread")
    b2 = _peers.run_peer("brian2", "brunel", bp, brunel_ms, DT_MS, 1, peer_reps)
    ne = _peers.run_peer("nest", "brunel", bp, brunel_ms, DT_MS, 1, 1)
    yield Result(
        "engine",
        "brunel_1thread",
        "synaptic_events_per_s",
        ev1,
        "events/s",
        True,
        {"brian2": _of(b2, lambda r: r.events_per_s), "nest": _of(ne, lambda r: r.events_per_s)},
        {
            "size": size,
            "wall_s": walls1,
            "engine_events": first.events,
            "peer_wall_s": {"brian2": b2 and b2.wall_s, "nest": ne and ne.wall_s},
            "target": ">= 3e8 (full size)",
        },
    )
    for metric, unit, ours, ref_name in (
        ("rate", "Hz", first.stats.rate_hz, "nest"),
        ("cv", "", first.stats.cv_isi, "nest"),
    ):
        get = (lambda r: r.stats.rate_hz) if metric == "rate" else (lambda r: r.stats.cv_isi)
        pv = {"nest": _of(ne, get), "brian2": _of(b2, get)}
        yield Result(
            "engine",
            f"brunel_{metric}",
            metric,
            ours,
            unit,
            True,
            pv,
            {"reference": ref_name, "within_10pct": _within(ours, pv[ref_name]), "size": size},
        )

    # --- Brunel, 2 threads: speedup ------------------------------------------------------------
    _log("Brunel, spikecore 2 threads")
    r2, wall2, walls2 = _median_runs(lambda: run_ours("brunel", bp, brunel_ms, 2), reps)
    same = bool(
        np.array_equal(r2.times_ms, first.times_ms) and np.array_equal(r2.senders, first.senders)
    )
    b2_2 = _peers.run_peer("brian2", "brunel", bp, brunel_ms, DT_MS, 2, 1)
    ne_2 = _peers.run_peer("nest", "brunel", bp, brunel_ms, DT_MS, 2, 1)
    yield Result(
        "engine",
        "brunel_2threads",
        "speedup_vs_1thread",
        wall1 / wall2,
        "x",
        True,
        {
            "brian2": _speedup(b2, b2_2),
            "nest": _speedup(ne, ne_2),
        },
        {
            "size": size,
            "wall_1thread_s": walls1,
            "wall_2threads_s": walls2,
            "raster_identical_to_1thread": same,
            "target": ">= 1.8",
        },
    )

    # --- construction, memory, structural plasticity ---------------------------------------------
    _log("Brunel construction / memory / prune+regrow")
    builds, prunes = [], []
    mem_per_syn = float("nan")
    for _ in range(reps):
        t0 = time.perf_counter()
        m, n_neurons, n_syn, getter = build_ours("brunel", bp, threads=1)
        builds.append(time.perf_counter() - t0)
        mem_per_syn = recurrent_memory_bytes(m) / n_syn
        prunes.append(prune_regrow_seconds(m, 0.1))
        del m
    yield Result(
        "engine",
        "brunel_construction",
        "seconds",
        statistics.median(builds),
        "s",
        False,
        {"nest": _of(ne, lambda r: r.build_s)},
        {"size": size, "synapses": n_syn, "target": "<= 2 s (full size)"},
    )
    yield Result(
        "engine",
        "brunel_memory",
        "bytes_per_synapse",
        mem_per_syn,
        "B",
        False,
        {},
        {"synapses": n_syn, "target": "<= 12"},
    )
    yield Result(
        "engine",
        "brunel_prune_regrow",
        "seconds",
        statistics.median(prunes),
        "s",
        False,
        {},
        {"synapses": n_syn, "fraction": 0.1, "target": "<= 0.3 s (full)"},
    )

    # --- CUBA -----------------------------------------------------------------------------------
    cp = models.cuba()
    _log(f"CUBA ({cuba_ms:g} ms), spikecore 1 thread x{reps}")
    cfirst, cwall, cwalls = _median_runs(lambda: run_ours("cuba", cp, cuba_ms, 1), reps)
    _log("CUBA, peers")
    cb2 = _peers.run_peer("brian2", "cuba", cp, cuba_ms, DT_MS, 1, peer_reps)
    cne = _peers.run_peer("nest", "cuba", cp, cuba_ms, DT_MS, 1, 1)
    yield Result(
        "engine",
        f"cuba_{cuba_ms / 1000:g}s_1thread",
        "wall_time",
        cwall,
        "s",
        False,
        {
            "brian2": _of(cb2, lambda r: r.wall_median_s),
            "nest": _of(cne, lambda r: r.wall_median_s),
        },
        {
            "target": "<= brian2",
            "wall_s": cwalls,
            "peer_wall_s": {"brian2": cb2 and cb2.wall_s, "nest": cne and cne.wall_s},
        },
    )
    for metric, unit, ours in (
        ("rate", "Hz", cfirst.stats.rate_hz),
        ("cv", "", cfirst.stats.cv_isi),
    ):
        get = (lambda r: r.stats.rate_hz) if metric == "rate" else (lambda r: r.stats.cv_isi)
        pv = {"brian2": _of(cb2, get), "nest": _of(cne, get)}
        yield Result(
            "engine",
            f"cuba_{metric}",
            metric,
            ours,
            unit,
            True,
            pv,
            {
                "reference": "brian2",
                "within_10pct": _within(ours, pv["brian2"]),
                "duration_ms": cuba_ms,
            },
        )
    for p in ("brian2", "nest"):
        if _peers.last_error(p):
            _log(f"{p}: {_peers.last_error(p)}")


def recurrent_memory_bytes(m) -> int:
    """Bytes held by the recurrent projections' SynapseMatrix arrays (slack included)."""
    return int(sum(p.memory_bytes for p in m.projections.values()))


def prune_regrow_seconds(m, fraction: float) -> float:
    """Wall time to prune ``fraction`` of every projection at random and regrow as many
    synapses at random free positions (same weight and delay): the density stays fixed."""
    projs = list(m.projections.items())
    weights = {name: float(p.weights[0]) if p.nnz else 0.0 for name, p in projs}
    delay = float(m.params.get("delay", DT_MS))
    nnz0 = m.n_synapses
    t0 = time.perf_counter()
    for name, p in projs:
        removed = m.net.prune(p, fraction=fraction, by="random")
        m.net.regrow(p, removed, method="random", weight=weights[name], delay=delay)
    dt = time.perf_counter() - t0
    if m.n_synapses != nnz0:
        raise RuntimeError(f"prune/regrow changed the number of synapses: {nnz0} -> {m.n_synapses}")
    return dt


def print_comparison(rows, reference: str, build_column: bool = False) -> None:
    """Print a table of (name, run result or None) rows, ours first, and our rate and ISI CV
    relative to ``reference`` (the claim: both within 10 %)."""
    head = f"{'':10s} {'rate Hz':>8s} {'CV':>6s} {'wall s':>8s}"
    print(head + (f" {'build s':>8s}" if build_column else "") + f" {'events/s':>10s}")
    for name, r in rows:
        if r is None:
            print(f"{name:10s} {'n/a':>8s}")
            continue
        wall = r.wall_s if isinstance(r.wall_s, float) else r.wall_median_s
        line = f"{name:10s} {r.stats.rate_hz:8.2f} {r.stats.cv_isi:6.3f} {wall:8.3f}"
        if build_column:
            line += f" {r.build_s:8.2f}"
        print(line + f" {r.events_per_s:10.3g}")
    ours = rows[0][1]
    ref = next((r for n, r in rows if n == reference and r is not None), None)
    if ref is not None:
        dr = ours.stats.rate_hz / ref.stats.rate_hz - 1
        dc = ours.stats.cv_isi / ref.stats.cv_isi - 1
        label = {"nest": "NEST", "brian2": "Brian2"}.get(reference, reference)
        print(f"vs {label}: rate {dr:+.1%}, CV {dc:+.1%} (claim: both within 10 %)")
