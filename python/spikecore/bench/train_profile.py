"""Per-op profile of the ``bench train`` SHD step (issue 18): wall and process CPU time per op.

Every spikecore.nn kernel call (the fused LIF forward / backward, the event-driven products and
their weight gradients, the active-input gather, the dense input-gradient GEMM) and every aten op
outside them is timed with both clocks (``time.perf_counter`` and the process CPU clock, all
threads), self time (nested calls subtracted), grouped by phase (forward, backward, Adam,
zero_grad) and summed over the timed steps. "python" is the rest of the step (interpreter,
autograd engine). The timers add a few microseconds per op (aten ops pass a
``TorchDispatchMode``), so the step total here is a little above the bench's.

    python -m spikecore.bench.train_profile [--threads 1 2] [--steps 10] [--lib spikecore]

Comparing the columns of 1 and 2 threads shows what scales: an op that scales perfectly halves
its wall time and keeps its CPU time; one that does not keeps its wall time (serial) or doubles
its CPU time (a spinning or waiting thread).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from collections import defaultdict
from typing import Dict, List, Tuple

_KERNELS = (  # (module, function name, label)
    ("spikecore.nn._kernels", "_lif_fwd", "lif_forward"),
    ("spikecore.nn._kernels", "_lif_bwd", "lif_backward"),
    ("spikecore.nn._kernels", "_li_fwd", "li_forward"),
    ("spikecore.nn._kernels", "_li_bwd", "li_backward"),
    ("spikecore.nn._kernels", "_gather", "gather_active"),
    ("spikecore.nn._kernels", "_spike_linear_fwd", "event_forward"),
    ("spikecore.nn._kernels", "_spike_linear_wgrad", "event_weight_grad"),
    ("spikecore.nn._kernels", "_spike_linear_grads", "event_weight_grad"),
    ("spikecore.nn._precision", "mm", "input_grad_gemm"),
    ("spikecore.nn._kernels", "input_grad", "input_grad_gemm"),
)
_OPTIONAL = (  # kernels of later versions (absent in older builds: skipped)
    ("spikecore.nn._kernels", "_linear_lif_fwd", "linear_lif_forward"),
    ("spikecore.nn._kernels", "_linear_lif_bwd", "linear_lif_backward"),
)


def _faults() -> int:
    """Minor page faults of this process so far (first touches of fresh memory)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


class _Clock:
    """Self-time accounting: a stack of open regions; a region's self time is its total minus
    the totals of the regions opened inside it."""

    def __init__(self):
        # [wall0, cpu0, faults0, child_wall, child_cpu, child_faults]
        self.stack: List[List[float]] = []
        self.phase = "other"
        self.acc: Dict[Tuple[str, str], List[float]] = defaultdict(lambda: [0.0, 0.0, 0, 0])

    def enter(self):
        self.stack.append([time.perf_counter(), time.process_time(), _faults(), 0.0, 0.0, 0])

    def exit(self, name: str):
        w1, c1, f1 = time.perf_counter(), time.process_time(), _faults()
        w0, c0, f0, cw, cc, cf = self.stack.pop()
        tw, tc, tf = w1 - w0, c1 - c0, f1 - f0
        a = self.acc[(self.phase, name)]
        a[0] += tw - cw
        a[1] += tc - cc
        a[2] += 1
        a[3] += tf - cf
        if self.stack:
            self.stack[-1][3] += tw
            self.stack[-1][4] += tc
            self.stack[-1][5] += tf


def _wrap(clock: _Clock, fn, label: str):
    def timed(*args, **kwargs):
        clock.enter()
        try:
            return fn(*args, **kwargs)
        finally:
            clock.exit(label)

    return timed


def profile_step(
    lib: str = "spikecore",
    threads: int = 2,
    steps: int = 10,
    warmup: int = 3,
    T: int = 100,
    B: int = 32,
) -> Dict[str, object]:
    """Profile ``steps`` bench-train steps of ``lib`` at ``threads`` threads: per (phase, op)
    self wall ms and CPU ms per step, and the untimed step's median wall / CPU ms."""
    import importlib
    import statistics

    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from spikecore.bench.train import _builder, make_batch

    torch.set_num_threads(threads)
    model, fwd = _builder(lib)(0)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x, y = make_batch(T, B, 0)
    clock = _Clock()

    def step(timed: bool):
        if timed:
            clock.phase = "zero_grad"
        opt.zero_grad(set_to_none=True)
        if timed:
            clock.phase = "forward"
        loss = torch.nn.functional.cross_entropy(fwd(x), y)
        if timed:
            clock.phase = "backward"
        loss.backward()
        if timed:
            clock.phase = "adam"
        opt.step()
        if timed:
            clock.phase = "other"

    # the untimed step first (no patches, no dispatch mode)
    for _ in range(warmup):
        step(False)
    walls, cpus = [], []
    for _ in range(steps):
        w0, c0 = time.perf_counter(), time.process_time()
        step(False)
        walls.append(time.perf_counter() - w0)
        cpus.append(time.process_time() - c0)

    class Mode(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            clock.enter()
            try:
                return func(*args, **(kwargs or {}))
            finally:
                clock.exit(f"aten::{func.overloadpacket.__name__}")

    saved = []
    for mod_name, attr, label in _KERNELS + _OPTIONAL:
        mod = importlib.import_module(mod_name)
        if hasattr(mod, attr):
            saved.append((mod, attr, getattr(mod, attr)))
            setattr(mod, attr, _wrap(clock, getattr(mod, attr), label))
    try:
        with Mode():
            step(True)  # warm the timers
            clock.acc.clear()
            tw, tc = [], []
            for _ in range(steps):
                w0, c0 = time.perf_counter(), time.process_time()
                clock.enter()
                step(True)
                clock.phase = "other"
                clock.exit("python")
                tw.append(time.perf_counter() - w0)
                tc.append(time.process_time() - c0)
    finally:
        for mod, attr, fn in saved:
            setattr(mod, attr, fn)
    ops = {
        f"{ph}: {name}": {
            "wall_ms": a[0] / steps * 1e3,
            "cpu_ms": a[1] / steps * 1e3,
            "calls": a[2] // steps,
            "faults": a[3] / steps,
        }
        for (ph, name), a in clock.acc.items()
    }
    return {
        "lib": lib,
        "threads": threads,
        "steps": steps,
        "step_wall_ms": statistics.median(walls) * 1e3,
        "step_cpu_ms": statistics.median(cpus) * 1e3,
        "step_wall_spread_ms": [min(walls) * 1e3, max(walls) * 1e3],
        "timed_step_wall_ms": sum(tw) / steps * 1e3,
        "timed_step_cpu_ms": sum(tc) / steps * 1e3,
        "ops": ops,
    }


def _child(lib: str, threads: int, steps: int) -> dict:
    return profile_step(lib, threads, steps)


def run_fresh(lib: str, threads: int, steps: int) -> dict:
    """One profile in a fresh process (torch's thread pools start at the given size)."""
    import subprocess
    import sys

    code = (
        "import json; from spikecore.bench.train_profile import _child; "
        f"print(json.dumps(_child({lib!r}, {threads}, {steps})))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1])


def table(profiles: List[dict], min_ms: float = 0.3) -> str:
    """A markdown table: one row per op, wall and CPU ms per step for each profile."""
    keys = sorted(
        {
            k
            for p in profiles
            for k, v in p["ops"].items()
            if v["cpu_ms"] >= min_ms or v["wall_ms"] >= min_ms
        },
        key=lambda k: -max(p["ops"].get(k, {"wall_ms": 0})["wall_ms"] for p in profiles),
    )
    head = " | ".join(f"{p['lib']} {p['threads']}t wall / cpu / faults" for p in profiles)
    lines = [f"| op | {head} |", "|---|" + "---|" * len(profiles)]
    for k in keys:
        cells = []
        for p in profiles:
            o = p["ops"].get(k)
            cells.append(
                "-"
                if o is None
                else f"{o['wall_ms']:.2f} / {o['cpu_ms']:.2f} / {o.get('faults', 0):.0f}"
            )
        lines.append(f"| {k} | " + " | ".join(cells) + " |")
    tot = " | ".join(
        f"{p['timed_step_wall_ms']:.1f} / {p['timed_step_cpu_ms']:.1f}" for p in profiles
    )
    lines.append(f"| **step (timed)** | {tot} |")
    un = " | ".join(f"{p['step_wall_ms']:.1f} / {p['step_cpu_ms']:.1f}" for p in profiles)
    lines.append(f"| step (untimed, median) | {un} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--lib", nargs="+", default=["spikecore"])
    ap.add_argument("--rounds", type=int, default=1, help="interleaved repeats (fresh processes)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args(argv)
    profiles = []
    for _ in range(a.rounds):
        for lib in a.lib:
            for t in a.threads:
                profiles.append(run_fresh(lib, t, a.steps))
    if a.json:
        for p in profiles:
            print(json.dumps(p))
    else:
        print(table(profiles))


if __name__ == "__main__":  # pragma: no cover
    main()
