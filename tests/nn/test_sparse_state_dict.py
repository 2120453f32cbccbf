"""SparseLinear / SparseConv2d state_dicts with the synapses in another order (issue 12, bug 3):
loading canonicalises the order, so the C++ kernels, dense_weight() and sync() agree."""

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from spikecore.nn import SparseConv2d, SparseLinear


def _shuffled(sd, seed=0):
    """The state_dict with its synapses (weight, pre, post) in a random order."""
    perm = torch.from_numpy(np.random.default_rng(seed).permutation(len(sd["weight"])))
    out = dict(sd)
    for k in ("weight", "pre", "post"):
        out[k] = sd[k][perm].clone()
    assert not torch.equal(out["pre"], sd["pre"]) or not torch.equal(out["post"], sd["post"])
    return out


def _matrix_dense(layer):
    """Dense [out, in] weight read back from the core SynapseMatrix (after sync)."""
    pre, post, w, _ = layer.matrix.to_coo()
    d = np.zeros((layer.out_features, layer.in_features), np.float32)
    np.add.at(d, (np.asarray(post), np.asarray(pre)), np.asarray(w))
    return d


def test_sparse_linear_loads_a_shuffled_state_dict():
    src = SparseLinear(12, 7, density=0.4, seed=3)
    with torch.no_grad():
        src.weight.mul_(3.0).add_(0.1)  # differ from a fresh layer's initial values
    sd = _shuffled(src.state_dict())
    dst = SparseLinear(12, 7, density=0.4, seed=9)
    dst.load_state_dict(sd)
    torch.testing.assert_close(dst.dense_weight(), src.dense_weight(), rtol=0, atol=0)
    x = (torch.rand(5, 12, generator=torch.Generator().manual_seed(0)) < 0.5).float()
    y = dst(x)  # the C++ spike-sparse kernel (spike input, float32, CPU)
    torch.testing.assert_close(y, x @ dst.dense_weight().T + dst.bias, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(y, src(x), rtol=1e-5, atol=1e-6)
    # gradients land on the right synapses
    y.square().sum().backward()
    ref = src.dense_weight().detach().requires_grad_(True)
    (x @ ref.T + src.bias.detach()).square().sum().backward()
    torch.testing.assert_close(dst.weight.grad, ref.grad[dst.post, dst.pre], rtol=1e-5, atol=1e-6)
    dst.sync()
    np.testing.assert_array_equal(_matrix_dense(dst), dst.dense_weight().detach().numpy())
    # the stored order is canonical again: a second round trip is exact
    again = SparseLinear(12, 7, density=0.4, seed=1)
    again.load_state_dict(dst.state_dict())
    for k, v in dst.state_dict().items():
        assert torch.equal(again.state_dict()[k], v), k


def test_sparse_linear_shuffled_state_dict_survives_prune_and_regrow():
    src = SparseLinear(10, 6, density=0.5, seed=0)
    dst = SparseLinear(10, 6, density=0.5, seed=4)
    dst.load_state_dict(_shuffled(src.state_dict(), seed=1))
    src.prune(0.3)
    dst.prune(0.3)
    torch.testing.assert_close(dst.dense_weight(), src.dense_weight(), rtol=0, atol=0)


@pytest.mark.parametrize("product", ["synapse", "dense"])
def test_sparse_conv2d_loads_a_shuffled_state_dict(product):
    src = SparseConv2d(3, 4, 3, padding=1, density=0.3, seed=2, product=product)
    with torch.no_grad():
        src.weight.mul_(2.0).sub_(0.05)
    dst = SparseConv2d(3, 4, 3, padding=1, density=0.3, seed=7, product=product)
    dst.load_state_dict(_shuffled(src.state_dict(), seed=5))
    torch.testing.assert_close(dst.kernel(), src.kernel(), rtol=0, atol=0)
    x = torch.randn(2, 3, 6, 5, generator=torch.Generator().manual_seed(1))
    y = dst(x)
    torch.testing.assert_close(
        y, F.conv2d(x, dst.kernel().detach(), dst.bias.detach(), padding=1), rtol=1e-5, atol=1e-5
    )
    dst.sync()
    np.testing.assert_array_equal(_matrix_dense(dst), dst.dense_weight().detach().numpy())
