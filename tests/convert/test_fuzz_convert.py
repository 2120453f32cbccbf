"""Fuzzing of spikecore.convert (issue 20): convert() arguments, calibration sets, model weights,
the converted network's inputs and set_T, and the small helpers, through the one harness."""

import pytest
import torch
from fuzzing import (
    FUZZ,
    expect_clean,
    hostile_numbers,
    hostile_tensors,
    sizes,
    wrong_types,
)
from hypothesis import example, given
from hypothesis import strategies as st

from spikecore import convert as C


def _ann(qcfs=False):
    torch.manual_seed(0)
    act = C.QCFS(levels=7) if qcfs else torch.nn.ReLU()
    return torch.nn.Sequential(torch.nn.Linear(3, 4), act, torch.nn.Linear(4, 2)).eval()


CAL = torch.rand(8, 3)
ARGS = {
    "T": st.one_of(sizes(small=40), wrong_types()),
    "coding": st.one_of(st.sampled_from(["stdi", "rate", "STDI", ""]), wrong_types()),
    "threshold": st.one_of(st.just("max"), hostile_numbers()),
    "maxpool": st.one_of(st.sampled_from(["auto", "gate", "avg", "max"]), wrong_types()),
    "delay": st.one_of(st.none(), sizes(small=8), wrong_types()),
    "v0": hostile_numbers(),
    "backend": st.one_of(st.sampled_from(["auto", "cpp", "torch", "cuda"]), wrong_types()),
    "per_channel": st.one_of(st.booleans(), wrong_types()),
    "rounding": st.one_of(st.booleans(), wrong_types()),
}


@FUZZ
@given(data=st.data(), qcfs=st.booleans())
def test_fuzz_convert_arguments(data, qcfs):
    param = data.draw(st.sampled_from(sorted(ARGS)), label="param")
    value = data.draw(ARGS[param], label="value")

    def call():
        snn = C.convert(_ann(qcfs), CAL, **{param: value})
        return snn(torch.rand(2, 3))

    expect_clean(call, names=[param, "T", "delay"], entry=f"convert.convert({param}=...)")


@FUZZ
@given(
    cal=st.one_of(
        hostile_tensors(shape=st.sampled_from([(4, 3), (0, 3), (4, 2), (3,), ()])), wrong_types()
    )
)
def test_fuzz_convert_calibration(cal):
    expect_clean(
        lambda: C.convert(_ann(), cal)(torch.rand(2, 3)),
        names=["calibration", "x", "input"],
        entry="convert.convert(calibration=...)",
    )


@FUZZ
@given(w=hostile_tensors(shape=st.just((4, 3)), dtypes=("float32",), layouts=("contiguous",)))
def test_fuzz_convert_weights(w):
    """A model whose weights hold NaN / inf / huge values: a clear error naming the model or
    the calibration (whose activations then overflow), or a finite network."""
    ann = _ann()
    with torch.no_grad():
        ann[0].weight.copy_(w.detach())

    expect_clean(
        lambda: C.convert(ann, CAL)(torch.rand(2, 3)),
        names=["model", "calibration", "weight"],
        inputs=w,
        entry="convert.convert(model with hostile weights)",
    )


@pytest.mark.parametrize("coding", ["stdi", "rate"])
@FUZZ
@given(
    x=hostile_tensors(shape=st.sampled_from([(2, 3), (4, 2, 3), (3,), (), (0, 3), (2, 4)])),
    time_first=st.booleans(),
    T=st.one_of(st.none(), sizes(small=30), wrong_types()),
)
@example(x=torch.zeros(2, 3), time_first=False, T=2**63 - 1)  # torch's numel overflowed
def test_fuzz_spiking_network(coding, x, time_first, T):
    snn = C.convert(_ann(), CAL, T=4, coding=coding)

    def call():
        if T is not None:
            snn.set_T(T)
        return snn(x, time_first=time_first)

    expect_clean(call, names=["x", "T"], inputs=x, entry=f"convert.SpikingNetwork({coding})")


@FUZZ
@given(levels=st.one_of(sizes(), wrong_types(), hostile_numbers()))
def test_fuzz_helpers(levels):
    expect_clean(lambda: C.is_lossless_T(levels), names=["levels"], entry="convert.is_lossless_T")
    expect_clean(lambda: C.levels_for(levels), names=["T"], entry="convert.levels_for")
    lam = torch.tensor(1.0)
    expect_clean(lambda: C.stdi_threshold(lam, levels), names=["T"], entry="convert.stdi_threshold")


# ------------------------------------------------------------------------------ building blocks
@FUZZ
@given(
    lam=hostile_tensors(shape=st.sampled_from([(), (3,), (0,), (2, 3)]), requires_grad=False),
    T=st.one_of(sizes(small=6), wrong_types()),
    coding=st.one_of(st.sampled_from(["stdi", "rate", "x"]), wrong_types()),
    x=hostile_tensors(shape=st.sampled_from([(4, 3), (6, 3), (3,), (), (0, 3), (8, 2, 3)])),
)
@example(lam=torch.tensor(1.0), T=0, coding="rate", x=torch.zeros(0, 3))  # torch reshape error
@example(lam=torch.tensor(1.0), T=4, coding="rate", x=torch.zeros(6, 3))  # 6 not a multiple of 4
def test_fuzz_spiking_activation(lam, T, coding, x):
    """A converted activation built by hand: its spike values on a time-folded input [T B, ...],
    or a clear error naming the argument."""

    def call():
        act = C.SpikingActivation(lam, T, coding)
        return act(x)

    expect_clean(
        call,
        names=["lam", "T", "coding", "x:", "v_threshold", "threshold"],
        inputs=(lam, x),
        entry="convert.SpikingActivation",
    )


@FUZZ
@given(
    kernel=st.sampled_from([1, 2, 3, (2, 1)]),
    T=st.one_of(sizes(small=6), wrong_types()),
    mode=st.one_of(st.sampled_from(["stdi", "gate", "x"]), wrong_types()),
    x=hostile_tensors(
        shape=st.sampled_from([(4, 2, 4, 4), (6, 1, 3, 3), (4, 4, 4), (0, 2, 4, 4), (4, 2, 1, 1)])
    ),
)
@example(kernel=1, T=0, mode="stdi", x=torch.zeros(0, 2, 4, 4))  # torch reshape error
@example(kernel=2, T=2, mode="stdi", x=torch.zeros(4, 2, 1, 1))  # torch "Output size is too small"
@example(kernel=1, T=2, mode="stdi", x=torch.zeros(4, 2, 4, 4, dtype=torch.complex64))
def test_fuzz_spike_maxpool(kernel, T, mode, x):
    def call():
        pool = C.SpikeMaxPool2d(torch.nn.MaxPool2d(kernel), T, mode)
        return pool(x)

    expect_clean(
        call, names=["T", "mode", "x:", "kernel"], inputs=x, entry="convert.SpikeMaxPool2d"
    )


@FUZZ
@given(
    names=st.one_of(st.sampled_from([["1"], ["0"], ["9"], [], ["1", "1"]]), wrong_types()),
    cal=st.one_of(hostile_tensors(shape=st.sampled_from([(8, 3), (0, 3), (8, 2)])), wrong_types()),
    threshold=st.one_of(st.sampled_from(["max", "min"]), hostile_numbers()),
    per_channel=st.one_of(st.booleans(), wrong_types()),
)
@example(names=None, cal=torch.rand(8, 3), threshold="max", per_channel=False)  # not iterable
@example(names=b"1", cal=torch.rand(8, 3), threshold="max", per_channel=False)  # int.split
@example(names=["9"], cal=torch.rand(8, 3), threshold="max", per_channel=False)  # AttributeError
def test_fuzz_calibrate(names, cal, threshold, per_channel):
    expect_clean(
        lambda: C.calibrate(_ann(), names, cal, threshold=threshold, per_channel=per_channel),
        names=["names", "calibration", "threshold", "per_channel"],
        inputs=cal,
        entry="convert.calibrate",
    )
