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


# ---- product='synapse': the C++ sparse kernels against the dense F.conv2d path ----------------

from spikecore._core import learn as _k  # noqa: E402

GEOMETRIES = [((3, 3), 1, 1), ((3, 2), 2, 1), ((5, 5), 1, 0), ((2, 3), (2, 1), (0, 2))]


def _spikes(shape, rate, dtype=torch.float32, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=g) < rate).to(dtype)


def _grads(c, x, gy):
    x = x.clone().requires_grad_(True)
    y = c(x)
    gx, gw, gb = torch.autograd.grad(y, [x, c.weight, c.bias], gy)
    return y.detach(), gx, gw, gb


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("rate", [0.02, 0.4, 1.0])  # event-driven, batch-inner, dense values
@pytest.mark.parametrize("geom", GEOMETRIES)
def test_synapse_product_equals_dense_path(dtype, rate, geom):
    k, s, p = geom
    c = SparseConv2d(
        3, 5, k, stride=s, padding=p, density=0.3, seed=1, dtype=dtype, product="synapse"
    )
    x = _spikes((19, 3, 9, 11), rate, dtype) * (
        1.0 if rate < 1 else torch.rand(19, 3, 9, 11, dtype=dtype)
    )
    gy = torch.randn(c(x).shape, dtype=dtype, generator=torch.Generator().manual_seed(2))
    got = _grads(c, x, gy)
    c.product = "dense"
    ref = _grads(c, x, gy)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-11, atol=1e-11)
    for a, b in zip(got, ref):
        assert a.dtype == dtype and a.shape == b.shape
        torch.testing.assert_close(a, b, **tol)


def test_kernel_algorithms_agree():
    # algorithm 1 (event-driven) and 2 (batch-inner) sum each output in the same order
    c = SparseConv2d(4, 6, 3, stride=1, padding=1, density=0.5, seed=3, dtype=torch.float64)
    rp, post = c._syn_lists()
    w, b = c.weight.detach().numpy(), c.bias.detach().numpy()
    x = _spikes((21, 4, 7, 8), 0.3, torch.float64)
    gy = torch.randn(21, 6, 7, 8, dtype=torch.float64)
    ys, gws = [], []
    for alg in (1, 2):
        y = torch.empty(21, 6, 7, 8, dtype=torch.float64)
        _k.sparse_conv2d_forward(
            x.numpy(), rp.numpy(), post.numpy(), w, b, 3, 3, 1, 1, 1, 1, y.numpy(), 1, alg
        )
        gw = torch.empty(c.nnz, dtype=torch.float64)
        _k.sparse_conv2d_grad_weight(
            x.numpy(), gy.numpy(), rp.numpy(), post.numpy(), 3, 3, 1, 1, 1, 1, gw.numpy(), 1, alg
        )
        ys.append(y)
        gws.append(gw)
    assert torch.equal(ys[0], ys[1])
    torch.testing.assert_close(gws[0], gws[1], rtol=1e-12, atol=1e-12)
    # the fused backward equals the separate calls
    gx1 = torch.empty_like(x)
    _k.sparse_conv2d_grad_input(
        gy.numpy(), rp.numpy(), post.numpy(), w, 3, 3, 1, 1, 1, 1, gx1.numpy(), 1
    )
    gx2, gw2 = torch.empty_like(x), torch.empty(c.nnz, dtype=torch.float64)
    _k.sparse_conv2d_backward(
        x.numpy(),
        gy.numpy(),
        rp.numpy(),
        post.numpy(),
        w,
        3,
        3,
        1,
        1,
        1,
        1,
        gx2.numpy(),
        gw2.numpy(),
        1,
        2,
    )
    assert torch.equal(gx1, gx2) and torch.equal(gw2, gws[1])


def test_gradcheck_float64():
    c = SparseConv2d(
        2,
        3,
        (3, 2),
        stride=(2, 1),
        padding=1,
        density=0.5,
        seed=4,
        dtype=torch.float64,
        product="synapse",
    )
    x = torch.rand(3, 2, 5, 4, dtype=torch.float64, requires_grad=True)

    def f(x, w, b):
        from spikecore.nn.sparse_conv import _SynapseConv2d

        rp, post = c._syn_lists()
        return _SynapseConv2d.apply(x, w, b, rp, post, 3, c.kernel_size, c.stride, c.padding)

    w = c.weight.detach().clone().requires_grad_(True)
    b = c.bias.detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(f, (x, w, b))


@pytest.mark.parametrize("rate", [0.02, 0.4])
def test_thread_count_does_not_change_results(rate):
    c = SparseConv2d(4, 8, 3, padding=1, density=0.3, seed=5, product="synapse")
    x = _spikes((64, 4, 8, 8), rate)
    gy = torch.randn(64, 8, 8, 8, generator=torch.Generator().manual_seed(6))
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = _grads(c, x, gy)
        torch.set_num_threads(2)
        two = _grads(c, x, gy)
    finally:
        torch.set_num_threads(old)
    for a, b in zip(one, two):
        assert torch.equal(a, b)


def test_time_first_and_after_prune_regrow():
    c = SparseConv2d(3, 6, 3, padding=1, density=0.4, seed=7, product="synapse")
    opt = torch.optim.Adam(c.parameters(), lr=1e-2)
    x = _spikes((4, 5, 3, 8, 8), 0.2)
    for _ in range(2):
        loss = c(x).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        del loss
        opt.step()
        nnz = c.nnz
        assert c.prune(0.3, optimizer=opt) > 0
        c.regrow(nnz - c.nnz, optimizer=opt)
        assert c.nnz == nnz
    y = c(x)
    assert y.shape == (4, 5, 6, 8, 8)
    ref = F.conv2d(x.reshape(20, 3, 8, 8), c.kernel(), c.bias, 1, 1).reshape(4, 5, 6, 8, 8)
    torch.testing.assert_close(y, ref, rtol=1e-5, atol=1e-5)


def test_auto_and_gradient_regrowth_use_the_dense_path():
    lo = SparseConv2d(4, 8, 3, density=0.05, seed=1)
    hi = SparseConv2d(4, 8, 3, density=0.9, seed=1)
    x = _spikes((2, 4, 6, 6), 0.2)
    assert lo.product == "auto" and lo._use_synapse_product(x)
    assert not hi._use_synapse_product(x)
    assert not SparseConv2d(4, 8, 3, density=0.05, product="dense")._use_synapse_product(x)
    # the scheduler's gradient regrowth needs the dense dL/dW: keep_dense_grad takes that path
    c = SparseConv2d(2, 4, 3, padding=1, density=0.4, seed=2, product="synapse")
    opt = torch.optim.Adam(c.parameters(), lr=1e-2)
    sched = ESLScheduler([c], opt, zeta0=0.3, delta_t=1, regrow="gradient", history=False)
    nnz = c.nnz
    for _ in range(2):
        loss = c(torch.rand(3, 2, 6, 6)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        del loss
        opt.step()
        sched.step()
    assert c.nnz == nnz and c.product == "synapse"


def test_synapse_bad_input():
    with pytest.raises(ValueError, match="product"):
        SparseConv2d(2, 4, 3, product="fast")
    c = SparseConv2d(2, 4, 3, product="synapse")
    with pytest.raises(ValueError, match="x"):
        c(torch.rand(1, 2, 2, 2))  # smaller than the kernel
    with pytest.raises(TypeError, match="x"):
        c(torch.ones(1, 2, 5, 5, dtype=torch.int64))
    rp, post = c._syn_lists()
    w, b = c.weight.detach().numpy(), c.bias.detach().numpy()
    x = torch.rand(1, 2, 5, 5).numpy()
    y = torch.empty(1, 4, 3, 3).numpy()
    with pytest.raises(ValueError, match="row_ptr"):
        _k.sparse_conv2d_forward(x, rp[:-1].numpy(), post.numpy(), w, b, 3, 3, 1, 1, 0, 0, y)
    bad = post.clone()
    bad[0] = 4
    with pytest.raises(IndexError, match="post"):
        _k.sparse_conv2d_forward(x, rp.numpy(), bad.numpy(), w, b, 3, 3, 1, 1, 0, 0, y)
    with pytest.raises(ValueError, match="y"):
        _k.sparse_conv2d_forward(
            x, rp.numpy(), post.numpy(), w, b, 3, 3, 1, 1, 0, 0, torch.empty(1, 4, 2, 2).numpy()
        )
    with pytest.raises(ValueError, match="stride"):
        _k.sparse_conv2d_forward(x, rp.numpy(), post.numpy(), w, b, 3, 3, 0, 1, 0, 0, y)
    with pytest.raises(ValueError, match="algorithm"):
        _k.sparse_conv2d_forward(x, rp.numpy(), post.numpy(), w, b, 3, 3, 1, 1, 0, 0, y, 1, 7)
    with pytest.raises(ValueError, match="gw"):
        _k.sparse_conv2d_backward(
            x,
            y,
            rp.numpy(),
            post.numpy(),
            w,
            3,
            3,
            1,
            1,
            0,
            0,
            torch.empty(0).numpy(),
            torch.empty(3).numpy(),
        )
