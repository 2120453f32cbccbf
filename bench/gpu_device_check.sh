#!/bin/bash
# One prepared GPU check for issue 18 (spikecore bench gpu), for a session that is lent a device
# machine (see docs/nn.md, "GPU: Triton kernels"). The device image has torch, triton, cmake,
# ninja, nanobind and scikit-build-core, but not Eigen's headers, SpikingJelly or snnTorch: before
# the run, on the development machine, in the repository root:
#   echo /.whl/ >> .git/info/exclude
#   python3 -m pip download --no-deps --only-binary=:all: --python-version 3.12 \
#       --implementation cp --platform manylinux2014_x86_64 --platform any -d .whl \
#       includeigen spikingjelly snntorch
# then run (carry [".whl"], timeout_s 600):  bash bench/gpu_device_check.sh
# It builds the extension (16 cores, 1-3 minutes), runs the Triton kernel tests on the GPU, then
# the benchmark (about 2-5 minutes), and leaves gpu.jsonl and the logs in $OUT.
set -o pipefail
OUT=${OUT:-/tmp/spikecore_gpu_out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site || exit 1
fi
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu_info.txt"
CMAKE_BUILD_PARALLEL_LEVEL=16 timeout 240 python3 -m pip install -q --no-build-isolation \
  --no-deps --target /tmp/spk . 2>&1 | tail -5 | tee "$OUT/build.log" || exit 1
export PYTHONPATH=/tmp/spk${PYTHONPATH:+:$PYTHONPATH}
# correctness on the GPU: the kernels against the reference (CUDA tensors route to Triton)
timeout 150 python3 - <<'PY' 2>&1 | tee "$OUT/check.log"
import os
import torch
from spikecore.nn import functional as F
from spikecore.models.hebbff import hebbff_plastic
torch.manual_seed(0)
dev = "cuda"
x = (1.2 * torch.rand(50, 32, 512, device=dev)).requires_grad_()
for fn in (lambda b: F.lif(x, beta=0.5, backend=b)[0],
           lambda b: F.lif(x, beta=0.5, v_reset=None, surrogate="triangle", backend=b)[0],
           lambda b: F.alif(x, beta=0.5, backend=b)[0],
           lambda b: F.leaky_integrator(x, beta=0.5, backend=b)[0]):
    outs = []
    for b in ("torch", "auto"):
        x.grad = None
        y = fn(b)
        (y * torch.linspace(-1, 1, y.numel(), device=dev).reshape(y.shape)).sum().backward()
        outs.append((y.detach(), x.grad.clone()))
    print("forward equal", torch.equal(outs[0][0], outs[1][0]),
          "grad max diff", float((outs[0][1] - outs[1][1]).abs().max()))
from spikecore.nn.celif import celif
cur = (1.5 * torch.rand(100, 32, 256, device=dev)).requires_grad_()
ctx = (torch.rand(100, 32, 256, device=dev) - 0.5).requires_grad_()
outs = []
for b in ("torch", "auto"):
    cur.grad = ctx.grad = None
    z, st = celif(cur, ctx, gamma=2.0, backend=b)
    (z * torch.linspace(-1, 1, z.numel(), device=dev).reshape(z.shape)).sum().backward()
    outs.append((z.detach(), cur.grad.clone(), ctx.grad.clone()))
print("celif forward equal", torch.equal(outs[0][0], outs[1][0]),
      "grad max diff", float((outs[0][1] - outs[1][1]).abs().max()),
      float((outs[0][2] - outs[1][2]).abs().max()))
xs = torch.randn(20, 4, 100, device=dev)
W = torch.randn(100, 100, device=dev) / 10
a_ref = hebbff_plastic(xs, W, torch.zeros(100, device=dev), -0.05, 0.9, backend="torch")
a = hebbff_plastic(xs, W, torch.zeros(100, device=dev), -0.05, 0.9)
print("hebbff max diff", float((a - a_ref).abs().max()))
from spikecore.nn.dendritic import DendriticLIF
xs = (torch.rand(100, 32, 700, device=dev) < 0.03).float().requires_grad_()
outs = []
for mode in ("off", "auto"):  # reference, then the fused dendritic soma
    os.environ["SPIKECORE_TRITON"] = mode
    torch.manual_seed(1)
    layer = DendriticLIF(700, 256, branches=4, v_threshold=0.5).to(dev)
    xs.grad = None
    z = layer(xs)
    (z * torch.linspace(-1, 1, z.numel(), device=dev).reshape(z.shape)).sum().backward()
    outs.append((z.detach(), xs.grad.clone(), layer.dendrites.weight.grad.clone()))
os.environ.pop("SPIKECORE_TRITON")
print("dendritic spikes differ", int((outs[0][0] != outs[1][0]).sum()), "of", outs[0][0].numel(),
      "rate", float(outs[0][0].mean()), "grad max diff x", float((outs[0][1] - outs[1][1]).abs().max()),
      "w", float((outs[0][2] - outs[1][2]).abs().max()))
from spikecore.nn.triton import linear as TL
xb = (torch.rand(3200, 700, device=dev) < 0.03).float()
W = torch.randn(512, 700, device=dev) / 26
gy = torch.randn(3200, 512, device=dev)
bits = TL.pack_bits(xb)
print("bits_linear max diff", float((TL.bits_linear(bits, 700, W) - xb @ W.t()).abs().max()),
      "bits_weight_grad max diff", float((TL.bits_weight_grad(gy, bits, 700) - gy.t() @ xb).abs().max()))
PY
# SPIKECORE_BENCH_GPU (e.g. "shd,celif" then "dendritic,spike_linear,hebbff" in a second run)
# picks the parts when one lease cannot take them all; every line is flushed as it is measured
timeout 400 python3 -m spikecore.cli bench gpu --json 2>&1 | tee "$OUT/gpu.jsonl"
