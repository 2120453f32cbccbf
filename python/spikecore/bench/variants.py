"""Benchmarks of the CE-LIF and dendritic kernels (issue 5): training-step time, medians.

Cases (forward + BPTT backward, one thread; ``spikecore bench variants``; the CE-LIF cases also
run in ``spikecore bench train``):

- ``celif_neuron``: the fused CE-LIF op vs the fused LIF op on the same [T, B, N] input
  (the issue's target: CE-LIF <= 1.5x LIF);
- ``celif_layer_shared`` / ``celif_layer_separate``: a CELIF layer vs Linear + LIF of the same
  shape on 10 % spike input (``shared`` has the same products; ``separate`` adds the context
  product W_c x, run with the same gather of active inputs);
- ``dendritic``: DendriticLinear via the masked dense product vs the C++ gather kernel.

The peer of each case is the reference it is compared with. Times are medians of process CPU
time (``time.process_time``): robust to other processes on a shared machine, and equal to wall
time for one thread. The CE-LIF cases and their LIF references run interleaved (one step of
each in turn, ``repeats`` rounds), so a change of load hits both alike; ``info`` gives the
ratio of the medians and the interquartile range of the per-round ratios.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterable
from typing import Dict, List

import torch

from . import Result
from . import median_time as _median_time


def median_time(fn, repeats: int = 5, warmup: int = 1) -> float:
    """Median process CPU time of ``fn()`` in seconds."""
    return _median_time(fn, repeats, warmup, clock=time.process_time)


def _step(fn, params):
    def run():
        for p in params:
            p.grad = None
        out = fn()
        out.sum().backward()

    return run


def interleaved(fns: dict, repeats: int, warmup: int = 1) -> dict:
    """CPU times (s) of each ``fns[name]()``, run in turn ``repeats`` times: {name: [times]}."""
    for _ in range(warmup):
        for fn in fns.values():
            fn()
    out: Dict[str, List[float]] = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            t0 = time.process_time()
            fn()
            out[k].append(time.process_time() - t0)
    return out


def _ratio_result(bench, case, ours, ref, ref_name, extra=None) -> Result:
    m, r = statistics.median(ours), statistics.median(ref)
    per_round = sorted(a / b for a, b in zip(ours, ref))
    q = statistics.quantiles(per_round, n=4) if len(per_round) >= 2 else per_round * 3
    info = {
        "ratio_to_lif": m / r,
        "round_ratio_iqr": [q[0], q[-1]],
        "target": "<= 1.5",
        "repeats": len(ours),
        "clock": "process CPU time",
    }
    info.update(extra or {})
    return Result(bench, case, "train step", m * 1e3, "ms", False, {ref_name: r * 1e3}, info)


def celif_cases(
    quick: bool = False, bench: str = "variants", sizes=None, repeats=None
) -> Iterable[Result]:
    """CE-LIF training step vs a LIF step of the same shape (neuron op; layers shared and
    separate context), one thread, interleaved. ``sizes`` = (T, B, N, D) overrides."""
    from spikecore.nn import LIF, Linear
    from spikecore.nn import functional as SF
    from spikecore.nn.celif import CELIF, celif

    T, B, N, D = sizes or ((50, 16, 128, 128) if quick else (100, 32, 512, 256))
    reps = repeats or (5 if quick else 31)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    try:
        # -- neuron op only
        I = (torch.rand(T, B, N, generator=g) * 1.2).requires_grad_()
        q = torch.randn(T, B, N, generator=g).requires_grad_()
        lam = torch.full((N,), 0.99, requires_grad=True)
        fns = {
            "lif": _step(lambda: SF.lif(I, beta=0.5, backend="cpp")[0], [I]),  # noqa: F821
            "scalar decays": _step(lambda: celif(I, q, backend="cpp")[0], [I, q]),  # noqa: F821
            "learned per-neuron lambda_c": _step(
                lambda: celif(I, q, lambda_c=lam, backend="cpp")[0],  # noqa: F821
                [I, q, lam],
            ),
        }
        t = interleaved(fns, reps)
        for what in ("scalar decays", "learned per-neuron lambda_c"):
            yield _ratio_result(
                bench,
                f"celif_neuron ({what}) T={T} B={B} N={N} threads=1",
                t[what],
                t["lif"],
                "spikecore LIF",
            )
        del I, q, lam, fns, t
        # -- layers, 10 % spike input
        x = (torch.rand(T, B, D, generator=g) < 0.1).float()
        lin, lif = Linear(D, N), LIF(tau=2.0)
        layers = {m: CELIF(D, N, context=m) for m in ("shared", "separate")}
        fns = {"lif": _step(lambda: lif(lin(x)), list(lin.parameters()))}
        for m, layer in layers.items():
            fns[m] = _step(lambda layer=layer: layer(x), list(layer.parameters()))
        t = interleaved(fns, reps)
        for m in layers:
            yield _ratio_result(
                bench,
                f"celif_layer_{m} T={T} B={B} {D}->{N} threads=1",
                t[m],
                t["lif"],
                "Linear+LIF",
                {"input": "10 % spikes"},
            )
    finally:
        torch.set_num_threads(old)


def run(quick: bool = False) -> Iterable[Result]:
    from spikecore.nn.dendritic import DendriticLinear

    yield from celif_cases(quick)
    T, B, N, D = (50, 16, 128, 128) if quick else (100, 32, 512, 256)
    reps = 3 if quick else 7
    old = torch.get_num_threads()
    g = torch.Generator().manual_seed(0)
    try:
        torch.set_num_threads(1)
        # -- dendritic layer
        xs = torch.randn(T * B // 4, D, generator=g)
        dl = DendriticLinear(D, N // 4, branches=4)
        ts = {}
        for be in ("torch", "cpp"):
            dl.backend = be
            ts[be] = median_time(_step(lambda: dl(xs), list(dl.parameters())), reps)
        yield Result(
            "variants",
            f"dendritic R={xs.shape[0]} {D}->{N // 4}x4 threads=1",
            "train step",
            ts["torch"] * 1e3,
            "ms",
            False,
            {"gather kernel (cpp)": ts["cpp"] * 1e3},
        )
    finally:
        torch.set_num_threads(old)
