import doctest

import numpy as np
import pytest
import torch

nir = pytest.importorskip("nir")

import spikecore.nn as snn  # noqa: E402
from spikecore.io import nir as scnir  # noqa: E402
from spikecore.io.nir import from_nir, load_nir, save_nir, to_nir  # noqa: E402


def _model():
    torch.manual_seed(0)
    m = torch.nn.Sequential(snn.Linear(20, 16), snn.LIF(tau=2.0),
                            snn.SparseLinear(16, 12, density=0.5, seed=1),
                            snn.LIF(tau=3.0, v_threshold=0.8, v_reset=None),
                            snn.Linear(12, 4, bias=False), snn.LeakyIntegrator(tau=float("inf")))
    with torch.no_grad():
        m[0].weight.mul_(4)
        m[2].weight.mul_(4)
    return m.eval()


def _run(m, x):
    with torch.no_grad():
        return m(x)


def test_doctest():
    assert doctest.testmod(scnir).failed == 0


@pytest.mark.parametrize("dt", [1e-4, 1.0])
def test_round_trip_same_forward(dt, tmp_path):
    m = _model()
    x = (torch.rand(30, 3, 20, generator=torch.Generator().manual_seed(2)) < 0.3).float()
    g = to_nir(m, dt=dt)
    assert isinstance(g.nodes["1"], nir.LIF) and isinstance(g.nodes["5"], nir.LI)
    assert isinstance(g.nodes["0"], nir.Affine) and isinstance(g.nodes["4"], nir.Linear)
    assert g.nodes["3"].metadata == {"reset": "subtract"}
    m2 = from_nir(g, dt=dt)
    assert torch.equal(_run(m, x), _run(m2, x))
    p = tmp_path / "m.nir"
    save_nir(m, p, dt=dt)
    m3 = load_nir(p, dt=dt)
    assert torch.equal(_run(m, x), _run(m3, x))
    assert m3[1].tau == pytest.approx(2.0) and m3[3].v_reset is None


def test_import_folds_r_into_weights():
    w = np.eye(3, dtype=np.float32)
    g = nir.NIRGraph(nodes={"in": nir.Input({"input": np.array([3])}),
                            "a": nir.Affine(weight=w, bias=np.zeros(3, np.float32)),
                            "l": nir.LIF(tau=np.full(3, 4e-4), r=np.full(3, 8.0),
                                         v_leak=np.zeros(3), v_threshold=np.ones(3)),
                            "out": nir.Output({"output": np.array([3])})},
                     edges=[("in", "a"), ("a", "l"), ("l", "out")])
    m = from_nir(g, dt=1e-4)
    assert m[1].tau == pytest.approx(4.0)
    np.testing.assert_allclose(m[0].weight.detach().numpy(), 2.0 * w)  # r dt / tau = 2


def test_bad_input():
    with pytest.raises(ValueError, match="AdaptiveLIF"):
        to_nir(torch.nn.Sequential(snn.Linear(2, 2), snn.AdaptiveLIF()))
    with pytest.raises(ValueError, match="dt"):
        to_nir(_model(), dt=0.0)
    with pytest.raises(TypeError, match="graph"):
        from_nir(42)
    g = nir.NIRGraph(nodes={"in": nir.Input({"input": np.array([2])}),
                            "c": nir.Threshold(threshold=np.ones(2)),
                            "out": nir.Output({"output": np.array([2])})},
                     edges=[("in", "c"), ("c", "out")])
    with pytest.raises(ValueError, match="Threshold"):
        from_nir(g)
    g = nir.NIRGraph(nodes={"in": nir.Input({"input": np.array([2])}),
                            "a": nir.Linear(weight=np.eye(2, dtype=np.float32)),
                            "l": nir.LIF(tau=np.array([1e-4, 2e-4]), r=np.ones(2),
                                         v_leak=np.zeros(2), v_threshold=np.ones(2)),
                            "out": nir.Output({"output": np.array([2])})},
                     edges=[("in", "a"), ("a", "l"), ("l", "out")])
    with pytest.raises(ValueError, match="per-neuron tau"):
        from_nir(g)
