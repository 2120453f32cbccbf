"""Target indices are stored in 16 bits when a projection's target range fits (n_post <= 65,536)
and in 32 bits beyond (the fallback): the engine gives bitwise the same rasters and states on
both paths, at any thread count."""

import numpy as np
import pytest

from spikecore._core.synapses import SynapseMatrix
from spikecore.sim import Network

N = 300  # the active neurons
WIDE = 70_000  # a target population wider than 65,536: its projection falls back to 32 bits


def _run(offset: int, n_threads: int):
    """Poisson sources -> N LIF (+ recurrent inhibition), placed at neurons offset .. offset+N
    of a population of offset + N (the neurons below offset get no input and stay silent)."""
    net = Network(dt=0.1, n_threads=n_threads, seed=5, max_delay=5.0)
    src = net.add_population(200, "poisson_source", rate=150.0)
    pop = net.add_population(offset + N, "lif", v_threshold=15.0, t_ref=2.0, synapse="exp")
    rng = np.random.default_rng(0)
    pre = rng.integers(0, 200, 6000).astype(np.int32)
    post = rng.integers(0, N, 6000).astype(np.int32)
    w = rng.uniform(1.0, 4.0, 6000).astype(np.float32)  # varying weights: the general path
    d = rng.choice([0.5, 1.0, 2.0], 6000).astype(np.float32)
    p1 = net.connect(
        src, pop, "explicit", pre_index=pre, post_index=post + offset, weight=w, delay=d
    )
    rp = rng.integers(0, N, 4000).astype(np.int32)
    rq = rng.integers(0, N, 4000).astype(np.int32)
    keep = rp != rq
    p2 = net.connect(  # one weight and delay: the constant-weight path
        pop,
        pop,
        "explicit",
        pre_index=rp[keep] + offset,
        post_index=rq[keep] + offset,
        weight=-1.0,
        delay=1.0,
        allow_multapses=True,
    )
    mon = net.record_spikes(pop)
    net.run(150.0)
    steps, senders = mon.steps, mon.senders
    assert senders.size == 0 or senders.min() >= offset  # the padding never fires
    v = net.get_state(pop, "v")[offset:]
    i_ex = net.get_state(pop, "i_ex")[offset:]
    return (steps, senders - offset, v, i_ex), (p1.memory_bytes, p2.memory_bytes, p1.nnz, p2.nnz)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_wide_targets_give_the_narrow_rasters(n_threads):
    narrow, (m1, m2, n1, n2) = _run(0, 1)
    wide, (w1, w2, k1, k2) = _run(WIDE - N, n_threads)
    assert narrow[0].size > 200
    for a, b in zip(narrow, wide):
        assert np.array_equal(a, b)
    # the wide projections hold 2 more bytes per synapse slot (capacity includes slack)
    assert (n1, n2) == (k1, k2)
    assert w1 - m1 >= 2 * n1 and w2 - m2 >= 2 * n2
    assert w1 - m1 <= 2 * n1 * 1.5 + 64


def test_matrix_width_and_memory():
    rng = np.random.default_rng(1)
    pre = rng.integers(0, 50, 500).astype(np.int32)
    post = rng.integers(0, 1000, 500).astype(np.int32)
    w = rng.normal(size=500).astype(np.float32)
    d = np.ones(500, np.uint16)
    a = SynapseMatrix.from_coo(50, 65_536, pre, post, w, d)
    b = SynapseMatrix.from_coo(50, 65_537, pre, post, w, d)
    assert a.index_bytes == 2 and b.index_bytes == 4
    assert b.memory_bytes - a.memory_bytes == 2 * a.capacity
    for x, y in zip(a.to_coo(), b.to_coo()):
        assert np.array_equal(x, y)
    # a target beyond 65,535 round-trips in the wide matrix
    c = SynapseMatrix.from_coo(
        2,
        70_000,
        np.array([0, 1], np.int32),
        np.array([69_999, 65_536], np.int32),
        np.ones(2, np.float32),
        np.ones(2, np.uint16),
    )
    assert c.index_bytes == 4 and list(c.to_coo()[1]) == [69_999, 65_536]
    assert c.contains(0, 69_999) and not c.contains(0, 65_536)
