"""Scaling figures: ``spikecore bench <engine|train|audio> --plot DIR``.

How the cost of each benchmark grows with its work, each point timed in CPU seconds of the
process (``time.process_time``; on a shared machine far steadier than wall time) and, for the
engine, the memory of its synapses:

* engine: Brunel (fixed in-degree 1250, so synapses = 1250 N) at growing N, 1 thread: CPU
  seconds per simulated second and SynapseMatrix bytes, against the synapse count;
* train: the SHD-shaped spikecore training step (700-512-512-20, one thread) against T at
  B = 32 and against B at T = 100;
* audio: the 64..512-channel gammatone filterbank on 4 s of 16 kHz speech, one thread (CPU
  seconds per second of audio).

Written to DIR: ``<area>_scaling.txt`` (a table, with the least-squares log-log slope of each
series) and, when matplotlib is installed, ``<area>_scaling.png`` (log-log).
"""

from __future__ import annotations

import functools
import gc
import math
import os
import statistics
import time
from typing import Callable, Dict, List, Tuple

Series = Dict[str, List[Tuple[float, float]]]  # name -> [(x, y)]


def _cpu(fn: Callable[[], object], repeats: int) -> float:
    ts = []
    for _ in range(repeats):
        t0 = time.process_time()
        fn()
        ts.append(time.process_time() - t0)
    return statistics.median(ts)


def engine(quick: bool = False) -> Tuple[str, Series]:
    from spikecore.bench.engine import build_ours
    from spikecore.bench.peers import models

    # 1.6e6 .. 1.0e8 synapses (the largest: 0.92 GB of synapses)
    scales = (0.064, 0.2, 0.5) if quick else (0.064, 0.2, 0.5, 1.0, 2.0, 6.4)
    sim_ms = 100.0 if quick else 300.0
    cpu: List[Tuple[float, float]] = []
    mem: List[Tuple[float, float]] = []
    for s in scales:
        m, _, n_syn, getter = build_ours("brunel", models.brunel(s), threads=1)
        m.net.run(10.0)  # first touch of the rings and buffers
        t0 = time.process_time()
        m.net.run(sim_ms)
        cpu.append((float(n_syn), (time.process_time() - t0) * 1000.0 / sim_ms))
        mem.append((float(n_syn), float(getter()[3])))
        del m, getter
        gc.collect()
    return "synapses", {
        "cpu_s_per_simulated_s": cpu,
        "synapse_bytes": mem,
    }


def train(quick: bool = False) -> Tuple[str, Series]:
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # CPU time of one thread (idle OpenMP workers spin and count too)
    try:
        return _train(quick)
    finally:
        torch.set_num_threads(threads)


def _train(quick: bool) -> Tuple[str, Series]:
    from spikecore.bench.train import make_step

    reps = 3
    Ts = (25, 50, 100) if quick else (25, 50, 100, 200, 400)
    Bs = (8, 16, 32) if quick else (8, 16, 32, 64, 128)
    vs_t = []
    for T in Ts:
        step, _ = make_step("spikecore", T, 32)
        step()
        vs_t.append((float(T), _cpu(step, reps)))
    vs_b = []
    for B in Bs:
        step, _ = make_step("spikecore", 100, B)
        step()
        vs_b.append((float(B), _cpu(step, reps)))
    return "T (steps) or B (batch)", {"step_cpu_s_vs_T_B32": vs_t, "step_cpu_s_vs_B_T100": vs_b}


def audio(quick: bool = False) -> Tuple[str, Series]:
    from spikecore.audio import Cochlea
    from spikecore.bench.audio import speech_16k

    seconds = 1.0 if quick else 4.0
    x = speech_16k(seconds)
    pts = []
    for ch in (64, 128) if quick else (64, 128, 256, 512):
        coch = Cochlea(fs=16000, n_channels=ch, f_lo=50, f_hi=7000, n_threads=1)
        coch(x)
        pts.append((float(ch), _cpu(functools.partial(coch, x), 7) / seconds))
    return "channels", {"filterbank_cpu_s_per_audio_s": pts}


AREAS = {"engine": engine, "train": train, "audio": audio}


def slope(pts: List[Tuple[float, float]]) -> float:
    """Least-squares slope of log y on log x (1 = linear growth)."""
    if len(pts) < 2 or any(x <= 0 or y <= 0 for x, y in pts):
        return float("nan")
    lx = [math.log(x) for x, _ in pts]
    ly = [math.log(y) for _, y in pts]
    mx, my = statistics.fmean(lx), statistics.fmean(ly)
    sxx = sum((a - mx) ** 2 for a in lx)
    if sxx == 0:
        return float("nan")
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sxx


def table(area: str, xname: str, series: Series) -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    lines = [f"# {area} scaling (load average {load:.1f}; CPU seconds of the process)"]
    for name, pts in series.items():
        lines.append(f"## {name} vs {xname}: log-log slope {slope(pts):.2f}")
        lines += [f"{x:>14.6g}  {y:.6g}" for x, y in pts]
    return "\n".join(lines) + "\n"


def plot(area: str, out_dir: str, quick: bool = False) -> List[str]:
    """Measures ``area``'s scaling and writes the table (and the PNG with matplotlib) into
    ``out_dir``. Returns the paths written."""
    if area not in AREAS:
        raise ValueError(f"area: --plot supports {', '.join(sorted(AREAS))}, got {area!r}")
    os.makedirs(out_dir, exist_ok=True)
    xname, series = AREAS[area](quick)
    paths = [os.path.join(out_dir, f"{area}_scaling.txt")]
    with open(paths[0], "w") as f:
        f.write(table(area, xname, series))
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return paths
    fig, axes = plt.subplots(1, len(series), figsize=(4.5 * len(series), 3.6), squeeze=False)
    for ax, (name, pts) in zip(axes[0], series.items()):
        xs, ys = zip(*pts)
        ax.loglog(xs, ys, "o-")
        ax.set_xlabel(xname)
        ax.set_title(f"{name}\n(slope {slope(pts):.2f})", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    paths.append(os.path.join(out_dir, f"{area}_scaling.png"))
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
