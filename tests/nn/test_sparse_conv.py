"""SparseConv2d: masked-kernel convolution on SynapseMatrix synapses; ESL prune/regrow on it."""
import pytest
import torch
import torch.nn.functional as F

from spikecore.learn import ESLScheduler
from spikecore.nn.sparse_conv import SparseConv2d


def test_equals_conv2d_of_masked_kernel_and_time_first():
    c = SparseConv2d(3, 8, (3, 2), stride=2, padding=1, density=0.3, seed=1)
    assert c.nnz == round(0.3 * 3 * 3 * 2 * 8)
    k = c.kernel()
    assert int((k != 0).sum()) <= c.nnz and k.shape == (8, 3, 3, 2)
    mask = c.mask.view(8, 3, 3, 2)
    assert bool((k[~mask] == 0).all())
    x = torch.rand(4, 2, 3, 9, 9)
    ref = F.conv2d(x.reshape(8, 3, 9, 9), k, c.bias, 2, 1)
    assert torch.allclose(c(x), ref.reshape(4, 2, *ref.shape[1:]))
    assert torch.allclose(c(x[0]), ref[:2])


def test_esl_on_conv_keeps_density_and_trains():
    c = SparseConv2d(2, 4, 3, padding=1, density=0.4, seed=2)
    opt = torch.optim.Adam(c.parameters(), lr=1e-2)
    sched = ESLScheduler([c], opt, zeta0=0.3, delta_t=1, regrow="gradient", history=True)
    nnz = c.nnz
    x = torch.rand(3, 2, 6, 6)
    for _ in range(3):
        loss = c(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        del loss
        opt.step()
        sched.step()
    assert c.nnz == nnz and len(sched.history.records) == 3
    c2 = SparseConv2d(2, 4, 3, padding=1, density=0.4, seed=9)
    c2.load_state_dict(c.state_dict())
    assert torch.equal(c2(x), c(x))


def test_bad_input():
    with pytest.raises(ValueError, match="density"):
        SparseConv2d(2, 4, 3, density=0.0)
    with pytest.raises(ValueError, match="kernel_size"):
        SparseConv2d(2, 4, 0)
    with pytest.raises(ValueError, match="padding"):
        SparseConv2d(2, 4, 3, padding=-1)
    with pytest.raises(ValueError, match="x"):
        SparseConv2d(2, 4, 3)(torch.rand(1, 3, 5, 5))
