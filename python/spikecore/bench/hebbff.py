"""Benchmarks of the HebbFF area: multilayer community detection and the fused plastic kernel.

Cases (fixed seeds and sizes, medians of repeated runs, peers measured in the same run):

- ``multilayer_louvain_100x100``: signed multilayer modularity + generalized Louvain on
  100 nodes x 100 layers (windowed correlations with planted communities). Target <= 2 s.
  Peer: bctpy's ``modularity_louvain_und_sign`` run on each of the 100 layers separately (a
  single-layer method, so an easier task: no inter-layer coupling); ``None`` if bctpy is absent.
- ``hebbff_fwd_bwd``: forward + backward of the plastic recurrence (T = 200, B = 16,
  d = N = 100, float32, 1 thread). Peer: the pure-torch reference through torch autograd.
"""
from __future__ import annotations

import numpy as np

from . import Result, median_time


def _layers(N=100, L=100, window=50, seed=0):
    from spikecore.analysis.network import windowed_correlations

    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(5), N // 5)
    lat = rng.normal(size=(5, L * window))
    act = lat[g] + 1.0 * rng.normal(size=(N, L * window))
    return windowed_correlations(act, window)


def bench_louvain(quick: bool):
    from spikecore.analysis.network import multilayer_communities

    A = _layers()
    repeats = 3 if quick else 7
    part = multilayer_communities(A, seed=0)
    ours = median_time(lambda: multilayer_communities(A, seed=0), repeats=repeats)
    peers = {}
    try:
        import bct

        def per_layer():
            for s in range(A.shape[0]):
                W = A[s].copy()
                np.fill_diagonal(W, 0)
                bct.modularity_louvain_und_sign(W, gamma=1.0, qtype="gja", seed=s)

        peers["bctpy_per_layer"] = median_time(per_layer, repeats=1 if quick else 3, warmup=0)
    except ImportError:
        peers["bctpy_per_layer"] = None
    return Result("hebbff", "multilayer_louvain_100x100", "time", ours, "s",
                  higher_is_better=False, peers=peers,
                  info={"Q": part.Q, "communities": part.n_communities, "target_s": 2.0})


def bench_kernel(quick: bool):
    import torch

    from spikecore.data.familiarity import familiarity_sequence
    from spikecore.models.hebbff import hebbff_plastic

    torch.set_num_threads(1)
    T, B, d, N = (100 if quick else 200), 16, 100, 100
    x = torch.from_numpy(familiarity_sequence(d, 3, 0.5, T, B, seed=0)[0])
    g = torch.Generator().manual_seed(0)
    W = (torch.randn(N, d, generator=g) / d ** 0.5).requires_grad_()
    b = torch.zeros(N, requires_grad=True)
    e = torch.tensor(-0.05, requires_grad=True)
    lam = torch.tensor(0.95, requires_grad=True)

    def step(backend):
        a = hebbff_plastic(x, W, b, e, lam, backend=backend)
        torch.autograd.grad(a.sum(), (W, b, e, lam))

    ours = median_time(lambda: step("cpp"), repeats=3 if quick else 7)
    ref = median_time(lambda: step("torch"), repeats=1 if quick else 3)
    return Result("hebbff", f"hebbff_fwd_bwd_T{T}_B{B}_N{N}", "time", ours, "s",
                  higher_is_better=False, peers={"torch_reference": ref})


def run(quick: bool = False):
    yield bench_louvain(quick)
    yield bench_kernel(quick)
