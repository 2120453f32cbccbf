"""spikecore.bench.train at tiny sizes: every case runs, the comparison is fair, results sane."""

import math

import numpy as np
import pytest
import torch

from spikecore.bench import train as tb


@pytest.fixture(autouse=True)
def _threads():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.mark.parametrize("name", list(tb.BUILDERS))
def test_every_library_takes_a_finite_training_step(name):
    ok, why = tb.available(name)
    if not ok:
        pytest.skip(why)
    step, model = tb.make_step(name, T=4, B=2)
    before = [p.detach().clone() for p in model.parameters()]
    losses = [step(), step()]
    assert all(math.isfinite(v) for v in losses)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))  # Adam moved


def test_spikecore_loss_curve_equals_the_torch_reference():
    a, b = tb.loss_curve(steps=3, T=12, B=4)
    assert len(a) == 3
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_hidden_layers_are_active_at_the_benchmark_init():
    l1, l2, _ = tb._linear_layers(0)
    x, _ = tb.make_batch(20, 4)
    with torch.no_grad():
        s1 = tb.torch_loop_lif(l1(x))
        s2 = tb.torch_loop_lif(l2(s1))
    assert 0.01 < float(s1.mean()) < 0.3 and 0.01 < float(s2.mean()) < 0.3


def test_deployed_benchmark_model_matches_the_dense_torch_forward():
    model = tb.trained_shape_model()
    x = (torch.rand(10, 1, tb.N_IN, generator=torch.Generator().manual_seed(0)) < 0.1).float()
    from spikecore.sim import from_torch

    out = from_torch(model).run(x)
    dense = tb._dense_forward(model)(x)[:, 0].numpy()
    assert out.synops > 0 and (out.output == dense).mean() > 0.999


def test_peak_memory_subprocess_reports_megabytes():
    mib = tb.peak_memory("torch_loop", T=5, B=2, timeout=120)
    assert mib is not None and 0 <= mib < 2000
