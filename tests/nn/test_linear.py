import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import _kernels
from spikecore.nn import functional as SF

BACKENDS = ["torch"] + (["cpp"] if _kernels.has("spike_linear") else [])


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("p", [0.0, 0.03, 0.5, 1.0])
def test_linear_equals_torch_linear_forward_and_backward(backend, p):
    torch.manual_seed(0)
    ref = torch.nn.Linear(30, 9)
    m = snn.Linear(30, 9, backend=backend)
    m.load_state_dict(ref.state_dict())
    x = (torch.rand(7, 4, 30) < p).float().requires_grad_()
    xr = x.detach().clone().requires_grad_()
    y, yr = m(x), ref(xr)
    assert torch.allclose(y, yr, atol=1e-5)
    g = torch.randn_like(y)
    y.backward(g)
    yr.backward(g)
    assert torch.allclose(x.grad, xr.grad, atol=1e-5)
    assert torch.allclose(m.weight.grad, ref.weight.grad, atol=1e-4)
    assert torch.allclose(m.bias.grad, ref.bias.grad, atol=1e-4)


def test_linear_non_spike_input_and_bad_shapes():
    m = snn.Linear(5, 2)
    x = torch.randn(3, 2, 5)
    assert torch.allclose(m(x), torch.nn.functional.linear(x, m.weight, m.bias))
    with pytest.raises(ValueError, match="x: last dimension"):
        m(torch.randn(3, 2, 4))
    with pytest.raises(TypeError, match="x: expected a floating-point"):
        m(torch.ones(3, 2, 5, dtype=torch.bool))
    with pytest.raises(TypeError, match="x: expected a floating-point"):
        m(torch.ones(3, 2, 5, dtype=torch.int64))
    with pytest.raises(ValueError, match="spike_input"):
        snn.Linear(3, 3, spike_input="yes")
    with pytest.raises(ValueError, match="backend.*valid choices"):
        snn.Linear(3, 3, backend="cuda")


def test_sparse_linear_structure_and_forward():
    m = snn.SparseLinear(40, 30, density=0.1, seed=1)
    assert m.nnz == 120 and m.density == pytest.approx(0.1)
    assert m.mask.shape == (30, 40) and int(m.mask.sum()) == 120
    dense = m.dense_weight().detach()
    assert torch.equal(dense != 0, m.mask & (dense != 0))
    mm = torch.from_numpy(m.matrix.to_mask().T.copy()).bool()
    assert torch.equal(mm, m.mask)
    x = (torch.rand(5, 3, 40) < 0.2).float()
    y = m(x)
    assert torch.allclose(y, torch.nn.functional.linear(x, dense, m.bias), atol=1e-5)
    y.sum().backward()
    assert m.weight.grad.shape == (120,)
    # gradient of each synapse value = sum_t,b x_pre * 1
    expect = x.reshape(-1, 40).sum(0)[m.pre]
    assert torch.allclose(m.weight.grad, expect)


def test_sparse_linear_prune_regrow_keeps_density_and_optimizer_state():
    torch.manual_seed(0)
    m = snn.SparseLinear(20, 10, density=0.2, seed=2)
    opt = torch.optim.Adam(m.parameters(), lr=0.01)
    x = (torch.rand(4, 2, 20) < 0.5).float()
    m(x).pow(2).sum().backward()
    opt.step()
    w_before = {(int(i), int(j)): float(w) for i, j, w in zip(m.pre, m.post, m.weight.detach())}
    avg_before = {
        (int(i), int(j)): float(a) for i, j, a in zip(m.pre, m.post, opt.state[m.weight]["exp_avg"])
    }
    n = m.prune(0.25, mode="magnitude", optimizer=opt)
    assert n == 10 and m.nnz == 30
    kept = sorted(w_before, key=lambda k: abs(w_before[k]))[10:]
    assert sorted(kept) == sorted(zip(m.pre.tolist(), m.post.tolist()))
    assert m.regrow(10, mode="random", init=0.0, optimizer=opt) == 10
    assert m.nnz == 40 and m.density == pytest.approx(0.2)
    st = opt.state[m.weight]["exp_avg"]
    assert st.shape == (40,)
    for i, j, w, a in zip(m.pre.tolist(), m.post.tolist(), m.weight.tolist(), st.tolist()):
        if (i, j) in kept:
            assert w == pytest.approx(w_before[(i, j)])
            assert a == pytest.approx(avg_before[(i, j)])
        else:
            assert w == 0.0 and a == 0.0
    # training continues
    m(x).pow(2).sum().backward()
    opt.step()
    assert m.prune(0.5, mode="random") == 20 and m.nnz == 20


def test_sparse_linear_gradient_regrow_picks_largest_gradients():
    m = snn.SparseLinear(6, 5, density=0.2, seed=3, bias=False)
    m.keep_dense_grad = True
    x = torch.rand(3, 2, 6)
    m(x).sum().backward()
    g = m._dense_grad
    assert g.shape == (5, 6)
    free = ~m.mask
    top = torch.topk(g.abs()[free], 4).values
    m.regrow(4, mode="gradient", init=0.5)
    new = m.mask & free
    assert int(new.sum()) == 4
    assert torch.allclose(torch.sort(g.abs()[new]).values, torch.sort(top).values)
    with pytest.raises(ValueError, match="grad"):
        snn.SparseLinear(6, 5).regrow(1, mode="gradient")


def test_sparse_linear_bad_input_and_state_dict_round_trip():
    with pytest.raises(ValueError, match="density"):
        snn.SparseLinear(4, 4, density=0.0)
    with pytest.raises(ValueError, match="in_features"):
        snn.SparseLinear(0, 4)
    m = snn.SparseLinear(8, 6, density=0.3, seed=4)
    with pytest.raises(ValueError, match="mode.*valid choices: magnitude, random"):
        m.prune(0.1, mode="largest")
    with pytest.raises(ValueError, match="fraction"):
        m.prune(1.5)
    with pytest.raises(ValueError, match="count"):
        m.regrow(10_000)
    with pytest.raises(ValueError, match="x: last dimension"):
        m(torch.rand(2, 2, 7))
    m.prune(0.5)
    sd = m.state_dict()
    m2 = snn.SparseLinear(8, 6, density=0.3, seed=99)
    m2.load_state_dict(sd)
    x = torch.rand(3, 2, 8)
    assert torch.equal(m(x), m2(x))
    assert m2.nnz == m.nnz and torch.equal(m2.mask, m.mask)


def test_sparse_linear_deepcopy_and_pickle(tmp_path):
    import copy

    m = snn.SparseLinear(8, 6, density=0.3, seed=5)
    m.prune(0.3)
    x = torch.rand(3, 2, 8)
    c = copy.deepcopy(m)
    assert torch.equal(c(x), m(x)) and c.matrix is not m.matrix and c.nnz == m.nnz
    torch.save(m, tmp_path / "m.pt")
    r = torch.load(tmp_path / "m.pt", weights_only=False)
    assert torch.equal(r(x), m(x))
    assert r.prune(0.5) == m.prune(0.5)
    assert torch.equal(r.mask, m.mask)


@pytest.mark.parametrize("backend", BACKENDS)
def test_functional_sparse_linear(backend):
    m = snn.SparseLinear(12, 7, density=0.3, seed=11)
    x = (torch.rand(4, 3, 12) < 0.3).float().requires_grad_()
    y = SF.sparse_linear(x, m.weight, m.pre, m.post, 7, m.bias, backend=backend)
    ref = torch.nn.functional.linear(x, m.dense_weight(), m.bias)
    assert torch.allclose(y, ref, atol=1e-6)
    g = torch.autograd.grad(y.sum(), (x, m.weight))
    gr = torch.autograd.grad(ref.sum(), (x, m.weight))
    for a, b in zip(g, gr):
        assert torch.allclose(a, b, atol=1e-5)
    with pytest.raises(ValueError, match="pre, post, values"):
        SF.sparse_linear(x, m.weight, m.pre[:-1], m.post, 7)


def test_regrow_after_every_synapse_was_pruned_with_optimizer_state():
    # found by the 500-example fuzz campaign (Evolution(mutation=0.875) pruned every synapse of a
    # small layer, then regrew): _remap_optimizer indexed the empty key order (IndexError)
    layer = snn.SparseLinear(3, 2, density=0.5, seed=0)
    opt = torch.optim.Adam(layer.parameters(), lr=0.01)
    layer(torch.ones(1, 3)).sum().backward()
    opt.step()
    layer.prune(1.0, optimizer=opt)
    assert layer.nnz == 0
    assert layer.regrow(2, optimizer=opt) == 2
    state = [v for v in opt.state[layer.weight].values() if v.dim() == 1]
    assert state and all(v.shape[0] == 2 and not v.any() for v in state)  # zero Adam state
