"""Fuzzing of the activity counters of spikecore.nn (issue 20): ActivityMonitor (construction,
hooks on every counted layer kind, reset / remove) and count_synops, through the one harness
(tests/fuzzing.py). Counters are exact integers >= 0; rates lie in [0, 1] for 0/1 spikes."""

import math

import pytest
import torch
from fuzzing import FUZZ, expect_clean, hostile_tensors, wrong_types
from hypothesis import given
from hypothesis import strategies as st

from spikecore import nn as snn
from spikecore.nn.dendritic import DendriticLinear


def _models():
    return {
        "linear-lif": lambda: torch.nn.Sequential(snn.Linear(4, 3), snn.LIF()),
        "sparse-lif": lambda: torch.nn.Sequential(
            snn.SparseLinear(4, 3, density=0.5, seed=0), snn.LIF()
        ),
        "dendritic-lif": lambda: torch.nn.Sequential(
            DendriticLinear(4, 3, branches=2, seed=0), snn.LIF()
        ),
        "torch-linear": lambda: torch.nn.Linear(4, 3),
        "conv1d": lambda: torch.nn.Conv1d(2, 3, 2, padding=1),
        "conv2d": lambda: torch.nn.Conv2d(2, 3, 2, stride=2, padding="valid"),
        "conv2d-circular": lambda: torch.nn.Conv2d(2, 3, 3, padding=1, padding_mode="circular"),
        "sparse-conv": lambda: torch.nn.Sequential(
            snn.SparseConv2d(2, 3, 2, density=0.5, seed=0), snn.LIF()
        ),
    }


MODELS = _models()
TORCH_ONLY = {"torch-linear", "conv1d", "conv2d", "conv2d-circular"}
XSHAPES = st.sampled_from(
    [(3, 2, 4), (2, 4), (4,), (), (0, 2, 4), (3, 0, 4), (2, 2, 5), (2, 2, 4, 4), (3, 2, 2, 4, 4)]
)


def _check_summary(s):
    assert isinstance(s["total_synops"], int) and s["total_synops"] >= 0
    assert isinstance(s["total_spikes"], int) and s["total_spikes"] >= 0
    for v in list(s["synops"].values()) + list(s["spike_counts"].values()):
        assert isinstance(v, int) and v >= 0, s
    for r in s["firing_rates"].values():
        assert math.isfinite(r) and r >= 0.0, s


@pytest.mark.parametrize("kind", sorted(MODELS))
@FUZZ
@given(
    x=st.one_of(
        hostile_tensors(shape=XSHAPES, layouts=("contiguous", "strided", "expanded", "meta")),
        wrong_types(),
    )
)
def test_fuzz_count_synops(kind, x):
    """count_synops of a small model on a hostile input: exact non-negative counts or a clear
    error naming the input (or the layer's own argument)."""
    model = MODELS[kind]()
    if kind in TORCH_ONLY:
        # a plain torch model raises torch's own errors on inputs it cannot take: count_synops
        # must pass them through unchanged and add none of its own (its hooks never fail)
        try:
            with torch.no_grad():
                model(x)
        except Exception as e:  # noqa: BLE001 - whatever torch raises
            with pytest.raises(type(e)):
                snn.count_synops(model, x)
            return
    expect_clean(
        lambda: snn.count_synops(model, x),
        names=["x:", "input", "expected", "weight", "state"],
        inputs=x,
        entry=f"nn.count_synops({kind})",
        check_result=_check_summary,
    )


@FUZZ
@given(model=st.one_of(wrong_types(), st.sampled_from(["list", "function"])))
def test_fuzz_activity_monitor_model(model):
    m = model
    if model == "list":
        m = [torch.nn.Linear(2, 2)]
    elif model == "function":
        m = torch.sin
    expect_clean(lambda: snn.ActivityMonitor(m), names=["model"], entry="nn.ActivityMonitor(model)")


@FUZZ
@given(
    xs=st.lists(
        hostile_tensors(
            shape=st.sampled_from([(3, 2, 4), (1, 1, 4), (2, 4)]),
            dtypes=("float32", "float64"),
            layouts=("contiguous", "strided", "expanded"),
            requires_grad=False,
        ),
        min_size=1,
        max_size=3,
    ),
    reset_at=st.integers(0, 3),
)
def test_fuzz_activity_monitor_calls(xs, reset_at):
    """Several forward calls (some failing) with a reset between: the counters stay exact."""

    def call():
        model = torch.nn.Sequential(snn.Linear(4, 3), snn.LIF())
        with snn.ActivityMonitor(model) as mon:
            for k, x in enumerate(xs):
                if k == reset_at:
                    mon.reset()
                try:
                    with torch.no_grad():
                        model(x)
                except (ValueError, TypeError) as e:  # a bad input is refused by the model
                    assert "x" in str(e)
            s = mon.summary()
        _check_summary(s)
        return s

    expect_clean(call, names=["x:"], inputs=xs, entry="nn.ActivityMonitor(calls)")


@pytest.mark.parametrize("kind", ["conv2d", "conv2d-circular", "linear-lif"])
def test_count_synops_meta_input(kind):
    """A meta input that the model runs on (torch's Conv2d takes one) has nothing to count: was
    "Tensor.item() cannot be called on meta tensors" from the counting hook."""
    x = torch.zeros(2, 2, 5, device="meta") if kind != "linear-lif" else torch.zeros(3, 2, 4)
    if kind == "linear-lif":
        x = x.to("meta")
    with pytest.raises(ValueError, match="x: .*meta"):
        snn.count_synops(MODELS[kind](), x)
