"""C++ fused kernels against the pure-torch reference (spiking mode, exact forward)."""

import numpy as np
import pytest
import torch

from spikecore import nn as snn
from spikecore.nn import _kernels, surrogate
from spikecore.nn import functional as SF

pytestmark = pytest.mark.skipif(not _kernels.has("lif"), reason="C++ kernels not built")


def _grads(fn, *inputs):
    inputs = [t.detach().clone().requires_grad_() for t in inputs]
    outs = fn(*inputs)
    outs = [o for o in (outs if isinstance(outs, (tuple, list)) else [outs])]
    g = torch.Generator().manual_seed(5)
    loss = sum((o * torch.randn(o.shape, generator=g, dtype=o.dtype)).sum() for o in outs)
    grads = torch.autograd.grad(loss, inputs, allow_unused=True)
    return [o.detach() for o in outs], grads


def _close_grads(ga, gb, dtype):
    tol = dict(atol=1e-5, rtol=1e-4) if dtype == torch.float32 else dict(atol=1e-10, rtol=1e-9)
    for a, b in zip(ga, gb):
        assert torch.allclose(a, b, **tol), (a - b).abs().max()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("detach", [False, True])
@pytest.mark.parametrize("name", surrogate.NAMES)
def test_lif_cpp_equals_reference(dtype, reset, detach, name):
    g = torch.Generator().manual_seed(1)
    x = torch.randn(20, 3, 5, generator=g, dtype=dtype) * 0.6 + 0.4
    v0 = torch.rand(3, 5, generator=g, dtype=dtype) * 0.3
    beta = torch.rand(5, generator=g, dtype=dtype) * 0.5 + 0.4
    kw = dict(
        v_threshold=1.0,
        v_reset=None if reset == "soft" else -0.2,
        v_rest=0.1,
        surrogate=name,
        detach_reset=detach,
    )

    def run(backend):
        return _grads(lambda x, v0, b: SF.lif(x, v0, beta=b, backend=backend, **kw), x, v0, beta)

    (zc, vc), gc = run("cpp")
    (zr, vr), gr = run("torch")
    assert zc.sum() > 5
    assert torch.equal(zc, zr)
    assert torch.equal(vc, vr)
    _close_grads(gc, gr, dtype)


@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("detach", [False, True])
@pytest.mark.parametrize("name", ["atan", "sigmoid", "rectangle"])
def test_alif_cpp_equals_reference(reset, detach, name):
    g = torch.Generator().manual_seed(2)
    x = torch.randn(25, 2, 6, generator=g) * 0.6 + 0.5
    v0 = torch.rand(2, 6, generator=g) * 0.3
    a0 = torch.rand(2, 6, generator=g) * 0.1
    kw = dict(
        beta=0.7,
        rho=0.9,
        beta_a=0.3,
        v_reset=None if reset == "soft" else 0.0,
        v_rest=0.05,
        surrogate=name,
        detach_reset=detach,
    )

    def run(backend):
        return _grads(
            lambda x, v0, a0: (lambda z, s: (z, *s))(*SF.alif(x, (v0, a0), backend=backend, **kw)),
            x,
            v0,
            a0,
        )

    oc, gc = run("cpp")
    orr, gr = run("torch")
    assert oc[0].sum() > 5
    for a, b in zip(oc, orr):
        assert torch.equal(a, b)
    _close_grads(gc, gr, torch.float32)


@pytest.mark.parametrize("noise", surrogate.NOISES)
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_noisy_lif_cpp_equals_reference_with_same_noise(noise, reset):
    g = torch.Generator().manual_seed(3)
    x = torch.randn(20, 4, 5, generator=g) * 0.5 + 0.6
    eps = SF.sample_noise(noise, 0.3, x.shape, generator=g)
    kw = dict(noise=noise, sigma=0.3, eps=eps, v_reset=None if reset == "soft" else 0.0)
    (zc, vc), gc = _grads(lambda x: SF.noisy_lif(x, backend="cpp", **kw), x)
    (zr, vr), gr = _grads(lambda x: SF.noisy_lif(x, backend="torch", **kw), x)
    assert torch.equal(zc, zr) and torch.equal(vc, vr)
    _close_grads(gc, gr, torch.float32)


def test_leaky_integrator_cpp_equals_reference():
    x = torch.randn(30, 3, 4)
    v0 = torch.randn(3, 4)
    oc, gc = _grads(
        lambda x, v: SF.leaky_integrator(x, v, beta=0.8, v_rest=0.2, backend="cpp"), x, v0
    )
    orr, gr = _grads(
        lambda x, v: SF.leaky_integrator(x, v, beta=0.8, v_rest=0.2, backend="torch"), x, v0
    )
    for a, b in zip(oc, orr):
        assert torch.equal(a, b)
    _close_grads(gc, gr, torch.float32)


def test_results_do_not_depend_on_thread_count():
    from spikecore import _core

    g = torch.Generator().manual_seed(4)
    x = torch.randn(10, 8, 1024, generator=g) + 0.5
    s = (torch.rand(10, 8, 300, generator=g) < 0.05).float()
    w = torch.randn(64, 300, generator=g)
    old, old_backend = torch.get_num_threads(), _core.train.thread_backend()
    backends = ["own"] + (["openmp"] if _core.train.openmp_resident() else [])
    res = []
    try:
        for backend in backends:  # spikecore's own team, torch's OpenMP team
            _core.train.set_thread_backend(backend)
            for n in (1, 2, 3):
                torch.set_num_threads(n)
                (z, v), gz = _grads(lambda x: SF.lif(x, backend="cpp"), x)
                (y,), gy = _grads(lambda w: SF.linear(s, w, backend="cpp"), w)
                (y2,), gs = _grads(
                    lambda s, w: SF.linear(s, w, spike_input=True, backend="cpp"), s, w
                )
                res.append((z, v, gz[0], y, gy[0], y2, gs[0], gs[1]))
    finally:
        torch.set_num_threads(old)
        _core.train.set_thread_backend(old_backend)
    for r in res[1:]:
        for a, b in zip(res[0], r):
            assert torch.equal(a, b)


def test_thread_backend_choices():
    from spikecore import _core

    with pytest.raises(ValueError, match="thread_backend"):
        _core.train.set_thread_backend("gpu")
    assert _core.train.thread_backend() in ("own", "openmp", "auto")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_spike_linear_kernel_gradcheck_and_sparse_path_taken(dtype, monkeypatch):
    g = torch.Generator().manual_seed(6)
    x = (torch.rand(4, 3, 9, generator=g) < 0.1).to(dtype)
    x[0, 0, 2] = 0.5  # non-binary sparse values work too
    w = torch.randn(5, 9, generator=g, dtype=dtype, requires_grad=True)
    b = torch.randn(5, generator=g, dtype=dtype, requires_grad=True)
    calls = []
    orig = _kernels._train.sparse_rows_matmul
    monkeypatch.setattr(
        _kernels._train, "sparse_rows_matmul", lambda *a, **k: (calls.append(1), orig(*a, **k))[1]
    )
    y = SF.linear(x, w, b)
    assert calls, "event-driven path not taken"
    assert torch.allclose(y, torch.nn.functional.linear(x, w, b), atol=1e-5)
    if dtype == torch.float64:
        xr = x.clone().requires_grad_()
        assert torch.autograd.gradcheck(lambda x, w, b: SF.linear(x, w, b), (xr, w, b))
    calls.clear()
    dense = torch.rand(4, 3, 9, dtype=dtype)
    SF.linear(dense, w, b)
    assert not calls, "dense input must take the BLAS path"


def test_model_trains_same_on_both_backends():
    """A few Adam steps of a small SNN: the cpp and torch backends follow the same loss curve."""

    def train(backend):
        torch.manual_seed(0)
        model = torch.nn.Sequential(
            snn.Linear(20, 32, backend=backend),
            snn.LIF(backend=backend),
            snn.Linear(32, 4, backend=backend),
            snn.LeakyIntegrator(backend=backend),
        )
        opt = torch.optim.Adam(model.parameters(), lr=0.01)
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(15, 8, 20, generator=g) < 0.1).float()
        y = torch.randint(0, 4, (8,), generator=g)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(x).mean(0), y)
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
        return losses

    a, b = train("cpp"), train("torch")
    assert a == pytest.approx(b, rel=1e-4, abs=1e-5)
    assert a[-1] < a[0]


@pytest.mark.parametrize("p", [0.05, 0.6])
def test_sparse_linear_cpp_equals_reference(p):
    torch.manual_seed(0)
    a = snn.SparseLinear(30, 20, density=0.15, seed=7, backend="cpp")
    b = snn.SparseLinear(30, 20, density=0.15, seed=7, backend="torch")
    a.keep_dense_grad = b.keep_dense_grad = True
    x = (torch.rand(6, 4, 30) < p).float()
    x[0, 0, 0] = 0.25
    outs = []
    for m in (a, b):
        xi = x.clone().requires_grad_()
        y = m(xi)
        y.backward(torch.linspace(-1, 1, y.numel()).reshape(y.shape))
        outs.append((y.detach(), xi.grad, m.weight.grad, m.bias.grad, m._dense_grad))
    for u, v in zip(*outs):
        assert torch.allclose(u, v, atol=1e-5, rtol=1e-5)


def test_sparse_linear_cpp_gradcheck():
    m = snn.SparseLinear(7, 5, density=0.4, seed=8, backend="cpp", dtype=torch.float64)
    x = (torch.rand(3, 2, 7, dtype=torch.float64) < 0.5).double().requires_grad_()
    w, b = m.weight, m.bias
    syn = m._syn_lists()
    assert torch.autograd.gradcheck(
        lambda x, w, b: _kernels.sparse_syn_linear(x, w, b, *syn, 5), (x, w, b)
    )


def test_spike_input_true_sums_in_engine_order_exactly():
    import numpy as np

    g = torch.Generator().manual_seed(9)
    x = (torch.rand(5, 2, 40, generator=g) < 0.5).float()  # dense spikes: forced event path
    w = torch.randn(7, 40, generator=g)
    y = SF.linear(x, w, None, spike_input=True)
    xs, wn = x.reshape(-1, 40).numpy(), w.numpy()
    for r in range(xs.shape[0]):
        acc = np.zeros(7, np.float32)
        for i in np.flatnonzero(xs[r]):  # ascending pre index, from 0, float32
            acc = (acc + wn[:, i]).astype(np.float32)
        assert np.array_equal(acc, y.reshape(-1, 7)[r].numpy())


@pytest.mark.parametrize("noisy", [False, True])
def test_inference_path_equals_training_path(noisy):
    x = torch.randn(15, 3, 8) + 0.5
    eps = SF.sample_noise("gaussian", 0.3, x.shape) if noisy else None
    f = (
        (lambda x: SF.noisy_lif(x, eps=eps, backend="cpp"))
        if noisy
        else (lambda x: SF.lif(x, backend="cpp"))
    )
    with torch.no_grad():
        z0, v0 = f(x)
    z1, v1 = f(x.clone().requires_grad_())
    assert z1.requires_grad and not z0.requires_grad
    assert torch.equal(z0, z1.detach()) and torch.equal(v0, v1.detach())


def test_noisy_lif_bits_path_multithreaded_odd_width():
    g = torch.Generator().manual_seed(10)
    x = torch.randn(5, 3, 1001, generator=g) * 0.5 + 0.7
    eps = SF.sample_noise("logistic", 0.2, x.shape, generator=g)
    old = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        (zc, vc), gc = _grads(
            lambda x: SF.noisy_lif(x, eps=eps, noise="logistic", sigma=0.2, backend="cpp"), x
        )
    finally:
        torch.set_num_threads(old)
    (zr, vr), gr = _grads(
        lambda x: SF.noisy_lif(x, eps=eps, noise="logistic", sigma=0.2, backend="torch"), x
    )
    assert torch.equal(zc, zr) and torch.equal(vc, vr)
    _close_grads(gc, gr, torch.float32)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [1, 3, 8, 20, 67, 130])
def test_spike_linear_register_tiles_every_width(dtype, m):
    """The event-driven product walks the columns in register tiles (8 vectors, then the
    remaining vectors, then single columns): every width agrees with the float64 dense product
    (and so does the weight gradient), each output is summed in ascending input order (bitwise
    equal to an explicit sequential sum), the results do not depend on the thread count, and
    gradcheck passes in float64."""
    g = torch.Generator().manual_seed(m)
    x = (torch.rand(70, 3, 41, generator=g) < 0.2).to(dtype)
    x[0, 0, 5] = 0.5  # a value other than 1 takes the scaled branch
    w = torch.randn(m, 41, generator=g, dtype=dtype)
    b = torch.randn(m, generator=g, dtype=dtype)
    gy = torch.randn(70, 3, m, generator=g, dtype=dtype)
    old = torch.get_num_threads()
    res = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            wr = w.clone().requires_grad_()
            y = SF.linear(x, wr, b, spike_input=True, backend="cpp")
            y.backward(gy)
            res.append((y.detach(), wr.grad))
    finally:
        torch.set_num_threads(old)
    for r in res[1:]:
        assert torch.equal(r[0], res[0][0]) and torch.equal(r[1], res[0][1])
    y, gw = res[0]
    xd = x.double().reshape(-1, 41)
    assert torch.allclose(
        y.double(), (xd @ w.double().t() + b.double()).reshape(y.shape), atol=1e-5
    )
    assert torch.allclose(gw.double(), gy.double().reshape(-1, m).t() @ xd, atol=1e-4)
    # the documented order: from 0 over the active inputs in ascending index, bias last
    r = 37
    acc = torch.zeros(m, dtype=dtype)
    for i in torch.nonzero(xd[r]).flatten().tolist():
        xi = x.reshape(-1, 41)[r, i]
        acc = acc + w[:, i] if xi == 1 else acc + xi * w[:, i]
    assert torch.equal(y.reshape(-1, m)[r], acc + b)
    if dtype == torch.float64:
        xr = x[:2].clone().requires_grad_()
        assert torch.autograd.gradcheck(
            lambda x, w, b: SF.linear(x, w, b, spike_input=True, backend="cpp"),
            (xr, w.clone().requires_grad_(), b.clone().requires_grad_()),
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("m", [5, 16, 300])
def test_spike_linear_weight_grad_row_blocks_and_tiles(dtype, m):
    """The event weight gradient walks per-input row lists in column tiles (8 vectors, the
    remaining vectors, the remaining columns) over 512-row blocks of gy: with rows spanning
    several blocks, every output equals the sequential sum over the active rows in ascending
    order from 0 (val * gy[r, j], unscaled for spikes), the bias gradient the sequential row sum;
    both layouts; the same bits for 1, 2 and 3 threads on both thread backends."""
    from spikecore import _core

    g = torch.Generator().manual_seed(m)
    rows, k = 1300, 37
    x = (torch.rand(rows, k, generator=g) < 0.1).to(dtype)
    if m == 300:  # scaled entries
        x[torch.rand(rows, k, generator=g) < 0.02] = 0.375
    x[:, 4] = 0.0  # an input that is never active
    gy = torch.randn(rows, m, generator=g, dtype=dtype)
    csr = _kernels._gather(x)
    # reference: the documented order, one row at a time (0 * g adds nothing: acc + 0 == acc)
    acc = torch.zeros(k, m, dtype=dtype)
    bias = torch.zeros(m, dtype=dtype)
    for r in range(rows):
        xr = x[r]
        on = xr != 0
        acc[on] = acc[on] + torch.where(
            (xr[on] == 1)[:, None], gy[r].expand(int(on.sum()), m), xr[on, None] * gy[r]
        )
        bias = bias + gy[r]
    old, old_backend = torch.get_num_threads(), _core.train.thread_backend()
    backends = ["own"] + (["openmp"] if _core.train.openmp_resident() else [])
    try:
        for backend in backends:
            _core.train.set_thread_backend(backend)
            for n in (1, 2, 3):
                torch.set_num_threads(n)
                gw, gb = _kernels._spike_linear_grads(csr, gy, k, True)
                assert torch.equal(gw, acc.t()) and torch.equal(gb, bias)
                gwt = torch.empty(k, m, dtype=dtype)
                row_ptr, idx, val = csr
                _kernels._train.sparse_rows_weight_grad(
                    row_ptr,
                    idx,
                    val,
                    gy,
                    gwt,
                    n_threads=n,
                    gb=torch.empty(0, dtype=dtype),
                    gw_rows=False,
                )
                assert torch.equal(gwt, acc)
    finally:
        torch.set_num_threads(old)
        _core.train.set_thread_backend(old_backend)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gather_active_spikes_keep_no_values(dtype):
    """All nonzero values exactly 1 (spikes): the lists hold indices only (val empty); one
    other value anywhere (or a NaN) keeps every value. Same lists for any thread count."""
    g = torch.Generator().manual_seed(5)
    x = (torch.rand(300, 130, generator=g) < 0.1).to(dtype)
    ref_r, ref_c = np.nonzero(x.numpy())
    for n in (1, 2, 3):
        row_ptr, idx, val = _kernels._train.gather_active(x, -1, n)
        assert len(val) == 0 and np.array_equal(idx, ref_c)
    for bad in (0.5, float("nan"), -1.0):
        y = x.clone()
        y[299, 129] = bad  # the last word of the last row (the scalar tail)
        for n in (1, 2, 3):
            row_ptr, idx, val = _kernels._train.gather_active(y, -1, n)
            r, c = np.nonzero(y.numpy() != 0)
            assert np.array_equal(idx, c)
            assert np.array_equal(val, y.numpy()[r, c], equal_nan=True)
    assert len(_kernels._train.gather_active(torch.zeros(4, 70, dtype=dtype), -1, 1)[2]) == 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_gather_active_vector_words_equal_nonzero(dtype):
    """The active-input lists (read as 64-value words by vector compares, a scalar tail) equal
    numpy's nonzero in row-major order, NaN counted as active and -0 as not, for any thread
    count; max_nnz gives None when exceeded."""
    g = torch.Generator().manual_seed(3)
    k = 64 * 2 + 7  # two full words and a tail
    x = (torch.rand(90, k, generator=g) < 0.1).to(dtype) * torch.randn(
        90, k, generator=g, dtype=dtype
    )
    x[0, 3], x[0, 70], x[1, 5], x[2, 130] = float("nan"), -0.0, 1.0, 2.5
    x[5] = 0.0  # an empty row
    ref_r, ref_c = np.nonzero(x.numpy() != 0)
    for n in (1, 2, 3):
        row_ptr, idx, val = _kernels._train.gather_active(x, -1, n)
        assert row_ptr[0] == 0 and np.array_equal(
            np.diff(row_ptr), np.bincount(ref_r, minlength=90)
        )
        assert np.array_equal(idx, ref_c)
        assert np.array_equal(val, x.numpy()[ref_r, ref_c], equal_nan=True)
    assert _kernels._train.gather_active(x, len(ref_c) - 1, 1) is None


@pytest.mark.parametrize("k,m", [(9, 5), (700, 512), (37, 130), (300, 20)])
def test_spike_linear_weight_and_bias_grads_in_one_pass(k, m):
    """The event weight gradient, stored in the weight's layout [out, in] (tiled transpose of
    each thread's column block), and the bias gradient summed in the same pass over gy: equal
    to the dense formulas, the same bits for 1, 2 and 3 threads."""
    g = torch.Generator().manual_seed(k + m)
    x = (torch.rand(3, 40, k, generator=g) < 0.06).double()
    x[0, 0, :3] = 0.25  # non-binary values take the scaled branch
    x2 = x.reshape(-1, k)
    gy = torch.randn(x2.shape[0], m, generator=g, dtype=torch.float64)
    csr = _kernels._gather(x2)
    old = torch.get_num_threads()
    res = []
    try:
        for n in (1, 2, 3):
            torch.set_num_threads(n)
            res.append(_kernels._spike_linear_grads(csr, gy, k, True))
    finally:
        torch.set_num_threads(old)
    gw, gb = res[0]
    assert gw.shape == (m, k) and gw.is_contiguous() and gb.shape == (m,)
    assert torch.allclose(gw, gy.t() @ x2, atol=1e-12)
    assert torch.allclose(gb, gy.sum(0), atol=1e-12)
    for r in res[1:]:
        assert torch.equal(r[0], gw) and torch.equal(r[1], gb)
    gw_only, none = _kernels._spike_linear_grads(csr, gy, k, False)
    assert none is None and torch.equal(gw_only, gw)
