"""Train a dendritic SNN and a CE-LIF SNN with spikecore.nn, deploy both to the event engine, and
compare torch and engine sample by sample (batch 1).

* Dendritic: rate-coded 8x8 digits (T = 8) -> DendriticLIF (K = 4 branches of round(64/2) = 32
  inputs, ReLU) -> Linear -> leaky-integrator readout. The engine runs it as a multi-compartment
  population (``branches=4``: one branch compartment per (neuron, branch), branch biases, ReLU,
  LIF soma).
* CE-LIF: the delayed-cue task (cue 5 steps, ``delay`` steps of distractor noise, recall 5 steps)
  -> CELIF layer -> Linear -> integrator; the answer is the readout summed over the recall
  steps. The engine runs it as a ``celif`` population with the learned per-neuron context decays
  (current and context receptors).

Prints, for each model: test accuracy in torch and in the engine, the fraction of samples whose
hidden spike rasters are identical, prediction agreement, and SynOps per sample.

    python examples/deploy_variants.py            # full size (about a minute)
    python examples/deploy_variants.py --quick    # reduced size (tests/sim/test_deploy_variants_example.py)

Exactness needs the torch forward to sum inputs in the engine's order: the dendritic layer uses
``backend='cpp'`` (the index-gather kernel sums each branch in input order at any activity), the
readouts ``spike_input=True`` (event-driven product), and the CE-LIF layer's products take
spikecore.nn.Linear's event path because the delayed-cue input is sparse (<= 12 % active).
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from spikecore import nn as snn
from spikecore.data.delayed_cue import delayed_cue
from spikecore.data.digits import load_digits
from spikecore.data.encoding import rate_encode
from spikecore.learn import loop
from spikecore.sim import from_torch


def _train(model, forward, x, y, epochs, lr, batch=64, seed=0):
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(epochs):
        model.train()
        loop.epoch(forward, opt, x, y, batch)
    model.eval()


def _compare(model, x, y, predict, n):
    """Batch-1 torch forward vs the deployed engine on the first n samples."""
    dep = from_torch(model)
    same_raster = agree = ok_t = ok_e = synops = 0
    for k in range(n):
        xs = x[:, k : k + 1]
        with torch.no_grad():
            h = model[0](xs)
            out_t = model[2](model[1](h))[:, 0].numpy()
        res = dep.run(xs)
        same_raster += int(np.array_equal(res.spikes[0], h[:, 0].numpy()))
        p_t, p_e = predict(out_t), predict(res.output)
        agree += int(p_t == p_e)
        ok_t += int(p_t == int(y[k]))
        ok_e += int(p_e == int(y[k]))
        synops += res.synops
    return dict(
        torch_acc=ok_t / n,
        engine_acc=ok_e / n,
        same_raster=same_raster / n,
        agree=agree / n,
        synops=synops / n,
        n=n,
    )


def dendritic_digits(epochs=15, steps=8, hidden=24, branches=4, n_test=None, seed=0):
    data = load_digits(seed=seed)
    xtr = rate_encode(torch.from_numpy(data.x_train), steps, max_prob=1.0, seed=seed)
    xte = rate_encode(torch.from_numpy(data.x_test), steps, max_prob=1.0, seed=seed + 1)
    ytr, yte = torch.from_numpy(data.y_train), torch.from_numpy(data.y_test)
    torch.manual_seed(seed)
    model = nn.Sequential(
        snn.DendriticLIF(
            64, hidden, branches=branches, tau=2.0, v_threshold=0.5, backend="cpp", seed=seed
        ),
        snn.Linear(hidden, 10, spike_input=True),
        snn.LeakyIntegrator(tau=float("inf")),
    )
    _train(model, lambda xb: model(xb)[-1], xtr, ytr, epochs, 1e-2, seed=seed)
    n = len(yte) if n_test is None else min(n_test, len(yte))
    return _compare(model, xte, yte, lambda out: int(np.argmax(out[-1])), n)


def celif_delayed_cue(delay=150, epochs=8, hidden=32, n_train=256, n_test=128, recall=5, seed=0):
    xtr, ytr = delayed_cue(n_train, delay, recall_steps=recall, seed=seed)
    xte, yte = delayed_cue(n_test, delay, recall_steps=recall, seed=seed + 1000)
    torch.manual_seed(seed)
    model = nn.Sequential(
        snn.CELIF(xtr.shape[-1], hidden),
        snn.Linear(hidden, 2, spike_input=True),
        snn.LeakyIntegrator(tau=float("inf")),
    )

    def forward(xb):  # readout summed over the recall steps (the integrator's last increment)
        v = model(xb)
        return v[-1] - v[-1 - recall]

    _train(model, forward, xtr, ytr, epochs, 1e-2, seed=seed)
    return _compare(model, xte, yte, lambda out: int(np.argmax(out[-1] - out[-1 - recall])), n_test)


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="reduced size")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    torch.set_num_threads(1)
    if a.quick:
        res = {
            "dendritic digits": dendritic_digits(epochs=6, n_test=120, seed=a.seed),
            "CE-LIF delayed cue": celif_delayed_cue(
                delay=100, epochs=5, n_train=192, n_test=64, seed=a.seed
            ),
        }
    else:
        res = {
            "dendritic digits": dendritic_digits(seed=a.seed),
            "CE-LIF delayed cue": celif_delayed_cue(delay=200, epochs=10, seed=a.seed),
        }
    print(
        f"{'model':20s} {'samples':>7s} {'torch acc':>9s} {'engine acc':>10s} "
        f"{'same raster':>11s} {'pred agree':>10s} {'SynOps/sample':>13s}"
    )
    for name, r in res.items():
        print(
            f"{name:20s} {r['n']:7d} {r['torch_acc']:9.3f} {r['engine_acc']:10.3f} "
            f"{r['same_raster']:11.3f} {r['agree']:10.3f} {r['synops']:13.0f}"
        )
    return res


if __name__ == "__main__":
    main()
