"""from_torch: the engine reproduces the torch forward at batch 1, spike for spike."""

import doctest

import numpy as np
import pytest
import torch
from deploy_helpers import inputs as _inputs
from deploy_helpers import torch_layers as _torch_layers

import spikecore.nn as snn
from spikecore.sim import convert, from_torch


def _scale(model, gain):
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(gain)
            elif isinstance(m, snn.SparseLinear):
                m.weight.mul_(gain)
    return model


def _activities(model, x):
    acts, h = [], x
    with torch.no_grad():
        for m in model:
            if isinstance(m, (torch.nn.Linear, snn.SparseLinear)):
                acts.append(float((h != 0).float().mean()))
            h = m(h)
    return acts


def _check_equal(model, x, n_threads=1, dense_ok=False):
    """Exact equality; precondition: spikecore.nn takes its event-driven (ordered) path, i.e.
    every synaptic layer sees <= 12 % active inputs (or the sums are exact, ``dense_ok``)."""
    model.eval()
    if not dense_ok:
        from spikecore.nn import _kernels

        acts = _activities(model, x)
        assert max(acts) <= _kernels.DENSE_ABOVE, acts
    ref = _torch_layers(model, x)
    res = from_torch(model, n_threads=n_threads).run(x)
    spk = [r for r, m in zip(ref, [m for m in model if hasattr(m, "spiking")]) if m.spiking]
    assert len(res.spikes) == len(spk)
    for a, b in zip(res.spikes, spk):
        assert a.shape == b.shape and np.array_equal(a, b)
    assert np.array_equal(res.output, ref[-1])
    assert sum(s.sum() for s in spk) > 0  # the check is not vacuous
    return res


def test_doctest():
    assert doctest.testmod(convert).failed == 0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_lif_stack_with_li_readout_exact(seed):
    torch.manual_seed(seed)
    model = torch.nn.Sequential(
        snn.Linear(120, 64),
        snn.LIF(tau=2.0),
        snn.Linear(64, 48),
        snn.LIF(tau=4.0, v_reset=None),
        snn.Linear(48, 10),
        snn.LeakyIntegrator(tau=5.0),
    )
    _scale(model, 3.5)
    _check_equal(model, _inputs(60, 120, 0.1, seed))


def test_every_neuron_kind_exact():
    torch.manual_seed(3)
    model = torch.nn.Sequential(
        snn.Linear(80, 40),
        snn.ParametricLIF(tau=3.0),
        snn.SparseLinear(40, 40, density=0.3, seed=2),
        snn.AdaptiveLIF(tau=2.0, tau_a=20.0, beta_a=0.3),
        snn.Linear(40, 30),
        snn.NoisyLIF(tau=2.0, sigma=0.3),
        snn.Linear(30, 20, bias=False),
        snn.LIF(tau=2.5, v_threshold=0.8, v_reset=-0.2),
        snn.Linear(20, 5),
        snn.LeakyIntegrator(tau=float("inf")),
    )
    with torch.no_grad():
        model[2].weight.mul_(3.0)
    _scale(model, 3.0)
    _check_equal(model, _inputs(80, 80, 0.1, 4))


def test_dense_torch_linear_with_dyadic_weights_exact():
    # sums of multiples of 2^-8 are exact in float32 whatever the order (BLAS included)
    torch.manual_seed(5)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 32), snn.LIF(tau=2.0), torch.nn.Linear(32, 8), snn.LIF(tau=2.0)
    )
    with torch.no_grad():
        for m in model:
            if isinstance(m, torch.nn.Linear):
                m.weight.copy_(torch.randint(-128, 192, m.weight.shape) / 256.0)
                m.bias.copy_(torch.randint(-16, 16, m.bias.shape) / 256.0)
    _check_equal(model, _inputs(40, 64, 0.2, 6), dense_ok=True)


def test_threads_and_reruns_give_the_same_spikes():
    torch.manual_seed(7)
    model = _scale(
        torch.nn.Sequential(snn.Linear(100, 200), snn.LIF(), snn.Linear(200, 50), snn.LIF()), 4.0
    ).eval()
    x = _inputs(50, 100, 0.1, 8)
    dep = from_torch(model, n_threads=1)
    a = dep.run(x)
    dep.n_threads = 2
    b = dep.run(x)
    c = from_torch(model, n_threads=2).run(x)
    for r in (b, c):
        assert all(np.array_equal(p, q) for p, q in zip(a.spikes, r.spikes))
    # a different input in between does not leak state into the next run
    dep.run(_inputs(50, 100, 0.5, 9))
    d = dep.run(x)
    assert all(np.array_equal(p, q) for p, q in zip(a.spikes, d.spikes))


def test_synops_match_the_torch_counter_and_engine_events():
    torch.manual_seed(9)
    model = _scale(
        torch.nn.Sequential(snn.Linear(70, 50), snn.LIF(), snn.Linear(50, 20), snn.LIF()), 4.0
    ).eval()
    x = _inputs(30, 70, 0.1, 1)
    res = from_torch(model).run(x)
    stats = snn.count_synops(model, x)
    assert res.synops == stats["total_synops"] > 0
    bias_events = 30 * (50 + 20)
    assert res.engine_events == res.synops + bias_events


def test_input_forms_numpy_bool_and_2d():
    torch.manual_seed(0)
    model = _scale(torch.nn.Sequential(snn.Linear(10, 6), snn.LIF()), 5.0).eval()
    x = _inputs(20, 10, 0.3, 2)
    dep = from_torch(model)
    a = dep.run(x).output
    assert np.array_equal(a, dep.run(x[:, 0].numpy().astype(bool)).output)
    assert np.array_equal(a, dep.run(x[:, 0].numpy()).output)


@pytest.mark.parametrize(
    "build,word",
    [
        (lambda: torch.nn.Sequential(snn.Linear(4, 3), torch.nn.ReLU()), "ReLU"),
        (lambda: torch.nn.Sequential(snn.Linear(4, 3), snn.Linear(3, 2), snn.LIF()), "neuron"),
        (lambda: torch.nn.Sequential(snn.Linear(4, 3), snn.LIF(), snn.Linear(3, 2)), "ends"),
        (lambda: torch.nn.Sequential(snn.LIF(), snn.Linear(4, 3), snn.LIF()), "synaptic layer"),
        (
            lambda: torch.nn.Sequential(snn.Linear(4, 3), snn.ParametricLIF(channels=3)),
            "per-channel",
        ),
        (
            lambda: torch.nn.Sequential(
                snn.Linear(4, 3), snn.LeakyIntegrator(), snn.Linear(3, 2), snn.LIF()
            ),
            "last layer",
        ),
        (
            lambda: torch.nn.Sequential(snn.Linear(4, 3), snn.LIF(), snn.Linear(5, 2), snn.LIF()),
            "expects 5",
        ),
        (lambda: torch.nn.Sequential(), "no Linear"),
    ],
)
def test_unsupported_models_raise(build, word):
    with pytest.raises(ValueError, match="model") as info:
        from_torch(build())
    assert word in str(info.value)


def test_bad_arguments():
    with pytest.raises(TypeError, match="model"):
        from_torch("not a model")
    model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF())
    with torch.no_grad():
        model[0].weight[0, 0] = float("nan")
    with pytest.raises(ValueError, match="NaN"):
        from_torch(model)
    with pytest.raises(ValueError, match="n_threads"):
        from_torch(torch.nn.Sequential(snn.Linear(4, 3), snn.LIF()), n_threads=0)
    dep = from_torch(torch.nn.Sequential(snn.Linear(4, 3), snn.LIF()))
    for bad, exc, word in [
        (np.zeros((5, 3)), ValueError, "shape"),
        (np.zeros((5, 2, 4)), ValueError, "batch 1"),
        (np.full((5, 4), 0.5), ValueError, "binary"),
        (np.full((5, 4), np.nan), ValueError, "NaN"),
        (np.zeros((0, 4)), ValueError, "time step"),
        (np.array([["a"] * 4]), TypeError, "dtype"),
    ]:
        with pytest.raises(exc, match="spikes") as info:
            dep.run(bad)
        assert word in str(info.value)
    dep.run(np.zeros((3, 4)))  # still usable after errors


def test_dense_activity_agrees_to_rounding():
    # above 12 % activity spikecore.nn uses a dense BLAS product (another summation order):
    # membranes agree to float rounding and spikes to all but threshold ties
    torch.manual_seed(11)
    model = _scale(
        torch.nn.Sequential(
            snn.Linear(60, 80), snn.LIF(), snn.Linear(80, 10), snn.LeakyIntegrator(tau=4.0)
        ),
        5.0,
    ).eval()
    x = _inputs(50, 60, 0.4, 3)
    ref = _torch_layers(model, x)
    res = from_torch(model).run(x)
    assert (res.spikes[0] != ref[0]).mean() < 1e-3
    np.testing.assert_allclose(res.output, ref[-1], rtol=1e-4, atol=1e-4)


def test_sampling_noisy_lif_deploys_deterministic_with_a_warning():
    model = torch.nn.Sequential(snn.Linear(4, 3), snn.NoisyLIF(eval_mode="sample"))
    with pytest.warns(UserWarning, match="deterministic"):
        from_torch(model)


def test_high_activity_exact_when_the_event_path_is_forced():
    # spike_input=True keeps spikecore.nn on its ordered event-driven product at any activity
    torch.manual_seed(13)
    model = _scale(
        torch.nn.Sequential(
            snn.Linear(60, 80, spike_input=True),
            snn.LIF(),
            snn.Linear(80, 40, spike_input=True),
            snn.LIF(tau=3.0, v_reset=None),
            snn.Linear(40, 10, spike_input=True),
            snn.LeakyIntegrator(tau=4.0),
        ),
        5.0,
    )
    x = _inputs(50, 60, 0.4, 3)
    assert max(_activities(model.eval(), x)) > 0.2
    _check_equal(model, x, dense_ok=True)


def test_layer_specs_made_by_hand_still_deploy():
    # LayerSpec is public: one built without its neuron spec deploys from its fields
    import dataclasses

    from spikecore.sim.convert import Deployed, parse

    torch.manual_seed(0)
    model = torch.nn.Sequential(
        snn.Linear(6, 5, spike_input=True),
        snn.AdaptiveLIF(tau=2.0, tau_a=8.0, beta_a=0.3, v_reset=None),
        snn.Linear(5, 3, spike_input=True),
        snn.LIF(tau=3.0),
    )
    layers = parse(model)
    bare = [dataclasses.replace(L, neuron=None) for L in layers]
    x = (torch.rand(20, 1, 6) < 0.3).float()
    a, b = Deployed(layers).run(x), Deployed(bare).run(x)
    assert np.array_equal(a.output, b.output) and a.spike_count == b.spike_count
