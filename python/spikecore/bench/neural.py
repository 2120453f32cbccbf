"""Benchmarks of the neural-response area: TeCoS-LVM training step and spike-train metric speed.

Cases (fixed seeds and sizes, medians of repeated runs, peers measured in the same run):

- ``train_step_tecos_T50_B16``: one training step (VIB loss, backward, Adam) of TeCoS-LVM
  (NoisyLIF decoder) on 50-bin chunks of a 16 x 16 synthetic retina with 16 cells, batch 16,
  1 thread. Peer: the McIntosh CNN baseline (25-frame window) on the same chunks.
- ``van_rossum_<n>``: van Rossum distance of two Poisson trains of n spikes each (tau = 10 ms).
  Peer: elephant's ``van_rossum_distance``.
- ``spike_distance_<n>`` / ``isi_distance_<n>``: SPIKE- / ISI-distance of the same trains.
  Peer: PySpike (Cython core) with its SpikeTrain objects.
- ``victor_purpura_<n>``: Victor-Purpura distance (q = 1/ms), O(n^2). Peer: elephant.

n = 1e5 spikes (1e4 with ``--quick``); 2e3 for Victor-Purpura (5e2 with ``--quick``).
A peer that is not installed is reported as ``None``. Times are CPU seconds
(``time.process_time``), medians; every call is single-threaded.
"""

from __future__ import annotations

import time

import numpy as np

from . import Result
from . import median_time as _median_time


def median_time(fn, repeats=5, warmup=1):
    """CPU time (process_time) medians: the shared machine's load distorts them less."""
    return _median_time(fn, repeats=repeats, warmup=warmup, clock=time.process_time)


def bench_train_step(quick: bool):
    import torch

    from spikecore.data.retina import make_retina
    from spikecore.models.neural_fit import draw_chunks, make_model

    torch.set_num_threads(1)
    data, _ = make_retina(train_s=10.0, test_s=1.0, repeats=2, n_images=2)
    X = torch.from_numpy(data.stim_train)
    Y = torch.from_numpy(data.resp_train)
    rng = np.random.default_rng(0)
    chunk, batch = 50, 16

    def stepper(name):
        torch.manual_seed(0)
        model = make_model(name, data.stim_train.shape[1:], data.n_cells)
        opt = torch.optim.Adam(model.parameters(), lr=1e-3)
        ctx = model.context
        x, y = draw_chunks(X, Y, ctx, chunk, batch, rng)  # the training loop's minibatches

        def step():
            loss, _ = model.loss(x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()

        return step

    repeats = 3 if quick else 7
    ours = median_time(stepper("tecos"), repeats=repeats)
    cnn = median_time(stepper("cnn"), repeats=repeats)
    return Result(
        "neural",
        f"train_step_tecos_T{chunk}_B{batch}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"cnn_mcintosh": cnn},
    )


def _poisson(rng, n, rate_hz=20.0):
    t_end = n / rate_hz
    return np.sort(rng.uniform(0, t_end, n)), t_end


def bench_metrics(quick: bool, n: int = 0, m: int = 0):
    from spikecore.analysis import spike_metrics as sm

    n = n or (10_000 if quick else 100_000)
    rng = np.random.default_rng(0)
    a, t_end = _poisson(rng, n)
    b, _ = _poisson(rng, n)
    b = b[b <= t_end]
    tau = 0.01
    repeats = 3 if quick else 5
    peer_rep = 1 if quick else 3

    try:
        import neo
        import quantities as pq
        from elephant.spike_train_dissimilarity import van_rossum_distance, victor_purpura_distance

        A = neo.SpikeTrain(a * pq.s, t_stop=t_end * pq.s)
        B = neo.SpikeTrain(b * pq.s, t_stop=t_end * pq.s)
        el_vr = median_time(
            lambda: van_rossum_distance([A, B], time_constant=tau * pq.s), repeats=peer_rep
        )
    except ImportError:
        el_vr = None
        A = None
    ours = median_time(lambda: sm.van_rossum_distance(a, b, tau), repeats=repeats)
    yield Result(
        "neural",
        f"van_rossum_{n}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"elephant": el_vr},
        info={"goal_ratio": 50},
    )

    try:
        import pyspike

        def peer_spike():
            return pyspike.spike_distance(
                pyspike.SpikeTrain(a, [0, t_end]), pyspike.SpikeTrain(b, [0, t_end])
            )

        def peer_isi():
            return pyspike.isi_distance(
                pyspike.SpikeTrain(a, [0, t_end]), pyspike.SpikeTrain(b, [0, t_end])
            )

        ps_spike = median_time(peer_spike, repeats=peer_rep)
        ps_isi = median_time(peer_isi, repeats=peer_rep)
    except ImportError:
        ps_spike = ps_isi = None
    ours = median_time(lambda: sm.spike_distance(a, b, 0, t_end), repeats=repeats)
    yield Result(
        "neural",
        f"spike_distance_{n}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"pyspike": ps_spike},
        info={"goal_ratio": 50},
    )
    ours = median_time(lambda: sm.isi_distance(a, b, 0, t_end), repeats=repeats)
    yield Result(
        "neural",
        f"isi_distance_{n}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"pyspike": ps_isi},
    )

    m = m or (500 if quick else 2000)
    av, bv = a[:m], b[:m]
    q = 1000.0  # 1/ms in 1/s
    peer = None
    if A is not None:
        Av = neo.SpikeTrain(av * pq.s, t_stop=t_end * pq.s)
        Bv = neo.SpikeTrain(bv * pq.s, t_stop=t_end * pq.s)
        peer = median_time(
            lambda: victor_purpura_distance([Av, Bv], cost_factor=q / pq.s), repeats=peer_rep
        )
    ours = median_time(lambda: sm.victor_purpura_distance(av, bv, q), repeats=repeats)
    yield Result(
        "neural",
        f"victor_purpura_{m}",
        "time",
        ours,
        "s",
        higher_is_better=False,
        peers={"elephant": peer},
    )


def run(quick: bool = False):
    yield from bench_metrics(quick)
    yield bench_train_step(quick)
