"""bench convert: registered, and the SpikingJelly peer converts and runs the same kind of ANN."""

import pytest
import torch
from torch import nn

from spikecore import bench
from spikecore.convert import QCFS


def test_registered():
    assert bench.AREAS["convert"] == "spikecore.bench.convert"


def test_spikingjelly_peer_runs():
    pytest.importorskip("spikingjelly")
    from spikecore.bench.convert import _sj_convert, _SJRunner

    torch.manual_seed(0)
    ann = nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        QCFS(15, 1.0),
        nn.AvgPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 3),
    ).eval()
    x = torch.rand(8, 1, 8, 8)
    sj = _sj_convert(ann, x)
    with torch.no_grad():
        relu_ref = nn.Sequential(*[nn.ReLU() if isinstance(m, QCFS) else m for m in ann])(x)
        out = _SJRunner(sj, 128)(x)
    assert out.shape == (8, 3)
    assert (out - relu_ref).abs().max() < 0.1
