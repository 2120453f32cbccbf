"""Benchmarks of the CE-LIF and dendritic kernels (issue 5): training-step time, medians.

Cases (fwd + BPTT backward, one thread and all threads):

- ``celif_neuron``: the fused CE-LIF op vs the fused LIF op on the same [T, B, N] input
  (the issue's target: CE-LIF <= 1.5x LIF);
- ``celif_layer_shared`` / ``celif_layer_separate``: a CELIF layer vs Linear + LIF of the same
  shape (``shared`` has the same products; ``separate`` adds the context product W_c x);
- ``dendritic``: DendriticLinear via the masked dense product vs the C++ gather kernel.

The peer of each case is the reference it is compared with; ratios are "times faster".
Times are medians of process CPU time (``time.process_time``): robust to other processes on a
shared machine, and equal to wall time for the one-thread cases.
"""
from __future__ import annotations

import time
from collections.abc import Iterable

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


def run(quick: bool = False) -> Iterable[Result]:
    from spikecore.nn import LIF, Linear
    from spikecore.nn import functional as SF
    from spikecore.nn.celif import CELIF, celif
    from spikecore.nn.dendritic import DendriticLinear

    T, B, N, D = (50, 16, 128, 128) if quick else (100, 32, 512, 256)
    reps = 3 if quick else 7
    old = torch.get_num_threads()
    threads = [1]
    g = torch.Generator().manual_seed(0)
    try:
        for nt in threads:
            torch.set_num_threads(nt)
            # -- neuron op only
            I = (torch.rand(T, B, N, generator=g) * 1.2).requires_grad_()
            q = torch.randn(T, B, N, generator=g).requires_grad_()
            lam = torch.full((N,), 0.99, requires_grad=True)
            t_lif = median_time(_step(lambda: SF.lif(I, beta=0.5, backend="cpp")[0], [I]), reps)
            for what, kw, ps in (("scalar decays", {}, [I, q]),
                                 ("learned per-neuron lambda_c", {"lambda_c": lam}, [I, q, lam])):
                t_ce = median_time(_step(lambda: celif(I, q, backend="cpp", **kw)[0], ps), reps)
                yield Result("variants", f"celif_neuron ({what}) T={T} B={B} N={N} threads={nt}",
                             "train step", t_ce * 1e3, "ms", False,
                             {"spikecore LIF": t_lif * 1e3},
                             {"ratio_to_lif": t_ce / t_lif, "target": "<= 1.5"})
            # -- layers
            x = (torch.rand(T, B, D, generator=g) < 0.1).float()
            lin, lif = Linear(D, N), LIF(tau=2.0)
            t_ref = median_time(_step(lambda: lif(lin(x)), list(lin.parameters())), reps)
            for mode in ("shared", "separate"):
                layer = CELIF(D, N, context=mode)
                t = median_time(_step(lambda: layer(x), list(layer.parameters())), reps)
                yield Result("variants", f"celif_layer_{mode} T={T} B={B} {D}->{N} threads={nt}",
                             "train step", t * 1e3, "ms", False,
                             {"Linear+LIF": t_ref * 1e3}, {"ratio_to_lif": t / t_ref})
            # -- dendritic layer
            xs = torch.randn(T * B // 4, D, generator=g)
            dl = DendriticLinear(D, N // 4, branches=4)
            ts = {}
            for be in ("torch", "cpp"):
                dl.backend = be
                ts[be] = median_time(_step(lambda: dl(xs), list(dl.parameters())), reps)
            yield Result("variants", f"dendritic R={xs.shape[0]} {D}->{N // 4}x4 threads={nt}",
                         "train step", ts["torch"] * 1e3, "ms", False,
                         {"gather kernel (cpp)": ts["cpp"] * 1e3})
    finally:
        torch.set_num_threads(old)
