"""The one accepted layout of all_to_all weight / delay arrays (issue 12, bug 2): (n_pre, n_post)
or the same flattened pre-major; the torch Linear layout (n_post, n_pre) is refused."""

import numpy as np
import pytest
import torch

from spikecore.sim import Network


def _net():
    net = Network()
    return net, net.add_population(4, "lif"), net.add_population(5, "lif")


def test_pre_major_weights_land_on_their_synapse():
    net, a, b = _net()
    w = np.arange(20, dtype=np.float32).reshape(4, 5)
    for arr in (w, w.reshape(-1), torch.from_numpy(w)):
        proj = net.connect(a, b, "all_to_all", weight=arr)
        np.testing.assert_array_equal(proj.to_dense(), w)


@pytest.mark.parametrize("name", ["weight", "delay"])
def test_torch_layout_is_refused_naming_both_shapes(name):
    net, a, b = _net()
    lin = torch.nn.Linear(4, 5)  # weight [5, 4]
    arr = lin.weight.detach().abs() + 0.1 if name == "delay" else lin.weight
    with pytest.raises(ValueError, match=rf"{name}: .*\(4, 5\).*got \(5, 4\).*transposed"):
        net.connect(a, b, "all_to_all", **{name: arr})
    # its transpose is the accepted layout
    proj = net.connect(a, b, "all_to_all", **{name: arr.T})
    assert proj.nnz == 20


def test_other_2d_shapes_are_refused():
    net, a, b = _net()
    with pytest.raises(ValueError, match=r"weight: .*\(4, 5\).*got \(2, 10\)"):
        net.connect(a, b, "all_to_all", weight=np.ones((2, 10)))


def test_dendritic_target_layout_counts_compartments():
    net = Network()
    a = net.add_population(4, "lif")
    b = net.add_population(3, "lif", branches=2)
    w = np.arange(24, dtype=np.float32).reshape(4, 6)
    np.testing.assert_array_equal(net.connect(a, b, "all_to_all", weight=w).to_dense(), w)
    with pytest.raises(ValueError, match=r"weight: .*\(4, 6\).*got \(6, 4\)"):
        net.connect(a, b, "all_to_all", weight=w.T)
