"""from_torch deploys converted SNNs (spikecore.convert, rate and STDI): the engine's output and
spikes equal the torch SNN's (issue 13 claim 5, at reduced size)."""

import numpy as np
import pytest
import torch
from torch import nn

from spikecore.convert import QCFS, convert, levels_for
from spikecore.convert.layers import SpikeMaxPool2d, SpikingActivation
from spikecore.sim import from_torch


def _torch_spikes(snn, x):
    """Per spiking node: the torch SNN's spikes [T, n] (sign of the spike values) for image x."""
    out = {}
    hooks = []
    for name, m in snn.graph_module.named_modules():
        if isinstance(m, (SpikingActivation, SpikeMaxPool2d)):

            def hook(mod, inp, o, name=name):
                out[name] = torch.sign(o.reshape(snn.T, -1)).numpy()

            hooks.append(m.register_forward_hook(hook))
    with torch.no_grad():
        y = snn(x.unsqueeze(0))[0]
    for h in hooks:
        h.remove()
    return y.numpy(), out


def _cnn(L, slope=None):
    act = (lambda: QCFS(L, 2.0)) if slope is None else (lambda: nn.LeakyReLU(slope))
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        act(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(24, 10),
        act(),
        nn.Linear(10, 5),
    ).eval()


def _check(snn, xs, shape=(1, 8, 8), max_flip=0.0):
    dep = from_torch(snn, input_shape=shape)
    flips = total = 0
    for x in xs:
        y, zs = _torch_spikes(snn, x)
        r = dep.run(x)
        assert np.abs(r.output - y).max() < 1e-5
        names = {p.node.name: p.node.target for p in dep.pops}
        for k, z in r.spikes.items():
            ref = zs[names[k]]
            flips += int((ref != z).sum())
            total += z.size
        assert r.synops == r.engine_events or r.engine_events >= r.synops
    assert flips <= max_flip * total
    return dep


@pytest.mark.parametrize("coding,T", [("stdi", 3), ("stdi", 4), ("rate", 8)])
def test_converted_cnn_engine_equals_torch(coding, T):
    torch.manual_seed(0)
    snn = convert(_cnn(levels_for(3, "stdi")), T=T, coding=coding)
    xs = torch.rand(5, 1, 8, 8) * 2
    dep = _check(snn, xs)
    kinds = [p.kind for p in dep.pops]
    assert "max_gate" in kinds and kinds.count("if" if coding == "rate" else "stdi") == 3
    assert dep.readout is not None


@pytest.mark.parametrize("coding", ["stdi", "rate"])
def test_converted_signed_leaky_relu(coding):
    torch.manual_seed(1)
    ann = _cnn(None, slope=0.25)
    cal = torch.rand(32, 1, 8, 8) * 2 - 0.5
    snn = convert(ann, cal, T=4 if coding == "stdi" else 6, coding=coding, maxpool="avg")
    _check(snn, torch.rand(4, 1, 8, 8) * 2 - 0.5)


def test_converted_stdi_delay_below_T():
    torch.manual_seed(2)
    snn = convert(_cnn(levels_for(4, "stdi")), T=4, coding="stdi", delay=2)
    dep = _check(snn, torch.rand(3, 1, 8, 8) * 2)
    assert [p.start for p in dep.pops] == [0, 3, 4, 7]


class _Residual(nn.Module):
    def __init__(self, L):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.a1 = QCFS(L, 2.0)
        self.c2 = nn.Conv2d(4, 4, 3, padding=1)
        self.a2 = QCFS(L, 2.0)
        self.c3 = nn.Conv2d(4, 4, 1)
        self.a3 = QCFS(L, 2.0)
        self.head = nn.Linear(8 * 36, 3)

    def forward(self, x):
        y1 = self.a1(self.c1(x))
        y2 = self.a2(self.c2(y1))
        y3 = self.a3(self.c3(y2) + y1)  # residual add across two depths
        return self.head(torch.flatten(torch.cat([y3, y1], 1), 1))  # concat across depths


@pytest.mark.parametrize("coding,T", [("stdi", 3), ("rate", 6)])
def test_converted_residual_and_concat(coding, T):
    torch.manual_seed(3)
    snn = convert(_Residual(levels_for(3, "stdi")).eval(), T=T, coding=coding)
    _check(snn, torch.rand(3, 1, 6, 6) * 2, shape=(1, 6, 6))


def test_converted_bad_input():
    torch.manual_seed(0)
    snn = convert(_cnn(7), T=3)
    with pytest.raises(ValueError, match="input_shape"):
        from_torch(snn)
    dep = from_torch(snn, input_shape=(1, 8, 8))
    with pytest.raises(ValueError, match="image: expected shape"):
        dep.run(torch.rand(1, 7, 8))
    with pytest.raises(ValueError, match="image: contains NaN"):
        dep.run(torch.full((1, 8, 8), float("nan")))
    # an unsupported layer in the converted graph names the layer and the supported list
    bad = convert(_cnn(7), T=3)
    bad.graph_module.get_submodule("5")  # the AvgPool2d
    setattr(bad.graph_module, "5", nn.Sigmoid())
    with pytest.raises(ValueError, match=r"layer '5' \(Sigmoid\).*supported: SpikingActivation"):
        from_torch(bad, input_shape=(1, 8, 8))
    # a max-pool gate on a non-spike input
    gate_on_sum = nn.Sequential(nn.Conv2d(1, 2, 3), nn.MaxPool2d(2), QCFS(7, 2.0)).eval()
    with pytest.warns(UserWarning):
        s = convert(gate_on_sum, T=3)
    with pytest.raises(ValueError, match="SpikeMaxPool2d.*maxpool='avg'"):
        from_torch(s, input_shape=(1, 8, 8))
