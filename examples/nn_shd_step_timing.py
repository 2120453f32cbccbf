"""Time one SHD-shaped training step (issue 3): [T=100, B=32, 700] Bernoulli(3%) spikes ->
Linear 512 -> LIF -> Linear 512 -> LIF -> Linear 20 -> LeakyIntegrator, cross-entropy on the
time-mean readout, backward, Adam. Prints per backend the median wall time and the median
CPU time (all threads) of a step, and the peak RSS growth during training (a fresh process per
backend). On a loaded machine compare CPU times; wall times need an idle machine.

    python examples/nn_shd_step_timing.py [--threads 2] [--T 100] [--repeats 10]
"""

import argparse
import json
import subprocess
import sys
import time

import torch

from spikecore.bench.train import peak_rss_bytes


class _SJ(torch.nn.Module):
    """The same network in SpikingJelly (torch backend, multi-step), for comparison."""

    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        from spikingjelly.activation_based import layer, neuron, surrogate

        def lif():
            return neuron.LIFNode(
                tau=2.0,
                decay_input=False,
                v_reset=0.0,
                step_mode="m",
                surrogate_function=surrogate.ATan(),
            )

        self.net = torch.nn.Sequential(
            layer.Linear(n_in, hidden, step_mode="m"),
            lif(),
            layer.Linear(hidden, hidden, step_mode="m"),
            lif(),
            layer.Linear(hidden, n_out, step_mode="m"),
        )

    def forward(self, x):
        from spikingjelly.activation_based import functional

        functional.reset_net(self.net)
        return self.net(x)


def build(backend, n_in=700, hidden=512, n_out=20):
    if backend == "spikingjelly":
        return _SJ(n_in, hidden, n_out)
    from spikecore import nn as snn

    return torch.nn.Sequential(
        snn.Linear(n_in, hidden, backend=backend),
        snn.LIF(tau=2.0, backend=backend),
        snn.Linear(hidden, hidden, backend=backend),
        snn.LIF(tau=2.0, backend=backend),
        snn.Linear(hidden, n_out, backend=backend),
        snn.LeakyIntegrator(tau=2.0, backend=backend),
    )


def one(backend, T, B, repeats, threads):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = build(backend)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    x = (torch.rand(T, B, 700, generator=g) < 0.03).float()
    y = torch.randint(0, 20, (B,), generator=g)
    times, cpus, losses = [], [], []
    base = peak_rss_bytes()
    for i in range(repeats + 2):
        t0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad(set_to_none=True)
        out = model(x)
        loss = torch.nn.functional.cross_entropy(out.mean(0), y)
        loss.backward()
        opt.step()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        losses.append(float(loss.detach()))
        if i >= 2:
            times.append(dt)
            cpus.append(dc)
    peak = (peak_rss_bytes() - base) / 1024  # kB, as before
    times.sort()
    cpus.sort()
    return {
        "backend": backend,
        "T": T,
        "median_ms": 1000 * times[len(times) // 2],
        "median_cpu_ms": 1000 * cpus[len(cpus) // 2],
        "min_ms": 1000 * times[0],
        "peak_rss_delta_mb": peak / 1024,
        "losses": losses[:5],
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--T", type=int, default=100)
    ap.add_argument("--B", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=10)
    ap.add_argument("--backends", default="cpp,torch,spikingjelly")
    ap.add_argument("--child", default=None)
    a = ap.parse_args()
    if a.child:
        print(json.dumps(one(a.child, a.T, a.B, a.repeats, a.threads)))
        return
    for b in a.backends.split(","):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                b,
                "--T",
                str(a.T),
                "--B",
                str(a.B),
                "--repeats",
                str(a.repeats),
                "--threads",
                str(a.threads),
            ],
            capture_output=True,
            text=True,
        )
        print(out.stdout.strip() or out.stderr[-2000:])


if __name__ == "__main__":
    main()
