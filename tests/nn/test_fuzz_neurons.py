"""Fuzzing of every spikecore.nn neuron module (issue 20): hostile parameters, inputs and
states, forward and backward on CPU, through the one harness (tests/fuzzing.py)."""

import math

import pytest
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    expect_clean_backward,
    hostile_numbers,
    hostile_tensors,
    shapes,
    sizes,
    wrong_types,
)
from hypothesis import assume, given
from hypothesis import strategies as st

from spikecore import nn as snn
from spikecore.nn.conversion import IFNeuron, STDINeuron
from spikecore.nn.dendritic import DendriticLIF
from spikecore.nn.qcfs import QCFS


def size_values():
    return st.one_of(sizes(), wrong_types(), st.booleans(), st.sampled_from([2.0, float("nan")]))


# name -> (factory(**params), its numeric parameters, features the input's last dim must have)
MODULES = {
    "LIF": (snn.LIF, ["tau", "v_threshold", "v_reset", "v_rest", "alpha"], None),
    "ParametricLIF": (
        snn.ParametricLIF,
        ["tau", "v_threshold", "v_reset", "v_rest", "alpha", "channels"],
        None,
    ),
    "AdaptiveLIF": (
        snn.AdaptiveLIF,
        ["tau", "tau_a", "beta_a", "v_threshold", "v_reset", "v_rest", "alpha"],
        None,
    ),
    "NoisyLIF": (snn.NoisyLIF, ["tau", "v_threshold", "v_reset", "v_rest", "sigma"], None),
    "LeakyIntegrator": (snn.LeakyIntegrator, ["tau", "v_rest"], None),
    "CELIF": (
        lambda **kw: snn.CELIF(3, 2, **kw),
        ["beta", "rho", "beta_a", "lambda_c", "gamma", "v_threshold", "context_scale", "alpha"],
        3,
    ),
    "CELIF-noise": (
        lambda **kw: snn.CELIF(3, 2, noise="logistic", **kw),
        ["sigma", "beta", "gamma", "v_threshold"],
        3,
    ),
    "CELIF-shared": (
        lambda **kw: snn.CELIF(3, 3, context="shared", **kw),
        ["beta", "rho", "lambda_c", "gamma"],
        3,
    ),
    "DendriticLIF": (
        lambda **kw: DendriticLIF(**{"in_features": 4, "out_features": 2, "branches": 2, **kw}),
        ["tau", "v_threshold", "v_reset", "alpha", "branches", "branch_fan_in", "in_features"],
        4,
    ),
    "DendriticLIF-noise": (
        lambda **kw: DendriticLIF(4, 2, branches=2, noise="gaussian", **kw),
        ["sigma", "tau", "v_threshold"],
        4,
    ),
    "Recurrent": (
        lambda **kw: snn.Recurrent(**{"in_features": 3, "out_features": 2, **kw}),
        ["recurrent_density", "in_features", "out_features", "seed"],
        3,
    ),
    "Recurrent-ALIF": (
        lambda **kw: snn.Recurrent(3, 2, snn.AdaptiveLIF(**kw)),
        ["tau", "tau_a", "beta_a", "v_threshold"],
        3,
    ),
    "IFNeuron": (IFNeuron, ["v_threshold", "v0", "negative_slope"], None),
    "STDINeuron": (STDINeuron, ["v_threshold", "delay", "negative_slope"], None),
    "QCFS": (QCFS, ["levels", "lam", "negative_slope"], None),
}


SIZES = {"channels", "branches", "branch_fan_in", "in_features", "out_features", "levels", "delay"}


def _grads(module, out, *inputs):
    """(output, gradients of sum(out) w.r.t. the inputs and parameters that get one)."""
    if not isinstance(out, torch.Tensor) or not out.requires_grad:
        return out, []
    wrt = [t for t in (*inputs, *module.parameters()) if t.requires_grad]
    g = torch.autograd.grad(out.sum(), wrt, allow_unused=True)
    return out, [x for x in g if x is not None]


def _run(module, x, features, state=None):
    if isinstance(module, QCFS):
        return _grads(module, module(x), x)
    out = module(x, state=state) if state is not None else module(x)
    return _grads(module, out, x)


def _input(features, dtype=torch.float32, T=3):
    f = 4 if features is None else features
    return (torch.rand(T, 2, f, dtype=dtype) * 2.0).requires_grad_(True)


@pytest.mark.parametrize("name", sorted(MODULES))
@FUZZ
@given(data=st.data(), dtype=st.sampled_from([torch.float32, torch.float64]))
def test_fuzz_module_parameters(name, data, dtype):
    """Each numeric parameter given a hostile value: a clear error naming it, or a module whose
    forward on finite input is finite and whose gradients hold no NaN."""
    factory, params, features = MODULES[name]
    param = data.draw(st.sampled_from(params), label="param")
    value = data.draw(size_values() if param in SIZES else hostile_numbers(), label="value")

    def call():
        m = factory(**{param: value})
        if dtype == torch.float64:
            m = m.double()
        return _run(m, _input(features, dtype), features)

    # gradients of a parameter beyond 1e9 may overflow float32 products (docs/nn.md "Bad input")
    expect_clean_backward(call, [param], (), f"nn.{name}({param}=...)", value)


INPUT_SHAPES = st.one_of(shapes(max_dims=4, max_side=4), st.sampled_from([(2, 1, 3), (3, 2, 4)]))


@pytest.mark.parametrize("name", sorted(MODULES))
@FUZZ
@given(x=hostile_tensors(shape=INPUT_SHAPES))
def test_fuzz_module_input(name, x):
    """Hostile inputs x (dtypes, 0-sized and 0-d shapes, non-contiguous, stride-0, meta,
    NaN/inf): a clear error naming x (or the shape it must match), or a finite result and
    finite gradients where x was finite."""
    factory, _, features = MODULES[name]
    torch.manual_seed(0)
    m = factory()
    expect_clean_backward(
        lambda: _run(m, x, features),
        names=["x", "z", "in_features", "channels", "shape"],
        inputs=x,
        entry=f"nn.{name}.forward(x)",
    )


STATEFUL = {
    "LIF": lambda s: snn.LIFState(s),
    "ParametricLIF": lambda s: snn.LIFState(s),
    "NoisyLIF": lambda s: s,
    "LeakyIntegrator": lambda s: snn.LIFState(s),
    "AdaptiveLIF": lambda s: snn.ALIFState(s, s),
    "CELIF": lambda s: snn.CELIFState(s, s, s),
}


@pytest.mark.parametrize("name", sorted(STATEFUL))
@FUZZ
@given(s=hostile_tensors(shape=st.sampled_from([(2, 4), (2, 2), (4,), (), (2, 0)])))
def test_fuzz_module_state(name, s):
    """Hostile initial states: a clear error naming the state, or finite results."""
    factory, _, features = MODULES[name]
    m = factory()
    x = _input(features)
    expect_clean_backward(
        lambda: _run(m, x, features, state=STATEFUL[name](s)),
        names=["state", "v", "a", "c"],
        inputs=s,
        entry=f"nn.{name}.forward(state=...)",
    )


@FUZZ
@given(w=hostile_tensors(shape=st.just(()), dtypes=("float32",), layouts=("contiguous",)))
def test_fuzz_parametric_lif_weight(w):
    """A trained ParametricLIF whose decay logit became NaN/inf: clear error, never NaN out."""
    m = snn.ParametricLIF()
    with torch.no_grad():
        m.w.copy_(w.detach())
    expect_clean_backward(
        lambda: _run(m, _input(None), None),
        names=["w", "beta"],
        inputs=(),
        entry="nn.PLIF(w)",
    )


@FUZZ
@given(t=hostile_tensors(shape=shapes(max_dims=1, max_side=3), layouts=("contiguous",)))
def test_fuzz_conversion_threshold(t):
    """Per-channel thresholds of the conversion neurons: clear error naming v_threshold."""
    for cls in (IFNeuron, STDINeuron):
        expect_clean_backward(
            lambda cls=cls: _run(cls(v_threshold=t), torch.rand(3, 2, 3), None),
            names=["v_threshold"],
            inputs=(),
            entry=f"nn.{cls.__name__}(v_threshold=tensor)",
        )


@pytest.mark.parametrize("name", ["LIF", "CELIF", "Recurrent"])
@FUZZ
@given(
    T=st.integers(1, 3),
    sides=st.lists(st.sampled_from([1, 2, 3, 2**31, 2**40]), min_size=1, max_size=3),
)
def test_fuzz_huge_expanded_input(name, T, sides):
    """A stride-0 view of one value standing for a huge input: MemoryError naming x before the
    full-size results are allocated, or a result where they fit."""
    factory, _, features = MODULES[name]
    shape = (T, *sides[:-1], features or sides[-1])
    assume(math.prod(shape) < 2**62)  # torch's own limit for a view
    x = torch.zeros(1).expand(shape)
    expect_clean(lambda: factory()(x), names=["x"], inputs=(), entry=f"nn.{name}(expanded huge x)")
