"""spikecore bench gpu: the no-GPU message here, and the step machinery on CPU through Triton's
interpreter (the timings themselves need a GPU)."""

import os

import pytest
import torch

os.environ.setdefault("TRITON_INTERPRET", "1")

from spikecore.bench import gpu  # noqa: E402
from spikecore.cli import main  # noqa: E402


@pytest.mark.skipif(torch.cuda.is_available(), reason="a GPU is present")
def test_says_no_gpu(capsys):
    assert gpu.unavailable_reason() == gpu.NO_GPU
    assert main(["bench", "gpu"]) == 0
    assert "no CUDA GPU present" in capsys.readouterr().out
    assert main(["bench", "gpu", "--json"]) == 0
    assert '"unavailable": "no CUDA GPU present' in capsys.readouterr().out
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        next(iter(gpu.run(quick=True)))


def test_triton_step_matches_reference_on_cpu(monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setattr(gpu, "_ON", "interpret")
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    from spikecore.nn import triton as tr

    k = tr.kernels()
    monkeypatch.delenv("SPIKECORE_TRITON")
    calls = []
    fwd = k.LIFFn.forward
    monkeypatch.setattr(
        k.LIFFn, "forward", staticmethod(lambda ctx, *a: calls.append(1) or fwd(ctx, *a))
    )
    assert gpu.loss_agreement(T=3, B=2, device="cpu") < 1e-5
    assert len(calls) == 2  # the two LIF layers of the Triton step, none of the reference
    assert os.environ.get("SPIKECORE_TRITON") is None  # restored


def test_celif_triton_step_matches_reference_on_cpu(monkeypatch):
    pytest.importorskip("triton")
    monkeypatch.setattr(gpu, "_ON", "interpret")
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    from spikecore.nn import triton as tr

    k = tr.kernels("celif")
    monkeypatch.delenv("SPIKECORE_TRITON")
    calls = []
    fwd = k.CELIFFn.forward
    monkeypatch.setattr(
        k.CELIFFn, "forward", staticmethod(lambda ctx, *a: calls.append(1) or fwd(ctx, *a))
    )
    assert gpu.loss_agreement(T=5, B=2, device="cpu", model="celif") < 1e-5
    assert len(calls) == 1  # the CE-LIF layer of the Triton step, none of the reference


def test_dendritic_triton_step_matches_reference_on_cpu(monkeypatch, spy):
    pytest.importorskip("triton")
    monkeypatch.setattr(gpu, "_ON", "interpret")
    from spikecore.nn.triton import neurons as TN

    calls = spy(TN.LIFFn, "forward", lambda ctx, *a: a[-1].get("branch"))
    assert gpu.loss_agreement(T=3, B=2, device="cpu", model="dendritic") < 1e-5
    assert calls == [(4, 0)]  # one fused dendritic soma launch (K = 4, ReLU), none reference


@pytest.mark.parametrize("gemm", ["triton", "cublas"])
def test_spike_linear_and_hebbff_steps_on_cpu(monkeypatch, gemm):
    """The steps the GPU bench times give the reference's gradients through the Triton route
    (the interpreter on CPU tensors)."""
    pytest.importorskip("triton")
    grads = {}
    for route in ("off", "interpret"):
        monkeypatch.setenv("SPIKECORE_TRITON", route)
        monkeypatch.setenv("SPIKECORE_SPIKE_GEMM", gemm)
        grads[route] = (
            gpu.spike_linear_step(2, 2, device="cpu")().clone(),
            gpu.hebbff_step(3, 2, device="cpu", d=6)().clone(),
        )
    for r, t in zip(grads["off"], grads["interpret"]):
        assert torch.allclose(r, t, rtol=1e-5, atol=1e-5)
    monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
    y_bits = gpu.spike_linear_step(2, 2, "bits", device="cpu")()
    assert torch.allclose(y_bits, gpu.spike_linear_step(2, 2, "dense", device="cpu")(), atol=1e-5)


def test_parts_selection(monkeypatch):
    monkeypatch.delenv("SPIKECORE_BENCH_GPU", raising=False)
    assert gpu.parts() == gpu.PARTS
    monkeypatch.setenv("SPIKECORE_BENCH_GPU", "hebbff, dendritic")
    assert gpu.parts() == ("hebbff", "dendritic")
    monkeypatch.setenv("SPIKECORE_BENCH_GPU", "shd,lif")
    with pytest.raises(ValueError, match="SPIKECORE_BENCH_GPU: unknown part"):
        gpu.parts()


def test_dendritic_unfused_variant_on_cpu(monkeypatch, spy):
    """The bench's unfused dendritic step: the plain LIF kernel after a torch branch sum (no
    fused launch), same first loss as the fused step."""
    pytest.importorskip("triton")
    monkeypatch.setattr(gpu, "_ON", "interpret")
    from spikecore.nn.triton import neurons as TN

    calls = spy(TN.LIFFn, "forward", lambda ctx, *a: a[-1].get("branch"))
    losses = []
    for lib in ("dendritic_unfused", "dendritic_triton"):
        monkeypatch.setenv("SPIKECORE_TRITON", "interpret")
        losses.append(float(gpu._step(lib, 3, 2, device="cpu")()))
    assert calls == [None, (4, 0)] and abs(losses[0] - losses[1]) < 1e-5
    assert set(gpu._lib_variants("dendritic")) == {
        "dendritic_triton",
        "dendritic_unfused",
        "dendritic_reference",
    }
