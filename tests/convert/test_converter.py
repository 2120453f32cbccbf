"""The fx converter: BN folding, lossless STDI conversion of QCFS nets, graphs, bad input."""

import copy

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from spikecore.convert import QCFS, SpikeMaxPool2d, convert, levels_for
from spikecore.convert.layers import msb_gate_reference
from spikecore.nn.conversion import stdi_reference, stdi_value


def _net(L, act=None):
    act = act or (lambda: QCFS(L, 1.5))
    return nn.Sequential(
        nn.Conv2d(1, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        act(),
        nn.MaxPool2d(2),
        nn.Conv2d(6, 8, 3, padding=1),
        nn.BatchNorm2d(8),
        act(),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(32, 16),
        act(),
        nn.Linear(16, 3),
    )


def _randomise_bn(net, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return net.eval()


@pytest.mark.parametrize("T", [2, 4, 5])
def test_stdi_conversion_is_lossless(T):
    torch.manual_seed(T)
    net = _randomise_bn(_net(levels_for(T)))
    x = torch.rand(64, 1, 8, 8)
    snn = convert(net, T=T, coding="stdi")
    with torch.no_grad():
        err = (snn(x) - net(x)).abs().max()
    assert err < 1e-4


def test_rate_conversion_approaches_ann_with_T():
    torch.manual_seed(1)
    net = _randomise_bn(_net(8, nn.ReLU))
    x = torch.rand(64, 1, 8, 8)
    with torch.no_grad():
        ref = net(x)
        errs = [
            float((convert(net, x, T=T, coding="rate", threshold="max")(x) - ref).abs().mean())
            for T in (4, 256)
        ]
    assert errs[1] < errs[0] / 4


def test_bn_folding_and_original_untouched():
    torch.manual_seed(2)
    net = _randomise_bn(_net(15, nn.ReLU))
    before = copy.deepcopy(net.state_dict())
    snn = convert(net, calibration=torch.rand(32, 1, 8, 8), T=4)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in snn.modules())
    after = net.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())


class _Graph(nn.Module):
    """Residual add, channel concat, parallel SPP max-pools, nearest upsample, F.relu."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 4, 3, padding=1)
        self.q1 = QCFS(15, 1.0)
        self.c2 = nn.Conv2d(4, 4, 3, stride=2, padding=1)
        self.q2 = QCFS(15, 1.0)
        self.c3 = nn.Conv2d(4, 4, 3, padding=1)
        self.q3 = QCFS(15, 1.0)
        self.p5, self.p9 = nn.MaxPool2d(5, 1, 2), nn.MaxPool2d(9, 1, 4)
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.c4 = nn.Conv2d(12 + 4, 4, 1)
        self.q4 = QCFS(15, 1.0)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        a = self.q1(self.c1(x))
        b = self.q2(self.c2(a))
        r = self.q3(self.c3(b) + b)  # residual add (of a code into a pre-activation)
        s = torch.cat([r, self.p5(r), self.p9(r)], 1)
        u = torch.cat([self.up(s), a], dim=1)
        return self.fc(torch.flatten(self.pool(self.q4(self.c4(u))), 1))


def test_general_graph_lossless():
    torch.manual_seed(3)
    net = _Graph().eval()
    x = torch.rand(16, 1, 12, 12)
    snn = convert(net, T=4, coding="stdi")
    with torch.no_grad():
        assert (snn(x) - net(x)).abs().max() < 1e-4
    assert snn.n_layers == 4 and snn.latency == 4 * 4 + 4


def test_stdi_maxpool_gate_is_exact():
    T = 5
    g = torch.Generator().manual_seed(0)
    a = torch.rand(3, 2, 9, 9, generator=g) * 0.99
    z = stdi_reference(a.unsqueeze(0).expand(T, *a.shape).contiguous(), 1.0, rounding=False)
    y = stdi_value(z, 1.0)  # [T, B, C, H, W]
    pool = SpikeMaxPool2d(nn.MaxPool2d(3, 2, 1), T, "stdi")
    out = pool(y.reshape(-1, 2, 9, 9)).reshape(T, 3, 2, 5, 5)
    ref = msb_gate_reference(y.reshape(-1, 2, 9, 9), T, 3, 2, 1).reshape(out.shape)
    assert torch.equal(out, ref)
    q = torch.floor(a * 2**T) / 2**T
    assert (out.mean(0) - F.max_pool2d(q, 3, 2, 1)).abs().max() < 1e-6
    # the output is itself a valid spike code: at most one spike value per bit
    w = stdi_value(torch.ones(T, 1), 1.0)
    assert ((out == 0) | (out == w.reshape(T, 1, 1, 1, 1))).all()


def test_maxpool_avg_substitution_and_gate_options():
    net = nn.Sequential(nn.Conv2d(1, 2, 3), QCFS(3, 1.0), nn.MaxPool2d(2)).eval()
    snn = convert(net, T=8, coding="rate", maxpool="avg")
    assert any(isinstance(m, nn.AvgPool2d) for m in snn.modules())
    snn = convert(net, T=8, coding="rate")
    assert any(isinstance(m, SpikeMaxPool2d) and m.mode == "gate" for m in snn.modules())


def test_calibrated_relu_per_channel():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Conv2d(1, 3, 3), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 36, 2)).eval()
    cal = torch.rand(50, 1, 8, 8)
    snn = convert(net, cal, T=10, coding="stdi", threshold="max", per_channel=True)
    lam = [m.lam for m in snn.modules() if hasattr(m, "lam") and m.lam.dim() == 3][0]
    assert lam.shape == (3, 1, 1)
    with torch.no_grad():
        assert (snn(cal) - net(cal)).abs().max() < 0.05


def test_leaky_relu_signed():
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(6, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2)).eval()
    x = torch.randn(100, 6)
    with torch.no_grad():
        ref = net(x)
        e_stdi = (convert(net, x, T=12, threshold="max")(x) - ref).abs().max()
        e_rate = (
            (convert(net, x, T=256, coding="rate", threshold="max", v0=0.0)(x) - ref).abs().max()
        )
    assert e_stdi < 0.02 and e_rate < 0.1


def test_set_T_and_sequence_output():
    net = _randomise_bn(_net(15))
    snn = convert(net, T=4)
    x = torch.rand(2, 1, 8, 8)
    seq = snn(x, return_sequence=True)
    assert seq.shape == (4, 2, 3)
    snn.set_T(6)
    assert snn(x, return_sequence=True).shape == (6, 2, 3)


def test_bad_input():
    net = _net(15).eval()
    with pytest.raises(ValueError, match="T"):
        convert(net, T=0)
    with pytest.raises(ValueError, match="coding"):
        convert(net, coding="phase")
    with pytest.raises(ValueError, match="levels"):
        QCFS(0)
    with pytest.raises(ValueError, match="training mode"):
        convert(_net(15).train())
    relu = nn.Sequential(nn.Linear(4, 4), nn.ReLU()).eval()
    with pytest.raises(ValueError, match="calibration"):
        convert(relu)
    with pytest.raises(ValueError, match="calibration: is empty"):
        convert(relu, torch.zeros(0, 4))
    with pytest.raises(ValueError, match="calibration: contains NaN"):
        convert(relu, torch.full((3, 4), float("nan")))
    bad = nn.Sequential(nn.Linear(4, 4), nn.Sigmoid()).eval()
    with pytest.raises(ValueError, match=r"'1' \(Sigmoid\).*supported layers: Conv2d"):
        convert(bad, torch.rand(3, 4))
    up = nn.Sequential(nn.Conv2d(1, 1, 1), nn.Upsample(scale_factor=2, mode="bilinear")).eval()
    with pytest.raises(ValueError, match="nearest"):
        convert(up)
    with pytest.raises(ValueError, match="threshold"):
        convert(relu, torch.rand(3, 4), threshold=150)
    with pytest.raises(TypeError, match="model"):
        convert("net")


@pytest.mark.parametrize("slope", [None, 0.3])
def test_fast_gate_equals_literal_gate_random_codes(slope):
    """Random STDI codes (per-channel thresholds, signed too), SPP-sized pools."""
    T = 6
    g = torch.Generator().manual_seed(7)
    z = torch.randn(T, 4, 3, 8, 8, generator=g) * 1.5
    th = torch.rand(3, 1, 1, generator=g) + 0.5
    y = stdi_value(stdi_reference(z, th, negative_slope=slope), th).reshape(-1, 3, 8, 8)
    for k in (3, 5, 13):
        fast = SpikeMaxPool2d(nn.MaxPool2d(k, 1, k // 2), T, "stdi")(y)
        assert torch.equal(fast, msb_gate_reference(y, T, k, 1, k // 2))


def test_maxpool_of_a_sum_warns():
    class AddPool(nn.Module):
        def __init__(self):
            super().__init__()
            self.c, self.q, self.p = nn.Conv2d(1, 2, 3, padding=1), QCFS(15, 1.0), nn.MaxPool2d(2)

        def forward(self, x):
            a = self.q(self.c(x))
            return self.p(a + a)

    with pytest.warns(UserWarning, match="'p'.*not exact"):
        convert(AddPool().eval(), T=4)
