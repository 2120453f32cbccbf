"""Recurrent layer training step (forward + backward): spikecore.nn.Recurrent (fused C++
kernel) vs the same layer on the pure-torch reference and snnTorch's RLeaky (all-to-all
recurrent Linear), same shapes and input, interleaved round robin; median process CPU time.
A case of ``spikecore bench train``."""

from __future__ import annotations

import statistics
from typing import Iterable, Optional

from spikecore.bench import Result
from spikecore.bench.variants import interleaved


def _spikecore_step(n_in, n, x, backend):
    import torch

    import spikecore.nn as snn

    torch.manual_seed(0)
    layer = snn.Recurrent(n_in, n, snn.LIF(tau=2.0), backend=backend)

    def step():
        for p in layer.parameters():
            p.grad = None
        layer(x).sum().backward()

    return step


def _snntorch_step(n_in, n, x):
    import warnings

    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import snntorch as snt

    torch.manual_seed(0)
    fc = torch.nn.Linear(n_in, n)
    rl = snt.RLeaky(beta=0.5, linear_features=n, reset_mechanism="zero", reset_delay=False)
    params = list(fc.parameters()) + list(rl.parameters())

    def step():
        for p in params:
            p.grad = None
        cur = fc(x)  # the input product for all steps at once, as spikecore does
        spk, mem = rl.init_rleaky()
        outs = []
        for t in range(x.shape[0]):
            spk, mem = rl(cur[t], spk, mem)
            outs.append(spk)
        torch.stack(outs).sum().backward()

    return step


def recurrent_cases(quick: bool = False, sizes=None, repeats: Optional[int] = None):
    """Yields one Result per (T, B, n_in, n): spikecore's step time with the peers'."""
    import torch

    sizes = sizes or ([(50, 16, 100, 128)] if quick else [(100, 32, 700, 256)])
    repeats = repeats or (3 if quick else 7)
    out = []
    for T, B, n_in, n in sizes:
        g = torch.Generator().manual_seed(1)
        x = (torch.rand(T, B, n_in, generator=g) < 0.05).float()
        fns = {
            "spikecore": _spikecore_step(n_in, n, x, "auto"),
            "torch_loop": _spikecore_step(n_in, n, x, "torch"),
        }
        missing = {}
        try:
            fns["snntorch"] = _snntorch_step(n_in, n, x)
        except ImportError as exc:
            missing["snntorch"] = str(exc)
        times = interleaved(fns, repeats)
        med = {k: statistics.median(v) * 1e3 for k, v in times.items()}
        spread = {k: [min(v) * 1e3, max(v) * 1e3] for k, v in times.items()}
        out.append(
            Result(
                "train",
                f"recurrent_step T={T} B={B} {n_in}-{n} LIF",
                "train step",
                med["spikecore"],
                "ms",
                False,
                {k: med.get(k) for k in ("torch_loop", "snntorch")},
                {
                    "range_ms": spread,
                    "repeats": repeats,
                    "threads": torch.get_num_threads(),
                    "clock": "process CPU time",
                    "missing": missing,
                },
            )
        )
    return out


def run(quick: bool = False) -> Iterable[Result]:
    yield from recurrent_cases(quick)
