"""Fused dendritic soma (spikecore.nn.triton.neurons, ``cfg["branch"]``) against the pure-torch
reference (``DendriticLIF(backend="torch")``: masked dense product, g, branch sum, LIF loop), in
Triton's interpreter on CPU tensors (SPIKECORE_TRITON=interpret): spikes bit for bit, state and
gradients (input, branch weights, biases, v_0) to float tolerance, gradcheck in float64 with a
smooth surrogate, and the saved tensors (ReLU branch activity as bits, not u)."""

import os

import pytest
import torch
from torch.func import functional_call

os.environ.setdefault("TRITON_INTERPRET", "1")  # before triton is first imported
pytest.importorskip("triton")

from spikecore.nn import surrogate as S  # noqa: E402
from spikecore.nn.dendritic import NONLINEARITIES, DendriticLIF  # noqa: E402
from spikecore.nn.triton import neurons as TN  # noqa: E402

T, B, OUT = 6, 2, 70  # 140 somata: two programs of 128, the second partly masked


def _pair(d=20, dtype=torch.float32, **kw):
    torch.manual_seed(0)
    ref = DendriticLIF(d, OUT, backend="torch", **kw).to(dtype)
    fused = DendriticLIF(d, OUT, **kw).to(dtype)
    fused.load_state_dict(ref.state_dict())
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(T, B, d, generator=g) < 0.4).to(dtype)
    v = (0.3 * torch.rand(B, OUT, generator=g)).to(dtype)
    return ref, fused, x, v


def _run(layer, x, v, monkeypatch, mode):
    monkeypatch.setenv("SPIKECORE_TRITON", mode)
    xs, vs = x.clone().requires_grad_(), v.clone().requires_grad_()
    torch.manual_seed(7)  # the noisy soma's samples
    z, st = layer(xs, vs, return_state=True)
    w = torch.linspace(-1, 1, z.numel(), dtype=z.dtype).reshape(z.shape)
    ((z * w).sum() + 2 * st.v.sum()).backward()
    p = layer.dendrites
    return [z.detach(), st.v.detach()], [
        t.clone() for t in (xs.grad, vs.grad, p.weight.grad, p.bias.grad)
    ]


def _branch(ctx, *args):
    """What a LIFFn launch records: its ``branch`` setting (K, g), None for a plain LIF."""
    return args[-1].get("branch")


@pytest.mark.parametrize(
    "d,nonlinearity,branches,surrogate,v_reset,noise",
    [
        (20, "relu", 4, "atan", 0.0, None),  # activity bits in uint8
        (20, "relu", 12, "triangle", None, None),  # int16, soft reset
        (48, "relu", 40, "sigmoid", 0.0, None),  # K > 31: u itself saved
        (20, "sigmoid", 3, "fast_sigmoid", 0.0, None),
        (20, "identity", 5, "gaussian", None, None),
        (20, "relu", 4, None, 0.0, "gaussian"),  # NDL soma: sampled spikes saved as bits
    ],
)
def test_dendritic_lif_matches_reference(
    monkeypatch, spy, d, nonlinearity, branches, surrogate, v_reset, noise
):
    kw = dict(
        branches=branches,
        branch_fan_in=6,
        nonlinearity=nonlinearity,
        v_reset=v_reset,
        tau=1.5,
        v_threshold={"relu": max(1.0, branches / 4), "sigmoid": 1.8, "identity": 0.5}[nonlinearity],
    )
    kw.update(noise=noise) if noise else kw.update(surrogate=surrogate)
    ref, fused, x, v = _pair(d, **kw)
    ro, rg = _run(ref, x, v, monkeypatch, "off")
    calls = spy(TN.LIFFn, "forward", _branch)
    saved = []

    def pack(t):
        saved.append((t.dtype, tuple(t.shape)))
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        to, tg = _run(fused, x, v, monkeypatch, "interpret")
    assert calls == [(branches, NONLINEARITIES.index(nonlinearity))]  # one fused launch
    assert torch.equal(ro[0], to[0]) and 0.02 < float(ro[0].mean()) < 0.98  # spikes bit for bit
    assert torch.allclose(ro[1], to[1], atol=1e-5)
    for name, r, t in zip(("x", "v", "weight", "bias"), rg, tg):
        scale = max(1.0, float(r.abs().max()))  # float32 sums of up to 40 branches
        assert torch.allclose(r, t, rtol=1e-4, atol=1e-5 * scale), (name, (r - t).abs().max())
    u_shape = (T, B * OUT * branches)
    if nonlinearity == "relu" and branches <= 31:
        dt = torch.uint8 if branches <= 8 else torch.int16
        assert (dt, (T, B * OUT)) in saved and (torch.float32, u_shape) not in saved
    if nonlinearity == "identity":
        assert (torch.float32, u_shape) not in saved
    if noise:
        assert (torch.uint8, (T, (B * OUT + 7) // 8)) in saved  # the spikes, not the noise


def test_inference_and_routing(monkeypatch, spy):
    ref, fused, x, v = _pair(branches=4, nonlinearity="relu")
    monkeypatch.setenv("SPIKECORE_TRITON", "off")
    with torch.no_grad():
        z0 = ref(x, v)
    launches = spy(TN, "_lif_forward", lambda *a: a[-2:])
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    with torch.no_grad():
        z1 = fused(x, v)  # inference launch: no autograd node, nothing stored
    assert launches == [(launches[0][0], False)] and launches[0][0]["branch"] == (4, 0)
    assert torch.equal(z0, z1)
    fused.dendrites.backend = "cpp"  # an explicit backend keeps its own path
    assert fused._fused(x, v) is None
    with pytest.raises(ValueError, match="x: last dimension"):
        DendriticLIF(20, 3)(torch.rand(4, 2, 21))


@pytest.mark.parametrize("nonlinearity", ["relu", "sigmoid"])
def test_dendritic_gradcheck_float64(monkeypatch, spy, nonlinearity):
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    torch.manual_seed(3)
    layer = DendriticLIF(
        5, 3, branches=2, nonlinearity=nonlinearity, surrogate=S.get("sigmoid", smooth=True)
    ).double()
    x = torch.rand(3, 1, 5, dtype=torch.float64, requires_grad=True)
    w = layer.dendrites.weight.detach().clone().requires_grad_()
    b = (layer.dendrites.bias.detach() + 0.3).requires_grad_()  # ReLU kinks away from 0

    def f(x, w, b):
        p = {"dendrites.weight": w, "dendrites.bias": b}
        return functional_call(layer, p, (x,))

    calls = spy(TN.LIFFn, "forward", _branch)
    assert torch.autograd.gradcheck(f, (x, w, b), fast_mode=True)
    assert calls and all(c == (2, NONLINEARITIES.index(nonlinearity)) for c in calls)
