"""spikecore.nn's opt-in bf16 dense products (spikecore.nn._precision): bf16 against float32
within the rounding bound, the backward follows its forward's precision, thread-count
independence, float64 untouched, and the setting's bad input (unknown values, a CPU without
AVX512-BF16 / AMX-BF16)."""

import sys
from pathlib import Path

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import spikecore.nn as snn
from spikecore.bench import train as tb
from spikecore.nn import _precision
from spikecore.nn import functional as SF

sys.path.insert(0, str(Path(__file__).parents[1]))
from fuzzing import FUZZ, expect_clean, expect_clean_backward, hostile_tensors, wrong_types  # noqa: E402

HAS_BF16 = _precision.bf16_supported()[0]
needs_bf16 = pytest.mark.skipif(not HAS_BF16, reason="this CPU has no AVX512-BF16 / AMX-BF16")

# bf16 has an 8-bit significand: unit roundoff u = 2^-8. For C = A B with both operands rounded
# to bf16, the sum accumulated in float32 (K terms) and the result rounded once to bf16:
#   |C_bf16 - C| <= u |C| + (2u + u^2 + K 2^-24) (1 + u) (|A| |B|)
U = 2.0**-8


def bound(a, b, ref):
    k = a.shape[-1]
    return U * ref.abs() + (2 * U + U * U + k * 2.0**-24) * (1 + U) * (a.abs() @ b.abs())


def is_bf16_valued(t):
    return torch.equal(t, t.to(torch.bfloat16).float())


@pytest.fixture(autouse=True)
def _restore():
    old, n = SF.get_matmul_precision(), torch.get_num_threads()
    yield
    SF.set_matmul_precision(old)
    torch.set_num_threads(n)


def _layer_grads(precision, spike_input, seed=0, rate=0.06):
    g = torch.Generator().manual_seed(seed)
    x = (torch.rand(20, 8, 96, generator=g) < rate).float().requires_grad_()
    torch.manual_seed(seed)
    lin = snn.Linear(96, 64, spike_input=spike_input, precision=precision)
    y = lin(x)
    gy = torch.randn(y.shape, generator=g)
    (y * gy).sum().backward()
    return x.detach(), lin, y.detach(), gy, x.grad, lin.weight.grad, lin.bias.grad


@needs_bf16
@pytest.mark.parametrize("spike_input", ["auto", False])
def test_bf16_products_within_the_rounding_bound_of_float32(spike_input):
    x, lin, y32, gy, gx32, gw32, gb32 = _layer_grads("float32", spike_input)
    _, _, y16, _, gx16, gw16, gb16 = _layer_grads("bf16", spike_input)
    w = lin.weight.detach()
    x2, gy2 = x.reshape(-1, 96), gy.reshape(-1, 64)
    # input gradient g W: dense in both paths, bf16 here
    assert not torch.equal(gx16, gx32) and is_bf16_valued(gx16)
    ref = gx32.reshape(-1, 96)
    assert (gx16.reshape(-1, 96) - ref).abs().le(bound(gy2, w, ref)).all()
    torch.testing.assert_close(gb16, gb32)  # the bias gradient is a float32 sum
    if spike_input == "auto":  # event forward and weight gradient: float32, bit for bit
        assert torch.equal(y16, y32) and torch.equal(gw16, gw32)
    else:  # dense forward and weight gradient in bf16 (bias added in float32)
        b = lin.bias.detach()
        y2 = y32.reshape(-1, 64) - b
        assert (y16.reshape(-1, 64) - b - y2).abs().le(bound(x2, w.t(), y2) + 1e-6).all()
        assert not torch.equal(gw16, gw32) and is_bf16_valued(gw16)
        assert (gw16 - gw32).abs().le(bound(gy2.t(), x2, gw32)).all()


@needs_bf16
def test_process_wide_setting_and_the_backward_follows_the_forward():
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(10, 4, 32, generator=g) < 0.05).float().requires_grad_()
    w = torch.randn(16, 32, generator=g, requires_grad=True)
    with SF.matmul_precision("bf16"):
        assert SF.get_matmul_precision() == "bf16"
        y = SF.linear(x, w)
    assert SF.get_matmul_precision() == "float32"
    y.sum().backward()  # outside the block: still the bf16 product of the forward
    assert is_bf16_valued(x.grad) and not torch.equal(x.grad, torch.ones(10, 4, 16) @ w.detach())
    # a layer's own precision overrides the process-wide one
    SF.set_matmul_precision("bf16")
    x.grad = None
    SF.linear(x, w, precision="float32").sum().backward()
    assert torch.equal(x.grad, torch.ones(10, 4, 16) @ w.detach())


@needs_bf16
def test_float64_and_autocast_are_not_touched():
    g = torch.Generator().manual_seed(2)
    x = torch.rand(6, 3, 20, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(8, 20, generator=g, dtype=torch.float64, requires_grad=True)
    y = SF.linear(x, w, precision="bf16", spike_input=False)
    assert torch.equal(y, torch.nn.functional.linear(x, w))
    assert torch.autograd.gradcheck(
        lambda a, b: SF.linear(a, b, precision="bf16", spike_input=False), (x, w)
    )


@needs_bf16
def test_bf16_step_is_the_same_for_any_thread_count():
    def three_steps(nt):
        torch.set_num_threads(nt)
        step, model = tb.make_step(tb.BF16, T=12, B=4)
        losses = [step() for _ in range(3)]
        return losses, [p.detach().clone() for p in model.parameters()]

    l1, p1 = three_steps(1)
    l2, p2 = three_steps(2)
    assert l1 == l2 and all(torch.equal(a, b) for a, b in zip(p1, p2))


@needs_bf16
def test_bf16_loss_curve_stays_close_to_float32():
    a, b = tb.loss_curve(steps=4, T=12, B=4, names=("spikecore", tb.BF16))
    assert a != b  # the bf16 products ran
    assert max(abs(p - q) for p, q in zip(a, b)) < 0.02


@needs_bf16
def test_bf16_training_reaches_the_float32_accuracy():
    """Reduced size of the docs' accuracy check (docs/train.md): the generated SHD-like task."""
    kw = dict(epochs=4, n_train=256, n_test=128, T=60, B=32, lr=4e-3)
    torch.set_num_threads(1)
    r32 = tb.train_shd_like("float32", **kw)
    r16 = tb.train_shd_like("bf16", **kw)
    assert r32["final_test_accuracy"] > 0.3  # chance: 0.05
    assert abs(r16["final_test_accuracy"] - r32["final_test_accuracy"]) <= 0.1
    assert max(abs(p - q) for p, q in zip(r32["losses"], r16["losses"])) < 0.1


@pytest.mark.parametrize("bad", ["fp16", "bfloat16 ", "", None, 16, torch.bfloat16])
def test_unknown_precision_names_the_setting(bad):
    with pytest.raises(ValueError, match="matmul_precision: unknown value"):
        SF.set_matmul_precision(bad)
    if bad is not None:  # None means "the process-wide setting" for a layer / call
        with pytest.raises(ValueError, match="precision: unknown value"):
            snn.Linear(4, 3, precision=bad)
        with pytest.raises(ValueError, match="precision: unknown value"):
            SF.linear(torch.zeros(2, 4), torch.zeros(3, 4), precision=bad)
    assert SF.get_matmul_precision() == "float32"


@pytest.mark.parametrize(
    "feats, why",
    [
        ({"avx512f": True, "avx512_bf16": False, "amx_bf16": False}, "neither AVX512-BF16"),
        ({}, "not an x86-64 CPU"),
        (None, "probe spikecore._cpu is not built"),
    ],
)
def test_bf16_on_a_cpu_without_bf16_instructions_is_refused(monkeypatch, feats, why):
    from spikecore import _isa

    monkeypatch.setattr(_isa, "cpu_features", lambda: feats)
    monkeypatch.setattr(_precision, "_support", None)
    with pytest.raises(RuntimeError, match=rf"matmul_precision='bf16': .*{why}"):
        SF.set_matmul_precision("bf16")
    with pytest.raises(RuntimeError, match=rf"precision='bf16': .*{why}"):
        snn.Linear(4, 3, precision="bf16")
    with pytest.raises(RuntimeError, match="keep precision='float32'"):
        SF.linear(torch.zeros(2, 4), torch.zeros(3, 4), precision="bf16")
    with pytest.raises(RuntimeError, match="neither|x86-64|probe"):
        with SF.matmul_precision("bf16"):
            pass
    assert SF.get_matmul_precision() == "float32"
    ok, reason = tb.bf16_available()
    assert not ok and why in reason


PRECISIONS = st.one_of(st.sampled_from(["bf16", "float32", None, "fp16", "BF16"]), wrong_types())


@FUZZ
@given(
    x=hostile_tensors(shape=st.sampled_from([(2, 3), (3,), (), (0, 3), (2, 4)])),
    w=hostile_tensors(shape=st.sampled_from([(2, 3), (3,), (0, 3), (2, 0)])),
    spike_input=st.sampled_from([True, False, "auto"]),
    precision=PRECISIONS,
)
def test_fuzz_linear_precision(x, w, spike_input, precision):
    def call():
        y = SF.linear(x, w, spike_input=spike_input, precision=precision)
        need = [t for t in (x, w) if t.requires_grad]
        if not need or not y.requires_grad:
            return y, []
        return y, [
            g for g in torch.autograd.grad(y.sum(), need, allow_unused=True) if g is not None
        ]

    # A product beyond the dtype's range overflows to inf in IEEE arithmetic (float32, float64
    # and bf16 alike; bf16's largest value is 3.39e38): such draws count as non-finite inputs.
    inputs = (x, w)
    if not x.is_meta and not w.is_meta and x.is_floating_point() and w.is_floating_point():
        top = torch.finfo(torch.bfloat16 if precision == "bf16" else x.dtype).max / 4
        big = [float(t.detach().abs().double().max()) for t in (x, w) if t.numel()]
        if any(b > top for b in big) or (len(big) == 2 and big[0] * big[1] * 4 > top):
            inputs = (x, w, float("inf"))
    expect_clean_backward(
        call,
        ["x", "weight", "spike_input", "in_features", "precision"],
        inputs,
        "linear(precision)",
    )


@FUZZ
@given(precision=PRECISIONS)
def test_fuzz_set_matmul_precision(precision):
    expect_clean(
        lambda: SF.set_matmul_precision(precision), ["matmul_precision"], (), "set_matmul_precision"
    )
    SF.set_matmul_precision("float32")
