"""The training kernels' buffer pool: large kernel outputs come from it, are reused once freed,
and results do not depend on it."""

import gc

import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import _kernels

pytestmark = pytest.mark.skipif(not _kernels.has("lif"), reason="C++ kernels not built")


def _step(model, x, y):
    model.zero_grad(set_to_none=True)
    loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
    loss.backward()
    return loss.detach(), [p.grad.clone() for p in model.parameters()]


def _model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(
        snn.Linear(300, 256),
        snn.LIF(tau=2.0),
        snn.Linear(256, 256),
        snn.LIF(tau=2.0),
        snn.Linear(256, 10),
    )
    with torch.no_grad():
        m[0].weight.mul_(6.0)
        m[2].weight.mul_(6.0)
    return m


def test_large_outputs_come_from_the_pool_and_are_reused():
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(40, 16, 300, generator=g) < 0.05).float()
    y = torch.randint(0, 10, (16,), generator=g)
    m = _model()
    _step(m, x, y)
    gc.collect()
    s0 = _kernels.pool_stats()
    assert s0["cached_bytes"] > 0  # the step's freed outputs wait for reuse
    _step(m, x, y)
    gc.collect()
    s1 = _kernels.pool_stats()
    assert s1["hits"] > s0["hits"]
    assert s1["misses"] == s0["misses"]  # the second step needs no new block
    assert s1["live_bytes"] == s0["live_bytes"]  # everything handed out came back


def test_pool_does_not_change_results(monkeypatch):
    g = torch.Generator().manual_seed(2)
    x = (torch.rand(30, 8, 300, generator=g) < 0.05).float()
    y = torch.randint(0, 10, (8,), generator=g)
    pooled = _step(_model(), x, y)
    monkeypatch.setattr(_kernels, "POOL_MIN_BYTES", 1 << 62)  # every output from torch.empty
    plain = _step(_model(), x, y)
    assert torch.equal(pooled[0], plain[0])
    for a, b in zip(pooled[1], plain[1]):
        assert torch.equal(a, b)


def test_alloc_small_and_other_dtypes_use_torch_empty():
    t = _kernels.alloc((4, 5), torch.float32)
    assert t.shape == (4, 5) and t.dtype == torch.float32
    t = _kernels.alloc((1 << 16, 4), torch.float16)  # no pool dtype
    assert t.dtype == torch.float16
    big = _kernels.alloc((300, 1000), torch.float64)
    assert big.shape == (300, 1000) and big.dtype == torch.float64 and big.is_contiguous()
    big.fill_(1.5)
    assert float(big.sum()) == 1.5 * 300 * 1000


def test_pool_limit_and_trim():
    from spikecore import _core

    tr = _core.train
    old = _kernels.pool_stats()["limit_bytes"]
    try:
        tr.pool_set_limit(0)
        t = _kernels.alloc((512, 512), torch.float32)
        del t
        gc.collect()
        assert _kernels.pool_stats()["cached_bytes"] == 0
        tr.pool_set_limit(old)
        t = _kernels.alloc((512, 512), torch.float32)
        del t
        gc.collect()
        assert _kernels.pool_stats()["cached_bytes"] > 0
        tr.pool_trim()
        assert _kernels.pool_stats()["cached_bytes"] == 0
        with pytest.raises(ValueError, match="limit"):
            tr.pool_set_limit(-1)
        with pytest.raises(ValueError, match="dtype"):
            tr.pool_empty(10, "int8")
        with pytest.raises(ValueError, match="n:"):
            tr.pool_empty(-1, "float32")
    finally:
        tr.pool_set_limit(old)


def test_public_buffer_pool_control():
    from spikecore.nn import functional as SF

    old = SF.buffer_pool()["limit_bytes"]
    try:
        s = SF.buffer_pool(limit_bytes=0, empty=True)
        assert s["limit_bytes"] == 0 and s["cached_bytes"] == 0
        with pytest.raises(ValueError, match="limit_bytes"):
            SF.buffer_pool(limit_bytes=-5)
        with pytest.raises(TypeError, match="limit_bytes"):
            SF.buffer_pool(limit_bytes=1.5)
    finally:
        SF.buffer_pool(limit_bytes=old)
    assert SF.buffer_pool()["limit_bytes"] == old
