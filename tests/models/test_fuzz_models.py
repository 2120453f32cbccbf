"""Fuzzing of the public entries of spikecore.models (issue 20): HebbFF (the fused C++ plastic
recurrence and the modules), TeCoS-LVM and the neural-response baselines, the shared training
loop. Property of tests/fuzzing.py: a valid result without new NaN/inf, or ValueError /
TypeError / IndexError / MemoryError naming the argument."""

import numpy as np
import pytest
import torch
from fuzzing import (
    EXAMPLES,
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    hostile_numbers,
    shapes,
    wrong_types,
)
from hypothesis import example, given, settings
from hypothesis import strategies as st

from spikecore.models.hebbff import HebbFF, SpikingHebbFF, hebbff_plastic
from spikecore.models.neural_baselines import LNPoisson, McIntoshCNN
from spikecore.models.neural_fit import fit_neural, make_model, sample_trials
from spikecore.models.tecos import TeCoSLVM

# training and sampling calls are real work: a quarter of the examples
SLOW = settings(FUZZ, max_examples=max(5, EXAMPLES // 4))


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tensors(max_dims=4, max_side=4):
    """Hostile arrays as tensors (float / int / bool dtypes, strided views), or wrong types, or a
    meta tensor."""
    return st.one_of(
        hostile_arrays(shapes(max_dims, max_side)).map(lambda a: torch.from_numpy(np.array(a))),
        hostile_arrays(shapes(max_dims, max_side)),
        wrong_types(),
        st.just(torch.empty(2, 1, 3, device="meta")),
    )


def _ok_hebbff(T=3, B=2, d=3, N=4, dtype=torch.float32):
    g = torch.Generator().manual_seed(0)
    return (
        torch.randn(T, B, d, generator=g, dtype=dtype),
        torch.randn(N, d, generator=g, dtype=dtype),
        torch.zeros(N, dtype=dtype),
    )


@FUZZ
@given(
    which=st.sampled_from(["x", "W1", "b1"]),
    v=tensors(),
    backend=st.sampled_from(["auto", "cpp", "torch", "x"]),
)
@example(which="W1", v=torch.zeros(0, 3), backend="auto")  # the error named only b1
@example(which="x", v=torch.zeros(0, 0, 0), backend="auto")  # the error named only W1
def test_fuzz_hebbff_plastic_tensors(which, v, backend):
    args = dict(zip(["x", "W1", "b1"], _ok_hebbff()))
    args[which] = v
    expect_clean(
        lambda: hebbff_plastic(**args, eta=-0.1, lam=0.9, backend=backend),
        names=[which, "backend", "x"],
        inputs=(v,),
    )


@FUZZ
@given(
    eta=st.one_of(hostile_numbers(), tensors(1, 2)),
    lam=st.one_of(hostile_numbers(), tensors(1, 2)),
    n_threads=st.one_of(st.integers(-1, 3), hostile_ints(), wrong_types()),
    grad=st.booleans(),
)
def test_fuzz_hebbff_plastic_scalars(eta, lam, n_threads, grad):
    x, W1, b1 = _ok_hebbff(dtype=torch.float64)
    W1.requires_grad_(grad)

    def call():
        a = hebbff_plastic(x, W1, b1, eta, lam, n_threads=n_threads)
        if grad:
            a.sum().backward()
            return a, W1.grad
        return a

    expect_clean(call, names=["eta", "lam", "n_threads"], inputs=(eta, lam))


@FUZZ
@given(
    which=st.sampled_from(["d", "N", "plasticity", "eta0", "lam0", "backend", "n_threads", "seed"]),
    v=st.one_of(hostile_numbers(), st.sampled_from(["anti", "hebb", "free", "x"])),
    x=tensors(),
    spiking=st.booleans(),
)
def test_fuzz_hebbff_module(which, v, x, spiking):
    kw = dict(d=3, N=4, seed=0)
    kw[which] = v
    cls = SpikingHebbFF if spiking else HebbFF
    m = expect_clean(lambda: cls(**kw), names=[which, "n", "d"], inputs=(v,))
    if isinstance(m, torch.nn.Module):
        with torch.no_grad():
            expect_clean(lambda: m(x), names=["x"], inputs=(x, v))


@FUZZ
@given(
    frame_shape=st.one_of(
        st.tuples(hostile_ints(), hostile_ints()),
        wrong_types(),
        st.just((8, 8)),
        st.just((8, 8, 1)),
    ),
    n_neurons=st.one_of(st.integers(-1, 3), hostile_ints(), wrong_types()),
    name=st.sampled_from(["tecos", "tecos_lif", "ln", "glm", "cnn", "x"]),
)
def test_fuzz_make_model(frame_shape, n_neurons, name):
    expect_clean(
        lambda: make_model(name, frame_shape, n_neurons),
        names=["frame_shape", "n_neurons", "name", "kernels", "window"],
    )


def _data(T=40, n=2):
    rng = np.random.default_rng(0)
    return rng.normal(size=(T, 8, 8)).astype(np.float32), rng.poisson(0.2, (T, n)).astype(
        np.float32
    )


MODELS = {
    "tecos": lambda: TeCoSLVM((8, 8), 2, hidden=8, latent=4, channels=(2, 2)),
    "ln": lambda: LNPoisson((8, 8), 2, window=3),
    "cnn": lambda: McIntoshCNN((8, 8), 2, window=3, channels=(2, 2), kernels=(3, 3)),
}


@SLOW
@given(
    model=st.sampled_from(sorted(MODELS)),
    which=st.sampled_from(
        [
            "stim",
            "resp",
            "chunk",
            "steps",
            "batch",
            "lr",
            "weight_decay",
            "seed",
            "log_every",
            "model",
        ]
    ),
    v=st.one_of(hostile_numbers(), hostile_arrays(shapes(3, 5)), st.integers(-1, 3)),
)
def test_fuzz_fit_neural(model, which, v):
    stim, resp = _data()
    kw = dict(stim=stim, resp=resp, chunk=5, steps=2, batch=2, log=lambda s: None, log_every=1)
    m = MODELS[model]()
    if which == "model":
        m = v
    else:
        kw[which] = v
    if which == "steps" and isinstance(v, int) and v > 3:
        kw["steps"] = 3  # a large count is real work, not a bad input
    expect_clean(lambda: fit_neural(m, **kw), names=[which, "stim", "resp"], inputs=(v,))


@SLOW
@given(
    model=st.sampled_from(sorted(MODELS)),
    stim=st.one_of(hostile_arrays(shapes(3, 8)), st.just(_data()[0])),
    n_trials=st.one_of(st.integers(-1, 3), hostile_ints(), wrong_types()),
    seed=st.one_of(st.integers(-1, 3), hostile_ints(), wrong_types()),
    chunk=st.one_of(st.none(), st.integers(-1, 12), wrong_types()),
)
def test_fuzz_sample_trials(model, stim, n_trials, seed, chunk):
    m = MODELS[model]()
    with torch.no_grad():
        expect_clean(
            lambda: sample_trials(m, stim, n_trials, seed, chunk),
            names=["stim", "x", "n_trials", "seed", "chunk"],
            inputs=(stim,),
        )


@SLOW
@given(model=st.sampled_from(sorted(MODELS)), x=tensors(4, 10), y=tensors(3, 6))
def test_fuzz_model_loss(model, x, y):
    m = MODELS[model]()
    expect_clean(lambda: m.loss(x, y), names=["x", "y"], inputs=(x, y))
