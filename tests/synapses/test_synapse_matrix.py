import numpy as np
import pytest

from spikecore._core.synapses import SynapseMatrix


def _random(n_pre=30, n_post=40, density=0.2, seed=0):
    rng = np.random.default_rng(seed)
    mask = rng.random((n_pre, n_post)) < density
    pre, post = np.nonzero(mask)
    w = rng.normal(size=pre.size).astype(np.float32)
    d = np.ones(pre.size, np.uint16)
    return SynapseMatrix.from_coo(
        n_pre, n_post, pre.astype(np.int32), post.astype(np.int32), w, d
    ), mask


def test_roundtrip_dense():
    m, mask = _random()
    dense = m.to_dense()
    assert dense.shape == mask.shape
    assert np.array_equal(dense != 0, mask)
    pre, post, w, d = m.to_coo()
    assert np.array_equal(np.asarray(m.to_mask(), bool), mask)
    assert m.nnz == mask.sum()


def test_prune_regrow_fixed_density():
    m, _ = _random()
    n = m.nnz
    k = m.prune_smallest(0.25)
    assert m.nnz == n - k
    m.regrow_random(k, 0.0, 1, allow_autapses=True, seed=3)
    assert m.nnz == n
    m.check_invariants()


def test_bad_input_names_argument():
    with pytest.raises(IndexError, match="post"):
        SynapseMatrix.from_coo(
            2,
            2,
            np.array([0], np.int32),
            np.array([5], np.int32),
            np.array([1.0], np.float32),
            np.array([1], np.uint16),
        )
    m, _ = _random()
    with pytest.raises(ValueError, match="fraction"):
        m.prune_smallest(1.5)
    with pytest.raises(ValueError, match="count"):
        m.regrow_random(10**9)
    with pytest.raises(ValueError, match="delay"):
        SynapseMatrix.from_coo(
            2,
            2,
            np.array([0], np.int32),
            np.array([1], np.int32),
            np.array([1.0], np.float32),
            np.array([0], np.uint16),
        )
