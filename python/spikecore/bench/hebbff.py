"""Benchmarks of the HebbFF area: multilayer community detection and the fused plastic kernel.

Cases (fixed seeds and sizes, medians of repeated runs, peers measured in the same run):

- ``multilayer_louvain_100x100``: signed multilayer modularity + generalized Louvain on
  100 nodes x 100 layers (windowed correlations with planted communities). Target <= 2 s. No
  peer implements signed multilayer modularity in Python.
- ``signed_louvain_100_layers_separately``: the same 100 layers as 100 independent single-layer
  signed networks (time, and mean Q: higher is better). Peer: bctpy's
  ``modularity_louvain_und_sign`` (qtype ``"gja"``, the same Q); ``None`` if bctpy is absent.
- ``hebbff_fwd_bwd``: forward + backward of the plastic recurrence (T = 200, B = 16,
  d = N = 100, float32, 1 thread). Peer: the pure-torch reference through torch autograd.
"""

from __future__ import annotations

from typing import Dict, Optional

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
    yield Result(
        "hebbff",
        "multilayer_louvain_100x100",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={},
        info={"Q": part.Q, "communities": part.n_communities, "target_s": 2.0},
    )

    # the same single-layer task for both: signed Louvain on each of the 100 layers separately
    # (gamma = 1, Q normalised by 2m+ + 2m-, i.e. bctpy's qtype="gja")
    layers = [A[s] - np.diag(np.diag(A[s])) for s in range(A.shape[0])]

    def ours_single():
        return [multilayer_communities(W, 1.0, 1.0, 1.0, seed=s).Q for s, W in enumerate(layers)]

    q_ours = float(np.mean(ours_single()))
    t_ours = median_time(ours_single, repeats=repeats)
    peers_t: Dict[str, Optional[float]] = {}
    peers_q: Dict[str, Optional[float]] = {}
    try:
        import bct

        def bct_single():
            return [
                bct.modularity_louvain_und_sign(W, gamma=1.0, qtype="gja", seed=s)[1]
                for s, W in enumerate(layers)
            ]

        peers_q["bctpy"] = float(np.mean(bct_single()))
        peers_t["bctpy"] = median_time(bct_single, repeats=1 if quick else 3, warmup=0)
    except ImportError:
        peers_t["bctpy"] = peers_q["bctpy"] = None
    yield Result(
        "hebbff",
        "signed_louvain_100_layers_separately",
        "time",
        t_ours,
        "s",
        higher_is_better=False,
        peers=peers_t,
    )
    yield Result(
        "hebbff",
        "signed_louvain_100_layers_separately",
        "mean Q",
        q_ours,
        "",
        higher_is_better=True,
        peers=peers_q,
    )


def bench_kernel(quick: bool):
    import torch

    from spikecore.data.familiarity import familiarity_sequence
    from spikecore.models.hebbff import hebbff_plastic

    torch.set_num_threads(1)
    T, B, d, N = (100 if quick else 200), 16, 100, 100
    x = torch.from_numpy(familiarity_sequence(d, 3, 0.5, T, B, seed=0)[0])
    g = torch.Generator().manual_seed(0)
    W = (torch.randn(N, d, generator=g) / d**0.5).requires_grad_()
    b = torch.zeros(N, requires_grad=True)
    e = torch.tensor(-0.05, requires_grad=True)
    lam = torch.tensor(0.95, requires_grad=True)

    def step(backend):
        a = hebbff_plastic(x, W, b, e, lam, backend=backend)
        torch.autograd.grad(a.sum(), (W, b, e, lam))

    ours = median_time(lambda: step("cpp"), repeats=3 if quick else 7)
    ref = median_time(lambda: step("torch"), repeats=1 if quick else 3)
    return Result(
        "hebbff",
        f"hebbff_fwd_bwd_T{T}_B{B}_N{N}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"torch_reference": ref},
    )


def run(quick: bool = False):
    yield from bench_louvain(quick)
    yield bench_kernel(quick)
