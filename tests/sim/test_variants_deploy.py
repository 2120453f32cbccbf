"""from_torch for the model variants: dendritic layers (multi-compartment engine populations) and
CE-LIF layers reproduce the torch forward at batch 1, spike for spike."""

import numpy as np
import pytest
import torch
from deploy_helpers import inputs as _inputs
from deploy_helpers import torch_layers as _forward

import spikecore.nn as snn
from spikecore.sim import from_torch


def _strong_celif(n_in, n, seed, gain=3.0, **kw):
    """A CE-LIF layer with a stronger current drive (so that it spikes on sparse input)."""
    torch.manual_seed(seed)
    layer = snn.CELIF(n_in, n, **kw)
    with torch.no_grad():
        layer.fc.weight.mul_(gain)
    return layer


def _check(model, x, n_threads=1):
    model.eval()
    ref = _forward(model, x)
    res = from_torch(model, n_threads=n_threads).run(x)
    spiking = [r for r, m in zip(ref, [m for m in model if hasattr(m, "spiking")]) if m.spiking]
    assert len(res.spikes) == len(spiking)
    for li, (a, b) in enumerate(zip(res.spikes, spiking)):
        assert b.sum() > 0, f"layer {li} silent: the comparison would be vacuous"
        assert np.array_equal(a, b), f"layer {li}: {np.argwhere(a != b)[:5]}"
    assert np.array_equal(res.output, ref[-1])
    return res


@pytest.mark.parametrize("g", ["relu", "sigmoid", "identity"])
def test_dendritic_stack_exact(g):
    torch.manual_seed(1)
    model = torch.nn.Sequential(
        snn.DendriticLIF(
            64, 20, branches=4, nonlinearity=g, tau=2.0, v_threshold=0.5, backend="cpp", seed=3
        ),
        snn.DendriticLinear(
            20, 12, branches=2, nonlinearity=g, subsets="structured", backend="cpp"
        ),
        snn.LIF(tau=2.0, v_threshold=0.3),
        snn.Linear(12, 5, spike_input=True),
        snn.LeakyIntegrator(tau=float("inf")),
    )
    res = _check(model, _inputs(40, 64, 0.08, 0))
    # SynOps: input spikes x branches they reach, then hidden spikes x their fan-out
    x = _inputs(40, 64, 0.08, 0)
    fan0 = model[0].dendrites.fanout.numpy()
    assert res.synops >= int(x[:, 0].numpy().sum(0) @ fan0)


def test_dendritic_soma_kinds_and_soft_reset_exact():
    torch.manual_seed(2)
    model = torch.nn.Sequential(
        snn.DendriticLinear(48, 16, branches=3, backend="cpp"),
        snn.AdaptiveLIF(tau=2.0, tau_a=10.0, beta_a=0.2, v_threshold=0.4),
        snn.DendriticLinear(16, 8, branches=2, nonlinearity="sigmoid", bias=False, backend="cpp"),
        snn.LIF(tau=3.0, v_threshold=0.9, v_reset=None),
    )
    _check(model, _inputs(50, 48, 0.1, 1))


def test_dendritic_given_subsets_and_threads():
    torch.manual_seed(4)
    idx = torch.randint(0, 30, (10, 3, 6)).sort(-1).values
    model = torch.nn.Sequential(
        snn.DendriticLIF(30, 10, branches=3, subsets=idx, tau=2.0, v_threshold=0.4, backend="cpp")
    )
    x = _inputs(60, 30, 0.12, 2)
    r1 = _check(model, x, n_threads=1)
    r3 = from_torch(model, n_threads=3).run(x)
    assert np.array_equal(r1.output, r3.output)


def test_dendritic_default_backend_agrees_to_rounding():
    # the default (masked dense GEMM) product rounds in BLAS order: spikes agree except where a
    # membrane lies within rounding of the threshold
    torch.manual_seed(5)
    model = torch.nn.Sequential(snn.DendriticLIF(64, 32, branches=4, tau=2.0, v_threshold=0.5))
    model.eval()
    x = _inputs(80, 64, 0.1, 3)
    ref = _forward(model, x)[0]
    out = from_torch(model).run(x).output
    assert ref.sum() > 50
    assert (out == ref).mean() > 0.995


@pytest.mark.parametrize("context", ["separate", "shared"])
def test_celif_exact(context):
    layer = _strong_celif(64, 30, 6, context=context, gamma=5.0)
    with torch.no_grad():  # per-neuron learned context decays
        layer.lambda_logit.add_(torch.randn(30))
    readout = snn.Linear(30, 6, spike_input=True)
    with torch.no_grad():
        readout.weight.mul_(4.0)
    model = torch.nn.Sequential(layer, readout, snn.LIF(tau=2.0, v_threshold=0.5))
    res = _check(model, _inputs(60, 64, 0.08, 4))
    assert res.synops > 0


def test_celif_threads_and_noisy_layer():
    layer = _strong_celif(40, 20, 7, noise="gaussian", sigma=0.2, gamma=4.0, lambda_c=0.95)
    model = torch.nn.Sequential(layer)
    x = _inputs(50, 40, 0.1, 5)
    r1 = _check(model, x, n_threads=1)
    r2 = from_torch(model, n_threads=2).run(x)
    assert np.array_equal(r1.output, r2.output)


def test_dendritic_then_celif_repr_and_reruns():
    celif = _strong_celif(16, 8, 8, gain=4.0, gamma=2.0)
    model = torch.nn.Sequential(
        snn.DendriticLIF(32, 16, branches=2, tau=2.0, v_threshold=0.3, backend="cpp"), celif
    ).eval()
    dep = from_torch(model)
    assert "celif" in repr(dep)
    x = _inputs(30, 32, 0.1, 6)
    a, b = dep.run(x), dep.run(x)  # each run starts from rest
    assert np.array_equal(a.output, b.output)


def test_variant_layers_in_wrong_places_raise():
    with pytest.raises(ValueError, match="model"):
        from_torch(torch.nn.Sequential(snn.Linear(4, 4), snn.CELIF(4, 3)))
    with pytest.raises(ValueError, match="expects"):
        from_torch(
            torch.nn.Sequential(
                snn.DendriticLIF(8, 4, branches=2), snn.DendriticLIF(5, 3, branches=2)
            )
        )
    model = torch.nn.Sequential(snn.DendriticLinear(8, 4, branches=2), snn.LIF())
    with torch.no_grad():
        model[0].weight[0, 0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        from_torch(model)


def test_nonzero_v_rest_exact_now_that_idle_layers_are_held_at_rest():
    torch.manual_seed(9)
    model = torch.nn.Sequential(
        snn.Linear(40, 20),
        snn.LIF(tau=2.0, v_rest=0.3),
        snn.Linear(20, 10),
        snn.LIF(tau=3.0, v_rest=-0.2, v_reset=-0.2),
    )
    with torch.no_grad():
        model[0].weight.mul_(3.0)
        model[2].weight.mul_(4.0)
    _check(model, _inputs(50, 40, 0.1, 7))


def test_noisy_dendritic_soma_deploys_deterministic():
    torch.manual_seed(10)
    model = torch.nn.Sequential(
        snn.DendriticLIF(
            40, 16, branches=2, noise="logistic", sigma=0.2, v_threshold=0.4, backend="cpp"
        )
    )
    _check(model, _inputs(40, 40, 0.1, 8))
    model[0].eval_mode = "sample"
    with pytest.warns(UserWarning, match="deterministic"):
        from_torch(model)
