import pytest
import torch

from spikecore import nn as snn


def test_counts_spikes_rates_and_synops():
    torch.manual_seed(0)
    lin = snn.Linear(10, 6)
    sp = snn.SparseLinear(6, 4, density=0.5, seed=0)
    model = torch.nn.Sequential(
        lin, snn.LIF(), sp, snn.LIF(), torch.nn.Linear(4, 2), snn.LeakyIntegrator()
    )
    x = (torch.rand(8, 3, 10) < 0.3).float()
    with snn.ActivityMonitor(model) as mon:
        model(x)
        h1 = model[1](model[0](x))
        mon.reset()
        model(x)
    stats = mon.stats
    assert stats["0"].synops == int(x.sum()) * 6
    assert stats["1"].spikes == int(h1.detach().sum())
    assert stats["1"].firing_rate == pytest.approx(float(h1.detach().mean()))
    fan = torch.bincount(sp.pre, minlength=6)
    assert stats["2"].synops == int((h1.detach().reshape(-1, 6).sum(0) * fan).sum())
    assert "5" not in mon.firing_rates()  # the readout does not spike
    assert mon.total_synops == sum(mon.synops().values())
    # hooks removed
    model(x)
    assert stats["0"].calls == 1


def test_count_synops_conv_exact():
    conv = torch.nn.Conv2d(2, 3, 3, padding=1)
    model = torch.nn.Sequential(conv)
    x = torch.zeros(1, 2, 5, 5)
    x[0, 0, 0, 0] = 1  # corner: feeds 2x2 output positions x 3 channels
    x[0, 1, 2, 2] = 1  # centre: 3x3 positions x 3 channels
    assert snn.count_synops(model, x)["total_synops"] == 3 * 4 + 3 * 9


def test_monitor_bad_input():
    with pytest.raises(TypeError, match="model"):
        snn.ActivityMonitor(3)


def test_dendritic_layers_count_their_own_synops():
    """A DendriticLIF is counted once: spikes as a neuron, SynOps through its DendriticLinear."""
    import torch

    from spikecore.nn import ActivityMonitor, DendriticLIF

    torch.manual_seed(0)
    layer = DendriticLIF(12, 3, branches=2, nonlinearity="relu", subsets="random")
    x = (torch.rand(5, 2, 12) < 0.3).float()
    with ActivityMonitor(layer) as mon:
        layer(x)
    expected = layer.synops(x)
    assert expected > 0
    assert mon.total_synops == expected
    assert sum(1 for s in mon.stats.values() if s.kind == "synapse") == 1
