"""Fuzzing of the spikecore.nn layers (issue 20): Linear, SparseLinear (prune / regrow, the ESL
structure ops), SparseConv2d, DendriticLinear and the nn.parallel helpers: hostile sizes,
parameters, inputs, forward and backward on CPU."""

import pytest
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    expect_clean_backward,
    hostile_numbers,
    hostile_tensors,
    sizes,
    wrong_types,
)
from hypothesis import given
from hypothesis import strategies as st

from spikecore import nn as snn
from spikecore.nn import parallel
from spikecore.nn.dendritic import DendriticLinear


def _forward_backward(layer, x):
    """(output, gradients of sum(output) w.r.t. x and the layer's parameters)."""
    y = layer(x)
    wrt = [t for t in (x, *layer.parameters()) if t.requires_grad]
    if not y.requires_grad or not wrt:
        return y, []
    return y, [g for g in torch.autograd.grad(y.sum(), wrt, allow_unused=True) if g is not None]


_clean = expect_clean_backward


def _size_value():
    return st.one_of(sizes(small=8), wrong_types(), st.booleans(), st.just(2.0))


LAYERS = {
    "Linear": (lambda **kw: snn.Linear(**{"in_features": 3, "out_features": 2, **kw}), 3),
    "SparseLinear": (
        lambda **kw: snn.SparseLinear(
            **{"in_features": 3, "out_features": 2, "density": 0.5, **kw}
        ),
        3,
    ),
    "SparseConv2d": (
        lambda **kw: snn.SparseConv2d(
            **{"in_channels": 2, "out_channels": 2, "kernel_size": 2, "density": 0.5, **kw}
        ),
        None,
    ),
    "DendriticLinear": (
        lambda **kw: DendriticLinear(**{"in_features": 4, "out_features": 2, "branches": 2, **kw}),
        4,
    ),
}
LAYER_PARAMS = {
    "Linear": ["in_features", "out_features", "spike_input", "backend"],
    "SparseLinear": ["in_features", "out_features", "density", "seed", "spike_input"],
    "SparseConv2d": [
        "in_channels",
        "out_channels",
        "kernel_size",
        "stride",
        "padding",
        "density",
        "seed",
        "product",
    ],
    "DendriticLinear": [
        "in_features",
        "out_features",
        "branches",
        "branch_fan_in",
        "seed",
        "nonlinearity",
        "subsets",
    ],
}
NUMERIC = {"density"}


def _x_for(name, dtype=torch.float32):
    if name == "SparseConv2d":
        return torch.rand(2, 2, 4, 4, dtype=dtype).requires_grad_(True)
    return torch.rand(3, 2, LAYERS[name][1], dtype=dtype).requires_grad_(True)


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ
@given(data=st.data())
def test_fuzz_layer_parameters(name, data):
    factory, _ = LAYERS[name]
    param = data.draw(st.sampled_from(LAYER_PARAMS[name]), label="param")
    value = data.draw(hostile_numbers() if param in NUMERIC else _size_value(), label="value")
    layer = expect_clean(
        lambda: factory(**{param: value}),
        [param, "in_features", "out_features"],
        entry=f"nn.{name}({param}=...)",
    )
    if isinstance(layer, BaseException):
        return
    # a valid value can make the fixed input no longer fit the layer (a kernel larger than the
    # 4x4 image, in_channels=1): that error names the input
    _clean(
        lambda: _forward_backward(layer, _x_for(name)),
        [param, "in_features", "out_features", "x:"],
        (),
        f"nn.{name}({param}=...).forward",
    )


SHAPES = st.sampled_from([(3, 2, 3), (2, 3), (3,), (), (0, 3), (2, 0), (2, 2, 4, 4), (1, 2, 4, 4)])
SHAPES = st.one_of(SHAPES, st.sampled_from([(2, 4), (1, 2, 1, 1), (2, 3, 4, 4)]))


@pytest.mark.parametrize("name", sorted(LAYERS))
@FUZZ
@given(x=hostile_tensors(shape=SHAPES))
def test_fuzz_layer_input(name, x):
    torch.manual_seed(0)
    layer = LAYERS[name][0](seed=0) if name != "Linear" else LAYERS[name][0]()
    _clean(
        lambda: _forward_backward(layer, x),
        ["x", "in_features", "in_channels", "weight"],
        x,
        f"nn.{name}.forward(x)",
    )


@FUZZ
@given(
    op=st.sampled_from(["prune", "regrow", "regrow_gradient"]),
    amount=st.one_of(hostile_numbers(), sizes(small=12)),
    mode=st.one_of(st.sampled_from(["magnitude", "random", "gradient", "top"]), wrong_types()),
    init=hostile_numbers(),
    grad=hostile_tensors(shape=st.sampled_from([(2, 3), (3, 2), ()]), layouts=("contiguous",)),
)
def test_fuzz_sparse_prune_regrow(op, amount, mode, init, grad):
    """The ESL structure ops of SparseLinear: prune(fraction) and regrow(count) with hostile
    amounts, modes, init values and gradients; the layer still runs forward and backward."""
    layer = snn.SparseLinear(3, 2, density=0.5, seed=1)

    def call():
        if op == "prune":
            layer.prune(amount, mode=mode)
        elif op == "regrow":
            layer.regrow(amount, mode=mode, init=init)
        else:
            layer.regrow(amount, mode="gradient", init=init, grad=grad)
        assert layer.pre.numel() == layer.nnz == layer.weight.numel()
        return _forward_backward(layer, torch.rand(2, 3))

    _clean(
        call,
        ["fraction", "count", "mode", "init", "grad"],
        (init, grad),
        f"nn.SparseLinear.{op}",
    )


@FUZZ
@given(subsets=hostile_tensors(shape=st.sampled_from([(2, 2, 2), (2, 2), (2, 2, 0), (2, 2, 9)])))
def test_fuzz_dendritic_subsets(subsets):
    _clean(
        lambda: _forward_backward(
            DendriticLinear(4, 2, branches=2, subsets=subsets), torch.rand(3, 4)
        ),
        ["subsets"],
        (),
        "nn.DendriticLinear(subsets=tensor)",
    )


@FUZZ
@given(
    L=st.one_of(st.none(), sizes(), wrong_types()), C=st.one_of(st.none(), sizes(), wrong_types())
)
def test_fuzz_parallel_threads(L, C):
    expect_clean(
        lambda: parallel.threads_per_rank(L, C),
        names=["local_world_size", "cores"],
        entry="nn.parallel.threads_per_rank",
        check_result=lambda n: isinstance(n, int) and n >= 1,
    )


@FUZZ
@given(t=hostile_tensors(), model=st.one_of(st.just("lif"), wrong_types()))
def test_fuzz_parallel_helpers(t, model):
    """Without torch.distributed: average_across_ranks returns its input; the fingerprint of a
    module (or a clear TypeError for anything else)."""
    assert parallel.average_across_ranks(t) is t
    target = torch.nn.Sequential(snn.Linear(2, 2), snn.LIF()) if model == "lif" else model
    expect_clean(
        lambda: parallel.replica_fingerprint(target),
        names=["model"],
        entry="nn.parallel.replica_fingerprint",
    )
