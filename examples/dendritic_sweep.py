"""Dendritic neurons at a fixed parameter budget: accuracy vs number of output neurons.

METHODS.md section 6 (arXiv 2306.11950). scikit-learn digits (8x8, D = 64 inputs, 10 classes):

    input -> dendritic hidden layer (N neurons, K branches of m = D/sqrt(K) inputs) -> Linear(N, 10)

The hidden layer's weight budget is fixed at N0 * D (N0 point neurons, K = 1); with K branches it
has N = N0 / sqrt(K) neurons, so it sends ~K^-1/2 as many values (or spikes) to the readout.
For K = 1, 2, 4, 8 the table prints test accuracy, hidden neurons, hidden parameters, and the
communication (values per sample; spikes per sample in --spiking mode), for ReLU branches and for
linear (identity) branches; the last column is a point-neuron layer (K = 1) shrunk to the same
number of neurons (fewer parameters), the baseline dendrites must beat. Claim: ReLU branches keep point-neuron accuracy with fewer neurons;
identity branches lose accuracy.

    python examples/dendritic_sweep.py              # rate (ReLU soma) version, 5 seeds
    python examples/dendritic_sweep.py --spiking    # DendriticLIF soma, 6 time steps
"""

from __future__ import annotations

import argparse
import math
import statistics

import torch
from torch import nn

from spikecore import nn as snn
from spikecore.nn.dendritic import DendriticLIF, DendriticLinear, communication


def digits(seed: int = 0):
    from sklearn.datasets import load_digits

    d = load_digits()
    x = torch.tensor(d.data, dtype=torch.float32) / 16.0
    y = torch.tensor(d.target)
    g = torch.Generator().manual_seed(seed)
    p = torch.randperm(len(y), generator=g)
    n_tr = 1200
    return x[p[:n_tr]], y[p[:n_tr]], x[p[n_tr:]], y[p[n_tr:]]


class Net(nn.Module):
    def __init__(
        self, hidden: int, branches: int, nonlinearity: str, spiking: bool, steps: int, seed: int
    ):
        super().__init__()
        self.spiking, self.steps = spiking, steps
        kw = dict(branches=branches, nonlinearity=nonlinearity, seed=seed)
        if spiking:
            self.hidden = DendriticLIF(64, hidden, v_threshold=0.5, **kw)
        else:
            self.hidden = DendriticLinear(64, hidden, **kw)
        self.readout = snn.Linear(hidden, 10)

    def forward(self, x):
        if self.spiking:
            h = self.hidden(x.unsqueeze(0).expand(self.steps, *x.shape))  # direct encoding
            return self.readout(h).mean(0), h
        h = torch.relu(self.hidden(x))
        return self.readout(h), h


def hidden_size(n0: int, k: int) -> int:
    """Neurons at a fixed budget n0 * D: each has K * round(D / sqrt(K)) weights."""
    m = max(1, round(64 / math.sqrt(k)))
    return max(1, round(n0 * 64 / (k * m)))


def run(
    branches: int,
    nonlinearity: str = "relu",
    *,
    n0: int = 16,
    epochs: int = 60,
    spiking: bool = False,
    steps: int = 6,
    seed: int = 0,
    lr: float = 1e-2,
    batch: int = 100,
    neurons: int = None,
) -> dict:
    """Train one network; ``neurons`` overrides the budget-matched hidden size."""
    torch.manual_seed(seed)
    xtr, ytr, xte, yte = digits(seed)
    n = hidden_size(n0, branches) if neurons is None else neurons
    net = Net(n, branches, nonlinearity, spiking, steps, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    for _ in range(epochs):
        perm = torch.randperm(len(ytr))
        for i in range(0, len(ytr), batch):
            idx = perm[i : i + batch]
            loss = nn.functional.cross_entropy(net(xtr[idx])[0], ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        logits, h = net(xte)
        acc = float((logits.argmax(1) == yte).float().mean())
        comm = communication(h, spiking=spiking) / len(yte)
    layer = net.hidden
    return {
        "K": branches,
        "g": nonlinearity,
        "neurons": n,
        "params": layer.n_params,
        "accuracy": acc,
        "communication": comm,
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n0", type=int, default=16, help="point neurons at K = 1 (sets the budget)")
    p.add_argument("--epochs", type=int, default=60)
    p.add_argument("--seeds", type=int, default=5)
    p.add_argument("--spiking", action="store_true")
    p.add_argument("--quick", action="store_true", help="2 seeds, 30 epochs")
    a = p.parse_args(argv)
    seeds, epochs = (2, 30) if a.quick else (a.seeds, a.epochs)
    torch.set_num_threads(1)
    unit = "spikes/sample" if a.spiking else "values/sample"
    print(
        f"digits, hidden budget {a.n0} x 64 weights, {'spiking' if a.spiking else 'rate'} "
        f"soma, {epochs} epochs, median of {seeds} seeds"
    )
    print(
        f"{'g':9s} {'K':>2s} {'neurons':>8s} {'params':>7s} {'accuracy':>9s} {unit:>14s} "
        f"{'point neurons, same N':>22s}"
    )
    for g in ("relu", "identity"):
        for k in (1, 2, 4, 8):
            rs = [
                run(k, g, n0=a.n0, epochs=epochs, spiking=a.spiking, seed=s) for s in range(seeds)
            ]
            acc = statistics.median(r["accuracy"] for r in rs)
            comm = statistics.median(r["communication"] for r in rs)
            n = rs[0]["neurons"]
            pt = (
                statistics.median(
                    run(1, "relu", epochs=epochs, spiking=a.spiking, seed=s, neurons=n)["accuracy"]
                    for s in range(seeds)
                )
                if g == "relu"
                else float("nan")
            )
            print(f"{g:9s} {k:2d} {n:8d} {rs[0]['params']:7d} {acc:9.3f} {comm:14.1f} {pt:22.3f}")


if __name__ == "__main__":
    main()
