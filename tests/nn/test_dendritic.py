"""Dendritic neurons (issue 5): equations, subsets, counters, bad input, and the budget claim."""

import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import dendritic as D


def _manual(layer, x):
    out = torch.zeros(x.shape[0], layer.out_features, dtype=torch.float64)
    g = {
        "relu": lambda u: max(u, 0.0),
        "identity": lambda u: u,
        "sigmoid": lambda u: 1.0 / (1.0 + __import__("math").exp(-u)),
    }[layer.nonlinearity]
    for b in range(x.shape[0]):
        for j in range(layer.out_features):
            for k in range(layer.branches):
                u = float(layer.bias.detach()[j, k])
                for i, w in zip(layer.index[j, k].tolist(), layer.weight.detach()[j, k].tolist()):
                    u += w * float(x[b, i])
                out[b, j] += g(u)
    return out


@pytest.mark.parametrize("g", D.NONLINEARITIES)
@pytest.mark.parametrize("subsets", D.SUBSETS)
def test_matches_equations(g, subsets):
    torch.manual_seed(0)
    layer = D.DendriticLinear(10, 3, branches=4, nonlinearity=g, subsets=subsets).double()
    x = torch.randn(5, 10, dtype=torch.float64)
    y = layer(x)
    torch.testing.assert_close(y, _manual(layer, x))
    torch.testing.assert_close(
        y, D.dendritic_reference(x, layer.weight, layer.bias, layer.index, g)
    )


def test_one_identity_branch_is_a_linear_layer():
    layer = D.DendriticLinear(6, 4, branches=1, nonlinearity="identity").double()
    assert layer.branch_fan_in == 6 and torch.equal(layer.index[0, 0], torch.arange(6))
    x = torch.randn(3, 2, 6, dtype=torch.float64)
    want = x @ layer.weight[:, 0].T + layer.bias[:, 0]
    torch.testing.assert_close(layer(x), want)


def test_subsets():
    layer = D.DendriticLinear(64, 5, branches=4, seed=3)
    assert layer.branch_fan_in == 32  # D / sqrt(K)
    idx = layer.index
    assert idx.shape == (5, 4, 32)
    for row in idx.reshape(-1, 32):
        assert len(set(row.tolist())) == 32  # distinct inputs per branch
    assert torch.equal(idx, D.DendriticLinear(64, 5, branches=4, seed=3).index)
    assert not torch.equal(idx, D.DendriticLinear(64, 5, branches=4, seed=4).index)
    s = D.DendriticLinear(8, 2, branches=4, branch_fan_in=2, subsets="structured")
    assert s.index[0].tolist() == [[0, 1], [2, 3], [4, 5], [6, 7]]
    given = torch.tensor([[[0, 1], [2, 3]]])
    assert torch.equal(D.DendriticLinear(4, 1, branches=2, subsets=given).index, given)


def test_gradcheck():
    layer = D.DendriticLinear(5, 3, branches=2, nonlinearity="sigmoid").double()
    x = torch.randn(4, 5, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda x, w, b: D.DendriticLinear.forward(layer, x), (x, layer.weight, layer.bias)
    )


def test_counters():
    layer = D.DendriticLinear(8, 3, branches=2, branch_fan_in=4, bias=True)
    assert layer.n_params == 3 * 2 * 4 + 3 * 2
    x = torch.zeros(2, 8)
    x[0, 1] = 1.0
    x[1, 5] = 1.0
    want = int(layer.fanout[1] + layer.fanout[5])
    assert layer.synops(x) == want
    assert int(layer.fanout.sum()) == 3 * 2 * 4
    assert D.communication(torch.tensor([[0.0, 1.0], [1.0, 1.0]])) == 3
    assert D.communication(torch.tensor([[0.5, 0.0]])) == 2


def test_spiking_version():
    torch.manual_seed(0)
    layer = D.DendriticLIF(12, 5, branches=3, v_threshold=0.3)
    x = torch.rand(7, 4, 12)
    z, st = layer(x, return_state=True)
    assert z.shape == (7, 4, 5) and st.v.shape == (4, 5)
    assert set(z.unique().tolist()) <= {0.0, 1.0} and z.sum() > 0
    z.sum().backward()
    assert layer.dendrites.weight.grad.abs().sum() > 0
    with snn.ActivityMonitor(layer) as mon:
        layer(x)
    assert mon.total_spikes == int(z.sum())
    # continuation: two halves == one run
    a, s1 = layer(x[:3], return_state=True)
    b = layer(x[3:], state=s1)
    assert torch.equal(torch.cat([a, b]), layer(x))


def test_bad_input():
    with pytest.raises(ValueError, match="branches: must be >= 1"):
        D.DendriticLinear(8, 2, branches=0)
    with pytest.raises(ValueError, match="branches: K=9 exceeds the fan-in"):
        D.DendriticLinear(8, 2, branches=9)
    with pytest.raises(ValueError, match="branch_fan_in"):
        D.DendriticLinear(8, 2, branches=2, branch_fan_in=9)
    with pytest.raises(IndexError, match="subsets: input index 8 out of range"):
        D.DendriticLinear(8, 1, branches=2, subsets=torch.tensor([[[0, 8], [1, 2]]]))
    with pytest.raises(IndexError, match="subsets: input index -1 out of range"):
        D.DendriticLinear(8, 1, branches=2, subsets=torch.tensor([[[0, -1], [1, 2]]]))
    with pytest.raises(ValueError, match="subsets: expected shape"):
        D.DendriticLinear(8, 2, branches=2, subsets=torch.zeros(1, 2, 3, dtype=torch.long))
    with pytest.raises(TypeError, match="subsets: expected an integer tensor"):
        D.DendriticLinear(8, 1, branches=2, subsets=torch.zeros(1, 2, 3))
    with pytest.raises(ValueError, match="subsets: unknown value 'grid'"):
        D.DendriticLinear(8, 2, subsets="grid")
    with pytest.raises(ValueError, match="nonlinearity: unknown value 'tanh'"):
        D.DendriticLinear(8, 2, nonlinearity="tanh")
    with pytest.raises(ValueError, match="x: last dimension"):
        D.DendriticLinear(8, 2)(torch.zeros(3, 7))
    with pytest.raises(ValueError, match="x: expected a time-first"):
        D.DendriticLIF(8, 2)(torch.zeros(3, 8))
    with pytest.raises(ValueError, match="tau"):
        D.DendriticLIF(8, 2, tau=0.5)


def test_budget_claim_reduced(example):
    """Fixed hidden budget (16 x 64 weights): 8 ReLU branches keep point-neuron accuracy with
    6 instead of 16 neurons and beat 6 point neurons; identity branches lose accuracy."""
    torch.manual_seed(0)
    ex = example("dendritic_sweep")
    kw = dict(n0=16, epochs=30, seed=0)
    point = ex.run(1, "relu", **kw)
    dend = ex.run(8, "relu", **kw)
    lin = ex.run(8, "identity", **kw)
    small_point = ex.run(1, "relu", neurons=dend["neurons"], **kw)
    assert point["neurons"] == 16 and dend["neurons"] == 6
    assert abs(dend["params"] - point["params"]) / point["params"] < 0.15
    assert dend["communication"] < 0.5 * point["communication"]
    assert dend["accuracy"] >= point["accuracy"] - 0.04, (dend, point)
    assert lin["accuracy"] <= dend["accuracy"] - 0.05, (lin, dend)
    assert dend["accuracy"] > small_point["accuracy"], (dend, small_point)


needs_kernel = pytest.mark.skipif(not D.has_kernel(), reason="C++ dendritic kernel not built")


@needs_kernel
@pytest.mark.parametrize("g", D.NONLINEARITIES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
def test_kernel_equals_reference(g, dtype, bias):
    torch.manual_seed(1)
    layer = D.DendriticLinear(20, 6, branches=4, nonlinearity=g, bias=bias).to(dtype)
    x = torch.randn(3, 5, 20, dtype=dtype, requires_grad=True)
    res = []
    for backend in ("torch", "cpp"):
        layer.backend = backend
        layer.zero_grad()
        x.grad = None
        y = layer(x)
        (y * torch.linspace(-1, 1, 6, dtype=dtype)).sum().backward()
        res.append(
            (
                y,
                x.grad.clone(),
                layer.weight.grad.clone(),
                None if layer.bias is None else layer.bias.grad.clone(),
            )
        )
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-12)
    for a, b in zip(*res):
        if a is not None:
            torch.testing.assert_close(a, b, **tol)


@needs_kernel
def test_kernel_gradcheck():
    layer = D.DendriticLinear(7, 3, branches=3, nonlinearity="sigmoid", backend="cpp").double()
    x = torch.randn(4, 7, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: layer(x), (x, layer.weight, layer.bias))


@needs_kernel
def test_kernel_thread_count_invariant():
    torch.manual_seed(2)
    layer = D.DendriticLinear(64, 40, branches=4, backend="cpp")
    x = torch.randn(200, 64)
    res = []
    old = torch.get_num_threads()
    try:
        for nt in (1, 3):
            torch.set_num_threads(nt)
            layer.zero_grad()
            y = layer(x)
            y.sum().backward()
            res.append((y, layer.weight.grad.clone()))
    finally:
        torch.set_num_threads(old)
    assert torch.equal(res[0][0], res[1][0]) and torch.equal(res[0][1], res[1][1])


def test_doctests():
    import doctest

    from spikecore.nn import celif

    for mod in (D, celif):
        res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
        assert res.failed == 0 and res.attempted > 0, mod.__name__


def test_noise_driven_learning_soma():
    """NDL (NSNN): sampled spikes in training, deterministic in eval, gradient = noise density;
    a short training run on a separable spike task learns."""
    torch.manual_seed(0)
    layer = D.DendriticLIF(20, 2, branches=2, noise="gaussian", sigma=0.3, tau=2.0, v_threshold=0.5)
    x = torch.rand(6, 3, 20)
    layer.train()
    a, b = layer(x), layer(x)
    assert not torch.equal(a, b)  # sampled
    layer.eval()
    assert torch.equal(layer(x), layer(x))  # deterministic
    with pytest.raises(ValueError, match="noise"):
        D.DendriticLIF(20, 2, noise="cauchy")
    with pytest.raises(ValueError, match="eval_mode"):
        D.DendriticLIF(20, 2, noise="gaussian", eval_mode="mean")
    # learn: class k drives input half k; the output neuron k must fire more
    g = torch.Generator().manual_seed(1)
    y = torch.randint(0, 2, (64,), generator=g)
    p = torch.full((64, 20), 0.05)
    p[y == 0, :10] = 0.5
    p[y == 1, 10:] = 0.5
    xs = (torch.rand(8, 64, 20, generator=g) < p).float()
    layer = D.DendriticLIF(
        20,
        2,
        branches=2,
        noise="gaussian",
        sigma=0.3,
        v_threshold=0.5,
        subsets="structured",
        branch_fan_in=10,
    )
    opt = torch.optim.Adam(layer.parameters(), lr=0.05)
    layer.train()
    for _ in range(40):
        loss = torch.nn.functional.cross_entropy(layer(xs).mean(0) * 5, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    layer.eval()
    acc = float((layer(xs).mean(0).argmax(1) == y).float().mean())
    assert acc > 0.9
