"""Fuzzing of spikecore.nn.functional, the surrogates and celif() (issue 20): hostile
parameters (scalars and tensors), inputs and states, forward and backward on CPU, both
backends; plus a gradcheck property for the float64 paths on small random shapes."""

import pytest
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    expect_clean_backward,
    has_nan,
    hostile_numbers,
    hostile_tensors,
    shapes,
    wrong_types,
)
from hypothesis import example, given
from hypothesis import strategies as st

from spikecore.nn import functional as SF
from spikecore.nn import surrogate as S
from spikecore.nn.celif import celif

BACKENDS = ["cpp", "torch"]


def _backward(out, *wrt):
    """(out, gradients of sum(out) w.r.t. the tensors of wrt that require one)."""
    z = out[0] if isinstance(out, tuple) else out
    need = [t for t in wrt if isinstance(t, torch.Tensor) and t.requires_grad]
    if not need or not z.requires_grad:
        return out, []
    return out, [g for g in torch.autograd.grad(z.sum(), need, allow_unused=True) if g is not None]


def _clean(call, names, inputs, entry, value=None):
    # gradients of a parameter beyond 1e9 may overflow float32 products (docs/nn.md "Bad input")
    return expect_clean_backward(call, names, inputs, entry, value)


OPS = {
    "lif": (
        lambda x, backend, **kw: SF.lif(x, backend=backend, **kw),
        ["beta", "v_threshold", "v_reset", "v_rest", "alpha"],
    ),
    "alif": (
        lambda x, backend, **kw: SF.alif(x, backend=backend, **kw),
        ["beta", "rho", "beta_a", "v_threshold", "v_reset", "v_rest", "alpha"],
    ),
    "noisy_lif": (
        lambda x, backend, **kw: SF.noisy_lif(
            x, backend=backend, generator=torch.Generator().manual_seed(0), **kw
        ),
        ["beta", "v_threshold", "v_reset", "v_rest", "sigma"],
    ),
    "leaky_integrator": (
        lambda x, backend, **kw: SF.leaky_integrator(x, backend=backend, **kw),
        ["beta", "v_rest"],
    ),
    "celif": (
        lambda x, backend, **kw: celif(x, x * 0.5, backend=backend, **kw),
        ["beta", "rho", "beta_a", "lambda_c", "gamma", "v_threshold", "alpha"],
    ),
    "celif-noise": (
        lambda x, backend, **kw: celif(
            x, x, noise="uniform", generator=torch.Generator().manual_seed(0), backend=backend, **kw
        ),
        ["sigma", "beta", "lambda_c"],
    ),
}


def _x(dtype=torch.float32):
    return (torch.rand(4, 2, 3, dtype=dtype) * 2.0).requires_grad_(True)


@pytest.mark.parametrize("op", sorted(OPS))
@FUZZ
@given(data=st.data(), value=hostile_numbers(), backend=st.sampled_from(BACKENDS))
def test_fuzz_op_scalar_parameters(op, backend, data, value):
    fn, params = OPS[op]
    name = data.draw(st.sampled_from(params), label="param")
    x = _x()
    _clean(
        lambda: _backward(fn(x, backend, **{name: value}), x),
        [name, "backend"],
        (),
        f"nn.functional.{op}({name}=...)",
        value,
    )


DECAY_SHAPES = st.sampled_from([(), (1,), (3,), (2, 3), (2,), (0,), (4, 2, 3)])


@pytest.mark.parametrize("op", ["lif", "alif", "noisy_lif", "leaky_integrator", "celif"])
@FUZZ
@given(beta=hostile_tensors(shape=DECAY_SHAPES), backend=st.sampled_from(BACKENDS))
def test_fuzz_op_tensor_decay(op, backend, beta):
    """A tensor decay (parametric LIF): any dtype, shape, layout, NaN / out of range."""
    fn, _ = OPS[op]
    x = _x()
    _clean(
        lambda: _backward(fn(x, backend, beta=beta), x, beta),
        ["beta", "backend"],
        beta,
        f"nn.functional.{op}(beta=tensor)",
    )


INPUTS = st.one_of(shapes(max_dims=4, max_side=4), st.sampled_from([(3, 2, 3), (2, 1, 3)]))


@pytest.mark.parametrize("op", sorted(OPS))
@FUZZ
@given(x=hostile_tensors(shape=INPUTS), backend=st.sampled_from(["auto", "torch"]))
def test_fuzz_op_input(op, backend, x):
    fn, _ = OPS[op]
    _clean(
        lambda: _backward(fn(x, backend), x),
        ["x", "current", "context", "backend"],
        x,
        f"nn.functional.{op}(x)",
    )


STATES = st.sampled_from([(2, 3), (3,), (), (2, 0), (1, 3)])


@pytest.mark.parametrize("op", ["lif", "noisy_lif", "leaky_integrator", "alif", "celif"])
@FUZZ
@given(v=hostile_tensors(shape=STATES), other=st.one_of(wrong_types(), st.just("pair")))
def test_fuzz_op_state(op, v, other):
    fn, _ = OPS[op]
    x = _x()
    if op == "alif":
        state = (v, v) if other == "pair" else other
        kw = {"state": state}
    elif op == "celif":
        kw = {"state": (v, v, v) if other == "pair" else other}
    else:
        kw = {"v": v}
    _clean(
        lambda: _backward(fn(x, "auto", **kw), x, v),
        ["state", "v", "a", "c"],
        v,
        f"nn.functional.{op}(state)",
    )


@FUZZ
@given(
    x=hostile_tensors(shape=st.sampled_from([(2, 3), (3,), (), (0, 3), (2, 4)])),
    w=hostile_tensors(shape=st.sampled_from([(2, 3), (3,), (0, 3), (2, 0)])),
    spike_input=st.sampled_from([True, False, "auto", "yes"]),
    backend=st.sampled_from(["auto", "torch", "cuda"]),
)
def test_fuzz_linear(x, w, spike_input, backend):
    _clean(
        lambda: _backward(SF.linear(x, w, spike_input=spike_input, backend=backend), x, w),
        ["x", "weight", "spike_input", "backend", "in_features"],
        (x, w),
        "nn.functional.linear",
    )


@FUZZ
@given(
    x=hostile_tensors(shape=st.sampled_from([(2, 4), (4,), ()]), dtypes=("float32", "float64")),
    pre=hostile_tensors(shape=st.sampled_from([(3,), (0,), (2,)]), dtypes=("int64", "int32")),
    post=st.sampled_from([[0, 1, 2], [2, 1, -1], [0, 0, 9], [5, 0, 0]]),
    out=st.one_of(st.sampled_from([3, 1, 0, -1, 2**40, 2**70, 2.5]), wrong_types()),
)
def test_fuzz_sparse_linear(x, pre, post, out):
    if pre.is_meta or pre.shape != (3,):
        post_t = torch.zeros(pre.shape, dtype=torch.int64) if not pre.is_meta else pre
    else:
        post_t = torch.tensor(post)
    values = torch.rand(pre.shape if not pre.is_meta else (3,), dtype=torch.float32)
    values.requires_grad_(True)
    _clean(
        lambda: _backward(SF.sparse_linear(x, values, pre, post_t, out), x, values),
        ["x", "values", "pre", "post", "out_features"],
        x,
        "nn.functional.sparse_linear",
    )


@FUZZ
@given(
    name=st.one_of(st.sampled_from(S.NAMES + ("relu", "ATAN")), wrong_types()),
    alpha=st.one_of(st.none(), hostile_numbers()),
    x=hostile_tensors(shape=shapes(max_dims=2, max_side=3)),
)
@example(name="atan", alpha=None, x=torch.tensor(0j))  # was NotImplementedError "ge_cpu"
def test_fuzz_surrogate_spike(name, alpha, x):
    _clean(
        lambda: _backward(SF.spike(x, S.get(name, alpha)), x),
        ["surrogate", "alpha", "x"],
        x,
        "nn.surrogate.get + spike",
    )


@FUZZ
@given(
    noise=st.one_of(st.sampled_from(S.NOISES + ("pink",)), wrong_types()),
    sigma=hostile_numbers(),
    shape=st.one_of(shapes(max_dims=2), st.just((2**40, 2**40))),
)
def test_fuzz_sample_noise(noise, sigma, shape):
    expect_clean(
        lambda: SF.sample_noise(noise, sigma, shape, generator=torch.Generator().manual_seed(0)),
        names=["noise", "sigma", "shape"],
        entry="nn.functional.sample_noise",
    )


@FUZZ
@given(tau=hostile_numbers())
def test_fuzz_tau_to_beta(tau):
    expect_clean(lambda: SF.tau_to_beta(tau), names=["tau"], entry="nn.functional.tau_to_beta")


# ---------------------------------------------------------------------------------- gradcheck
def _gradcheck_inputs(draw, shape):
    x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(draw))
    return (x * 0.7 + 0.2).requires_grad_(True)


GRADCHECK = {
    # smooth surrogates: the backward is the derivative of a fixed (forward-detached) graph
    "lif": lambda x, b: SF.lif(x, beta=b, surrogate="sigmoid", backend="cpp")[0],
    "lif-soft": lambda x, b: SF.lif(x, beta=b, v_reset=None, backend="cpp")[0],
    "alif": lambda x, b: SF.alif(x, beta=b, backend="cpp")[0],
    "leaky_integrator": lambda x, b: SF.leaky_integrator(x, beta=b, backend="cpp")[0],
    "celif": lambda x, b: celif(x, x.tanh(), beta=b, backend="cpp")[0],
    "linear": lambda x, b: SF.linear(
        x.relu(), b.expand(2, x.shape[-1]).contiguous(), backend="cpp"
    ),
}


@pytest.mark.parametrize("op", sorted(GRADCHECK))
@FUZZ
@given(
    seed=st.integers(0, 2**16),
    shape=st.tuples(st.integers(1, 3), st.integers(1, 2), st.integers(1, 3)),
    beta=st.floats(0.05, 0.95),
)
def test_gradcheck_float64(op, seed, shape, beta):
    """gradcheck of the fused float64 kernels against finite differences on small random
    shapes (the spike's forward is piecewise constant; finite differences see the surrogate's
    backward only where no membrane sits within eps of the threshold, so such draws are
    skipped)."""
    x = _gradcheck_inputs(seed, shape)
    b = torch.full(shape[1:], beta, dtype=torch.float64, requires_grad=True)
    fn = GRADCHECK[op]
    if op not in ("leaky_integrator", "linear"):
        # gradcheck needs an a.e.-differentiable forward: compare the kernel's backward
        # against the pure-torch reference's autograd instead of finite differences
        ref = {
            "lif": lambda: SF.lif(x, beta=b, surrogate="sigmoid", backend="torch")[0],
            "lif-soft": lambda: SF.lif(x, beta=b, v_reset=None, backend="torch")[0],
            "alif": lambda: SF.alif(x, beta=b, backend="torch")[0],
            "celif": lambda: celif(x, x.tanh(), beta=b, backend="torch")[0],
        }[op]
        w = torch.randn(shape, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
        got = torch.autograd.grad((fn(x, b) * w).sum(), (x, b))
        want = torch.autograd.grad((ref() * w).sum(), (x, b))
        for g, r in zip(got, want):
            torch.testing.assert_close(g, r, rtol=1e-9, atol=1e-10)
        assert not has_nan(got)
        return
    assert torch.autograd.gradcheck(lambda x_, b_: fn(x_, b_), (x, b), eps=1e-6, atol=1e-6)
