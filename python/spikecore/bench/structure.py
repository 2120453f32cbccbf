"""Structure-learning benchmarks: SNN training-step time vs synapse density, ESL update cost.

Cases (fixed seeds and sizes; medians):

- ``step d=<density>``: one training step (forward, BPTT backward, Adam step) of
  784 -> 512 -> LIF -> 512 -> 10 -> LIF on rate-coded input [T = 16, B = 64, 784] (10 % spikes),
  both layers at the given density. Ours: :class:`spikecore.learn.ESLLinear` (product='auto': the
  synapse-sparse C++ product at density <= 5 %, the spike-sparse dense one above; the forced
  synapse product's time is in ``info``). Peers in the same run: the dense network (torch nn.Linear), the masked dense weight
  W * M most SET / RigL code uses, and spikecore.nn.SparseLinear (dense product of the
  scattered weight).
- ``esl update d=<density>``: one ESL prune + regrow of 30 % of the synapses of both layers
  (C++ SynapseMatrix, optimizer state remapped); peer: the mask-tensor way (top-k on |W * M|,
  random choice among the zeros, masked re-initialisation) in torch.
- ``conv step d=<density>``: one training step (forward, BPTT backward, Adam step) of a conv SNN
  2 -> 16 (3x3, pad 1) -> LIF -> 16 -> 32 (3x3, pad 1) -> LIF on spike frames
  [T = 8, B = 32, 2, 28, 28] (20 % spikes; LIF threshold 0.5, so layer 1 fires ~5-30 %), both
  convolutions :class:`spikecore.nn.sparse_conv.SparseConv2d` at the given density. Ours:
  ``product='synapse'`` (the C++ event-driven sparse kernel). Peers in the same run:
  ``product='dense'`` (``F.conv2d`` of the masked kernel) and torch ``nn.Conv2d`` (dense, all
  weights). Medians of CPU time (``time.process_time``); ``info`` holds what ``product='auto'``
  picks, the spike rates and the time of the two convolutions alone (forward + backward,
  layer 2 on recorded layer-1 spikes), synapse vs dense.
"""

from __future__ import annotations

import functools
import time
from typing import Iterable

import torch

from . import Result, median_time

DENSITIES = (1.0, 0.5, 0.2, 0.1, 0.05)


def _net(layer1, layer2):
    import spikecore.nn as snn

    return torch.nn.Sequential(layer1, snn.LIF(tau=2.0), layer2, snn.LIF(tau=2.0))


class _Masked(torch.nn.Linear):
    def __init__(self, n_in, n_out, density, seed):
        super().__init__(n_in, n_out)
        g = torch.Generator().manual_seed(seed)
        self.register_buffer("m", (torch.rand(n_out, n_in, generator=g) < density).float())

    def forward(self, x):
        return torch.nn.functional.linear(x, self.weight * self.m, self.bias)


def _step_fn(model, x):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = model(x).mean()
        loss.backward()
        opt.step()

    return step


def run(quick: bool = False) -> Iterable[Result]:
    import spikecore.nn as snn
    from spikecore.learn import ESLLinear, ESLScheduler

    torch.manual_seed(0)
    steps, batch = (8, 32) if quick else (16, 64)
    repeats = 3 if quick else 7
    x = (torch.rand(steps, batch, 784, generator=torch.Generator().manual_seed(1)) < 0.1).float()
    dense_model = _net(torch.nn.Linear(784, 512), torch.nn.Linear(512, 10))
    t_dense = median_time(_step_fn(dense_model, x), repeats)
    densities = (1.0, 0.1) if quick else DENSITIES
    info = {"T": steps, "B": batch, "sizes": "784-512-10", "threads": torch.get_num_threads()}
    for d in densities:
        ours = _net(ESLLinear(784, 512, density=d, seed=1), ESLLinear(512, 10, density=d, seed=2))
        t_ours = median_time(_step_fn(ours, x), repeats)
        forced = _net(
            ESLLinear(784, 512, density=d, seed=1, product="synapse"),
            ESLLinear(512, 10, density=d, seed=2, product="synapse"),
        )
        t_forced = median_time(_step_fn(forced, x), repeats)
        masked = _net(_Masked(784, 512, d, 1), _Masked(512, 10, d, 2))
        t_masked = median_time(_step_fn(masked, x), repeats)
        sl = _net(
            snn.SparseLinear(784, 512, density=d, seed=1),
            snn.SparseLinear(512, 10, density=d, seed=2),
        )
        t_sl = median_time(_step_fn(sl, x), repeats)
        yield Result(
            "structure",
            f"step d={d:g}",
            "step time",
            1e3 * t_ours,
            "ms",
            higher_is_better=False,
            peers={
                "torch dense": 1e3 * t_dense,
                "torch masked W*M": 1e3 * t_masked,
                "spikecore SparseLinear": 1e3 * t_sl,
            },
            info={"synapse product forced (ms)": round(1e3 * t_forced, 3), **info},
        )
        if d < 1.0:
            opt = torch.optim.Adam(ours.parameters(), lr=1e-3)
            _step_fn(ours, x)()
            sched = ESLScheduler(ours, opt, zeta0=0.3, delta_t=1, history=False)
            t_upd = median_time(functools.partial(sched.update, 0.3), repeats)
            t_mask = median_time(functools.partial(_mask_update, masked, 0.3), repeats)
            yield Result(
                "structure",
                f"esl update d={d:g}",
                "prune+regrow time",
                1e3 * t_upd,
                "ms",
                higher_is_better=False,
                peers={"torch mask tensors": 1e3 * t_mask},
                info={"fraction": 0.3, **info},
            )
    yield from conv_cases(quick)


class _TimeFlat(torch.nn.Conv2d):
    """torch Conv2d on [T, B, C, H, W] (time folded into the batch)."""

    def forward(self, x):
        y = super().forward(x.reshape(-1, *x.shape[-3:]))
        return y.reshape(*x.shape[:-3], *y.shape[1:])


def _conv_net(density, product, seed=1):
    import spikecore.nn as snn
    from spikecore.nn.sparse_conv import SparseConv2d

    def conv(ci, co, k):
        if product == "torch":
            return _TimeFlat(ci, co, 3, padding=1)
        return SparseConv2d(ci, co, 3, padding=1, density=density, seed=seed + k, product=product)

    return torch.nn.Sequential(
        conv(2, 16, 0),
        snn.LIF(tau=2.0, v_threshold=0.5),
        conv(16, 32, 1),
        snn.LIF(tau=2.0, v_threshold=0.5),
    )


def conv_cases(quick: bool = False) -> Iterable[Result]:
    """``conv step d=<density>`` cases (see the module docstring)."""
    steps, batch, size = (4, 8, 16) if quick else (8, 32, 28)
    repeats = 3 if quick else 7
    densities = (1.0, 0.05) if quick else DENSITIES
    g = torch.Generator().manual_seed(3)
    x = (torch.rand(steps, batch, 2, size, size, generator=g) < 0.2).float()
    clock = time.process_time
    t_torch = median_time(_step_fn(_conv_net(1.0, "torch"), x), repeats, clock=clock)
    info = {
        "T": steps,
        "B": batch,
        "frame": f"2x{size}x{size}",
        "channels": "2-16-32",
        "threads": torch.get_num_threads(),
        "clock": "CPU time",
    }
    for d in densities:
        ours = _conv_net(d, "synapse")
        with torch.no_grad():
            h = ours[1](ours[0](x))
            rate1 = float(h.mean())
            rate2 = float(ours[3](ours[2](h)).mean())
        t_ours = median_time(_step_fn(ours, x), repeats, clock=clock)
        dense = _conv_net(d, "dense")
        t_dense = median_time(_step_fn(dense, x), repeats, clock=clock)
        c_ours = median_time(_convs_only(ours, x, h), repeats, clock=clock)
        c_dense = median_time(_convs_only(dense, x, h), repeats, clock=clock)
        yield Result(
            "structure",
            f"conv step d={d:g}",
            "step time",
            1e3 * t_ours,
            "ms",
            higher_is_better=False,
            peers={
                "SparseConv2d dense (masked F.conv2d)": 1e3 * t_dense,
                "torch Conv2d (all weights)": 1e3 * t_torch,
            },
            info={
                "auto picks": "synapse"
                if _conv_net(d, "auto")[0]._use_synapse_product(x)
                else "dense",
                "spike rate layer 1": round(rate1, 3),
                "spike rate layer 2": round(rate2, 3),
                "convs only, synapse (ms)": round(1e3 * c_ours, 3),
                "convs only, dense (ms)": round(1e3 * c_dense, 3),
                **info,
            },
        )


def _convs_only(net, x, h):
    """Forward + backward of the two convolutions alone (layer 2 on the recorded spikes h)."""

    def run():
        for conv, inp in ((net[0], x), (net[2], h)):
            conv.zero_grad(set_to_none=True)
            conv(inp).sum().backward()

    return run


@torch.no_grad()
def _mask_update(model, zeta):
    g = torch.Generator().manual_seed(0)
    for m in model:
        if isinstance(m, _Masked):
            active = m.m.bool()
            n = int(active.sum())
            k = int(round(zeta * n))
            score = torch.where(active, m.weight.abs(), torch.full_like(m.weight, float("inf")))
            drop = torch.topk(score.flatten(), k, largest=False).indices
            m.m.view(-1)[drop] = 0
            free = (m.m.view(-1) == 0).nonzero().squeeze(1)
            pick = free[torch.randperm(len(free), generator=g)[:k]]
            m.m.view(-1)[pick] = 1
            m.weight.view(-1)[pick] = 0
