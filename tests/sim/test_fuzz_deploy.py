"""Fuzzing of ``spikecore.sim.from_torch`` and the deployed models' ``run`` (issue 20): bad
modules, shapes, thread counts and inputs give a result or ValueError / TypeError / IndexError /
MemoryError naming the argument (the harness's property, tests/fuzzing.py)."""

import numpy as np
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_arrays,
    hostile_ints,
    shapes,
    wrong_types,
)
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

import spikecore.nn as snn
from spikecore.sim import from_torch


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(snn.Linear(4, 3), snn.LIF(), snn.Linear(3, 2), snn.LeakyIntegrator())


MODELS = {
    "mlp": _mlp,
    "empty": lambda: nn.Sequential(),
    "linear only": lambda: nn.Sequential(snn.Linear(4, 3)),
    "neuron only": lambda: nn.Sequential(snn.LIF()),
    "two linears": lambda: nn.Sequential(snn.Linear(4, 3), snn.Linear(3, 2), snn.LIF()),
    "relu": lambda: nn.Sequential(nn.Linear(4, 3), nn.ReLU()),
    "conv": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), snn.LIF()),
    "maxpool": lambda: nn.Sequential(nn.Conv2d(1, 2, 3), snn.LIF(), nn.MaxPool2d(2), snn.LIF()),
    "module": lambda: snn.LIF(),
    "not a module": lambda: [snn.Linear(4, 3), snn.LIF()],
    "string": lambda: "model",
    "none": lambda: None,
}


@FUZZ
@given(
    model=st.sampled_from(sorted(MODELS)),
    n_threads=st.one_of(st.just(1), hostile_ints(), wrong_types()),
    input_shape=st.one_of(
        st.none(),
        shapes(4, 9),
        st.tuples(hostile_ints(), hostile_ints()),
        wrong_types(),
        hostile_ints(),
    ),
)
def test_fuzz_from_torch(model, n_threads, input_shape):
    m = MODELS[model]()

    def call():
        dep = from_torch(m, n_threads=n_threads, input_shape=input_shape)
        return dep.run(np.ones((3, dep.n_in), np.float32)).output

    expect_clean(call, ["model", "n_threads", "input_shape", "spikes", "layer"])


_DEP = {}


def _deployed():
    if "mlp" not in _DEP:
        _DEP["mlp"] = from_torch(_mlp())
    return _DEP["mlp"]


@FUZZ
@given(
    spikes=st.one_of(
        hostile_arrays(shapes(3, 5)),
        hostile_arrays(st.sampled_from([(3, 4), (2, 1, 4), (0, 4), (1, 4)])),
        wrong_types(),
    )
)
def test_fuzz_deployed_run(spikes):
    dep = _deployed()

    def call():
        r = dep.run(spikes)
        return r.output, r.spikes

    expect_clean(call, ["spikes"], inputs=spikes)


_CONV = {}


def _converted():
    if "snn" not in _CONV:
        from spikecore.convert import QCFS, convert

        torch.manual_seed(0)
        ann = nn.Sequential(
            nn.Conv2d(1, 2, 3, padding=1), QCFS(4, 2.0), nn.Flatten(), nn.Linear(32, 3)
        ).eval()
        snn_ = convert(ann, T=4)
        _CONV["snn"] = snn_
        _CONV["dep"] = from_torch(snn_, input_shape=(1, 4, 4))
    return _CONV["snn"], _CONV["dep"]


@FUZZ
@given(
    image=st.one_of(
        hostile_arrays(st.sampled_from([(1, 4, 4), (1, 1, 4, 4), (4, 4), (1, 4, 5), (0,)])),
        wrong_types(),
    )
)
def test_fuzz_converted_run(image):
    _, dep = _converted()

    def call():
        r = dep.run(image)
        return r.output, r.spikes

    expect_clean(call, ["image"], inputs=image)


@FUZZ
@given(
    input_shape=st.one_of(
        st.tuples(hostile_ints(), hostile_ints(), hostile_ints()),
        shapes(4, 6),
        wrong_types(),
    ),
    n_threads=st.one_of(st.just(1), hostile_ints()),
)
def test_fuzz_converted_deploy(input_shape, n_threads):
    snn_, _ = _converted()

    def call():
        return from_torch(snn_, input_shape=input_shape, n_threads=n_threads).n_synapses

    expect_clean(call, ["input_shape", "n_threads", "model", "image"])
